//! Finding an instrument named on the command line: the instruments folder
//! ([`instruments_dir`]) and a name or a path ([`find_instrument`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::bank::Bank;
use super::{Instrument, InstrumentError};

/// Why a named instrument cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// No such name in the folder.
    #[error("unknown instrument `{spec}` (not in {}; available: {})", dir.display(), available.join(", "))]
    Unknown {
        /// The name asked for.
        spec: String,
        /// The folder searched.
        dir: PathBuf,
        /// The names the folder holds, sorted.
        available: Vec<String>,
    },
    /// The file was refused.
    #[error(transparent)]
    Invalid(#[from] InstrumentError),
}

/// The instruments folder: `dir` when given, else `./instruments`, else
/// the source tree's.
pub fn instruments_dir(dir: Option<PathBuf>) -> PathBuf {
    if let Some(d) = dir {
        return d;
    }
    let local = PathBuf::from("instruments");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("instruments")
}

/// An instrument named by `spec`: a file (a path, or a name ending in
/// `.json`), or a name in [`instruments_dir`]`(dir)`.
pub fn find_instrument(spec: &str, dir: Option<PathBuf>) -> Result<Arc<Instrument>, LookupError> {
    let as_path = Path::new(spec);
    let path = if spec.ends_with(".json") || spec.contains('/') || as_path.is_file() {
        as_path.to_path_buf()
    } else {
        let dir = instruments_dir(dir);
        let p = dir.join(format!("{spec}.json"));
        if !p.is_file() {
            return Err(LookupError::Unknown {
                spec: spec.to_string(),
                available: names_in(&dir),
                dir,
            });
        }
        p
    };
    Ok(Arc::new(Bank::load_file(&path)?))
}

/// The file stems in `dir`, sorted (empty when it cannot be read).
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.path()
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
