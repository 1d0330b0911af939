//! OSC packet decoding: raw datagram bytes to an ordered list of timed messages.
//!
//! The bundle structure is walked here (with a nesting limit), and each
//! message inside it is decoded by rosc. Walking bundles ourselves lets a
//! broken packet report the address of the message that broke it, so the
//! caller can answer `/fail <address> <reason>`; a packet whose address
//! cannot be read is counted as a dropped message instead.

use std::time::{SystemTime, UNIX_EPOCH};

use rosc::{OscMessage, OscPacket, OscTime};
use thiserror::Error;

/// Deepest bundle nesting accepted; deeper packets are refused with
/// [`PacketError::TooDeep`].
pub const MAX_BUNDLE_DEPTH: usize = 16;

/// Seconds between the NTP epoch (1900-01-01) and the Unix epoch (1970-01-01), RFC 5905.
pub const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

/// The tag that opens every bundle.
const BUNDLE_TAG: &[u8; 8] = b"#bundle\0";

/// 2^32, the number of NTP fraction units in one second.
const NTP_FRACTION: f64 = 4_294_967_296.0;

/// When a message should run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timetag {
    /// As soon as it arrives: plain messages, and bundles tagged with the OSC
    /// "immediately" value (1).
    Immediate,
    /// At this NTP time (seconds since 1900 in the high 32 bits, fraction in the low 32).
    At {
        /// The raw 64-bit NTP timestamp.
        ntp: u64,
    },
}

impl Timetag {
    /// The raw OSC timetag value that means "immediately".
    pub const IMMEDIATE_NTP: u64 = 1;

    /// Interprets a raw 64-bit OSC timetag.
    pub fn from_ntp(ntp: u64) -> Self {
        if ntp == Self::IMMEDIATE_NTP {
            Timetag::Immediate
        } else {
            Timetag::At { ntp }
        }
    }

    /// The raw 64-bit OSC timetag (1 for [`Timetag::Immediate`]).
    pub fn to_ntp(self) -> u64 {
        match self {
            Timetag::Immediate => Self::IMMEDIATE_NTP,
            Timetag::At { ntp } => ntp,
        }
    }
}

impl From<OscTime> for Timetag {
    fn from(time: OscTime) -> Self {
        Timetag::from_ntp((u64::from(time.seconds) << 32) | u64::from(time.fractional))
    }
}

impl From<Timetag> for OscTime {
    fn from(tag: Timetag) -> Self {
        let ntp = tag.to_ntp();
        OscTime {
            seconds: (ntp >> 32) as u32,
            fractional: ntp as u32,
        }
    }
}

/// One message of a packet, with the timetag of its innermost bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedMessage {
    /// When the message should run.
    pub timetag: Timetag,
    /// The decoded message (address and arguments, not yet validated).
    pub message: OscMessage,
}

/// Why a packet could not be decoded. Nothing of a packet that fails runs.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PacketError {
    /// The datagram (or a bundle element) has no bytes.
    #[error("empty packet")]
    Empty,
    /// The bytes start with neither an address (`/`) nor `#bundle`.
    #[error("not an OSC packet: expected an address or #bundle")]
    NotOsc,
    /// Bundles are nested deeper than [`MAX_BUNDLE_DEPTH`].
    #[error("bundles nested deeper than {MAX_BUNDLE_DEPTH} levels")]
    TooDeep,
    /// The packet is broken where no address can be read.
    #[error("{reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// A message whose address can be read is broken: answer `/fail <address> <reason>`.
    #[error("{reason}")]
    BadMessage {
        /// The address of the broken message.
        address: String,
        /// What is wrong.
        reason: String,
    },
}

impl PacketError {
    /// The address to answer `/fail` with, when one could be read; otherwise
    /// the packet is counted as a dropped message.
    pub fn address(&self) -> Option<&str> {
        match self {
            PacketError::BadMessage { address, .. } => Some(address),
            _ => None,
        }
    }

    /// A `BadMessage` when `address` is known, a `Malformed` otherwise.
    fn at(address: Option<&str>, reason: String) -> Self {
        match address {
            Some(address) => PacketError::BadMessage {
                address: address.to_owned(),
                reason,
            },
            None => PacketError::Malformed { reason },
        }
    }
}

