//! Modulator settings, shared by the wire (`/voice/mod`), the engine's
//! commands, the voice that runs them and the presets that store them: a
//! shape ([`ModShape`]) and one modulator's settings ([`ModSpec`]).

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use super::VoiceParam;

/// Modulators one voice runs at once (a fifth parameter is refused).
pub const MAX_MODULATORS: usize = 4;
/// Range of a modulator's rate, Hz.
pub const MOD_RATE_RANGE: RangeInclusive<f32> = 0.0..=100.0;
/// Range of a modulator's start phase, in cycles.
pub const MOD_PHASE_RANGE: RangeInclusive<f32> = 0.0..=1.0;

/// The wave a modulator follows (every one spans −1..1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModShape {
    /// `sine`: sin(2π·phase).
    Sine,
    /// `triangle`: −1 at phase 0.75, +1 at phase 0.25, linear between.
    Triangle,
    /// `saw`: rises from −1 to +1 over the cycle, falls back over a short edge.
    Saw,
    /// `square`: +1 for the first half cycle, −1 for the second, short edges.
    Square,
    /// `noise`: smoothed random: a new random target every cycle, reached
    /// by a raised-cosine glide.
    Noise,
}

impl ModShape {
    /// Every shape.
    pub const ALL: [ModShape; 5] = [
        Self::Sine,
        Self::Triangle,
        Self::Saw,
        Self::Square,
        Self::Noise,
    ];

    /// The shape's OSC name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sine => "sine",
            Self::Triangle => "triangle",
            Self::Saw => "saw",
            Self::Square => "square",
            Self::Noise => "noise",
        }
    }

    /// The shape called `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// One modulator: `param` moves by `depth × wave(phase)` around the value
/// set for it, `phase` advancing `rate` cycles per second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModSpec {
    /// The parameter it moves (one that acts on a running voice).
    pub param: VoiceParam,
    /// Its wave.
    pub shape: ModShape,
    /// Cycles per second, [`MOD_RATE_RANGE`].
    pub rate: f32,
    /// Peak deviation in the parameter's own units (semitones for `pitch`,
    /// linear gain for `gain`, …); negative inverts the wave.
    pub depth: f32,
    /// Start phase in cycles (0..1); `None` keeps the phase of the
    /// modulator it replaces (0 for a new one).
    pub phase: Option<f32>,
}

impl ModSpec {
    /// The largest |depth| for `param`: the width of its range.
    pub fn depth_range(param: VoiceParam) -> RangeInclusive<f32> {
        let r = param.range();
        let w = r.end() - r.start();
        -w..=w
    }
}
