//! The server's configuration file (`serve --config FILE`, TOML).
//!
//! One key per `serve` flag, named as the flag without its dashes:
//! `--sample-rate 44100` is `sample-rate = 44100`, `--midi-map FILE` is
//! `midi-map = "FILE"`, the global `--log-level` is `log-level`. A switch
//! (`--ignore-timetags`, `--no-remote-quit`) is a boolean. Values may be
//! written as TOML numbers or strings (`port = 57130` or `port = "57130"`).
//!
//! Settings merge as defaults < file < flags: each key whose flag the
//! command line did not give becomes that flag, appended to the command
//! line, so a file's value goes through exactly the parsing and checks of
//! the flag (and a flag added to `serve` gets its key with no more code).
//! An unknown key is an error naming it. [`effective`] lists the settings
//! in force and [`render`] writes them as a file of this format
//! (`neirosynth config --print`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Flags that are not settings (no key): the file itself, help, version,
/// and `config`'s own `--print`.
const NOT_KEYS: &[&str] = &["config", "help", "version", "print"];

/// Keys a running server applies on `SIGHUP`; any other changed key takes
/// effect at the next start.
pub const LIVE_KEYS: &[&str] = &["instruments", "midi-map", "master-gain", "log-level"];

/// Why a configuration file is refused.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read config {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not TOML (the message gives the line and column).
    #[error("config {}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A key that is no `serve` flag.
    #[error(
        "config {}: unknown key `{key}` (the keys are the `serve` flags without their dashes)",
        path.display()
    )]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// A value the key's flag refuses (clap's reason).
    #[error("config {}: {reason}", path.display())]
    Refused {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A value of the wrong TOML type for its key.
    #[error("config {}: key `{key}`: {reason}", path.display())]
    BadValue {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// Why.
        reason: String,
    },
}

/// One setting: a flag's key and whether it is a switch (takes no value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// The key: the long flag without `--`.
    pub key: String,
    /// clap's id of the argument (to ask whether the command line gave it).
    pub id: String,
    /// A switch: `true` adds the bare flag, `false` adds nothing.
    pub switch: bool,
}

/// The settings of `commands` (a command and its subcommand, say): every
/// long flag that is a setting, each once.
pub fn flags_of(commands: &[&clap::Command]) -> Vec<Flag> {
    let mut flags: Vec<Flag> = Vec::new();
    for cmd in commands {
        for arg in cmd.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if NOT_KEYS.contains(&long) || flags.iter().any(|f| f.key == long) {
                continue;
            }
            flags.push(Flag {
                key: long.to_string(),
                id: arg.get_id().to_string(),
                switch: !arg.get_action().takes_values(),
            });
        }
    }
    flags
}

/// The command line `argv` (parsed by `cmd` as `first`) with the settings
/// of its `--config FILE` added where no flag gives them, when its
/// subcommand is one of `subcommands`; and the effective settings of that
/// subcommand (empty for the others).
pub fn merge(
    cmd: &clap::Command,
    argv: &[OsString],
    first: clap::ArgMatches,
    subcommands: &[&str],
) -> Result<(clap::ArgMatches, Vec<(String, Setting)>), ConfigError> {
    use clap::parser::ValueSource;
    let (flags, sub) = match first.subcommand() {
        Some((name, sub)) if subcommands.contains(&name) => match cmd.find_subcommand(name) {
            Some(sc) => (flags_of(&[cmd, sc]), sub),
            None => return Ok((first, Vec::new())),
        },
        _ => return Ok((first, Vec::new())),
    };
    let Some(file) = sub.try_get_one::<PathBuf>("config").ok().flatten() else {
        let settings = effective(&flags, sub);
        return Ok((first, settings));
    };
    let given = |id: &str| {
        [&first, sub].iter().any(|m| {
            m.try_contains_id(id).unwrap_or(false)
                && m.value_source(id) == Some(ValueSource::CommandLine)
        })
    };
    let extra = ConfigFile::load(file)?.args(&flags, given)?;
    let merged = cmd
        .clone()
        .try_get_matches_from(argv.iter().cloned().chain(extra))
        .map_err(|e| ConfigError::Refused {
            path: file.clone(),
            reason: e
                .render()
                .to_string()
                .lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("error: ")
                .to_string(),
        })?;
    let settings = match merged.subcommand() {
        Some((_, sub)) => effective(&flags, sub),
        None => Vec::new(),
    };
    Ok((merged, settings))
}

