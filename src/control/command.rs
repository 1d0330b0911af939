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

use std::ops::RangeInclusive;
use std::path::Path;

use rosc::{OscMessage, OscType};
use thiserror::Error;

use super::midi::{self, MidiBytes};
pub use super::param::{
    VoiceParam, AMPLITUDE_RANGE, GAIN_RANGE, MORPH_SECONDS_RANGE, NOTE_RANGE, UNIT_RANGE,
    WIDTH_RANGE,
};
use super::reply;

/// Every address of the contract, in the order of its command table.
pub const ADDRESSES: [&str; 21] = [
    "/status",
    "/version",
    "/sync",
    "/notify",
    "/quit",
    "/inst/list",
    "/inst/info",
    "/inst/load",
    "/inst/reload",
    "/note/on",
    "/note/off",
    "/voice/new",
    "/voice/set",
    "/voice/release",
    "/voice/free",
    "/voice/free_all",
    "/excite",
    "/pickup",
    "/morph",
    "/master/gain",
    "/midi",
];

/// An instrument, named by its name or by its index in the bank.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InstRef {
    /// By name (an OSC string).
    Name(String),
    /// By index in the bank (any OSC number, rounded).
    Index(u32),
}

pub use crate::instrument::format::ExciteShape;

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
    /// bytes are checked to parse with [`midi::parse`].
    Midi(MidiBytes),
}

impl Command {
    /// The OSC address of this command.
    pub fn address(&self) -> &'static str {
        match self {
            Command::Status => "/status",
            Command::Version => "/version",
            Command::Sync { .. } => "/sync",
            Command::Notify { .. } => "/notify",
            Command::Quit => "/quit",
            Command::InstList => "/inst/list",
            Command::InstInfo { .. } => "/inst/info",
            Command::InstLoad { .. } => "/inst/load",
            Command::InstReload { .. } => "/inst/reload",
            Command::NoteOn { .. } => "/note/on",
            Command::NoteOff { .. } => "/note/off",
            Command::VoiceNew { .. } => "/voice/new",
            Command::VoiceSet { .. } => "/voice/set",
            Command::VoiceRelease { .. } => "/voice/release",
            Command::VoiceFree { .. } => "/voice/free",
            Command::VoiceFreeAll => "/voice/free_all",
            Command::Excite { .. } => "/excite",
            Command::Pickup { .. } => "/pickup",
            Command::Morph { .. } => "/morph",
            Command::MasterGain { .. } => "/master/gain",
            Command::Midi(_) => "/midi",
        }
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

/// A refused command: answer `/fail <address> <reason>` to the sender.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{address}: {reason}")]
pub struct Fail {
    /// The address of the refused message.
    pub address: String,
    /// Why it was refused.
    pub reason: String,
}

impl Fail {
    /// The `/fail <address> <reason>` reply.
    pub fn to_reply(&self) -> OscMessage {
        reply::fail(&self.address, &self.reason)
    }
}

/// Validates one message into a command (see the module docs for the rules).
pub fn parse_message(msg: &OscMessage) -> Result<Parsed, Fail> {
    let fail = |reason| Fail {
        address: msg.addr.clone(),
        reason,
    };
    let mut args = Args {
        args: &msg.args,
        next: 0,
        clamped: 0,
    };
    let command = parse_command(&msg.addr, &mut args).map_err(fail)?;
    args.finish().map_err(fail)?;
    Ok(Parsed {
        command,
        clamped: args.clamped,
    })
}

/// Reads the arguments of the command at `address`.
fn parse_command(address: &str, a: &mut Args) -> Result<Command, String> {
    Ok(match address {
        "/status" => Command::Status,
        "/version" => Command::Version,
        "/sync" => Command::Sync { id: a.i32("id")? },
        "/notify" => {
            let on = a.int_clamped("on", 0..=1)? == 1;
            let port = match a.remaining() {
                0 => None,
                _ => Some(a.port("reply port")?),
            };
            Command::Notify { on, port }
        }
        "/quit" => Command::Quit,
        "/inst/list" => Command::InstList,
        "/inst/info" => Command::InstInfo { inst: a.inst()? },
        "/inst/load" => Command::InstLoad {
            name: a.file_name()?,
        },
        "/inst/reload" => Command::InstReload {
            name: a.file_name()?,
        },
        "/note/on" => Command::NoteOn {
            inst: a.inst()?,
            note: a.float("note", NOTE_RANGE)?,
            velocity: a.float("velocity", UNIT_RANGE)?,
        },
        "/note/off" => Command::NoteOff {
            inst: a.inst()?,
            note: a.float("note", NOTE_RANGE)?,
        },
        "/voice/new" => Command::VoiceNew {
            id: a.new_voice_id()?,
            inst: a.inst()?,
            note: a.float("note", NOTE_RANGE)?,
            velocity: a.float("velocity", UNIT_RANGE)?,
            params: a.params()?,
        },
        "/voice/set" => {
            let id = a.i32("id")?;
            if a.remaining() == 0 {
                return Err(a.missing("param"));
            }
            Command::VoiceSet {
                id,
                params: a.params()?,
            }
        }
        "/voice/release" => Command::VoiceRelease { id: a.i32("id")? },
        "/voice/free" => Command::VoiceFree { id: a.i32("id")? },
        "/voice/free_all" => Command::VoiceFreeAll,
        "/excite" => {
            let id = a.i32("id")?;
            let x = a.float("x", UNIT_RANGE)?;
            let y = a.float("y", UNIT_RANGE)?;
            let amplitude = a.float("amplitude", AMPLITUDE_RANGE)?;
            // A string right after the amplitude is the shape, width left out.
            let width = match a.peek() {
                None | Some(OscType::String(_)) => None,
                Some(_) => Some(a.float("width", WIDTH_RANGE)?),
            };
            let shape = match a.remaining() {
                0 => ExciteShape::default(),
                _ => a.shape()?,
            };
            Command::Excite {
                id,
                x,
                y,
                amplitude,
                width,
                shape,
            }
        }
        "/pickup" => Command::Pickup {
            id: a.i32("id")?,
            lx: a.float("lx", UNIT_RANGE)?,
            ly: a.float("ly", UNIT_RANGE)?,
            rx: a.float("rx", UNIT_RANGE)?,
            ry: a.float("ry", UNIT_RANGE)?,
        },
        "/morph" => Command::Morph {
            id: a.i32("id")?,
            inst: a.inst()?,
            t: a.float("t", UNIT_RANGE)?,
            seconds: match a.remaining() {
                0 => None,
                _ => Some(a.float("seconds", MORPH_SECONDS_RANGE)?),
            },
        },
        "/master/gain" => Command::MasterGain {
            gain: a.float("gain", GAIN_RANGE)?,
        },
        "/midi" => Command::Midi(a.midi()?),
        _ => return Err("unknown command".into()),
    })
}

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
fn numeric(arg: &OscType) -> Result<Num, String> {
    let real = match *arg {
        OscType::Int(v) => return Ok(Num::Int(v.into())),
        OscType::Long(v) => return Ok(Num::Int(v)),
        OscType::Bool(v) => return Ok(Num::Int(v.into())),
        OscType::Float(v) => f64::from(v),
        OscType::Double(v) => v,
        OscType::Inf => f64::INFINITY,
        ref other => return Err(format!("expected a number, got {}", type_name(other))),
    };
    if real.is_nan() {
        Err("NaN is not allowed".into())
    } else if real.is_infinite() {
        Err("infinity is not allowed".into())
    } else {
        Ok(Num::Real(real))
    }
}

/// A cursor over a message's arguments that counts clamps.
struct Args<'a> {
    args: &'a [OscType],
    next: usize,
    clamped: u32,
}