/// Decodes one datagram into its messages, in order, flattening nested bundles.
///
/// Each message carries the timetag of its innermost bundle; a plain message
/// is [`Timetag::Immediate`]. A packet with any broken part is refused whole.
/// Messages without a type tag string (old OSC) are read as having no
/// arguments.
pub fn decode_packet(bytes: &[u8]) -> Result<Vec<TimedMessage>, PacketError> {
    let mut out = Vec::new();
    walk(bytes, Timetag::Immediate, 0, &mut out)?;
    Ok(out)
}

/// Appends the messages of `bytes` (a message or a bundle) to `out`.
fn walk(
    bytes: &[u8],
    timetag: Timetag,
    depth: usize,
    out: &mut Vec<TimedMessage>,
) -> Result<(), PacketError> {
    if let Some(rest) = bytes.strip_prefix(BUNDLE_TAG) {
        if depth == MAX_BUNDLE_DEPTH {
            return Err(PacketError::TooDeep);
        }
        let Some((tag, mut rest)) = rest.split_first_chunk::<8>() else {
            return Err(PacketError::Malformed {
                reason: "bundle timetag cut short".into(),
            });
        };
        let timetag = Timetag::from_ntp(u64::from_be_bytes(*tag));
        while !rest.is_empty() {
            let Some((size, tail)) = rest.split_first_chunk::<4>() else {
                return Err(PacketError::Malformed {
                    reason: "bundle element size cut short".into(),
                });
            };
            let size = u32::from_be_bytes(*size) as usize;
            if size > tail.len() {
                let reason = format!(
                    "bundle element cut short: {size} bytes declared, {} present",
                    tail.len()
                );
                return Err(PacketError::at(read_address(tail), reason));
            }
            let (element, next) = tail.split_at(size);
            walk(element, timetag, depth + 1, out)?;
            rest = next;
        }
        Ok(())
    } else if bytes.first() == Some(&b'/') {
        let message = decode_message(bytes)?;
        out.push(TimedMessage { timetag, message });
        Ok(())
    } else if bytes.is_empty() {
        Err(PacketError::Empty)
    } else {
        Err(PacketError::NotOsc)
    }
}

/// Decodes one message (bytes starting with `/`).
fn decode_message(bytes: &[u8]) -> Result<OscMessage, PacketError> {
    let address = read_address(bytes);
    if let Some(addr) = address {
        // Old OSC: the address alone, without a type tag string.
        if bytes.len() <= (addr.len() + 4) & !3 {
            return Ok(OscMessage {
                addr: addr.to_owned(),
                args: Vec::new(),
            });
        }
    }
    match rosc::decoder::decode_udp(bytes) {
        Ok(([], OscPacket::Message(message))) => Ok(message),
        Ok((_, OscPacket::Message(_))) => Err(PacketError::at(
            address,
            "unexpected bytes after the arguments".into(),
        )),
        Ok((_, OscPacket::Bundle(_))) => Err(PacketError::NotOsc),
        Err(e) => Err(PacketError::at(address, format!("cannot decode: {e}"))),
    }
}

/// Reads the address at the start of `bytes`: a `/`-prefixed UTF-8 string
/// ended by a NUL. Padding after the NUL is not required.
pub fn read_address(bytes: &[u8]) -> Option<&str> {
    if bytes.first() != Some(&b'/') {
        return None;
    }
    let end = bytes.iter().position(|&b| b == 0)?;
    std::str::from_utf8(&bytes[..end]).ok()
}

/// The current wall-clock time as a 64-bit NTP timestamp.
pub fn ntp_now() -> u64 {
    system_time_to_ntp(SystemTime::now())
}

/// Converts a wall-clock time to a 64-bit NTP timestamp (0 before 1970).
pub fn system_time_to_ntp(time: SystemTime) -> u64 {
    let Ok(since_unix) = time.duration_since(UNIX_EPOCH) else {
        return 0;
    };
    let seconds = since_unix.as_secs() + NTP_UNIX_OFFSET_SECS;
    let fraction = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
    (seconds << 32) | fraction
}

