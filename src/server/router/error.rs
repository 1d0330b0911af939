//! Why the router refuses a valid command: [`RouterError`], the reason of
//! its `/fail <address> <reason>` (clients and tests read these messages).

use thiserror::Error;

use crate::control::midi::MidiError;
use crate::instrument::bank::BankError;
use crate::instrument::InstrumentError;

/// A command the router cannot carry out against the bank, the voices or
/// the session.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum RouterError {
    /// No instrument of that name in the bank.
    #[error("unknown instrument `{0}`")]
    UnknownInstrument(String),
    /// A bank index past the end of the bank.
    #[error("no instrument at index {index} (the bank has {count})")]
    NoInstrumentAt {
        /// The index asked for.
        index: usize,
        /// Instruments in the bank.
        count: usize,
    },
    /// No voice with that id (never started, or ended).
    #[error("unknown voice {0}")]
    UnknownVoice(i32),
    /// The instrument cannot plan the note (level, oversampling, certificate).
    #[error("{instrument}: {reason}")]
    Plan {
        /// The instrument's name.
        instrument: String,
        /// Why, as `Instrument::plan` says.
        reason: crate::instrument::PlanError,
    },
    /// `/quit` while remote quit is disabled.
    #[error("remote quit is disabled (--no-remote-quit)")]
    QuitDisabled,
    /// `/inst/load` or `/inst/reload` named no instrument file of the folder.
    #[error(transparent)]
    Path(#[from] BankError),
    /// The instrument file is refused.
    #[error(transparent)]
    Load(#[from] InstrumentError),
    /// A loaded instrument needs more than the engine's voice buffers.
    #[error("{0}: mesh larger than the voice buffers of this server")]
    MeshTooLarge(String),
    /// A morph between instruments of different mesh sizes.
    #[error(
        "cannot morph {from} into {to}: their meshes differ ({}×{} vs {}×{}); morph needs the same mesh size",
        from_size.0, from_size.1, to_size.0, to_size.1
    )]
    MorphMeshes {
        /// The voice's instrument.
        from: String,
        /// The target instrument.
        to: String,
        /// The voice's mesh, width × height.
        from_size: (usize, usize),
        /// The target's mesh, width × height.
        to_size: (usize, usize),
    },
    /// A morph whose far end fails the stability certificate.
    #[error("morphing {from} into {to} at note {note} would break the stability certificate")]
    MorphUnstable {
        /// The voice's instrument.
        from: String,
        /// The target instrument.
        to: String,
        /// The voice's note.
        note: f64,
    },
    /// `/voice/mod` on a voice whose other parameters use every modulator.
    #[error("voice {id} has {max} modulators already; clear one first (/voice/mod/clear)")]
    TooManyModulators {
        /// The voice.
        id: i32,
        /// The limit.
        max: usize,
    },
    /// No preset of that name.
    #[error("unknown preset `{0}`")]
    UnknownPreset(String),
    /// A preset file could not be written or removed.
    #[error("preset not stored: {0}")]
    PresetFile(String),
    /// `/midi` bytes that do not parse.
    #[error(transparent)]
    Midi(#[from] MidiError),
    /// A MIDI note on a channel whose instrument is not in the bank.
    #[error("channel {}: no instrument at index {index}", u16::from(*.channel) + 1)]
    NoChannelInstrument {
        /// The channel, 0-based.
        channel: u8,
        /// The bank index the channel plays.
        index: usize,
    },
    /// A program change past the end of the bank.
    #[error("program {program}: the bank has {count} instruments")]
    NoProgram {
        /// The program asked for.
        program: u8,
        /// Instruments in the bank.
        count: usize,
    },
}
