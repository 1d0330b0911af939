//! The voice parameters, in one table: the name clients use (OSC
//! `/voice/new` / `/voice/set`, MIDI preset controller assignments), the
//! range values are clamped to, and what a running voice does with one
//! (the engine applies [`VoiceParam`] itself, see
//! `engine::command::EngineCommand::SetVoice`).
//!
//! **Adding a voice parameter** starts here: a variant, its name, its
//! range; then the voice's setter and the engine's arm (the compiler lists
//! every `match` that must learn it).

use std::ops::RangeInclusive;

/// Range of `velocity`, `x`, `y`, pickup positions and morph `t`.
pub const UNIT_RANGE: RangeInclusive<f32> = 0.0..=1.0;
/// Range of `note` arguments: MIDI note numbers, fractional allowed.
pub const NOTE_RANGE: RangeInclusive<f32> = 0.0..=127.0;
/// Range of linear gains (`/master/gain` and the `gain` parameter).
pub const GAIN_RANGE: RangeInclusive<f32> = 0.0..=4.0;

/// A voice parameter that `/voice/new` and `/voice/set` can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VoiceParam {
    /// `gain`: linear output gain, 0..4.
    Gain,
    /// `pan`: stereo position, −1 (left) ..1 (right).
    Pan,
    /// `pitch`: the voice's pitch as a MIDI note, 0..127, fractional allowed.
    Pitch,
    /// `damping`: scale on the instrument's damping, 0.1..10.
    Damping,
    /// `morph`: position between the voice's instrument and its morph target, 0..1.
    Morph,
    /// `x`: strike position across the mesh, 0..1.
    X,
    /// `y`: strike position down the mesh, 0..1.
    Y,
    /// `pickup_lx`: left pickup position across the mesh, 0..1.
    PickupLx,
    /// `pickup_ly`: left pickup position down the mesh, 0..1.
    PickupLy,
    /// `pickup_rx`: right pickup position across the mesh, 0..1.
    PickupRx,
    /// `pickup_ry`: right pickup position down the mesh, 0..1.
    PickupRy,
    /// `brightness`: excitation brightness, 0 (dull) ..1 (bright).
    Brightness,
    /// `bow_force`: bow force, 0..1 (0.1–0.5 a normal tone, ~0.02 thin, 1 raucous).
    BowForce,
    /// `bow_velocity`: bow velocity, 0..1.
    BowVelocity,
}

impl VoiceParam {
    /// Every parameter, in documentation order.
    pub const ALL: [VoiceParam; 14] = [
        Self::Gain,
        Self::Pan,
        Self::Pitch,
        Self::Damping,
        Self::Morph,
        Self::X,
        Self::Y,
        Self::PickupLx,
        Self::PickupLy,
        Self::PickupRx,
        Self::PickupRy,
        Self::Brightness,
        Self::BowForce,
        Self::BowVelocity,
    ];

    /// The parameter's OSC name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Gain => "gain",
            Self::Pan => "pan",
            Self::Pitch => "pitch",
            Self::Damping => "damping",
            Self::Morph => "morph",
            Self::X => "x",
            Self::Y => "y",
            Self::PickupLx => "pickup_lx",
            Self::PickupLy => "pickup_ly",
            Self::PickupRx => "pickup_rx",
            Self::PickupRy => "pickup_ry",
            Self::Brightness => "brightness",
            Self::BowForce => "bow_force",
            Self::BowVelocity => "bow_velocity",
        }
    }

    /// The parameter called `name` (exact, case-sensitive), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// What it does, one line (OSCQuery's DESCRIPTION).
    pub fn description(self) -> &'static str {
        match self {
            Self::Gain => "linear output gain",
            Self::Pan => "stereo position, -1 (left) to 1 (right)",
            Self::Pitch => "the voice's pitch as a MIDI note, fractional allowed",
            Self::Damping => "scale on the instrument's damping",
            Self::Morph => "position between the voice's instrument and its morph target",
            Self::X => "strike position across the mesh (at /voice/new only)",
            Self::Y => "strike position down the mesh (at /voice/new only)",
            Self::PickupLx => "left pickup position across the mesh",
            Self::PickupLy => "left pickup position down the mesh",
            Self::PickupRx => "right pickup position across the mesh",
            Self::PickupRy => "right pickup position down the mesh",
            Self::Brightness => "excitation brightness, 0 dull to 1 bright",
            Self::BowForce => "bow force (0.1-0.5 a normal tone)",
            Self::BowVelocity => "bow velocity",
        }
    }

    /// The documented range; values outside it are clamped and counted.
    pub fn range(self) -> RangeInclusive<f32> {
        match self {
            Self::Gain => GAIN_RANGE,
            Self::Pan => -1.0..=1.0,
            Self::Pitch => NOTE_RANGE,
            Self::Damping => 0.1..=10.0,
            Self::Morph
            | Self::X
            | Self::Y
            | Self::PickupLx
            | Self::PickupLy
            | Self::PickupRx
            | Self::PickupRy
            | Self::Brightness
            | Self::BowForce
            | Self::BowVelocity => UNIT_RANGE,
        }
    }

    /// The pickup coordinate it moves (0 left x, 1 left y, 2 right x,
    /// 3 right y), if it is one.
    pub fn pickup_index(self) -> Option<usize> {
        match self {
            Self::PickupLx => Some(0),
            Self::PickupLy => Some(1),
            Self::PickupRx => Some(2),
            Self::PickupRy => Some(3),
            _ => None,
        }
    }

    /// True when a running voice responds to it (`x` and `y` place the
    /// note's first excitation: they only mean something at `/voice/new`).
    pub fn acts_on_running_voice(self) -> bool {
        !matches!(self, Self::X | Self::Y)
    }
}