/// Seconds since the NTP epoch of a 64-bit NTP timestamp (about 0.5 µs
/// resolution in current years; use [`ntp_delta_seconds`] for differences).
pub fn ntp_to_seconds(ntp: u64) -> f64 {
    (ntp >> 32) as f64 + (ntp & 0xFFFF_FFFF) as f64 / NTP_FRACTION
}

/// The 64-bit NTP timestamp of `seconds` since the NTP epoch, saturating at
/// both ends (negative and NaN give 0).
pub fn seconds_to_ntp(seconds: f64) -> u64 {
    if seconds.is_nan() || seconds <= 0.0 {
        0
    } else if seconds >= NTP_FRACTION {
        u64::MAX
    } else {
        let whole = seconds.floor();
        let fraction = (((seconds - whole) * NTP_FRACTION) as u64).min(0xFFFF_FFFF);
        ((whole as u64) << 32) | fraction
    }
}

/// `later - earlier` in seconds, exact to the NTP fraction and negative when
/// `later` is before `earlier`.
pub fn ntp_delta_seconds(later: u64, earlier: u64) -> f64 {
    later.wrapping_sub(earlier) as i64 as f64 / NTP_FRACTION
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rosc::{encoder, OscBundle, OscType};

    fn msg(addr: &str, args: Vec<OscType>) -> OscPacket {
        OscPacket::Message(OscMessage {
            addr: addr.into(),
            args,
        })
    }

    fn bundle(ntp: u64, content: Vec<OscPacket>) -> OscPacket {
        OscPacket::Bundle(OscBundle {
            timetag: Timetag::from_ntp(ntp).into(),
            content,
        })
    }

    fn encode(packet: &OscPacket) -> Vec<u8> {
        encoder::encode(packet).unwrap()
    }

    /// A plain message decodes to itself with an immediate timetag.
    #[test]
    fn plain_message_is_immediate() {
        let packet = msg("/note/on", vec![OscType::Int(0), OscType::Float(60.5)]);
        let out = decode_packet(&encode(&packet)).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].timetag, Timetag::Immediate);
        assert_eq!(OscPacket::Message(out[0].message.clone()), packet);
    }

    /// Nested bundles flatten in order, each message with its innermost bundle's timetag.
    #[test]
    fn nested_bundles_flatten_in_order() {
        let (a, b) = (0xE000_0000_8000_0000, 0xE000_0001_0000_0000);
        let packet = bundle(
            a,
            vec![
                msg("/one", vec![]),
                bundle(
                    b,
                    vec![msg("/two", vec![]), bundle(1, vec![msg("/three", vec![])])],
                ),
                msg("/four", vec![OscType::Int(4)]),
            ],
        );
        let out = decode_packet(&encode(&packet)).unwrap();
        let seen: Vec<_> = out
            .iter()
            .map(|m| (m.message.addr.as_str(), m.timetag))
            .collect();
        assert_eq!(
            seen,
            [
                ("/one", Timetag::At { ntp: a }),
                ("/two", Timetag::At { ntp: b }),
                ("/three", Timetag::Immediate),
                ("/four", Timetag::At { ntp: a }),
            ]
        );
    }

    /// An empty bundle decodes to no messages.
    #[test]
    fn empty_bundle_has_no_messages() {
        assert_eq!(decode_packet(&encode(&bundle(1, vec![]))).unwrap(), []);
    }

    /// A message cut short reports its address so the caller can answer /fail.
    #[test]
    fn truncated_message_reports_address() {
        let bytes = encode(&msg(
            "/note/on",
            vec![OscType::Int(0), OscType::Float(60.0)],
        ));
        let err = decode_packet(&bytes[..bytes.len() - 3]).unwrap_err();
        assert_eq!(err.address(), Some("/note/on"));
        assert!(err.to_string().starts_with("cannot decode"), "{err}");
    }

    /// A message cut inside a bundle reports the inner message's address.
    #[test]
    fn truncated_bundle_element_reports_address() {
        let bytes = encode(&bundle(
            1,
            vec![msg("/sync", vec![OscType::Int(7)]), msg("/quit", vec![])],
        ));
        let err = decode_packet(&bytes[..bytes.len() - 2]).unwrap_err();
        assert_eq!(err.address(), Some("/quit"));
    }

    /// A packet cut inside its address has no readable address.
    #[test]
    fn truncated_address_is_unreadable() {
        let bytes = encode(&msg("/status", vec![]));
        let err = decode_packet(&bytes[..4]).unwrap_err();
        assert_eq!(err.address(), None);
        assert_eq!(decode_packet(&bytes[..0]), Err(PacketError::Empty));
        assert_eq!(decode_packet(b"xyz\0"), Err(PacketError::NotOsc));
        assert!(decode_packet(b"#bundle\0\0\0").is_err());
    }

    /// Bytes after the last argument refuse the message, naming its address.
    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = encode(&msg("/sync", vec![OscType::Int(1)]));
        bytes.extend_from_slice(&[0, 0, 0, 9]);
        let err = decode_packet(&bytes).unwrap_err();
        assert_eq!(err.address(), Some("/sync"));
    }

    /// A message with no type tag string (old OSC) has no arguments.
    #[test]
    fn missing_type_tags_mean_no_arguments() {
        let out = decode_packet(b"/status\0").unwrap();
        assert_eq!(out[0].message.addr, "/status");
        assert!(out[0].message.args.is_empty());
    }

    /// Bundles nested deeper than the limit are refused.
    #[test]
    fn deep_nesting_is_refused() {
        let mut packet = msg("/status", vec![]);
        for _ in 0..MAX_BUNDLE_DEPTH {
            packet = bundle(1, vec![packet]);
        }
        assert_eq!(decode_packet(&encode(&packet)).unwrap().len(), 1);
        let deeper = bundle(1, vec![packet]);
        assert_eq!(decode_packet(&encode(&deeper)), Err(PacketError::TooDeep));
    }

    /// Timetag 1 is "immediately"; every other value is an NTP time, and both convert back.
    #[test]
    fn timetag_conversions() {
        assert_eq!(Timetag::from_ntp(1), Timetag::Immediate);
        assert_eq!(Timetag::from_ntp(0), Timetag::At { ntp: 0 });
        let time = OscTime {
            seconds: 3_900_000_000,
            fractional: 123,
        };
        assert_eq!(OscTime::from(Timetag::from(time)), time);
        assert_eq!(OscTime::from(Timetag::Immediate), OscTime::from((0, 1)));
    }

    /// NTP helpers agree with each other and with the wall clock.
    #[test]
    fn ntp_helpers() {
        let now = ntp_now();
        let secs = ntp_to_seconds(now);
        // After 2020 and before the NTP era rolls over in 2036.
        assert!(secs > (NTP_UNIX_OFFSET_SECS + 1_577_836_800) as f64 && secs < NTP_FRACTION);
        assert!(ntp_delta_seconds(seconds_to_ntp(secs), now).abs() < 1e-6);
        assert_eq!(seconds_to_ntp(1.5), (1 << 32) | 0x8000_0000);
        assert_eq!(ntp_to_seconds((2 << 32) | 0x4000_0000), 2.25);
        assert_eq!(seconds_to_ntp(-1.0), 0);
        assert_eq!(seconds_to_ntp(f64::NAN), 0);
        assert_eq!(seconds_to_ntp(1e12), u64::MAX);
        assert_eq!(ntp_delta_seconds(1 << 32, 3 << 31), -0.5);
        assert_eq!(system_time_to_ntp(UNIX_EPOCH), NTP_UNIX_OFFSET_SECS << 32);
    }

    proptest! {
        /// Arbitrary bytes never panic the decoder.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_packet(&bytes);
        }

        /// Arbitrary argument bytes after a valid address never panic the decoder.
        #[test]
        fn arbitrary_message_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut bytes = b"/note/on\0\0\0\0,".to_vec();
            bytes.extend_from_slice(&body);
            if let Err(e) = decode_packet(&bytes) {
                prop_assert_eq!(e.address(), Some("/note/on"));
            }
        }

        /// Bytes after a valid bundle header never panic the decoder.
        #[test]
        fn arbitrary_bundle_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut bytes = b"#bundle\0\0\0\0\0\0\0\0\x01".to_vec();
            bytes.extend_from_slice(&body);
            let _ = decode_packet(&bytes);
        }
    }
}
