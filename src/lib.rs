//! neirosynth
pub mod control;
