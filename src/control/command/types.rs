//! The typed commands: the contract's address table ([`ADDRESSES`],
//! [`Address`]), one [`Command`] per address, and what a parse returns
//! ([`Parsed`]).

use crate::control::midi::MidiBytes;
pub use crate::control::param::{
    VoiceParam, AMPLITUDE_RANGE, GAIN_RANGE, MORPH_SECONDS_RANGE, NOTE_RANGE, UNIT_RANGE,
    WIDTH_RANGE,
};
pub use crate::instrument::format::ExciteShape;
pub use crate::types::{ModShape, ModSpec, MAX_MODULATORS, MOD_PHASE_RANGE, MOD_RATE_RANGE};

/// Declares the address table once: [`Address`] (one variant per address,
/// named like its [`Command`] variant), [`ADDRESSES`] and
/// [`Command::address`] all come from this one list.
macro_rules! address_table {
    ($($variant:ident => $address:literal,)*) => {
        /// Which command an address names: a [`Command`] without its arguments.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Address {
            $(
                #[doc = concat!("`", $address, "`")]
                $variant,
            )*
        }

        /// Every address of the contract, in the order of its command table.
        pub const ADDRESSES: &[&str] = &[$($address,)*];

        impl Address {
            /// Every address, in the order of the contract's command table.
            pub const ALL: &[Address] = &[$(Address::$variant,)*];

            /// The OSC address.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Address::$variant => $address,)*
                }
            }

            /// The address called `name` (exact match), if the contract has it.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($address => Some(Address::$variant),)*
                    _ => None,
                }
            }
        }

        impl Command {
            /// Which address this command answers.
            pub fn kind(&self) -> Address {
                match self {
                    $(Command::$variant { .. } => Address::$variant,)*
                }
            }
        }
    };
}

address_table! {
    Status => "/status",
    Version => "/version",
    Sync => "/sync",
    Notify => "/notify",
    Quit => "/quit",
    InstList => "/inst/list",
    InstInfo => "/inst/info",
    InstLoad => "/inst/load",
    InstReload => "/inst/reload",
    NoteOn => "/note/on",
    NoteOff => "/note/off",
    VoiceNew => "/voice/new",
    VoiceSet => "/voice/set",
    VoiceRelease => "/voice/release",
    VoiceFree => "/voice/free",
    VoiceFreeAll => "/voice/free_all",
    Excite => "/excite",
    Pickup => "/pickup",
    Morph => "/morph",
    MasterGain => "/master/gain",
    Midi => "/midi",
    VoiceMod => "/voice/mod",
    VoiceModClear => "/voice/mod/clear",
    PresetSave => "/preset/save",
    PresetRecall => "/preset/recall",
    PresetList => "/preset/list",
    PresetDelete => "/preset/delete",
}

/// What `/preset/recall` applies a preset to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RecallTarget {
    /// One voice, by id (a number).
    Voice(i32),
    /// Every voice of an instrument, by name (a string).
    Instrument(String),
}

/// An instrument, named by its name or by its index in the bank.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InstRef {
    /// By name (an OSC string).
    Name(String),
    /// By index in the bank (any OSC number, rounded).
    Index(u32),
}

