//! MIDI 1.0 messages: parsing, velocity curves and pitch bend.
//!
//! Used for `/midi` over OSC and for MIDI ports alike, so both are handled the
//! same way. Parsing does not allocate. Every message a MIDI port delivers
//! parses: channel messages, system common and real-time messages (clock,
//! start, stop, active sensing …) and SysEx; the server plays the channel
//! messages and ignores the system ones. Running status and malformed
//! messages give a clear [`MidiError`].

use thiserror::Error;

/// A MIDI message. Channels are 0..=15; data values are 0..=127.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MidiEvent {
    /// A system message (`0xF0..=0xFF`: SysEx, MTC, song position, clock,
    /// start, stop, active sensing, reset …), which the server ignores.
    System {
        /// The status byte.
        status: u8,
    },
    /// Key pressed (`0x9n`, velocity above 0).
    NoteOn {
        /// Channel, 0..=15.
        channel: u8,
        /// Note number.
        note: u8,
        /// Velocity, 1..=127.
        velocity: u8,
    },
    /// Key released (`0x8n`, or `0x9n` with velocity 0).
    NoteOff {
        /// Channel, 0..=15.
        channel: u8,
        /// Note number.
        note: u8,
        /// Release velocity.
        velocity: u8,
    },
    /// Polyphonic key pressure (`0xAn`).
    PolyPressure {
        /// Channel, 0..=15.
        channel: u8,
        /// Note number.
        note: u8,
        /// Pressure.
        pressure: u8,
    },
    /// Control change (`0xBn`).
    ControlChange {
        /// Channel, 0..=15.
        channel: u8,
        /// Controller number.
        controller: u8,
        /// Controller value.
        value: u8,
    },
    /// Program change (`0xCn`).
    ProgramChange {
        /// Channel, 0..=15.
        channel: u8,
        /// Program number.
        program: u8,
    },
    /// Channel pressure, aftertouch (`0xDn`).
    ChannelPressure {
        /// Channel, 0..=15.
        channel: u8,
        /// Pressure.
        pressure: u8,
    },
    /// Pitch bend (`0xEn`).
    PitchBend {
        /// Channel, 0..=15.
        channel: u8,
        /// 14-bit value, 0..=16383; 8192 is the centre (no bend).
        value: u16,
    },
}

impl MidiEvent {
    /// The channel, 0..=15 (`None` for a system message).
    pub fn channel(&self) -> Option<u8> {
        Some(match *self {
            MidiEvent::System { .. } => return None,
            MidiEvent::NoteOn { channel, .. }
            | MidiEvent::NoteOff { channel, .. }
            | MidiEvent::PolyPressure { channel, .. }
            | MidiEvent::ControlChange { channel, .. }
            | MidiEvent::ProgramChange { channel, .. }
            | MidiEvent::ChannelPressure { channel, .. }
            | MidiEvent::PitchBend { channel, .. } => channel,
        })
    }

    /// The wire bytes of this event (note-off as `0x8n`). Out-of-range fields
    /// are masked to their bit widths.
    pub fn to_bytes(&self) -> MidiBytes {
        let status = |kind: u8, channel: u8| kind | (channel & 0x0F);
        let (data, len) = match *self {
            // A SysEx comes back as an empty one (its content is not kept).
            MidiEvent::System { status: 0xF0 } => {
                return MidiBytes {
                    data: [0xF0, 0xF7, 0],
                    len: 2,
                }
            }
            MidiEvent::System { status } => {
                let len = system_len(status).unwrap_or(1) as u8;
                ([status, 0, 0], len)
            }
            MidiEvent::NoteOn {
                channel,
                note,
                velocity,
            } => ([status(0x90, channel), note, velocity], 3),
            MidiEvent::NoteOff {
                channel,
                note,
                velocity,
            } => ([status(0x80, channel), note, velocity], 3),
            MidiEvent::PolyPressure {
                channel,
                note,
                pressure,
            } => ([status(0xA0, channel), note, pressure], 3),
            MidiEvent::ControlChange {
                channel,
                controller,
                value,
            } => ([status(0xB0, channel), controller, value], 3),
            MidiEvent::ProgramChange { channel, program } => {
                ([status(0xC0, channel), program, 0], 2)
            }
            MidiEvent::ChannelPressure { channel, pressure } => {
                ([status(0xD0, channel), pressure, 0], 2)
            }
            MidiEvent::PitchBend { channel, value } => {
                ([status(0xE0, channel), value as u8, (value >> 7) as u8], 3)
            }
        };
        let mut data = data;
        for byte in &mut data[1..] {
            *byte &= 0x7F;
        }
        MidiBytes { data, len }
    }
}

