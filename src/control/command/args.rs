//! Reading a message's arguments by the contract's rules: every numeric OSC
//! type for a number, floats rounded where an integer is meant, NaN and
//! infinity refused, out-of-range values clamped and counted.

use std::ops::RangeInclusive;
use std::path::Path;

use rosc::OscType;

use super::error::{ArgumentError, CommandError};
use super::types::{
    ExciteShape, InstRef, ModShape, ModSpec, RecallTarget, VoiceParam, MOD_PHASE_RANGE,
    MOD_RATE_RANGE,
};
use crate::control::midi::{self, MidiBytes};

/// A number read from an OSC argument: exact integers stay exact.
enum Num {
    Int(i64),
    Real(f64),
}

/// A short name of an argument's OSC type, for reasons.
fn type_name(arg: &OscType) -> &'static str {
    match arg {
        OscType::Int(_) => "int",
        OscType::Float(_) => "float",
        OscType::String(_) => "string",
        OscType::Blob(_) => "blob",
        OscType::Time(_) => "timetag",
        OscType::Long(_) => "int64",
        OscType::Double(_) => "double",
        OscType::Char(_) => "char",
        OscType::Color(_) => "color",
        OscType::Midi(_) => "midi",
        OscType::Bool(_) => "bool",
        OscType::Array(_) => "array",
        OscType::Nil => "nil",
        OscType::Inf => "infinitum",
    }
}

/// Whether `arg` has one of the numeric OSC types (`i f h d T F I`).
fn is_numeric(arg: &OscType) -> bool {
    matches!(
        arg,
        OscType::Int(_)
            | OscType::Long(_)
            | OscType::Bool(_)
            | OscType::Float(_)
            | OscType::Double(_)
            | OscType::Inf
    )
}

/// Reads a finite number from any numeric OSC type (`T`/`F` as 1/0).
fn numeric(arg: &OscType) -> Result<Num, ArgumentError> {
    let real = match *arg {
        OscType::Int(v) => return Ok(Num::Int(v.into())),
        OscType::Long(v) => return Ok(Num::Int(v)),
        OscType::Bool(v) => return Ok(Num::Int(v.into())),
        OscType::Float(v) => f64::from(v),
        OscType::Double(v) => v,
        OscType::Inf => f64::INFINITY,
        ref other => {
            return Err(ArgumentError::NotANumber {
                got: type_name(other),
            })
        }
    };
    if real.is_nan() {
        Err(ArgumentError::NaN)
    } else if real.is_infinite() {
        Err(ArgumentError::Infinite)
    } else {
        Ok(Num::Real(real))
    }
}

/// A cursor over a message's arguments that counts clamps.
pub(super) struct Args<'a> {
    args: &'a [OscType],
    next: usize,
    /// Values clamped into range so far.
    pub(super) clamped: u32,
}

/// Argument `index` (1-based), called `name`, is refused for `problem`.
fn refuse(index: usize, name: &'static str, problem: ArgumentError) -> CommandError {
    CommandError::argument(index, name, problem)
}

impl<'a> Args<'a> {
    /// A cursor at the first of `args`.
    pub(super) fn new(args: &'a [OscType]) -> Self {
        Self {
            args,
            next: 0,
            clamped: 0,
        }
    }

    /// The error for a missing next argument.
    pub(super) fn missing(&self, name: &'static str) -> CommandError {
        refuse(self.next + 1, name, ArgumentError::Missing)
    }

    /// Arguments not read yet.
    pub(super) fn remaining(&self) -> usize {
        self.args.len() - self.next
    }

