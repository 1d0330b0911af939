//! The master section: what runs on the mixed output before it reaches the
//! audio back-end. Today the safety limiter (`limiter`).
//!
//! # Real-time safety
//! Everything here allocates in its constructor only; `process` allocates,
//! locks, logs and does I/O never.

pub mod limiter;

pub use limiter::Limiter;
