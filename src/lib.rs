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
//! - [`engine`]: the real-time side: voices, excitations, the worker pool.
//!   No allocation, lock, log or I/O after construction.
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
pub mod physics;
pub mod render;
pub mod score;
pub mod server;
pub mod train;
