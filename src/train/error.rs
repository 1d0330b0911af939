//! Why training fails: [`TrainError`].

use std::path::PathBuf;

use super::target::TargetError;
use crate::instrument::InstrumentError;

/// Why training failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A target was refused.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A candidate instrument failed validation.
    #[error("{0}")]
    Instrument(InstrumentError),
    /// The engine could not play a note.
    #[error("cannot render: {0}")]
    Render(String),
    /// An instrument map could not be decoded.
    #[error("instrument map: {0}")]
    Format(crate::instrument::format::MapDecodeError),
    /// Bad options.
    #[error("{0}")]
    Usage(String),
    /// No body to start from.
    #[error("no candidate body: the instruments folder holds no loadable instrument")]
    NoTemplate,
    /// A training mode that this build cannot run yet.
    #[error("--mode {0} is not available in this build; use --mode spsa")]
    ModeUnavailable(&'static str),
    /// A checkpoint that cannot be resumed.
    #[error("cannot resume: {0}")]
    Resume(String),
    /// Writing an output failed.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

impl TrainError {
    /// True for errors caused by the user's input or options (exit code 2).
    pub fn is_usage(&self) -> bool {
        !matches!(self, Self::Render(_) | Self::Io { .. })
    }
}
