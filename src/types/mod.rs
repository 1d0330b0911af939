//! Plain types shared by the instrument (which builds and shapes notes),
//! the voice (which plays them) and the control side: the bottom layer,
//! with no dependency on any other module of the crate.

mod modulation;
mod voice_param;

pub use modulation::{ModShape, ModSpec, MAX_MODULATORS, MOD_PHASE_RANGE, MOD_RATE_RANGE};
pub use voice_param::{VoiceParam, GAIN_RANGE, NOTE_RANGE, UNIT_RANGE};

use serde::{Deserialize, Serialize};

/// Excitation shapes.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum ExciteShape {
    /// A mallet: raised-cosine force pulse in time and space.
    #[default]
    Strike,
    /// Initial displacement (released from rest).
    Pluck,
    /// A short burst of noise force.
    Noise,
    /// A friction bow at one node: sustains until the note is released.
    Bow,
}

impl ExciteShape {
    /// Every shape.
    pub const ALL: [ExciteShape; 4] = [Self::Strike, Self::Pluck, Self::Noise, Self::Bow];

    /// The shape's name in files and OSC.
    pub fn name(self) -> &'static str {
        match self {
            Self::Strike => "strike",
            Self::Pluck => "pluck",
            Self::Noise => "noise",
            Self::Bow => "bow",
        }
    }

    /// The shape called `name` (`strike`, `pluck`, `noise` or `bow`), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// Bow force of a note that names none (normalised 0..1: a normal tone).
pub const DEFAULT_BOW_FORCE: f32 = 0.3;
/// Bow velocity of a note that names none (normalised 0..1).
pub const DEFAULT_BOW_VELOCITY: f32 = 0.3;

/// How a note starts.
#[derive(Clone, Copy, Debug)]
pub struct NoteRequest {
    /// MIDI note (fractional allowed).
    pub note: f64,
    /// Velocity 0..1.
    pub velocity: f32,
    /// Voice gain (linear).
    pub gain: f32,
    /// Pan −1..1.
    pub pan: f32,
    /// Excitation override: shape and position; `None` uses the instrument's.
    pub excite: Option<(ExciteShape, f32, f32)>,
    /// Pickup override `[lx, ly, rx, ry]`.
    pub pickups: Option<[f32; 4]>,
    /// Frames of silence before the voice starts (sample-accurate scheduling).
    pub delay_frames: usize,
    /// Damping scale (multiplies σ₀ and σ₁).
    pub damping: f32,
    /// Brightness 0..1: scales the contact time (0.5 = the instrument's).
    pub brightness: f32,
    /// Contact-time scale from the instrument's note shaping (1 = as filed).
    pub contact_scale: f32,
    /// What started the voice (for note-off matching): a caller-chosen key.
    pub key: u64,
    /// Bow force 0..1 (normalised; scaled by the bow's amplitude).
    pub bow_force: f32,
    /// Bow velocity 0..1 (normalised).
    pub bow_velocity: f32,
}

impl NoteRequest {
    /// A note with the instrument's defaults.
    pub fn new(note: f64, velocity: f32) -> Self {
        Self {
            note,
            velocity,
            gain: 1.0,
            pan: 0.0,
            excite: None,
            pickups: None,
            delay_frames: 0,
            damping: 1.0,
            brightness: 0.5,
            contact_scale: 1.0,
            key: 0,
            bow_force: DEFAULT_BOW_FORCE,
            bow_velocity: DEFAULT_BOW_VELOCITY,
        }
    }
}
