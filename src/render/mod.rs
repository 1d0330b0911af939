//! Offline rendering: notes to stereo buffers and WAV files, through the
//! same engine the server runs, as fast as the machine allows.
//! Deterministic: the same request gives the same samples.
//!
//! One concept per file: [`error`] (why a render fails), [`buffer`] (the
//! stereo buffer, its level and WAV output), [`offline`] (the offline
//! engine factory every offline path runs on), [`note`] (one note: its
//! spec, overrides and render).

pub mod buffer;
pub mod error;
pub mod note;
pub mod offline;

pub use buffer::{OutputLevel, SampleFormat, StereoBuffer};
pub use error::RenderError;
pub use note::{render_note_cpu, render_note_on_engine, NoteOverrides, NoteSpec, RenderSettings};
pub use offline::{run_offline, OfflineJob};
