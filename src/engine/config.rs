//! The engine's settings and counters (either engine's).

/// Engine settings, fixed at construction.
#[derive(Clone, Copy, Debug)]
pub struct EngineConfig {
    /// Sample rate, Hz.
    pub sample_rate: f64,
    /// Largest block [`super::VoiceEngine::process`] renders.
    pub max_block: usize,
    /// Voice slots.
    pub max_voices: usize,
    /// Threads rendering voices (including the caller's).
    pub threads: usize,
    /// Padded nodes each voice can hold (the bank's largest mesh).
    pub voice_capacity: usize,
}

impl EngineConfig {
    /// Defaults for `capacity`-node meshes: 48 kHz, 256-frame blocks, 32
    /// voices, one thread per core.
    pub fn new(voice_capacity: usize) -> Self {
        Self {
            sample_rate: 48000.0,
            max_block: 256,
            max_voices: 32,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            voice_capacity,
        }
    }
}

/// Counters the engine keeps (read by `/status`).
#[derive(Clone, Copy, Debug, Default)]
pub struct EngineStats {
    /// Voices stolen to make room.
    pub stolen: u64,
    /// Frames rendered.
    pub frames: u64,
}
