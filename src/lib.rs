//! neirosynth: a real-time audio server in which every sound is physics.
//!
//! Each instrument is a vibrating body — a 2D (or 1D) finite-difference wave
//! mesh with a stiffness map and a damping map — excited and heard through
//! two pickups. The crate's modules mirror the architecture (see
//! `docs/architecture.md`):
//!
//! - [`physics`]: bodies, the scheme and its kernel, the stability
//!   certificate, eigen-analysis. Pure numerics.
//! - [`instrument`]: the file format, validation, the mesh pyramid and note
//!   planning (control side).
//! - [`types`]: plain types shared by the layers above (the note request).
//! - [`voice`]: the voice program (controls, excitation, pickups, output
//!   chain) that both engines run on their mesh back-ends.
//! - [`engine`]: the real-time side: the CPU mesh engine, the worker pool.
//!   No allocation, lock, log or I/O after construction.
//! - [`master`]: the master section on the mix (the true-peak look-ahead
//!   limiter the server runs). Real-time safe.
//! - [`control`]: OSC decoding, typed commands, replies and MIDI parsing
//!   (network side; allocation is fine there).
//! - [`render`], [`inspect`], [`mod@bench`]: offline rendering, reports and
//!   measurement.
//! - [`train`]: learning an instrument from recordings (`neirosynth train`):
//!   targets, analysis, losses, fitting, and the adjoint gradient.
pub mod audio;
pub mod bench;
pub mod control;
pub mod engine;
pub mod gpu;
pub mod inspect;
pub mod instrument;
pub mod master;
pub mod physics;
pub mod render;
pub mod score;
pub mod server;
pub mod train;
pub mod types;
pub mod voice;
