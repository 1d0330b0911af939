//! Why a command is refused: [`CommandError`] (the reason a `/fail` reply
//! carries), [`ArgumentError`] (what is wrong with one argument) and
//! [`Fail`] (a reason with the address it refuses).
//!
//! The messages are part of the OSC contract's replies: clients and tests
//! read them, so they do not change.

use rosc::OscMessage;
use thiserror::Error;

use crate::control::midi::MidiError;
use crate::control::reply;

/// What is wrong with one argument (the text after `argument N (name): `).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ArgumentError {
    /// The message ends before this argument.
    #[error("missing")]
    Missing,
    /// A number was expected; `got` names the OSC type sent.
    #[error("expected a number, got {got}")]
    NotANumber {
        /// The OSC type sent (`string`, `blob`, …).
        got: &'static str,
    },
    /// A string was expected.
    #[error("expected a string, got {got}")]
    NotAString {
        /// The OSC type sent.
        got: &'static str,
    },
    /// An instrument name or bank index was expected.
    #[error("expected an instrument name or index, got {got}")]
    NotAnInstrument {
        /// The OSC type sent.
        got: &'static str,
    },
    /// A voice parameter name was expected.
    #[error("expected a parameter name, got {got}")]
    NotAParamName {
        /// The OSC type sent.
        got: &'static str,
    },
    /// The number is NaN.
    #[error("NaN is not allowed")]
    NaN,
    /// The number is infinite (or the OSC `I` type).
    #[error("infinity is not allowed")]
    Infinite,
    /// An integer outside the 32-bit range.
    #[error("out of the 32-bit integer range")]
    OutOfI32,
    /// A reply port outside 1..65535.
    #[error("must be a port, 1..65535")]
    NotAPort,
    /// An empty instrument or file name.
    #[error("empty name")]
    EmptyName,
    /// A bank index outside the `u32` range.
    #[error("index must be 0..4294967295")]
    BadIndex,
    /// A `/voice/new` id below -1.
    #[error("must be -1 (server picks) or 0 and up")]
    BadVoiceId,
    /// A parameter name that no voice parameter has.
    #[error("unknown parameter \"{0}\"")]
    UnknownParam(String),
    /// An excitation shape that does not exist.
    #[error("unknown excitation shape \"{0}\" (strike, pluck, noise or bow)")]
    UnknownShape(String),
    /// A modulator shape that does not exist.
    #[error("unknown modulator shape \"{0}\" (sine, triangle, saw, square or noise)")]
    UnknownModShape(String),
    /// A parameter that only places a note's first strike (`x`, `y`).
    #[error("parameter \"{0}\" acts only at /voice/new and cannot be modulated")]
    NotModulatable(String),
    /// A preset name with characters other than letters, digits, `_`, `-`, `.`.
    #[error("a preset name is 1 to 64 letters, digits, '_', '-' or '.', not starting with '.'")]
    BadPresetName,
    /// A recall target that is neither a voice id nor an instrument name.
    #[error("expected a voice id or an instrument name, got {got}")]
    NotARecallTarget {
        /// The OSC type sent.
        got: &'static str,
    },
    /// A MIDI byte outside 0..255.
    #[error("must be 0..255")]
    NotAByte,
}

/// Why a command is refused: the reason of its `/fail <address> <reason>`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The address is not in the contract's command table.
    #[error("unknown command")]
    UnknownAddress,
    /// One argument is missing, mistyped or refused.
    #[error("argument {index} ({name}): {problem}")]
    Argument {
        /// Its 1-based position in the message.
        index: usize,
        /// Its name in the command (`note`, `id`, a parameter's name, …).
        name: &'static str,
        /// What is wrong with it.
        #[source]
        problem: ArgumentError,
    },
    /// More arguments than the command reads.
    #[error("too many arguments: {given} given, at most {used} used")]
    TooManyArguments {
        /// Arguments in the message.
        given: usize,
        /// Arguments the command read.
        used: usize,
    },
    /// `/inst/load` or `/inst/reload` named a path, not a file name.
    #[error("path outside the instruments folder")]
    PathOutsideFolder,
    /// `/midi` with more than 3 integers.
    #[error("a MIDI message is at most 3 bytes, got {0} integers")]
    MidiTooLong(usize),
    /// `/midi` bytes that are not one MIDI message.
    #[error("invalid MIDI message: {0}")]
    InvalidMidi(#[from] MidiError),
}

impl CommandError {
    /// Argument `index` (1-based), called `name`, is refused for `problem`.
    pub fn argument(index: usize, name: &'static str, problem: ArgumentError) -> Self {
        Self::Argument {
            index,
            name,
            problem,
        }
    }
}

/// A refused command: answer `/fail <address> <reason>` to the sender.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{address}: {reason}")]
pub struct Fail {
    /// The address of the refused message.
    pub address: String,
    /// Why it was refused.
    #[source]
    pub reason: CommandError,
}

impl Fail {
    /// The `/fail <address> <reason>` reply.
    pub fn to_reply(&self) -> OscMessage {
        reply::fail(&self.address, &self.reason.to_string())
    }
}
