//! neirosynth: a real-time audio server in which every sound is physics.
pub mod bench;
pub mod engine;
pub mod inspect;
pub mod instrument;
pub mod physics;
pub mod render;
