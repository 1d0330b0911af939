//! What each address takes, for the ones who ask (OSCQuery, `--help`
//! texts): its arguments with their OSC types and ranges, and what it does.
//! Every entry of the address table ([`super::Address`]) carries one
//! [`Signature`], so a new address is described where it is declared.
//!
//! The parser (`parse`) is the authority on what is accepted; the
//! signature describes it (a unit test sends every signature's minimum
//! and maximum through the parser).

use std::ops::RangeInclusive;

use crate::control::param::{
    AMPLITUDE_RANGE, GAIN_RANGE, MORPH_SECONDS_RANGE, NOTE_RANGE, UNIT_RANGE, WIDTH_RANGE,
};
use crate::types::{MOD_PHASE_RANGE, MOD_RATE_RANGE};

/// What kind of value an argument is.
#[derive(Debug, Clone, PartialEq)]
pub enum ArgKind {
    /// An integer in `min..=max` (any OSC number is accepted, floats rounded).
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// A number, clamped into this range.
    Float(RangeInclusive<f32>),
    /// An instrument: its name in the bank (or its index, any number).
    Inst,
    /// A plain instrument file name in the instruments folder (never a path).
    FileName,
    /// An excitation shape by name.
    Shape,
    /// A MIDI message (OSC `m`; a blob or 1 to 3 integers are accepted too).
    Midi,
    /// A voice parameter that acts on a running voice, by name (`/voice/mod`).
    ModParam,
    /// A modulator shape by name.
    ModShape,
    /// A modulator's depth, in its parameter's units (at most ± the width
    /// of the parameter's range: the range depends on the parameter).
    ModDepth,
    /// A preset name: 1 to 64 of `A-Z a-z 0-9 _ - .`, not starting with `.`.
    PresetName,
    /// A voice id (a number) or an instrument name (a string).
    RecallTarget,
}

impl ArgKind {
    /// The OSC type tag clients are told to send.
    pub fn tag(&self) -> char {
        match self {
            Self::Int { .. } | Self::RecallTarget => 'i',
            Self::Float(_) | Self::ModDepth => 'f',
            Self::Inst
            | Self::FileName
            | Self::Shape
            | Self::ModParam
            | Self::ModShape
            | Self::PresetName => 's',
            Self::Midi => 'm',
        }
    }
}

/// One argument of an address.
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    /// Its name in replies' reasons (`argument 2 (note): ...`).
    pub name: &'static str,
    /// Its kind.
    pub kind: ArgKind,
    /// May be left out (only the last arguments are optional).
    pub optional: bool,
}

impl Arg {
    /// A required argument.
    pub const fn new(name: &'static str, kind: ArgKind) -> Self {
        Self {
            name,
            kind,
            optional: false,
        }
    }

    /// The same argument, optional.
    pub const fn optional(self) -> Self {
        Self {
            optional: true,
            ..self
        }
    }
}

/// `param value` pairs after the fixed arguments (`/voice/new`, `/voice/set`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamPairs {
    /// None.
    No,
    /// Any number of pairs, none included.
    Optional,
    /// One pair or more.
    AtLeastOne,
}

/// What an address takes and does.
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    /// The fixed arguments, in order.
    pub args: &'static [Arg],
    /// `param value` pairs after them (names and ranges: [`super::VoiceParam`]).
    pub params: ParamPairs,
    /// What it does, one sentence.
    pub description: &'static str,
}

impl Signature {
    /// An address taking `args`, doing `description`.
    pub const fn new(args: &'static [Arg], description: &'static str) -> Self {
        Self {
            args,
            params: ParamPairs::No,
            description,
        }
    }

    /// The same, with `param value` pairs after the fixed arguments.
    pub const fn with_params(self, params: ParamPairs) -> Self {
        Self { params, ..self }
    }

    /// The OSC type-tag string of a complete message: every fixed argument
    /// (optional ones included), then one `sf` pair when at least one is
    /// required. Empty for an address without arguments.
    pub fn type_tags(&self) -> String {
        let mut tags: String = self.args.iter().map(|a| a.kind.tag()).collect();
        if self.params == ParamPairs::AtLeastOne {
            tags.push_str("sf");
        }
        tags
    }
}

