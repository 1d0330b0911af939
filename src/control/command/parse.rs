//! Parsing: one OSC message → a [`Command`] (or a [`Fail`]), by address.

use rosc::{OscMessage, OscType};

use super::args::Args;
use super::error::{CommandError, Fail};
use super::types::{
    Address, Command, ExciteShape, Parsed, AMPLITUDE_RANGE, GAIN_RANGE, MORPH_SECONDS_RANGE,
    NOTE_RANGE, UNIT_RANGE, WIDTH_RANGE,
};

/// Validates one message into a command (see the module docs for the rules).
pub fn parse_message(msg: &OscMessage) -> Result<Parsed, Fail> {
    let fail = |reason| Fail {
        address: msg.addr.clone(),
        reason,
    };
    let mut args = Args::new(&msg.args);
    let address =
        Address::from_name(&msg.addr).ok_or_else(|| fail(CommandError::UnknownAddress))?;
    let command = parse_command(address, &mut args).map_err(fail)?;
    args.finish().map_err(fail)?;
    Ok(Parsed {
        command,
        clamped: args.clamped,
    })
}

/// Reads the arguments of the command at `address`.
fn parse_command(address: Address, a: &mut Args) -> Result<Command, CommandError> {
    Ok(match address {
        Address::Status => Command::Status,
        Address::Version => Command::Version,
        Address::Sync => Command::Sync { id: a.i32("id")? },
        Address::Notify => {
            let on = a.int_clamped("on", 0..=1)? == 1;
            let port = match a.remaining() {
                0 => None,
                _ => Some(a.port("reply port")?),
            };
            Command::Notify { on, port }
        }
        Address::Quit => Command::Quit,
        Address::InstList => Command::InstList,
        Address::InstInfo => Command::InstInfo { inst: a.inst()? },
        Address::InstLoad => Command::InstLoad {
            name: a.file_name()?,
        },
        Address::InstReload => Command::InstReload {
            name: a.file_name()?,
        },
        Address::NoteOn => Command::NoteOn {
            inst: a.inst()?,
            note: a.float("note", NOTE_RANGE)?,
            velocity: a.float("velocity", UNIT_RANGE)?,
        },
        Address::NoteOff => Command::NoteOff {
            inst: a.inst()?,
            note: a.float("note", NOTE_RANGE)?,
        },
        Address::VoiceNew => Command::VoiceNew {
            id: a.new_voice_id()?,
            inst: a.inst()?,
            note: a.float("note", NOTE_RANGE)?,
            velocity: a.float("velocity", UNIT_RANGE)?,
            params: a.params()?,
        },
        Address::VoiceSet => {
            let id = a.i32("id")?;
            if a.remaining() == 0 {
                return Err(a.missing("param"));
            }
            Command::VoiceSet {
                id,
                params: a.params()?,
            }
        }
        Address::VoiceRelease => Command::VoiceRelease { id: a.i32("id")? },
        Address::VoiceFree => Command::VoiceFree { id: a.i32("id")? },
        Address::VoiceFreeAll => Command::VoiceFreeAll,
        Address::Excite => {
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
        Address::Pickup => Command::Pickup {
            id: a.i32("id")?,
            lx: a.float("lx", UNIT_RANGE)?,
            ly: a.float("ly", UNIT_RANGE)?,
            rx: a.float("rx", UNIT_RANGE)?,
            ry: a.float("ry", UNIT_RANGE)?,
        },
        Address::Morph => Command::Morph {
            id: a.i32("id")?,
            inst: a.inst()?,
            t: a.float("t", UNIT_RANGE)?,
            seconds: match a.remaining() {
                0 => None,
                _ => Some(a.float("seconds", MORPH_SECONDS_RANGE)?),
            },
        },
        Address::MasterGain => Command::MasterGain {
            gain: a.float("gain", GAIN_RANGE)?,
        },
        Address::Midi => Command::Midi(a.midi()?),
        Address::VoiceMod => Command::VoiceMod {
            id: a.i32("id")?,
            spec: a.mod_spec()?,
        },
        Address::VoiceModClear => Command::VoiceModClear {
            id: a.i32("id")?,
            param: match a.remaining() {
                0 => None,
                _ => Some(a.modulated_param()?),
            },
        },
        Address::PresetSave => Command::PresetSave {
            name: a.preset_name()?,
            id: a.i32("id")?,
        },
        Address::PresetRecall => Command::PresetRecall {
            name: a.preset_name()?,
            target: a.recall_target()?,
            seconds: match a.remaining() {
                0 => None,
                _ => Some(a.float("seconds", MORPH_SECONDS_RANGE)?),
            },
        },
        Address::PresetList => Command::PresetList,
        Address::PresetDelete => Command::PresetDelete {
            name: a.preset_name()?,
        },
    })
}