/// A validated command. Float fields are finite and inside their documented ranges.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `/status`: answer `/status.reply`.
    Status,
    /// `/version`: answer `/version.reply`.
    Version,
    /// `/sync id`: answer `/synced id` once everything before it is applied.
    Sync {
        /// Echoed in `/synced`.
        id: i32,
    },
    /// `/notify on [port]`: (un)register the sender for notifications.
    Notify {
        /// Register (`true`) or unregister.
        on: bool,
        /// Reply port on the sender's host, when given (1..=65535).
        port: Option<u16>,
    },
    /// `/quit`: answer `/done /quit`, then shut down.
    Quit,
    /// `/inst/list`: answer `/inst/list.reply`.
    InstList,
    /// `/inst/info inst`: answer `/inst/info.reply`.
    InstInfo {
        /// The instrument asked about.
        inst: InstRef,
    },
    /// `/inst/load name`: load from the instruments folder.
    InstLoad {
        /// A plain file name, never a path.
        name: String,
    },
    /// `/inst/reload name`: reload from disk.
    InstReload {
        /// A plain file name, never a path.
        name: String,
    },
    /// `/note/on inst note velocity`: start a voice, like a MIDI note-on.
    NoteOn {
        /// The instrument.
        inst: InstRef,
        /// MIDI note, [`NOTE_RANGE`].
        note: f32,
        /// 0..1.
        velocity: f32,
    },
    /// `/note/off inst note`: release the voices `/note/on` started with that note.
    NoteOff {
        /// The instrument.
        inst: InstRef,
        /// MIDI note, [`NOTE_RANGE`].
        note: f32,
    },
    /// `/voice/new id inst note velocity [param value]...`: start a voice.
    VoiceNew {
        /// The client's id (0 or more), or `None` when it sent -1: the server picks.
        id: Option<i32>,
        /// The instrument.
        inst: InstRef,
        /// MIDI note, [`NOTE_RANGE`].
        note: f32,
        /// 0..1.
        velocity: f32,
        /// Initial parameters, in the order sent.
        params: Vec<(VoiceParam, f32)>,
    },
    /// `/voice/set id param value [param value]...`: change a running voice smoothly.
    VoiceSet {
        /// The voice.
        id: i32,
        /// At least one parameter, in the order sent.
        params: Vec<(VoiceParam, f32)>,
    },
    /// `/voice/release id`: let the voice ring out.
    VoiceRelease {
        /// The voice.
        id: i32,
    },
    /// `/voice/free id`: stop the voice at once (with a short fade).
    VoiceFree {
        /// The voice.
        id: i32,
    },
    /// `/voice/free_all`: stop every voice.
    VoiceFreeAll,
    /// `/excite id x y amplitude [width] [shape]`: excite a running voice at (x, y).
    Excite {
        /// The voice.
        id: i32,
        /// 0..1 across the mesh.
        x: f32,
        /// 0..1 down the mesh.
        y: f32,
        /// [`AMPLITUDE_RANGE`].
        amplitude: f32,
        /// [`WIDTH_RANGE`]; `None` for the instrument's default.
        width: Option<f32>,
        /// [`ExciteShape::Strike`] when not given.
        shape: ExciteShape,
    },
    /// `/pickup id lx ly rx ry`: move the voice's pickups smoothly (all 0..1).
    Pickup {
        /// The voice.
        id: i32,
        /// Left pickup, across.
        lx: f32,
        /// Left pickup, down.
        ly: f32,
        /// Right pickup, across.
        rx: f32,
        /// Right pickup, down.
        ry: f32,
    },
    /// `/morph id inst t [seconds]`: move the voice's physics toward `inst`.
    Morph {
        /// The voice.
        id: i32,
        /// The target instrument.
        inst: InstRef,
        /// 0..1.
        t: f32,
        /// [`MORPH_SECONDS_RANGE`]; `None` for at once.
        seconds: Option<f32>,
    },
    /// `/master/gain g`: linear output gain, [`GAIN_RANGE`].
    MasterGain {
        /// Linear gain.
        gain: f32,
    },
    /// `/midi ...`: a MIDI message, handled like one from a MIDI port. The
    /// bytes are checked to parse with [`crate::control::midi::parse`].
    Midi(MidiBytes),
    /// `/voice/mod id param shape rate depth [phase]`: set or replace the
    /// modulator of one parameter of a voice (an extension).
    VoiceMod {
        /// The voice.
        id: i32,
        /// The modulator (rate, depth and phase clamped into range).
        spec: ModSpec,
    },
    /// `/voice/mod/clear id [param]`: remove a voice's modulator of
    /// `param`, or all of them (an extension).
    VoiceModClear {
        /// The voice.
        id: i32,
        /// The parameter; `None` for every modulator.
        param: Option<VoiceParam>,
    },
    /// `/preset/save name id`: store voice `id`'s controls and the master
    /// section under `name` (an extension).
    PresetSave {
        /// Preset name (letters, digits, `_`, `-`, `.`; never a path).
        name: String,
        /// The voice whose controls are stored.
        id: i32,
    },
    /// `/preset/recall name target [seconds]`: apply a preset at once, or
    /// linearly over `seconds` (an extension).
    PresetRecall {
        /// Preset name.
        name: String,
        /// One voice or every voice of an instrument.
        target: RecallTarget,
        /// [`MORPH_SECONDS_RANGE`]; `None` for at once (smoothed).
        seconds: Option<f32>,
    },
    /// `/preset/list`: answer `/preset/list.reply` (an extension).
    PresetList,
    /// `/preset/delete name`: forget a preset, and its file (an extension).
    PresetDelete {
        /// Preset name.
        name: String,
    },
}

impl Command {
    /// The OSC address of this command.
    pub fn address(&self) -> &'static str {
        self.kind().name()
    }
}

/// A command that was accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The command.
    pub command: Command,
    /// How many of its values were clamped into range (for `/status`).
    pub clamped: u32,
}
