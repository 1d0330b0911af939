//! The `neirosynth` command line: serve, render, train, inspect, bench.
//!
//! Only the CLI: arguments are parsed and checked here and in `cli/` (one
//! file per subcommand), then handed to the library as explicit options.
//! Errors are reported here, with context (`anyhow`): exit code 2 for bad
//! input ([`Usage`]), 1 for a failure.

mod cli;

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::{anyhow, Result};
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use neirosynth::server::config::Setting;

use cli::bench::BenchArgs;
use cli::inspect::InspectArgs;
use cli::render::RenderArgs;
use cli::serve::{ConfigArgs, ServeArgs};
use cli::train::TrainArgs;
use cli::{bad, Usage};

#[derive(Parser)]
#[command(
    name = "neirosynth",
    version,
    about = "A real-time audio server in which every sound is physics."
)]
struct Cli {
    /// Log filter (tracing's EnvFilter syntax: `warn`, `debug`,
    /// `neirosynth=trace,wgpu=warn`…); logs go to stderr.
    #[arg(long, global = true, value_name = "FILTER", default_value = "info")]
    log_level: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: the instrument bank, OSC over UDP, MIDI, audio out.
    Serve(ServeArgs),
    /// Show the settings `serve` would run with (defaults < --config file < flags).
    Config(ConfigArgs),
    /// Render one note of an instrument, or a score of timed OSC commands,
    /// to a 48 kHz stereo WAV (deterministic).
    Render(RenderArgs),
    /// Learn a playable physical instrument from recordings (one WAV per note).
    Train(TrainArgs),
    /// Show an instrument: metadata, certificate per note, first modes; optionally a PNG of its maps.
    Inspect(InspectArgs),
    /// Measure how many voices the engine renders in real time at 48 kHz.
    Bench(BenchArgs),
}

/// The command line, with the settings of `serve`'s (or `config`'s)
/// `--config FILE` added where no flag gives them; and the effective
/// settings (empty for the other subcommands).
fn parse_with_config(argv: &[OsString]) -> Result<(Cli, Vec<(String, Setting)>)> {
    let cmd = Cli::command();
    let first = cmd.clone().get_matches_from(argv);
    let (matches, settings) =
        neirosynth::server::config::merge(&cmd, argv, first, &["serve", "config"])
            .map_err(|e| bad(e.to_string()))?;
    Ok((Cli::from_arg_matches(&matches)?, settings))
}

/// What `main` runs: one subcommand (`argv`, the effective settings and
/// the log filter's setter for `serve`'s `SIGHUP`).
fn run(
    cli: Cli,
    argv: Vec<OsString>,
    settings: Vec<(String, Setting)>,
    set_filter: SetFilter,
) -> Result<()> {
    match cli.command {
        Command::Serve(a) => cli::serve::run(a, argv, settings, set_filter),
        Command::Config(_) => {
            print!("{}", neirosynth::server::config::render(&settings));
            Ok(())
        }
        Command::Train(a) => cli::train::train(a),
        Command::Render(a) => cli::render::render(a),
        Command::Inspect(a) => cli::inspect::inspect(a),
        Command::Bench(a) => cli::bench::bench(a),
    }
}

/// Changes the log filter of a running process.
type SetFilter = Box<dyn Fn(&str) -> Result<()> + Send + Sync>;

/// A `--log-level` filter; one that does not parse is bad input.
fn log_filter(filter: &str) -> Result<tracing_subscriber::EnvFilter> {
    tracing_subscriber::EnvFilter::try_new(filter)
        .map_err(|e| bad(format!("--log-level {filter}: {e}")))
}

/// Logs to stderr under `--log-level`; returns the filter's setter.
fn init_logging(filter: &str) -> Result<SetFilter> {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_env_filter(log_filter(filter)?)
        .with_filter_reloading();
    let handle = builder.reload_handle();
    builder.init();
    Ok(Box::new(move |f: &str| {
        let filter = log_filter(f)?;
        handle.reload(filter).map_err(|e| anyhow!("{e}"))
    }))
}

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let started = parse_with_config(&argv).and_then(|(cli, settings)| {
        let set_filter = init_logging(&cli.log_level)?;
        run(cli, argv, settings, set_filter)
    });
    match started {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("neirosynth: {e:#}");
            ExitCode::from(if e.downcast_ref::<Usage>().is_some() {
                2
            } else {
                1
            })
        }
    }
}
