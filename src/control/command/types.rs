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

use super::signature::{
    ParamPairs, Signature, AMPLITUDE, FILE_NAME, GAIN, INST, LX, LY, MIDI, MOD_DEPTH, MOD_PARAM,
    MOD_PARAM_OPTIONAL, MOD_PHASE, MOD_RATE, MOD_SHAPE, MORPH_SECONDS, MORPH_T, NEW_VOICE_ID, NOTE,
    ON, PRESET_NAME, RECALL_SECONDS, RECALL_TARGET, REPLY_PORT, RX, RY, SHAPE, SYNC_ID, VELOCITY,
    VOICE_ID, WIDTH, X, Y,
};

/// Declares the address table once: [`Address`] (one variant per address,
/// named like its [`Command`] variant), [`ADDRESSES`], [`Command::address`]
/// and [`Address::signature`] (arguments, types, ranges, description: what
/// OSCQuery publishes) all come from this one list.
macro_rules! address_table {
    ($($variant:ident => $address:literal: $signature:expr,)*) => {
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

            /// What the address takes (types, ranges) and does.
            pub fn signature(self) -> Signature {
                match self {
                    $(Address::$variant => $signature,)*
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
    Status => "/status": Signature::new(&[], "Answers /status.reply: voices, load, counters, engine, latency."),
    Version => "/version": Signature::new(&[], "Answers /version.reply <name> <version>."),
    Sync => "/sync": Signature::new(&[SYNC_ID], "Answers /synced <id> once everything sent before it is applied."),
    Notify => "/notify": Signature::new(&[ON, REPLY_PORT], "1 [reply port]: send replies and notifications (/voice/started, /voice/end) to the sender or that port; 0 stops."),
    Quit => "/quit": Signature::new(&[], "Answers /done /quit, then shuts the server down (unless --no-remote-quit)."),
    InstList => "/inst/list": Signature::new(&[], "Answers /inst/list.reply <count> <name>... in bank order."),
    InstInfo => "/inst/info": Signature::new(&[INST], "Answers /inst/info.reply <name> <index> <width> <height> <reference note> <param>... <release limit>."),
    InstLoad => "/inst/load": Signature::new(&[FILE_NAME], "Loads <name> from the instruments folder; answers /done /inst/load <name>."),
    InstReload => "/inst/reload": Signature::new(&[FILE_NAME], "Reloads <name> from disk; playing voices go on; a broken file is refused and the old version stays."),
    NoteOn => "/note/on": Signature::new(&[INST, NOTE, VELOCITY], "Starts a voice, like a MIDI note-on (instrument by name or bank index)."),
    NoteOff => "/note/off": Signature::new(&[INST, NOTE], "Releases the voices /note/on started with that note."),
    VoiceNew => "/voice/new": Signature::new(&[NEW_VOICE_ID, INST, NOTE, VELOCITY], "Starts a voice with this id (-1: the server picks), then optional param value pairs; notifies /voice/started <id>.").with_params(ParamPairs::Optional),
    VoiceSet => "/voice/set": Signature::new(&[VOICE_ID], "Changes a running voice smoothly: one or more param value pairs.").with_params(ParamPairs::AtLeastOne),
    VoiceRelease => "/voice/release": Signature::new(&[VOICE_ID], "Lets the voice ring out; notifies /voice/end <id> once it is silent."),
    VoiceFree => "/voice/free": Signature::new(&[VOICE_ID], "Stops the voice at once, with a short fade."),
    VoiceFreeAll => "/voice/free_all": Signature::new(&[], "Stops every voice."),
    Excite => "/excite": Signature::new(&[VOICE_ID, X, Y, AMPLITUDE, WIDTH, SHAPE], "Excites a running voice at (x, y); width and shape are optional."),
    Pickup => "/pickup": Signature::new(&[VOICE_ID, LX, LY, RX, RY], "Moves the voice's left and right pickups smoothly."),
    Morph => "/morph": Signature::new(&[VOICE_ID, INST, MORPH_T, MORPH_SECONDS], "Moves the voice's physics toward the instrument by t, over seconds if given."),
    MasterGain => "/master/gain": Signature::new(&[GAIN], "Output gain, linear."),
    Midi => "/midi": Signature::new(&[MIDI], "A MIDI message (OSC m, a blob or 1 to 3 integers), handled like one from a MIDI port."),
    VoiceMod => "/voice/mod": Signature::new(&[VOICE_ID, MOD_PARAM, MOD_SHAPE, MOD_RATE, MOD_DEPTH, MOD_PHASE], "Sets (or replaces) the voice's modulator on param: an LFO (sine, triangle, saw, square) or smoothed noise at rate Hz, depth in the param's units, phase in cycles."),
    VoiceModClear => "/voice/mod/clear": Signature::new(&[VOICE_ID, MOD_PARAM_OPTIONAL], "Removes the voice's modulator on param, or all of them, with a short fade."),
    PresetSave => "/preset/save": Signature::new(&[PRESET_NAME, VOICE_ID], "Stores the voice's controls, modulators and morph, and the master gain, under name; answers /done /preset/save <name>."),
    PresetRecall => "/preset/recall": Signature::new(&[PRESET_NAME, RECALL_TARGET, RECALL_SECONDS], "Recalls the preset on a voice (id) or on every voice of an instrument (name), at once or gliding over seconds."),
    PresetList => "/preset/list": Signature::new(&[], "Answers /preset/list.reply <count> <name>... in name order."),
    PresetDelete => "/preset/delete": Signature::new(&[PRESET_NAME], "Forgets the preset and removes its file."),
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