/// Why bytes are not a MIDI channel message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MidiError {
    /// No bytes at all.
    #[error("empty MIDI message")]
    Empty,
    /// More than the 3 bytes any channel message has.
    #[error("a MIDI message is at most 3 bytes, got {0}")]
    Oversized(usize),
    /// The first byte is a data byte (running status is not supported).
    #[error("expected a status byte, got data byte 0x{0:02X} (running status is not supported)")]
    NoStatus(u8),
    /// A SysEx (`0xF0 …`) without its closing `0xF7`.
    #[error("SysEx message of {0} bytes does not end with 0xF7")]
    UnterminatedSysex(usize),
    /// Fewer bytes than the status needs.
    #[error("MIDI message 0x{status:02X} needs {expected} bytes, got {got}")]
    TooShort {
        /// The status byte.
        status: u8,
        /// Bytes the status needs.
        expected: usize,
        /// Bytes present.
        got: usize,
    },
    /// More bytes than the status takes.
    #[error("MIDI message 0x{status:02X} takes {expected} bytes, got {got}")]
    TooLong {
        /// The status byte.
        status: u8,
        /// Bytes the status takes.
        expected: usize,
        /// Bytes present.
        got: usize,
    },
    /// A data byte with its top bit set.
    #[error("MIDI data byte {index} is 0x{byte:02X}, above 0x7F")]
    BadData {
        /// Position of the byte in the message (1 or 2).
        index: usize,
        /// The byte.
        byte: u8,
    },
}

/// The length of the channel message that `status` starts (2 or 3), or
/// `None` for data bytes and system messages.
pub fn message_len(status: u8) -> Option<usize> {
    match status >> 4 {
        0x8 | 0x9 | 0xA | 0xB | 0xE => Some(3),
        0xC | 0xD => Some(2),
        _ => None,
    }
}

/// The length of the system message that `status` (`0xF1..=0xFF`) starts:
/// MTC quarter frame and song select 2, song position 3, the rest 1;
/// `None` for SysEx (`0xF0`, any length) and non-system bytes.
pub fn system_len(status: u8) -> Option<usize> {
    match status {
        0xF1 | 0xF3 => Some(2),
        0xF2 => Some(3),
        0xF4..=0xFF => Some(1),
        _ => None,
    }
}