/// A voice id.
pub const VOICE_ID: Arg = Arg::new(
    "id",
    ArgKind::Int {
        min: 0,
        max: i32::MAX as i64,
    },
);
/// `/voice/new`'s id: -1 lets the server pick.
pub const NEW_VOICE_ID: Arg = Arg::new(
    "id",
    ArgKind::Int {
        min: -1,
        max: i32::MAX as i64,
    },
);
/// `/sync`'s id, echoed.
pub const SYNC_ID: Arg = Arg::new(
    "id",
    ArgKind::Int {
        min: i32::MIN as i64,
        max: i32::MAX as i64,
    },
);
/// `/notify`'s switch.
pub const ON: Arg = Arg::new("on", ArgKind::Int { min: 0, max: 1 });
/// `/notify`'s reply port.
pub const REPLY_PORT: Arg = Arg::new(
    "reply port",
    ArgKind::Int {
        min: 1,
        max: u16::MAX as i64,
    },
)
.optional();
/// An instrument.
pub const INST: Arg = Arg::new("inst", ArgKind::Inst);
/// An instrument file name.
pub const FILE_NAME: Arg = Arg::new("name", ArgKind::FileName);
/// A MIDI note.
pub const NOTE: Arg = Arg::new("note", ArgKind::Float(NOTE_RANGE));
/// A velocity.
pub const VELOCITY: Arg = Arg::new("velocity", ArgKind::Float(UNIT_RANGE));
/// A position across the mesh.
pub const X: Arg = Arg::new("x", ArgKind::Float(UNIT_RANGE));
/// A position down the mesh.
pub const Y: Arg = Arg::new("y", ArgKind::Float(UNIT_RANGE));
/// An excitation's amplitude.
pub const AMPLITUDE: Arg = Arg::new("amplitude", ArgKind::Float(AMPLITUDE_RANGE));
/// An excitation's width.
pub const WIDTH: Arg = Arg::new("width", ArgKind::Float(WIDTH_RANGE)).optional();
/// An excitation's shape.
pub const SHAPE: Arg = Arg::new("shape", ArgKind::Shape).optional();
/// Left pickup, across.
pub const LX: Arg = Arg::new("lx", ArgKind::Float(UNIT_RANGE));
/// Left pickup, down.
pub const LY: Arg = Arg::new("ly", ArgKind::Float(UNIT_RANGE));
/// Right pickup, across.
pub const RX: Arg = Arg::new("rx", ArgKind::Float(UNIT_RANGE));
/// Right pickup, down.
pub const RY: Arg = Arg::new("ry", ArgKind::Float(UNIT_RANGE));
/// A morph position.
pub const MORPH_T: Arg = Arg::new("t", ArgKind::Float(UNIT_RANGE));
/// A morph duration.
pub const MORPH_SECONDS: Arg = Arg::new("seconds", ArgKind::Float(MORPH_SECONDS_RANGE)).optional();
/// A linear gain.
pub const GAIN: Arg = Arg::new("gain", ArgKind::Float(GAIN_RANGE));
/// A MIDI message.
pub const MIDI: Arg = Arg::new("message", ArgKind::Midi);
/// The parameter a modulator acts on.
pub const MOD_PARAM: Arg = Arg::new("param", ArgKind::ModParam);
/// The parameter a modulator acts on, left out for all of them.
pub const MOD_PARAM_OPTIONAL: Arg = MOD_PARAM.optional();
/// A modulator's shape.
pub const MOD_SHAPE: Arg = Arg::new("shape", ArgKind::ModShape);
/// A modulator's rate, Hz.
pub const MOD_RATE: Arg = Arg::new("rate", ArgKind::Float(MOD_RATE_RANGE));
/// A modulator's depth.
pub const MOD_DEPTH: Arg = Arg::new("depth", ArgKind::ModDepth);
/// A modulator's start phase, cycles.
pub const MOD_PHASE: Arg = Arg::new("phase", ArgKind::Float(MOD_PHASE_RANGE)).optional();
/// A preset's name.
pub const PRESET_NAME: Arg = Arg::new("name", ArgKind::PresetName);
/// What a preset is recalled on.
pub const RECALL_TARGET: Arg = Arg::new("target", ArgKind::RecallTarget);
/// How long a recall glides, seconds.
pub const RECALL_SECONDS: Arg = Arg::new("seconds", ArgKind::Float(MORPH_SECONDS_RANGE)).optional();
