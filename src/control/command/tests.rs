//! Unit tests of command parsing: every address, the argument rules, the reasons.

use super::*;
use crate::control::midi::MidiBytes;
use crate::control::osc::{decode_packet, Timetag};
use proptest::prelude::*;
use rosc::{encoder, OscMidiMessage, OscPacket};
use rosc::{OscMessage, OscType};

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
    fail.reason.to_string()
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
        (
            "/voice/mod",
            vec![Int(7), s("pan"), s("sine"), Float(2.0), Float(0.5)],
            C::VoiceMod {
                id: 7,
                spec: ModSpec {
                    param: VoiceParam::Pan,
                    shape: ModShape::Sine,
                    rate: 2.0,
                    depth: 0.5,
                    phase: None,
                },
            },
        ),
        (
            "/voice/mod/clear",
            vec![Int(7), s("pan")],
            C::VoiceModClear {
                id: 7,
                param: Some(VoiceParam::Pan),
            },
        ),
        (
            "/preset/save",
            vec![s("soft"), Int(7)],
            C::PresetSave {
                name: "soft".into(),
                id: 7,
            },
        ),
        (
            "/preset/recall",
            vec![s("soft"), s("drum"), Float(1.0)],
            C::PresetRecall {
                name: "soft".into(),
                target: RecallTarget::Instrument("drum".into()),
                seconds: Some(1.0),
            },
        ),
        ("/preset/list", vec![], C::PresetList),
        (
            "/preset/delete",
            vec![s("soft")],
            C::PresetDelete {
                name: "soft".into(),
            },
        ),
    ];
    let mut seen: Vec<&str> = cases.iter().map(|c| c.0).collect();
    seen.dedup();
    assert_eq!(seen, ADDRESSES, "one case per address, in table order");
    for (addr, args, expected) in cases {
        assert_eq!(ok(addr, args), expected, "{addr}");
    }
}

/// The address table is one list: every address names its own kind, in
/// table order, and nothing else parses as an address.
#[test]
fn address_table_round_trips() {
    let names: Vec<&str> = Address::ALL.iter().map(|a| a.name()).collect();
    assert_eq!(names, ADDRESSES);
    for &a in Address::ALL {
        assert_eq!(Address::from_name(a.name()), Some(a));
    }
    assert_eq!(Address::from_name("/status/"), None);
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