/// A parsed configuration file.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
    table: toml::Table,
}

impl ConfigFile {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses `text` (read from `path`, which errors name).
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let table = text
            .parse::<toml::Table>()
            .map_err(|e| ConfigError::Parse {
                path: path.to_path_buf(),
                message: e.to_string().trim_end().replace('\n', " "),
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            table,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The flags this file adds to a command line: one per key whose flag
    /// `given` (by clap id) says the command line did not give. Every key
    /// must be one of `flags`.
    pub fn args(
        &self,
        flags: &[Flag],
        given: impl Fn(&str) -> bool,
    ) -> Result<Vec<OsString>, ConfigError> {
        let mut args = Vec::new();
        for (key, value) in &self.table {
            let flag =
                flags
                    .iter()
                    .find(|f| &f.key == key)
                    .ok_or_else(|| ConfigError::UnknownKey {
                        path: self.path.clone(),
                        key: key.clone(),
                    })?;
            let bad = |reason: &str| ConfigError::BadValue {
                path: self.path.clone(),
                key: key.clone(),
                reason: reason.to_string(),
            };
            let text = match (value, flag.switch) {
                (toml::Value::Boolean(on), true) => {
                    if *on && !given(&flag.id) {
                        args.push(format!("--{key}").into());
                    }
                    continue;
                }
                (_, true) => return Err(bad("a switch: expected true or false")),
                (toml::Value::String(s), false) => s.clone(),
                (toml::Value::Integer(i), false) => i.to_string(),
                (toml::Value::Float(f), false) => f.to_string(),
                (toml::Value::Boolean(b), false) => b.to_string(),
                _ => return Err(bad("expected a string, a number or a boolean")),
            };
            if !given(&flag.id) {
                args.push(format!("--{key}={text}").into());
            }
        }
        Ok(args)
    }
}

/// A setting's value in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    /// A switch, on or off.
    Switch(bool),
    /// A value, as the command line would give it.
    Value(String),
    /// No value (the flag's own default is "none").
    Unset,
}

/// The settings in force in `matches` (a parse of the command whose
/// settings are `flags`), in `flags`' order.
pub fn effective(flags: &[Flag], matches: &clap::ArgMatches) -> Vec<(String, Setting)> {
    flags
        .iter()
        .map(|f| {
            let setting = if f.switch {
                Setting::Switch(matches.get_flag(&f.id))
            } else {
                match matches.get_raw(&f.id).and_then(|mut v| v.next()) {
                    Some(v) => Setting::Value(v.to_string_lossy().into_owned()),
                    None => Setting::Unset,
                }
            };
            (f.key.clone(), setting)
        })
        .collect()
}

/// The keys whose values differ between two lists of [`effective`] settings.
pub fn changed(before: &[(String, Setting)], after: &[(String, Setting)]) -> Vec<String> {
    after
        .iter()
        .filter(|(k, v)| before.iter().find(|(b, _)| b == k).map(|(_, w)| w) != Some(v))
        .map(|(k, _)| k.clone())
        .collect()
}

/// `settings` as a configuration file: numbers as TOML numbers, switches
/// as booleans, other values as strings; an unset value as a comment.
pub fn render(settings: &[(String, Setting)]) -> String {
    let mut out = String::from(
        "# neirosynth serve: the effective settings (defaults < --config file < flags)\n",
    );
    for (key, setting) in settings {
        let line = match setting {
            Setting::Switch(on) => format!("{key} = {on}"),
            Setting::Value(v) => format!("{key} = {}", toml_value(v)),
            Setting::Unset => format!("# {key} = (unset)"),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// `v` as a TOML value: an integer or a float when it reads as one, else a string.
fn toml_value(v: &str) -> String {
    let numeric = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
        && v.chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '-');
    if numeric && v.parse::<i64>().is_ok() {
        return v.to_string();
    }
    if numeric && v.parse::<f64>().is_ok_and(f64::is_finite) && v.contains('.') {
        return v.to_string();
    }
    toml::Value::String(v.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags() -> Vec<Flag> {
        let cmd = clap::Command::new("t")
            .arg(clap::Arg::new("port").long("port").default_value("1"))
            .arg(clap::Arg::new("midi_map").long("midi-map"))
            .arg(
                clap::Arg::new("quiet")
                    .long("quiet")
                    .action(clap::ArgAction::SetTrue),
            )
            .arg(clap::Arg::new("config").long("config"));
        flags_of(&[&cmd])
    }

    fn file(text: &str) -> ConfigFile {
        ConfigFile::parse(Path::new("test.toml"), text).unwrap()
    }

    #[test]
    fn keys_become_the_flags_the_command_line_did_not_give() {
        let f = file("port = 9000\nmidi-map = \"m.json\"\nquiet = true\n");
        // (in key order)
        let args = f.args(&flags(), |_| false).unwrap();
        assert_eq!(args, ["--midi-map=m.json", "--port=9000", "--quiet"]);
        // Flags win: a given flag's key adds nothing.
        let args = f.args(&flags(), |id| id == "port").unwrap();
        assert_eq!(args, ["--midi-map=m.json", "--quiet"]);
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_named() {
        let e = file("prot = 1\n").args(&flags(), |_| false).unwrap_err();
        assert!(e.to_string().contains("unknown key `prot`"), "{e}");
        let e = file("config = \"x\"\n")
            .args(&flags(), |_| false)
            .unwrap_err();
        assert!(e.to_string().contains("unknown key `config`"), "{e}");
        let e = file("quiet = 1\n").args(&flags(), |_| false).unwrap_err();
        assert!(e.to_string().contains("key `quiet`"), "{e}");
        let e = file("port = [1]\n").args(&flags(), |_| false).unwrap_err();
        assert!(e.to_string().contains("key `port`"), "{e}");
        let e = ConfigFile::parse(Path::new("c.toml"), "port = \n").unwrap_err();
        assert!(e.to_string().starts_with("config c.toml:"), "{e}");
    }

    #[test]
    fn rendered_settings_parse_back_to_the_same_flags() {
        let settings = vec![
            ("port".to_string(), Setting::Value("9000".into())),
            ("horizon".to_string(), Setting::Value("10.5".into())),
            ("bind".to_string(), Setting::Value("127.0.0.1".into())),
            ("quiet".to_string(), Setting::Switch(true)),
            ("midi-map".to_string(), Setting::Unset),
        ];
        let text = render(&settings);
        assert!(text.contains("port = 9000\n"), "{text}");
        assert!(text.contains("horizon = 10.5\n"), "{text}");
        assert!(text.contains("bind = \"127.0.0.1\"\n"), "{text}");
        assert!(text.contains("# midi-map = (unset)\n"), "{text}");
        let table: toml::Table = text.parse().unwrap();
        assert_eq!(table["port"].as_integer(), Some(9000));
        assert_eq!(table["quiet"].as_bool(), Some(true));
        assert!(!table.contains_key("midi-map"));
        assert_eq!(
            changed(&settings, &settings[..2]),
            Vec::<String>::new(),
            "the same values are no change"
        );
        let mut after = settings.clone();
        after[0].1 = Setting::Value("9001".into());
        assert_eq!(changed(&settings, &after), ["port"]);
    }
}
