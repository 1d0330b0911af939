//! The state that survives a restart (`serve --state-file PATH`): the
//! instruments loaded or reloaded by `/inst/load` and `/inst/reload`, the
//! master gain, and the MIDI map's program changes (channel → instrument;
//! the preset file itself is a setting). JSON, written atomically (a
//! temporary file beside it, fsync, rename, fsync of the folder), so a
//! crash mid-write leaves the old file or the new one; a file that is
//! unreadable, truncated or corrupt anyway is reported and ignored.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The state file's format version.
pub const STATE_VERSION: u32 = 1;

/// What is restored at start-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedState {
    /// Format version ([`STATE_VERSION`]).
    pub version: u32,
    /// Instruments loaded or reloaded while running, by bank name, in order.
    pub instruments: Vec<String>,
    /// The master gain, linear.
    pub master_gain: f32,
    /// MIDI program changes: (channel 0–15, instrument name).
    pub midi_programs: Vec<(u8, String)>,
}

impl Default for SavedState {
    fn default() -> Self {
        Self {
            version: STATE_VERSION,
            instruments: Vec::new(),
            master_gain: 1.0,
            midi_programs: Vec::new(),
        }
    }
}

/// Why a state file is not used (or cannot be written).
#[derive(Debug, Error)]
pub enum StateError {
    /// It cannot be read.
    #[error("cannot read state file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It is not a state file (truncated, corrupt, another version).
    #[error("state file {} is corrupt ({reason}): ignored, starting with defaults", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// It cannot be written.
    #[error("cannot write state file {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Reads the state at `path`; `Ok(None)` when there is none yet.
pub fn load(path: &Path) -> Result<Option<SavedState>, StateError> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StateError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let corrupt = |reason: String| StateError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let state: SavedState = serde_json::from_slice(&text).map_err(|e| corrupt(e.to_string()))?;
    if state.version != STATE_VERSION {
        return Err(corrupt(format!(
            "version {} (this server reads {STATE_VERSION})",
            state.version
        )));
    }
    if !state.master_gain.is_finite() || !(0.0..=16.0).contains(&state.master_gain) {
        return Err(corrupt(format!("master_gain {}", state.master_gain)));
    }
    if state.midi_programs.iter().any(|(c, _)| *c > 15) {
        return Err(corrupt("a MIDI channel above 15".into()));
    }
    Ok(Some(state))
}

/// Writes `state` to `path` atomically.
pub fn save(path: &Path, state: &SavedState) -> Result<(), StateError> {
    let err = |source| StateError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let text = serde_json::to_vec_pretty(state).map_err(|e| err(e.into()))?;
    let mut f = std::fs::File::create(&tmp).map_err(err)?;
    f.write_all(&text).map_err(err)?;
    f.sync_all().map_err(err)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(err)?;
    // The rename itself is durable once the folder is synced.
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Ok(d) = std::fs::File::open(dir.unwrap_or(Path::new("."))) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("neirosynth-state-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("state.json")
    }

    #[test]
    fn round_trips_and_a_missing_file_is_no_state() {
        let path = temp("round");
        assert!(load(&path).unwrap().is_none());
        let s = SavedState {
            instruments: vec!["bell".into()],
            master_gain: 0.25,
            midi_programs: vec![(3, "bell".into())],
            ..SavedState::default()
        };
        save(&path, &s).unwrap();
        assert_eq!(load(&path).unwrap(), Some(s));
        assert!(!path.with_file_name("state.json.tmp").exists());
    }

    #[test]
    fn a_truncated_or_corrupt_file_is_an_error_that_names_it() {
        let path = temp("corrupt");
        save(&path, &SavedState::default()).unwrap();
        let full = std::fs::read(&path).unwrap();
        for cut in [1, full.len() / 2, full.len() - 2] {
            std::fs::write(&path, &full[..cut]).unwrap();
            let e = load(&path).unwrap_err();
            assert!(matches!(e, StateError::Corrupt { .. }), "{e}");
            assert!(e.to_string().contains("state.json"), "{e}");
        }
        std::fs::write(
            &path,
            br#"{"version":1,"instruments":[],"master_gain":1e9,"midi_programs":[]}"#,
        )
        .unwrap();
        assert!(load(&path).unwrap_err().to_string().contains("master_gain"));
    }
}