/// Parses one complete MIDI message. A note-on with velocity 0 is a
/// note-off (velocity 64, the MIDI default release velocity). A SysEx is
/// `0xF0`, data bytes, `0xF7`.
pub fn parse(bytes: &[u8]) -> Result<MidiEvent, MidiError> {
    let (&status, data) = bytes.split_first().ok_or(MidiError::Empty)?;
    if status == 0xF0 {
        if data.last() != Some(&0xF7) {
            return Err(MidiError::UnterminatedSysex(bytes.len()));
        }
        let body = &data[..data.len() - 1];
        if let Some(index) = body.iter().position(|&b| b > 0x7F) {
            return Err(MidiError::BadData {
                index: index + 1,
                byte: body[index],
            });
        }
        return Ok(MidiEvent::System { status });
    }
    let expected = match message_len(status).or_else(|| system_len(status)) {
        Some(len) => len,
        None => return Err(MidiError::NoStatus(status)),
    };
    let got = bytes.len();
    if got < expected {
        return Err(MidiError::TooShort {
            status,
            expected,
            got,
        });
    }
    if got > expected {
        return Err(MidiError::TooLong {
            status,
            expected,
            got,
        });
    }
    if let Some(index) = data.iter().position(|&b| b > 0x7F) {
        return Err(MidiError::BadData {
            index: index + 1,
            byte: data[index],
        });
    }
    if status >= 0xF0 {
        return Ok(MidiEvent::System { status });
    }
    let channel = status & 0x0F;
    let (a, b) = (data[0], data.get(1).copied().unwrap_or(0));
    Ok(match status >> 4 {
        0x8 => MidiEvent::NoteOff {
            channel,
            note: a,
            velocity: b,
        },
        0x9 if b == 0 => MidiEvent::NoteOff {
            channel,
            note: a,
            velocity: 64,
        },
        0x9 => MidiEvent::NoteOn {
            channel,
            note: a,
            velocity: b,
        },
        0xA => MidiEvent::PolyPressure {
            channel,
            note: a,
            pressure: b,
        },
        0xB => MidiEvent::ControlChange {
            channel,
            controller: a,
            value: b,
        },
        0xC => MidiEvent::ProgramChange {
            channel,
            program: a,
        },
        0xD => MidiEvent::ChannelPressure {
            channel,
            pressure: a,
        },
        _ => MidiEvent::PitchBend {
            channel,
            value: u16::from(a) | (u16::from(b) << 7),
        },
    })
}

/// Up to 3 raw MIDI bytes, stored inline (`Copy`, no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MidiBytes {
    data: [u8; 3],
    len: u8,
}

impl MidiBytes {
    /// Stores 1 to 3 bytes. The bytes are not checked to be a valid message;
    /// use [`MidiBytes::parse`] for that.
    pub fn new(bytes: &[u8]) -> Result<Self, MidiError> {
        match bytes.len() {
            0 => Err(MidiError::Empty),
            len @ 1..=3 => {
                let mut data = [0; 3];
                data[..len].copy_from_slice(bytes);
                Ok(MidiBytes {
                    data,
                    len: len as u8,
                })
            }
            len => Err(MidiError::Oversized(len)),
        }
    }

    /// Checks that `bytes` are one complete MIDI message of any length
    /// ([`parse`]) and stores it; a SysEx longer than 3 bytes is stored as
    /// an empty one (`F0 F7`: the server uses no SysEx content).
    pub fn from_message(bytes: &[u8]) -> Result<Self, MidiError> {
        let event = parse(bytes)?;
        match bytes.len() {
            1..=3 => Self::new(bytes),
            _ => Ok(event.to_bytes()),
        }
    }

    /// The stored bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.data[..usize::from(self.len)]
    }

    /// Parses the stored bytes as a MIDI message (see [`parse`]).
    pub fn parse(&self) -> Result<MidiEvent, MidiError> {
        parse(self.as_slice())
    }
}

impl TryFrom<&[u8]> for MidiBytes {
    type Error = MidiError;

    fn try_from(bytes: &[u8]) -> Result<Self, MidiError> {
        MidiBytes::new(bytes)
    }
}

/// How a MIDI velocity (0..=127) maps to a voice velocity (0..1).
///
/// With `v = velocity / 127`:
/// - `Linear`: `v`
/// - `Soft`: `sqrt(v)`, louder for light playing (stiff or light-touch keyboards)
/// - `Hard`: `v²`, quieter for light playing, so loud notes need a firm touch
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum VelocityCurve {
    /// `v`.
    #[default]
    Linear,
    /// `sqrt(v)`.
    Soft,
    /// `v²`.
    Hard,
}

