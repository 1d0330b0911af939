//! Why the server could not start.

use std::path::PathBuf;

use thiserror::Error;

/// A failure that stops `serve` from starting. Each variant's message says
/// what failed; its cause, when there is one, is its
/// [`source`](std::error::Error::source) (the CLI prints both, as
/// `what: cause`). `Audio`, `Recorder` and `MidiMap` hold errors whose
/// messages name their cause already: they print them whole and do not
/// chain to them, so the CLI does not print the cause twice.
#[derive(Debug, Error)]
pub enum ServeError {
    /// The instruments folder cannot be read.
    #[error("cannot read {}", path.display())]
    Instruments {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The UDP socket cannot be bound.
    #[error("cannot bind udp {addr}")]
    Bind {
        /// `address:port` as asked.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The OSCQuery HTTP port (`--oscquery-port`) cannot be bound.
    #[error("cannot bind oscquery http {addr}")]
    HttpBind {
        /// `address:port` as asked.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The OSCQuery HTTP server cannot start.
    #[error("cannot start oscquery http on {addr}: {reason}")]
    OscQuery {
        /// `address:port` as asked.
        addr: String,
        /// Why.
        reason: String,
    },
    /// The socket or a thread could not be set up.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The audio device cannot start.
    #[error("{0}")]
    Audio(crate::audio::AudioError),
    /// The recorder (`--record`) cannot start.
    #[error("{0}")]
    Recorder(crate::audio::recorder::RecorderError),
    /// `--engine gpu` and the GPU engine cannot start.
    #[error("--engine gpu on {adapter}")]
    Gpu {
        /// The adapter.
        adapter: String,
        /// Why.
        source: crate::gpu::GpuError,
    },
    /// The MIDI preset cannot be read.
    #[error("{0}")]
    MidiMap(crate::server::midi_map::MidiMapError),
    /// The preset folder (`--preset-dir`) cannot be created or listed.
    #[error("--preset-dir: {0}")]
    Presets(crate::server::preset::PresetError),
}