impl<'a> Args<'a> {
    /// "argument N (name): what".
    fn reason(index: usize, name: &str, what: impl std::fmt::Display) -> String {
        format!("argument {index} ({name}): {what}")
    }

    /// The reason for a missing next argument.
    fn missing(&self, name: &str) -> String {
        Self::reason(self.next + 1, name, "missing")
    }

    fn remaining(&self) -> usize {
        self.args.len() - self.next
    }

    fn peek(&self) -> Option<&'a OscType> {
        self.args.get(self.next)
    }

    /// The next argument and its 1-based position.
    fn arg(&mut self, name: &str) -> Result<(usize, &'a OscType), String> {
        let arg = self.peek().ok_or_else(|| self.missing(name))?;
        self.next += 1;
        Ok((self.next, arg))
    }

    /// The next argument as a finite number.
    fn number(&mut self, name: &str) -> Result<(usize, Num), String> {
        let (index, arg) = self.arg(name)?;
        let num = numeric(arg).map_err(|e| Self::reason(index, name, e))?;
        Ok((index, num))
    }

    /// The next argument as an integer, rounding floats (saturating at the i64 range).
    fn int(&mut self, name: &str) -> Result<(usize, i64), String> {
        let (index, num) = self.number(name)?;
        Ok(match num {
            Num::Int(v) => (index, v),
            Num::Real(v) => (index, v.round() as i64),
        })
    }

    fn i32(&mut self, name: &str) -> Result<i32, String> {
        let (index, v) = self.int(name)?;
        i32::try_from(v).map_err(|_| Self::reason(index, name, "out of the 32-bit integer range"))
    }

    /// An integer clamped into `range` (counted).
    fn int_clamped(&mut self, name: &str, range: RangeInclusive<i64>) -> Result<i64, String> {
        let (_, v) = self.int(name)?;
        let c = v.clamp(*range.start(), *range.end());
        self.clamped += u32::from(c != v);
        Ok(c)
    }

    /// A float clamped into `range` (counted).
    fn float(&mut self, name: &str, range: RangeInclusive<f32>) -> Result<f32, String> {
        let (_, num) = self.number(name)?;
        let v = match num {
            Num::Int(v) => v as f64,
            Num::Real(v) => v,
        };
        let c = v.clamp(f64::from(*range.start()), f64::from(*range.end()));
        self.clamped += u32::from(c != v);
        Ok(c as f32)
    }

    fn string(&mut self, name: &str) -> Result<&'a str, String> {
        match self.arg(name)? {
            (_, OscType::String(s)) => Ok(s),
            (index, other) => Err(Self::reason(
                index,
                name,
                format_args!("expected a string, got {}", type_name(other)),
            )),
        }
    }

    fn port(&mut self, name: &str) -> Result<u16, String> {
        let (index, v) = self.int(name)?;
        u16::try_from(v)
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| Self::reason(index, name, "must be a port, 1..65535"))
    }

    /// An instrument: a name (string) or a bank index (number).
    fn inst(&mut self) -> Result<InstRef, String> {
        let index = self.next + 1;
        match self.peek() {
            Some(OscType::String(name)) => {
                self.next += 1;
                if name.is_empty() {
                    return Err(Self::reason(index, "inst", "empty name"));
                }
                Ok(InstRef::Name(name.clone()))
            }
            Some(arg) if !is_numeric(arg) => Err(Self::reason(
                index,
                "inst",
                format_args!(
                    "expected an instrument name or index, got {}",
                    type_name(arg)
                ),
            )),
            _ => {
                let (index, v) = self.int("inst")?;
                u32::try_from(v)
                    .map(InstRef::Index)
                    .map_err(|_| Self::reason(index, "inst", "index must be 0..4294967295"))
            }
        }
    }

    /// An instrument file name for `/inst/load` and `/inst/reload`: never a path.
    fn file_name(&mut self) -> Result<String, String> {
        let index = self.next + 1;
        let name = self.string("name")?;
        if name.is_empty() {
            return Err(Self::reason(index, "name", "empty name"));
        }
        let is_path = name.contains(['/', '\\', ':', '\0'])
            || name.contains("..")
            || Path::new(name).is_absolute();
        if is_path {
            return Err("path outside the instruments folder".into());
        }
        Ok(name.to_owned())
    }

    /// `/voice/new`'s id: -1 (server picks, `None`) or 0 and up.
    fn new_voice_id(&mut self) -> Result<Option<i32>, String> {
        let index = self.next + 1;
        match self.i32("id")? {
            -1 => Ok(None),
            id if id >= 0 => Ok(Some(id)),
            _ => Err(Self::reason(
                index,
                "id",
                "must be -1 (server picks) or 0 and up",
            )),
        }
    }

    /// The remaining arguments as `param value` pairs.
    fn params(&mut self) -> Result<Vec<(VoiceParam, f32)>, String> {
        let mut params = Vec::with_capacity(self.remaining() / 2);
        while self.remaining() > 0 {
            let index = self.next + 1;
            let (_, arg) = self.arg("param")?;
            let OscType::String(name) = arg else {
                return Err(Self::reason(
                    index,
                    "param",
                    format_args!("expected a parameter name, got {}", type_name(arg)),
                ));
            };
            let param = VoiceParam::from_name(name).ok_or_else(|| {
                Self::reason(index, "param", format_args!("unknown parameter \"{name}\""))
            })?;
            params.push((param, self.float(param.name(), param.range())?));
        }
        Ok(params)
    }

    fn shape(&mut self) -> Result<ExciteShape, String> {
        let index = self.next + 1;
        let name = self.string("shape")?;
        ExciteShape::from_name(name).ok_or_else(|| {
            Self::reason(
                index,
                "shape",
                format_args!("unknown excitation shape \"{name}\" (strike, pluck, noise or bow)"),
            )
        })
    }

    /// A MIDI message: an OSC `m`, a blob, or 1 to 3 integers (0..255).
    fn midi(&mut self) -> Result<MidiBytes, String> {
        match self.peek() {
            Some(OscType::Midi(m)) => {
                self.next += 1;
                let len = midi::message_len(m.status)
                    .or_else(|| midi::system_len(m.status))
                    .unwrap_or(1);
                MidiBytes::new(&[m.status, m.data1, m.data2][..len])
            }
            Some(OscType::Blob(b)) => {
                self.next += 1;
                MidiBytes::from_message(b)
            }
            _ => {
                if self.remaining() > 3 {
                    return Err(format!(
                        "a MIDI message is at most 3 bytes, got {} integers",
                        self.remaining()
                    ));
                }
                let mut data = [0u8; 3];
                let count = self.remaining().max(1);
                for byte in &mut data[..count] {
                    let (index, v) = self.int("byte")?;
                    *byte = u8::try_from(v)
                        .map_err(|_| Self::reason(index, "byte", "must be 0..255"))?;
                }
                MidiBytes::new(&data[..count])
            }
        }
        .and_then(|bytes| bytes.parse().map(|_| bytes))
        .map_err(|e| format!("invalid MIDI message: {e}"))
    }

    /// Refuses surplus arguments.
    fn finish(&self) -> Result<(), String> {
        match self.remaining() {
            0 => Ok(()),
            _ => Err(format!(
                "too many arguments: {} given, at most {} used",
                self.args.len(),
                self.next
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::osc::{decode_packet, Timetag};
    use proptest::prelude::*;
    use rosc::{encoder, OscMidiMessage, OscPacket};

    use OscType::{Bool, Double, Float, Int, Long};

    fn s(text: &str) -> OscType {
        OscType::String(text.into())
    }

    /// Encodes with rosc, decodes with `decode_packet`, then parses.
    fn parse(addr: &str, args: Vec<OscType>) -> Result<Parsed, Fail> {
        let packet = OscPacket::Message(OscMessage {
            addr: addr.into(),
            args,
        });
        let out = decode_packet(&encoder::encode(&packet).unwrap()).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].timetag, Timetag::Immediate);
        parse_message(&out[0].message)
    }

    fn ok(addr: &str, args: Vec<OscType>) -> Command {
        let parsed = parse(addr, args).unwrap_or_else(|f| panic!("{f}"));
        assert_eq!(parsed.clamped, 0, "{addr}");
        assert_eq!(parsed.command.address(), addr);
        parsed.command
    }

    fn reason(addr: &str, args: Vec<OscType>) -> String {
        let fail = parse(addr, args).unwrap_err();
        assert_eq!(fail.address, addr);
        fail.reason
    }

    fn name(n: &str) -> InstRef {
        InstRef::Name(n.into())
    }

    /// Every address of the contract parses to its command after an OSC round trip.
    #[test]
    fn every_command_round_trips() {
        use Command as C;
        let cases: Vec<(&str, Vec<OscType>, Command)> = vec![
            ("/status", vec![], C::Status),
            ("/version", vec![], C::Version),
            ("/sync", vec![Int(42)], C::Sync { id: 42 }),
            (
                "/notify",
                vec![Int(1)],
                C::Notify {
                    on: true,
                    port: None,
                },
            ),
            (
                "/notify",
                vec![Int(0), Int(57120)],
                C::Notify {
                    on: false,
                    port: Some(57120),
                },
            ),
            ("/quit", vec![], C::Quit),
            ("/inst/list", vec![], C::InstList),
            (
                "/inst/info",
                vec![s("drum")],
                C::InstInfo { inst: name("drum") },
            ),
            (
                "/inst/info",
                vec![Int(2)],
                C::InstInfo {
                    inst: InstRef::Index(2),
                },
            ),
            (
                "/inst/load",
                vec![s("gong.json")],
                C::InstLoad {
                    name: "gong.json".into(),
                },
            ),
            (
                "/inst/reload",
                vec![s("gong")],
                C::InstReload {
                    name: "gong".into(),
                },
            ),
            (
                "/note/on",
                vec![s("drum"), Float(60.5), Float(0.8)],
                C::NoteOn {
                    inst: name("drum"),
                    note: 60.5,
                    velocity: 0.8,
                },
            ),
            (
                "/note/off",
                vec![Int(0), Float(60.5)],
                C::NoteOff {
                    inst: InstRef::Index(0),
                    note: 60.5,
                },
            ),
            (
                "/voice/new",
                vec![Int(-1), s("drum"), Int(48), Float(1.0)],
                C::VoiceNew {
                    id: None,
                    inst: name("drum"),
                    note: 48.0,
                    velocity: 1.0,
                    params: vec![],
                },
            ),
            (
                "/voice/new",
                vec![
                    Int(7),
                    Int(1),
                    Int(48),
                    Float(0.5),
                    s("pan"),
                    Float(-0.5),
                    s("damping"),
                    Float(2.0),
                ],
                C::VoiceNew {
                    id: Some(7),
                    inst: InstRef::Index(1),
                    note: 48.0,
                    velocity: 0.5,
                    params: vec![(VoiceParam::Pan, -0.5), (VoiceParam::Damping, 2.0)],
                },
            ),
            (
                "/voice/set",
                vec![Int(7), s("gain"), Float(0.5), s("pitch"), Float(61.25)],
                C::VoiceSet {
                    id: 7,
                    params: vec![(VoiceParam::Gain, 0.5), (VoiceParam::Pitch, 61.25)],
                },
            ),
            ("/voice/release", vec![Int(7)], C::VoiceRelease { id: 7 }),
            ("/voice/free", vec![Int(7)], C::VoiceFree { id: 7 }),
            ("/voice/free_all", vec![], C::VoiceFreeAll),
            (
                "/excite",
                vec![Int(7), Float(0.25), Float(0.75), Float(0.5)],
                C::Excite {
                    id: 7,
                    x: 0.25,
                    y: 0.75,
                    amplitude: 0.5,
                    width: None,
                    shape: ExciteShape::Strike,
                },
            ),
            (
                "/excite",
                vec![
                    Int(7),
                    Float(0.25),
                    Float(0.75),
                    Float(0.5),
                    Float(0.125),
                    s("noise"),
                ],
                C::Excite {
                    id: 7,
                    x: 0.25,
                    y: 0.75,
                    amplitude: 0.5,
                    width: Some(0.125),
                    shape: ExciteShape::Noise,
                },
            ),
            (
                "/excite",
                vec![Int(7), Float(0.25), Float(0.75), Float(0.5), s("pluck")],
                C::Excite {
                    id: 7,
                    x: 0.25,
                    y: 0.75,
                    amplitude: 0.5,
                    width: None,
                    shape: ExciteShape::Pluck,
                },
            ),
            (
                "/pickup",
                vec![Int(7), Float(0.1), Float(0.2), Float(0.3), Float(0.4)],
                C::Pickup {
                    id: 7,
                    lx: 0.1,
                    ly: 0.2,
                    rx: 0.3,
                    ry: 0.4,
                },
            ),
            (
                "/morph",
                vec![Int(7), s("gong"), Float(0.5)],
                C::Morph {
                    id: 7,
                    inst: name("gong"),
                    t: 0.5,
                    seconds: None,
                },
            ),
            (
                "/morph",
                vec![Int(7), Int(3), Float(1.0), Float(2.5)],
                C::Morph {
                    id: 7,
                    inst: InstRef::Index(3),
                    t: 1.0,
                    seconds: Some(2.5),
                },
            ),
            (
                "/master/gain",
                vec![Float(0.5)],
                C::MasterGain { gain: 0.5 },
            ),
            (
                "/midi",
                vec![Int(0x90), Int(60), Int(100)],
                C::Midi(MidiBytes::new(&[0x90, 60, 100]).unwrap()),
            ),
            (
                "/midi",
                vec![OscType::Midi(OscMidiMessage {
                    port: 0,
                    status: 0xC1,
                    data1: 5,
                    data2: 0,
                })],
                C::Midi(MidiBytes::new(&[0xC1, 5]).unwrap()),
            ),
            (
                "/midi",
                vec![OscType::Blob(vec![0xE0, 0, 0x40])],
                C::Midi(MidiBytes::new(&[0xE0, 0, 0x40]).unwrap()),
            ),
        ];
        let mut seen: Vec<&str> = cases.iter().map(|c| c.0).collect();
        seen.dedup();
        assert_eq!(seen, ADDRESSES, "one case per address, in table order");
        for (addr, args, expected) in cases {
            assert_eq!(ok(addr, args), expected, "{addr}");
        }
    }

    /// Every integer argument accepts i, f, d, h and T, rounding floats.
    #[test]
    fn integer_arguments_accept_every_numeric_type() {
        // (address, arguments, position of the integer, value of that integer in the command)
        type Get = fn(&Command) -> i64;
        let cases: Vec<(&str, Vec<OscType>, usize, Get)> = vec![
            ("/sync", vec![Int(0)], 0, |c| match c {
                Command::Sync { id } => (*id).into(),
                _ => unreachable!(),
            }),
            ("/notify", vec![Int(0)], 0, |c| match c {
                Command::Notify { on, .. } => (*on).into(),
                _ => unreachable!(),
            }),
            ("/notify", vec![Int(1), Int(0)], 1, |c| match c {
                Command::Notify { port, .. } => port.unwrap().into(),
                _ => unreachable!(),
            }),
            ("/inst/info", vec![Int(0)], 0, |c| match c {
                Command::InstInfo {
                    inst: InstRef::Index(i),
                } => (*i).into(),
                _ => unreachable!(),
            }),
            (
                "/note/on",
                vec![Int(0), Int(60), Float(1.0)],
                0,
                |c| match c {
                    Command::NoteOn {
                        inst: InstRef::Index(i),
                        ..
                    } => (*i).into(),
                    _ => unreachable!(),
                },
            ),
            ("/note/off", vec![Int(0), Int(60)], 0, |c| match c {
                Command::NoteOff {
                    inst: InstRef::Index(i),
                    ..
                } => (*i).into(),
                _ => unreachable!(),
            }),
            (
                "/voice/new",
                vec![Int(0), Int(0), Int(60), Float(1.0)],
                0,
                |c| match c {
                    Command::VoiceNew { id, .. } => id.unwrap().into(),
                    _ => unreachable!(),
                },
            ),
            (
                "/voice/new",
                vec![Int(0), Int(0), Int(60), Float(1.0)],
                1,
                |c| match c {
                    Command::VoiceNew {
                        inst: InstRef::Index(i),
                        ..
                    } => (*i).into(),
                    _ => unreachable!(),
                },
            ),
            (
                "/voice/set",
                vec![Int(0), s("gain"), Float(1.0)],
                0,
                |c| match c {
                    Command::VoiceSet { id, .. } => (*id).into(),
                    _ => unreachable!(),
                },
            ),
            ("/voice/release", vec![Int(0)], 0, |c| match c {
                Command::VoiceRelease { id } => (*id).into(),
                _ => unreachable!(),
            }),
            ("/voice/free", vec![Int(0)], 0, |c| match c {
                Command::VoiceFree { id } => (*id).into(),
                _ => unreachable!(),
            }),
            (
                "/excite",
                vec![Int(0), Float(0.5), Float(0.5), Float(0.5)],
                0,
                |c| match c {
                    Command::Excite { id, .. } => (*id).into(),
                    _ => unreachable!(),
                },
            ),
            (
                "/pickup",
                vec![Int(0), Int(0), Int(0), Int(1), Int(1)],
                0,
                |c| match c {
                    Command::Pickup { id, .. } => (*id).into(),
                    _ => unreachable!(),
                },
            ),
            ("/morph", vec![Int(0), Int(0), Float(0.5)], 0, |c| match c {
                Command::Morph { id, .. } => (*id).into(),
                _ => unreachable!(),
            }),
            ("/morph", vec![Int(0), Int(0), Float(0.5)], 1, |c| match c {
                Command::Morph {
                    inst: InstRef::Index(i),
                    ..
                } => (*i).into(),
                _ => unreachable!(),
            }),
            ("/midi", vec![Int(0x90), Int(0), Int(100)], 1, |c| match c {
                Command::Midi(b) => b.as_slice()[1].into(),
                _ => unreachable!(),
            }),
        ];
        let ones = [
            Int(1),
            Float(0.6),
            Float(1.4),
            Double(1.4),
            Long(1),
            Bool(true),
        ];
        for (addr, args, at, get) in cases {
            for one in &ones {
                let mut args = args.clone();
                args[at] = one.clone();
                let parsed = parse(addr, args).unwrap_or_else(|f| panic!("{one:?}: {f}"));
                assert_eq!(get(&parsed.command), 1, "{addr} argument {at} as {one:?}");
                assert_eq!(parsed.clamped, 0);
            }
        }
        assert_eq!(
            ok("/notify", vec![Bool(false)]),
            Command::Notify {
                on: false,
                port: None
            }
        );
        assert_eq!(ok("/sync", vec![Float(-2.5)]), Command::Sync { id: -3 });
    }

    /// Float arguments accept i, f, d, h and T/F alike.
    #[test]
    fn float_arguments_accept_every_numeric_type() {
        for (arg, gain) in [
            (Int(2), 2.0),
            (Float(2.0), 2.0),
            (Double(0.25), 0.25),
            (Long(3), 3.0),
            (Bool(true), 1.0),
            (Bool(false), 0.0),
        ] {
            assert_eq!(ok("/master/gain", vec![arg]), Command::MasterGain { gain });
        }
    }

    /// NaN and infinity are refused with a reason naming the argument.
    #[test]
    fn non_finite_values_are_refused() {
        let note_on = |note| reason("/note/on", vec![Int(0), note, Float(1.0)]);
        assert_eq!(
            note_on(Float(f32::NAN)),
            "argument 2 (note): NaN is not allowed"
        );
        assert_eq!(
            note_on(Double(f64::NAN)),
            "argument 2 (note): NaN is not allowed"
        );
        assert_eq!(
            note_on(Float(f32::INFINITY)),
            "argument 2 (note): infinity is not allowed"
        );
        assert_eq!(
            note_on(Double(f64::NEG_INFINITY)),
            "argument 2 (note): infinity is not allowed"
        );
        assert_eq!(
            note_on(OscType::Inf),
            "argument 2 (note): infinity is not allowed"
        );
        assert_eq!(
            reason("/voice/set", vec![Int(1), s("pan"), Float(f32::NAN)]),
            "argument 3 (pan): NaN is not allowed"
        );
        assert_eq!(
            reason("/sync", vec![Double(f64::INFINITY)]),
            "argument 1 (id): infinity is not allowed"
        );
    }

    /// Out-of-range values are clamped to their documented ranges and counted.
    #[test]
    fn clamps_are_counted() {
        let p = parse("/note/on", vec![Int(0), Float(200.0), Float(1.5)]).unwrap();
        assert_eq!(
            p.command,
            Command::NoteOn {
                inst: InstRef::Index(0),
                note: 127.0,
                velocity: 1.0
            }
        );
        assert_eq!(p.clamped, 2);
        let p = parse(
            "/pickup",
            vec![Int(1), Float(-1.0), Float(2.0), Float(0.5), Double(1e300)],
        )
        .unwrap();
        assert_eq!(
            p.command,
            Command::Pickup {
                id: 1,
                lx: 0.0,
                ly: 1.0,
                rx: 0.5,
                ry: 1.0
            }
        );
        assert_eq!(p.clamped, 3);
        let p = parse(
            "/voice/new",
            vec![
                Int(-1),
                s("a"),
                Int(60),
                Float(1.0),
                s("pan"),
                Float(-3.0),
                s("damping"),
                Float(0.0),
                s("gain"),
                Float(9.0),
            ],
        )
        .unwrap();
        let Command::VoiceNew { params, .. } = p.command else {
            unreachable!()
        };
        assert_eq!(
            params,
            [
                (VoiceParam::Pan, -1.0),
                (VoiceParam::Damping, 0.1),
                (VoiceParam::Gain, 4.0)
            ]
        );
        assert_eq!(p.clamped, 3);
        let p = parse("/morph", vec![Int(1), Int(0), Float(1.5), Float(-1.0)]).unwrap();
        assert_eq!(p.clamped, 2);
        assert_eq!(parse("/notify", vec![Int(5)]).unwrap().clamped, 1);
    }

    /// Wrong types, missing and surplus arguments give clear reasons.
    #[test]
    fn wrong_types_and_counts_are_refused() {
        assert_eq!(
            reason("/note/on", vec![Int(0), s("c4"), Float(1.0)]),
            "argument 2 (note): expected a number, got string"
        );
        assert_eq!(
            reason("/note/on", vec![Int(0), Float(60.0)]),
            "argument 3 (velocity): missing"
        );
        assert_eq!(
            reason(
                "/note/on",
                vec![OscType::Blob(vec![1]), Float(60.0), Float(1.0)]
            ),
            "argument 1 (inst): expected an instrument name or index, got blob"
        );
        assert_eq!(
            reason("/inst/load", vec![Int(3)]),
            "argument 1 (name): expected a string, got int"
        );
        assert_eq!(reason("/sync", vec![]), "argument 1 (id): missing");
        assert_eq!(
            reason("/sync", vec![Double(3e9)]),
            "argument 1 (id): out of the 32-bit integer range"
        );
        assert_eq!(
            reason("/status", vec![Int(1)]),
            "too many arguments: 1 given, at most 0 used"
        );
        assert_eq!(
            reason("/voice/set", vec![Int(1)]),
            "argument 2 (param): missing"
        );
        assert_eq!(
            reason("/voice/set", vec![Int(1), s("gain")]),
            "argument 3 (gain): missing"
        );
        assert_eq!(
            reason("/voice/set", vec![Int(1), Float(1.0), Float(1.0)]),
            "argument 2 (param): expected a parameter name, got float"
        );
        assert_eq!(
            reason("/voice/new", vec![Int(-2), Int(0), Int(60), Float(1.0)]),
            "argument 1 (id): must be -1 (server picks) or 0 and up"
        );
        assert_eq!(
            reason("/inst/info", vec![Int(-1)]),
            "argument 1 (inst): index must be 0..4294967295"
        );
        assert_eq!(
            reason("/inst/info", vec![s("")]),
            "argument 1 (inst): empty name"
        );
        assert_eq!(
            reason("/notify", vec![Int(1), Int(70000)]),
            "argument 2 (reply port): must be a port, 1..65535"
        );
        assert_eq!(
            reason(
                "/excite",
                vec![Int(1), Float(0.5), Float(0.5), Float(1.0), OscType::Nil]
            ),
            "argument 5 (width): expected a number, got nil"
        );
    }

    /// Unknown addresses answer "unknown command", whatever their arguments.
    #[test]
    fn unknown_command() {
        assert_eq!(reason("/nope", vec![]), "unknown command");
        assert_eq!(reason("/status/", vec![Int(1)]), "unknown command");
        assert_eq!(reason("/STATUS", vec![]), "unknown command");
    }

    /// An unknown parameter is refused with a reason naming it.
    #[test]
    fn unknown_param_is_named() {
        assert_eq!(
            reason(
                "/voice/set",
                vec![Int(1), s("gain"), Float(9.0), s("wobble"), Float(1.0)]
            ),
            "argument 4 (param): unknown parameter \"wobble\""
        );
        assert_eq!(
            reason(
                "/voice/new",
                vec![Int(1), Int(0), Int(60), Float(1.0), s("Gain"), Int(1)]
            ),
            "argument 5 (param): unknown parameter \"Gain\""
        );
    }

    /// Every parameter name round-trips and its range is ordered.
    #[test]
    fn param_names_and_ranges() {
        for p in VoiceParam::ALL {
            assert_eq!(VoiceParam::from_name(p.name()), Some(p));
            assert!(p.range().start() < p.range().end());
        }
        assert_eq!(VoiceParam::Pan.range(), -1.0..=1.0);
        assert_eq!(VoiceParam::from_name("nope"), None);
    }

    /// An unknown excitation shape is refused.
    #[test]
    fn unknown_shape_is_refused() {
        assert_eq!(
            reason(
                "/excite",
                vec![Int(1), Float(0.5), Float(0.5), Float(1.0), s("blow")]
            ),
            "argument 5 (shape): unknown excitation shape \"blow\" (strike, pluck, noise or bow)"
        );
    }

    /// Instrument names that are paths are refused by /inst/load and /inst/reload.
    #[test]
    fn paths_are_refused() {
        for addr in ["/inst/load", "/inst/reload"] {
            for bad in [
                "../secret",
                "/etc/passwd",
                "sub/dir",
                "a\\b",
                "..",
                "C:evil",
                "x..y",
            ] {
                assert_eq!(
                    reason(addr, vec![s(bad)]),
                    "path outside the instruments folder",
                    "{bad}"
                );
            }
            assert_eq!(reason(addr, vec![s("")]), "argument 1 (name): empty name");
            assert!(parse(addr, vec![s("marimba.v2.json")]).is_ok());
        }
    }

    /// /midi takes 1 to 3 bytes that form a valid channel message, and refuses the rest.
    #[test]
    fn midi_forms() {
        assert_eq!(
            ok("/midi", vec![Float(192.0), Float(5.0)]),
            Command::Midi(MidiBytes::new(&[0xC0, 5]).unwrap())
        );
        assert_eq!(
            reason("/midi", vec![Int(0x90), Int(60), Int(100), Int(0)]),
            "a MIDI message is at most 3 bytes, got 4 integers"
        );
        assert_eq!(
            reason("/midi", vec![Int(0x90), Int(300), Int(100)]),
            "argument 2 (byte): must be 0..255"
        );
        assert_eq!(reason("/midi", vec![]), "argument 1 (byte): missing");
        assert_eq!(
            reason("/midi", vec![Int(0x90), Int(60)]),
            "invalid MIDI message: MIDI message 0x90 needs 3 bytes, got 2"
        );
        // What a MIDI port delivers besides channel messages is accepted
        // (and ignored by the router): clock, start, SysEx as a blob.
        assert_eq!(
            ok("/midi", vec![Int(0xF8)]),
            Command::Midi(MidiBytes::new(&[0xF8]).unwrap())
        );
        assert_eq!(
            ok("/midi", vec![Float(250.0)]),
            Command::Midi(MidiBytes::new(&[0xFA]).unwrap())
        );
        assert_eq!(
            ok(
                "/midi",
                vec![OscType::Blob(vec![0xF0, 0x7E, 0x7F, 0x09, 0x01, 0xF7])]
            ),
            Command::Midi(MidiBytes::new(&[0xF0, 0xF7]).unwrap())
        );
        assert_eq!(
            reason("/midi", vec![OscType::Blob(vec![0xF0, 0x7E, 0x7F])]),
            "invalid MIDI message: SysEx message of 3 bytes does not end with 0xF7"
        );
        assert_eq!(
            reason("/midi", vec![OscType::Blob(vec![0x90, 1, 2, 3])]),
            "invalid MIDI message: MIDI message 0x90 takes 3 bytes, got 4"
        );
        assert_eq!(
            reason("/midi", vec![OscType::Blob(vec![0x90, 1, 2]), Int(1)]),
            "too many arguments: 2 given, at most 1 used"
        );
    }

    /// A refusal turns into a /fail reply with the address and the reason.
    #[test]
    fn fail_reply() {
        let fail = parse("/nope", vec![]).unwrap_err();
        assert_eq!(fail.to_reply().addr, "/fail");
        assert_eq!(fail.to_reply().args, [s("/nope"), s("unknown command")]);
        assert_eq!(fail.to_string(), "/nope: unknown command");
    }

    /// Every float value of a command.
    fn floats(command: &Command) -> Vec<f32> {
        use Command as C;
        match command {
            C::NoteOn { note, velocity, .. } => vec![*note, *velocity],
            C::NoteOff { note, .. } => vec![*note],
            C::VoiceNew {
                note,
                velocity,
                params,
                ..
            } => params
                .iter()
                .map(|p| p.1)
                .chain([*note, *velocity])
                .collect(),
            C::VoiceSet { params, .. } => params.iter().map(|p| p.1).collect(),
            C::Excite {
                x,
                y,
                amplitude,
                width,
                ..
            } => [*x, *y, *amplitude].into_iter().chain(*width).collect(),
            C::Pickup { lx, ly, rx, ry, .. } => vec![*lx, *ly, *rx, *ry],
            C::Morph { t, seconds, .. } => [*t].into_iter().chain(*seconds).collect(),
            C::MasterGain { gain } => vec![*gain],
            _ => vec![],
        }
    }

    fn any_arg() -> impl Strategy<Value = OscType> {
        prop_oneof![
            any::<i32>().prop_map(Int),
            any::<f32>().prop_map(Float),
            any::<f64>().prop_map(Double),
            any::<i64>().prop_map(Long),
            any::<bool>().prop_map(Bool),
            "[a-z_./]{0,12}".prop_map(OscType::String),
            proptest::collection::vec(any::<u8>(), 0..5).prop_map(OscType::Blob),
            Just(OscType::Nil),
            Just(OscType::Inf),
            (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(status, data1, data2)| {
                OscType::Midi(OscMidiMessage {
                    port: 0,
                    status,
                    data1,
                    data2,
                })
            }),
        ]
    }

    proptest! {
        /// Arbitrary bytes never panic decoding or parsing.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(messages) = decode_packet(&bytes) {
                for m in messages {
                    let _ = parse_message(&m.message);
                }
            }
        }

        /// Arbitrary arguments to every address either parse to that address's
        /// command with finite values or fail naming that address.
        #[test]
        fn arbitrary_arguments_never_panic(
            which in 0..ADDRESSES.len(),
            args in proptest::collection::vec(any_arg(), 0..8),
        ) {
            let addr = ADDRESSES[which];
            match parse(addr, args) {
                Ok(p) => {
                    prop_assert_eq!(p.command.address(), addr);
                    prop_assert!(floats(&p.command).iter().all(|v| v.is_finite()), "{:?}", p.command);
                }
                Err(f) => prop_assert_eq!(f.address, addr),
            }
        }
    }
}