    /// The next argument, not consumed.
    pub(super) fn peek(&self) -> Option<&'a OscType> {
        self.args.get(self.next)
    }

    /// The next argument and its 1-based position.
    fn arg(&mut self, name: &'static str) -> Result<(usize, &'a OscType), CommandError> {
        let arg = self.peek().ok_or_else(|| self.missing(name))?;
        self.next += 1;
        Ok((self.next, arg))
    }

    /// The next argument as a finite number.
    fn number(&mut self, name: &'static str) -> Result<(usize, Num), CommandError> {
        let (index, arg) = self.arg(name)?;
        let num = numeric(arg).map_err(|e| refuse(index, name, e))?;
        Ok((index, num))
    }

    /// The next argument as an integer, rounding floats (saturating at the i64 range).
    fn int(&mut self, name: &'static str) -> Result<(usize, i64), CommandError> {
        let (index, num) = self.number(name)?;
        Ok(match num {
            Num::Int(v) => (index, v),
            Num::Real(v) => (index, v.round() as i64),
        })
    }

    /// The next argument as a 32-bit integer.
    pub(super) fn i32(&mut self, name: &'static str) -> Result<i32, CommandError> {
        let (index, v) = self.int(name)?;
        i32::try_from(v).map_err(|_| refuse(index, name, ArgumentError::OutOfI32))
    }

    /// An integer clamped into `range` (counted).
    pub(super) fn int_clamped(
        &mut self,
        name: &'static str,
        range: RangeInclusive<i64>,
    ) -> Result<i64, CommandError> {
        let (_, v) = self.int(name)?;
        let c = v.clamp(*range.start(), *range.end());
        self.clamped += u32::from(c != v);
        Ok(c)
    }

    /// A float clamped into `range` (counted).
    pub(super) fn float(
        &mut self,
        name: &'static str,
        range: RangeInclusive<f32>,
    ) -> Result<f32, CommandError> {
        let (_, num) = self.number(name)?;
        let v = match num {
            Num::Int(v) => v as f64,
            Num::Real(v) => v,
        };
        let c = v.clamp(f64::from(*range.start()), f64::from(*range.end()));
        self.clamped += u32::from(c != v);
        Ok(c as f32)
    }

    /// The next argument as a string.
    fn string(&mut self, name: &'static str) -> Result<&'a str, CommandError> {
        match self.arg(name)? {
            (_, OscType::String(s)) => Ok(s),
            (index, other) => Err(refuse(
                index,
                name,
                ArgumentError::NotAString {
                    got: type_name(other),
                },
            )),
        }
    }

    /// A UDP port, 1..65535.
    pub(super) fn port(&mut self, name: &'static str) -> Result<u16, CommandError> {
        let (index, v) = self.int(name)?;
        u16::try_from(v)
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| refuse(index, name, ArgumentError::NotAPort))
    }

    /// An instrument: a name (string) or a bank index (number).
    pub(super) fn inst(&mut self) -> Result<InstRef, CommandError> {
        let index = self.next + 1;
        match self.peek() {
            Some(OscType::String(name)) => {
                self.next += 1;
                if name.is_empty() {
                    return Err(refuse(index, "inst", ArgumentError::EmptyName));
                }
                Ok(InstRef::Name(name.clone()))
            }
            Some(arg) if !is_numeric(arg) => Err(refuse(
                index,
                "inst",
                ArgumentError::NotAnInstrument {
                    got: type_name(arg),
                },
            )),
            _ => {
                let (index, v) = self.int("inst")?;
                u32::try_from(v)
                    .map(InstRef::Index)
                    .map_err(|_| refuse(index, "inst", ArgumentError::BadIndex))
            }
        }
    }

    /// An instrument file name for `/inst/load` and `/inst/reload`: never a path.
    pub(super) fn file_name(&mut self) -> Result<String, CommandError> {
        let index = self.next + 1;
        let name = self.string("name")?;
        if name.is_empty() {
            return Err(refuse(index, "name", ArgumentError::EmptyName));
        }
        let is_path = name.contains(['/', '\\', ':', '\0'])
            || name.contains("..")
            || Path::new(name).is_absolute();
        if is_path {
            return Err(CommandError::PathOutsideFolder);
        }
        Ok(name.to_owned())
    }

    /// `/voice/new`'s id: -1 (server picks, `None`) or 0 and up.
    pub(super) fn new_voice_id(&mut self) -> Result<Option<i32>, CommandError> {
        let index = self.next + 1;
        match self.i32("id")? {
            -1 => Ok(None),
            id if id >= 0 => Ok(Some(id)),
            _ => Err(refuse(index, "id", ArgumentError::BadVoiceId)),
        }
    }

    /// The remaining arguments as `param value` pairs.
    pub(super) fn params(&mut self) -> Result<Vec<(VoiceParam, f32)>, CommandError> {
        let mut params = Vec::with_capacity(self.remaining() / 2);
        while self.remaining() > 0 {
            let (_, param) = self.param_name()?;
            params.push((param, self.float(param.name(), param.range())?));
        }
        Ok(params)
    }

    /// A voice parameter by name (not yet its value).
    fn param_name(&mut self) -> Result<(usize, VoiceParam), CommandError> {
        let index = self.next + 1;
        let (_, arg) = self.arg("param")?;
        let OscType::String(name) = arg else {
            return Err(refuse(
                index,
                "param",
                ArgumentError::NotAParamName {
                    got: type_name(arg),
                },
            ));
        };
        let param = VoiceParam::from_name(name)
            .ok_or_else(|| refuse(index, "param", ArgumentError::UnknownParam(name.clone())))?;
        Ok((index, param))
    }

    /// A parameter a modulator can move (one that acts on a running voice).
    pub(super) fn modulated_param(&mut self) -> Result<VoiceParam, CommandError> {
        let (index, param) = self.param_name()?;
        if !param.acts_on_running_voice() {
            return Err(refuse(
                index,
                "param",
                ArgumentError::NotModulatable(param.name().to_owned()),
            ));
        }
        Ok(param)
    }

    /// `/voice/mod`'s `param shape rate depth [phase]`.
    pub(super) fn mod_spec(&mut self) -> Result<ModSpec, CommandError> {
        let param = self.modulated_param()?;
        let index = self.next + 1;
        let name = self.string("shape")?;
        let shape = ModShape::from_name(name).ok_or_else(|| {
            refuse(
                index,
                "shape",
                ArgumentError::UnknownModShape(name.to_owned()),
            )
        })?;
        let rate = self.float("rate", MOD_RATE_RANGE)?;
        let depth = self.float("depth", ModSpec::depth_range(param))?;
        let phase = match self.remaining() {
            0 => None,
            _ => Some(self.float("phase", MOD_PHASE_RANGE)?),
        };
        Ok(ModSpec {
            param,
            shape,
            rate,
            depth,
            phase,
        })
    }

    /// A preset name: 1 to 64 of `A-Z a-z 0-9 _ - .`, not starting with
    /// `.` (so it is a plain file name in the preset folder).
    pub(super) fn preset_name(&mut self) -> Result<String, CommandError> {
        let index = self.next + 1;
        let name = self.string("name")?;
        let ok = (1..=64).contains(&name.len())
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !ok {
            return Err(refuse(index, "name", ArgumentError::BadPresetName));
        }
        Ok(name.to_owned())
    }

    /// `/preset/recall`'s target: a voice id (number) or an instrument name (string).
    pub(super) fn recall_target(&mut self) -> Result<RecallTarget, CommandError> {
        let index = self.next + 1;
        match self.peek() {
            Some(OscType::String(name)) if name.is_empty() => {
                Err(refuse(index, "target", ArgumentError::EmptyName))
            }
            Some(OscType::String(name)) => {
                self.next += 1;
                Ok(RecallTarget::Instrument(name.clone()))
            }
            Some(arg) if !is_numeric(arg) => Err(refuse(
                index,
                "target",
                ArgumentError::NotARecallTarget {
                    got: type_name(arg),
                },
            )),
            _ => Ok(RecallTarget::Voice(self.i32("target")?)),
        }
    }

    /// An excitation shape by name.
    pub(super) fn shape(&mut self) -> Result<ExciteShape, CommandError> {
        let index = self.next + 1;
        let name = self.string("shape")?;
        ExciteShape::from_name(name)
            .ok_or_else(|| refuse(index, "shape", ArgumentError::UnknownShape(name.to_owned())))
    }

    /// A MIDI message: an OSC `m`, a blob, or 1 to 3 integers (0..255).
    pub(super) fn midi(&mut self) -> Result<MidiBytes, CommandError> {
        let bytes = match self.peek() {
            Some(OscType::Midi(m)) => {
                self.next += 1;
                let len = midi::message_len(m.status)
                    .or_else(|| midi::system_len(m.status))
                    .unwrap_or(1);
                MidiBytes::new(&[m.status, m.data1, m.data2][..len])?
            }
            Some(OscType::Blob(b)) => {
                self.next += 1;
                MidiBytes::from_message(b)?
            }
            _ => {
                if self.remaining() > 3 {
                    return Err(CommandError::MidiTooLong(self.remaining()));
                }
                let mut data = [0u8; 3];
                let count = self.remaining().max(1);
                for byte in &mut data[..count] {
                    let (index, v) = self.int("byte")?;
                    *byte = u8::try_from(v)
                        .map_err(|_| refuse(index, "byte", ArgumentError::NotAByte))?;
                }
                MidiBytes::new(&data[..count])?
            }
        };
        bytes.parse()?;
        Ok(bytes)
    }

    /// Refuses surplus arguments.
    pub(super) fn finish(&self) -> Result<(), CommandError> {
        match self.remaining() {
            0 => Ok(()),
            _ => Err(CommandError::TooManyArguments {
                given: self.args.len(),
                used: self.next,
            }),
        }
    }
}
