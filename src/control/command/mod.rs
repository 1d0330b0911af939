//! Typed, validated commands: one [`Command`] per address of the OSC contract.
//!
//! [`parse_message`] applies the contract's argument rules:
//! - every numeric argument accepts `i`, `f`, `h`, `d` and `T`/`F` (1/0);
//!   a float where an integer is meant is rounded (half away from zero);
//! - NaN and infinity (including the `I` type) are refused;
//! - out-of-range values are clamped to the ranges documented on the
//!   constants of [`super::param`] and on [`VoiceParam::range`], and counted in
//!   [`Parsed::clamped`];
//! - missing, mistyped or surplus arguments, unknown addresses, unknown
//!   parameters and shapes, and instrument names that are paths are refused
//!   with a [`Fail`]. A refused command clamps nothing.
//!
//! Reasons name the argument by its 1-based position and its name, e.g.
//! `argument 2 (note): expected a number, got string`.
//!
//! One concept per file: `types` (the address table, [`Command`],
//! [`InstRef`], [`Parsed`]), `args` (reading arguments by the rules above),
//! `parse` (address → command), [`signature`] (what each address takes,
//! for OSCQuery), `error` ([`CommandError`], [`Fail`]).

mod args;
mod error;
mod parse;
pub mod signature;
#[cfg(test)]
mod signature_tests;
#[cfg(test)]
mod tests;
mod types;

pub use error::{ArgumentError, CommandError, Fail};
pub use parse::parse_message;
pub use signature::{Arg, ArgKind, ParamPairs, Signature};
pub use types::{
    Address, Command, ExciteShape, InstRef, ModShape, ModSpec, Parsed, RecallTarget, VoiceParam,
    ADDRESSES, AMPLITUDE_RANGE, GAIN_RANGE, MAX_MODULATORS, MOD_PHASE_RANGE, MOD_RATE_RANGE,
    MORPH_SECONDS_RANGE, NOTE_RANGE, UNIT_RANGE, WIDTH_RANGE,
};
