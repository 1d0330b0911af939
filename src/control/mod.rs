//! The non-real-time control side of the server.
//!
//! Everything that arrives over OSC passes through this module before the
//! engine sees it:
//!
//! 1. [`osc::decode_packet`] turns the raw bytes of one UDP datagram into a
//!    flat, ordered list of messages, each carrying the timetag of the bundle
//!    it came in ([`osc::Timetag::Immediate`] for plain messages).
//! 2. [`command::parse_message`] turns each message into a typed, validated
//!    [`command::Command`]: numbers are coerced (`i`, `f`, `h`, `d`, `T`/`F`),
//!    out-of-range values are clamped and counted, and anything the contract
//!    refuses becomes a [`command::Fail`] that the caller answers with
//!    `/fail <address> <reason>`.
//! 3. [`reply`] builds the server's answers, using only the `i`, `f`, `s` and
//!    `b` argument types that every client can read.
//! 4. [`midi`] parses MIDI 1.0 channel messages, for `/midi` and MIDI ports.
//! 5. [`oscquery`] describes every address (types, ranges, the bank's
//!    instruments) as an OSCQuery tree, for the server's HTTP thread.
//!
//! The contract these modules implement is `shared/spec/osc.md`.
//!
//! # Threads
//!
//! Nothing here runs on the audio thread. rosc allocates while decoding
//! (`String` addresses, `Vec` arguments) and the commands hold owned names,
//! so decoding and parsing belong on the network thread. The engine side
//! converts a [`command::Command`] into its own fixed-size message before it
//! crosses the real-time queue.

pub mod command;
pub mod midi;
pub mod osc;
pub mod oscquery;
pub mod param;
pub mod reply;

pub use command::{parse_message, Command, ExciteShape, Fail, InstRef, Parsed, VoiceParam};
pub use midi::{MidiBytes, MidiError, MidiEvent, VelocityCurve};
pub use osc::{decode_packet, PacketError, TimedMessage, Timetag};