impl VelocityCurve {
    /// Every curve, for help texts.
    pub const ALL: [VelocityCurve; 3] = [Self::Linear, Self::Soft, Self::Hard];

    /// The curve's name: `linear`, `soft` or `hard`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Linear => "linear",
            Self::Soft => "soft",
            Self::Hard => "hard",
        }
    }

    /// The curve called `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Maps a MIDI velocity (values above 127 count as 127) to 0..=1.
    pub fn apply(self, velocity: u8) -> f32 {
        let v = f32::from(velocity.min(127)) / 127.0;
        match self {
            Self::Linear => v,
            Self::Soft => v.sqrt(),
            Self::Hard => v * v,
        }
    }
}

/// Converts a 14-bit pitch-bend value to semitones for a bend range of
/// `range_semitones` either way: 8192 is 0, 0 is `-range`, 16383 is `+range`
/// exactly (the upper half is scaled by 8191 so both ends reach the range).
/// Values above 16383 count as 16383.
pub fn bend_to_semitones(value: u16, range_semitones: f32) -> f32 {
    let offset = f32::from(value.min(16383)) - 8192.0;
    let half = if offset >= 0.0 { 8191.0 } else { 8192.0 };
    offset / half * range_semitones
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind of channel message parses to the right event and back to the same bytes.
    #[test]
    fn channel_messages_parse_and_round_trip() {
        let cases: [(&[u8], MidiEvent); 7] = [
            (
                &[0x93, 60, 100],
                MidiEvent::NoteOn {
                    channel: 3,
                    note: 60,
                    velocity: 100,
                },
            ),
            (
                &[0x80, 61, 20],
                MidiEvent::NoteOff {
                    channel: 0,
                    note: 61,
                    velocity: 20,
                },
            ),
            (
                &[0xAF, 62, 5],
                MidiEvent::PolyPressure {
                    channel: 15,
                    note: 62,
                    pressure: 5,
                },
            ),
            (
                &[0xB1, 7, 127],
                MidiEvent::ControlChange {
                    channel: 1,
                    controller: 7,
                    value: 127,
                },
            ),
            (
                &[0xC2, 9],
                MidiEvent::ProgramChange {
                    channel: 2,
                    program: 9,
                },
            ),
            (
                &[0xD4, 33],
                MidiEvent::ChannelPressure {
                    channel: 4,
                    pressure: 33,
                },
            ),
            (
                &[0xE5, 0x01, 0x40],
                MidiEvent::PitchBend {
                    channel: 5,
                    value: 8193,
                },
            ),
        ];
        for (bytes, event) in cases {
            assert_eq!(parse(bytes), Ok(event), "{bytes:02X?}");
            assert_eq!(event.to_bytes().as_slice(), bytes);
            assert_eq!(event.channel(), Some(bytes[0] & 0x0F));
        }
    }

    /// Every system message a MIDI port delivers parses (to be ignored):
    /// real-time (clock, start, continue, stop, active sensing, reset),
    /// system common (MTC, song position, song select, tune request) and SysEx.
    #[test]
    fn system_messages_parse() {
        let cases: [&[u8]; 12] = [
            &[0xF8],
            &[0xFA],
            &[0xFB],
            &[0xFC],
            &[0xFE],
            &[0xFF],
            &[0xF1, 0x23],
            &[0xF2, 0x10, 0x02],
            &[0xF3, 5],
            &[0xF6],
            &[0xF0, 0xF7],
            &[0xF0, 0x7E, 0x7F, 0x06, 0x01, 0xF7],
        ];
        for bytes in cases {
            let ev = parse(bytes).unwrap_or_else(|e| panic!("{bytes:02X?}: {e}"));
            assert_eq!(ev, MidiEvent::System { status: bytes[0] });
            assert_eq!(ev.channel(), None);
            assert_eq!(parse(ev.to_bytes().as_slice()), Ok(ev));
        }
    }

    /// A note-on with velocity 0 is a note-off.
    #[test]
    fn note_on_velocity_zero_is_note_off() {
        assert_eq!(
            parse(&[0x90, 60, 0]),
            Ok(MidiEvent::NoteOff {
                channel: 0,
                note: 60,
                velocity: 64
            })
        );
    }

    /// Empty, short, long, data-first, system and bad-data messages give clear errors.
    #[test]
    fn malformed_messages_are_refused() {
        assert_eq!(parse(&[]), Err(MidiError::Empty));
        assert_eq!(parse(&[60, 100]), Err(MidiError::NoStatus(60)));
        assert_eq!(parse(&[0xF0, 1, 2]), Err(MidiError::UnterminatedSysex(3)));
        assert_eq!(parse(&[0xF0]), Err(MidiError::UnterminatedSysex(1)));
        assert_eq!(
            parse(&[0xF0, 0x90, 0xF7]),
            Err(MidiError::BadData {
                index: 1,
                byte: 0x90
            })
        );
        assert_eq!(
            parse(&[0xF8, 1]),
            Err(MidiError::TooLong {
                status: 0xF8,
                expected: 1,
                got: 2
            })
        );
        assert_eq!(
            parse(&[0xF2, 1]),
            Err(MidiError::TooShort {
                status: 0xF2,
                expected: 3,
                got: 2
            })
        );
        assert_eq!(
            parse(&[0x90, 60]),
            Err(MidiError::TooShort {
                status: 0x90,
                expected: 3,
                got: 2
            })
        );
        assert_eq!(
            parse(&[0xC0, 1, 2]),
            Err(MidiError::TooLong {
                status: 0xC0,
                expected: 2,
                got: 3
            })
        );
        assert_eq!(
            parse(&[0x90, 60, 0x80]),
            Err(MidiError::BadData {
                index: 2,
                byte: 0x80
            })
        );
        assert_eq!(
            parse(&[0x90, 60]).unwrap_err().to_string(),
            "MIDI message 0x90 needs 3 bytes, got 2"
        );
    }

    /// MidiBytes holds 1 to 3 bytes and refuses more or none.
    #[test]
    fn midi_bytes_bounds() {
        assert_eq!(MidiBytes::new(&[0xC0, 5]).unwrap().as_slice(), [0xC0, 5]);
        assert_eq!(MidiBytes::new(&[]), Err(MidiError::Empty));
        assert_eq!(MidiBytes::new(&[1, 2, 3, 4]), Err(MidiError::Oversized(4)));
        assert!(MidiBytes::new(&[0x90, 1, 2]).unwrap().parse().is_ok());
    }

    /// Velocity curves follow their documented formulas and agree at the ends.
    #[test]
    fn velocity_curves() {
        for curve in VelocityCurve::ALL {
            assert_eq!(curve.apply(0), 0.0);
            assert_eq!(curve.apply(127), 1.0);
            assert_eq!(curve.apply(200), 1.0);
            assert_eq!(VelocityCurve::from_name(curve.name()), Some(curve));
        }
        let v = 64.0 / 127.0;
        assert_eq!(VelocityCurve::Linear.apply(64), v);
        assert!((VelocityCurve::Soft.apply(64) - f32::sqrt(v)).abs() < 1e-6);
        assert!((VelocityCurve::Hard.apply(64) - v * v).abs() < 1e-6);
        assert_eq!(VelocityCurve::from_name("loud"), None);
    }

    /// Pitch bend maps centre to 0 and both ends to exactly ± the range.
    #[test]
    fn bend_range() {
        assert_eq!(bend_to_semitones(8192, 2.0), 0.0);
        assert_eq!(bend_to_semitones(0, 2.0), -2.0);
        assert_eq!(bend_to_semitones(16383, 2.0), 2.0);
        assert_eq!(bend_to_semitones(u16::MAX, 12.0), 12.0);
        assert_eq!(bend_to_semitones(4096, 2.0), -1.0);
    }
}
