//! MPE (MIDI Polyphonic Expression): a LinnStrument's messages, recorded in
//! `tests/fixtures/midi/linnstrument_mpe.json`, played through `/midi` (the
//! router the server and MIDI ports share) in an offline score: two notes
//! held together, bent in opposite directions by their own member
//! channels, each sound at its own bent pitch. Router-level tests check
//! manager-channel messages, pressure and CC74 mapping, release velocity.

use std::path::Path;
use std::sync::Arc;

use neirosynth::audio::stats::SharedStats;
use neirosynth::control::midi::{bend_to_semitones, parse};
use neirosynth::control::reply::EngineKind;
use neirosynth::engine::command::EngineCommand;
use neirosynth::instrument::bank::Bank;
use neirosynth::score::{render_score, Score, ScoreSettings};
use neirosynth::server::midi_map::MidiMap;
use neirosynth::server::router::{Output, Router, RouterConfig};
use neirosynth::types::VoiceParam;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn bank() -> Bank {
    Bank::load_dir(&root().join("tests/fixtures")).unwrap().0
}

/// The fixture's messages: (seconds, raw bytes).
fn fixture() -> (f64, Vec<(f64, Vec<u8>)>) {
    let text =
        std::fs::read_to_string(root().join("tests/fixtures/midi/linnstrument_mpe.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let msgs = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let bytes: Vec<u8> = m["bytes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b.as_u64().unwrap() as u8)
                .collect();
            parse(&bytes).expect("the fixture holds valid MIDI");
            (m["t"].as_f64().unwrap(), bytes)
        })
        .collect();
    (v["duration"].as_f64().unwrap(), msgs)
}

/// Renders messages as `/midi` events of an offline score (mono sum).
fn render(duration: f64, msgs: &[(f64, Vec<u8>)]) -> Vec<f32> {
    let events: Vec<serde_json::Value> = msgs
        .iter()
        .map(|(t, b)| {
            let mut msg = vec![serde_json::json!("/midi")];
            msg.extend(b.iter().map(|&x| serde_json::json!(x)));
            serde_json::json!({"time": t, "msg": msg})
        })
        .collect();
    let json = serde_json::json!({"duration": duration, "events": events}).to_string();
    let score = Score::parse(json.as_bytes()).unwrap();
    let settings = ScoreSettings {
        sample_rate: 48000,
        block: 256,
        voices: 8,
        threads: 1,
    };
    let (buf, report) = render_score(bank(), &score, None, settings);
    assert!(
        report.replies.iter().all(|r| r.1 != "/fail"),
        "{:?}",
        report.replies
    );
    buf.left
        .iter()
        .zip(&buf.right)
        .map(|(l, r)| l + r)
        .collect()
}

/// The strongest frequency in `lo..hi` Hz of `x[from..to]` (Hann-windowed
/// DFT on a 0.5 Hz grid, then refined on a 0.01 Hz grid).
fn peak(x: &[f32], from: usize, to: usize, lo: f64, hi: f64) -> f64 {
    let seg = &x[from..to];
    let n = seg.len() as f64;
    let power = |f: f64| {
        let w = 2.0 * std::f64::consts::PI * f / 48000.0;
        let (mut re, mut im) = (0.0, 0.0);
        for (i, &s) in seg.iter().enumerate() {
            let hann = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n).cos();
            let a = s as f64 * hann;
            re += a * (w * i as f64).cos();
            im -= a * (w * i as f64).sin();
        }
        re * re + im * im
    };
    let best = |lo: f64, hi: f64, step: f64| {
        let mut f = lo;
        let (mut bf, mut bp) = (lo, -1.0);
        while f <= hi {
            let p = power(f);
            if p > bp {
                (bf, bp) = (f, p);
            }
            f += step;
        }
        bf
    };
    let coarse = best(lo, hi, 0.5);
    best(coarse - 0.5, coarse + 0.5, 0.01)
}

fn hz(note: f64) -> f64 {
    440.0 * 2f64.powf((note - 69.0) / 12.0)
}

fn cents(a: f64, b: f64) -> f64 {
    1200.0 * (a / b).log2()
}

/// Two notes held together on member channels 2 and 3, bent in opposite
/// directions (+1.5 and −3 semitones with the zone's ±24 range): each
/// sounds at its own bent pitch. Expected: each note's frequency rendered
/// alone, unbent, through the same path, times 2^(bend/12); tolerance ±5
/// cents (the measurement window is 0.4–1.2 s, well after the slides).
#[test]
fn opposite_bends_on_member_channels() {
    let (duration, msgs) = fixture();
    let status = |b: &[u8]| b[0];
    let bend_of = |channel: u8| {
        msgs.iter()
            .rev()
            .find(|(_, b)| status(b) == 0xE0 | channel)
            .map(|(_, b)| u16::from(b[1]) | (u16::from(b[2]) << 7))
            .unwrap()
    };
    // The member range is 24 (RPN 0 on channel 2 sets all members).
    let up = bend_to_semitones(bend_of(1), 24.0) as f64;
    let down = bend_to_semitones(bend_of(2), 24.0) as f64;
    assert!((up - 1.5).abs() < 1e-3 && (down + 3.0).abs() < 1e-9);

    // Each note alone, unbent: the manager channel's and its own channel's messages, no bends.
    let alone = |channel: u8| -> Vec<(f64, Vec<u8>)> {
        msgs.iter()
            .filter(|(_, b)| {
                let c = b[0] & 0x0F;
                (c == 0 || c == channel) && b[0] & 0xF0 != 0xE0
            })
            .cloned()
            .collect()
    };
    let (from, to) = (19200, 57600);
    let solo_a = render(duration, &alone(1));
    let solo_b = render(duration, &alone(2));
    let semi = 2f64.powf(0.5 / 12.0);
    let fa = peak(&solo_a, from, to, hz(60.0) / semi, hz(60.0) * semi);
    let fb = peak(&solo_b, from, to, hz(69.0) / semi, hz(69.0) * semi);

    let both = render(duration, &msgs);
    let (ea, eb) = (fa * 2f64.powf(up / 12.0), fb * 2f64.powf(down / 12.0));
    let ma = peak(&both, from, to, ea / semi, ea * semi);
    let mb = peak(&both, from, to, eb / semi, eb * semi);
    eprintln!(
        "note 60 ch2: alone {fa:.2} Hz (nominal {:.2}); bent {up:+.4} st: expected {ea:.2} Hz, \
         measured {ma:.2} Hz ({:+.2} cents)",
        hz(60.0),
        cents(ma, ea)
    );
    eprintln!(
        "note 69 ch3: alone {fb:.2} Hz (nominal {:.2}); bent {down:+.4} st: expected {eb:.2} Hz, \
         measured {mb:.2} Hz ({:+.2} cents)",
        hz(69.0),
        cents(mb, eb)
    );
    assert!(
        cents(ma, ea).abs() < 5.0,
        "ch2 note: {ma} Hz, expected {ea}"
    );
    assert!(
        cents(mb, eb).abs() < 5.0,
        "ch3 note: {mb} Hz, expected {eb}"
    );
    // And the unbent pitches are gone: each bent note is at least its bend away.
    assert!(cents(ma, fa) > 140.0 && cents(mb, fb) < -290.0);
}

fn router(map: MidiMap) -> Router {
    let cfg = RouterConfig {
        sample_rate: 48000.0,
        block: 256,
        voices: 8,
        bend_headroom: 4.0,
        allow_quit: true,
        fixed_reply: None,
        engine: EngineKind::Cpu,
        voice_capacity: 66 * 66,
        first_picked_id: 1,
    };
    Router::new(bank(), cfg, Arc::new(SharedStats::default()), map)
}

/// Sends raw MIDI; returns the engine commands it produced.
fn send(r: &mut Router, bytes: &[u8]) -> Vec<EngineCommand> {
    let mut out = Output::default();
    r.midi_event(parse(bytes).unwrap(), None, &mut out).unwrap();
    out.commands.into_iter().map(|t| t.command).collect()
}

fn started(cmds: &[EngineCommand]) -> i32 {
    cmds.iter()
        .find_map(|c| match c {
            EngineCommand::Start { id, .. } => Some(*id),
            _ => None,
        })
        .expect("a voice starts")
}

/// (voice, value) of every `Set` of `param`.
fn sets(cmds: &[EngineCommand], param: VoiceParam) -> Vec<(i32, f64)> {
    let mut v: Vec<(i32, f64)> = cmds
        .iter()
        .filter_map(|c| match c {
            EngineCommand::Set {
                id,
                param: p,
                value,
            } if *p == param => Some((*id, *value)),
            _ => None,
        })
        .collect();
    v.sort_by_key(|s| s.0);
    v
}

/// `sets`' order (by voice id) of an expectation.
fn by_id(mut v: Vec<(i32, f64)>) -> Vec<(i32, f64)> {
    v.sort_by_key(|s| s.0);
    v
}

fn mcm(r: &mut Router, channel: u8, members: u8) {
    for cc in [[101, 0], [100, 6], [6, members], [101, 127], [100, 127]] {
        send(r, &[0xB0 | channel, cc[0], cc[1]]);
    }
}

/// Pitch bend, CC and sustain on the manager channel reach every voice of
/// the zone and no other; a member's bend moves only its own note.
#[test]
fn manager_messages_reach_the_zone() {
    let mut r = router(MidiMap::default());
    mcm(&mut r, 0, 3);
    let a = started(&send(&mut r, &[0x91, 60, 100]));
    let b = started(&send(&mut r, &[0x92, 64, 100]));
    let plain = started(&send(&mut r, &[0x99, 67, 100]));
    // Member bend: ±48 on members.
    let cmds = send(&mut r, &[0xE1, 0x00, 0x42]);
    let member = bend_to_semitones(0x42 << 7, 48.0) as f64;
    assert_eq!(sets(&cmds, VoiceParam::Pitch), vec![(a, 60.0 + member)]);
    // Manager bend: ±2, added to every zone note.
    let cmds = send(&mut r, &[0xE0, 0x00, 0x60]);
    let manager = bend_to_semitones(0x60 << 7, 2.0) as f64;
    assert!((manager - 1.0).abs() < 1e-3);
    assert_eq!(
        sets(&cmds, VoiceParam::Pitch),
        by_id(vec![(a, 60.0 + (member + manager)), (b, 64.0 + manager)])
    );
    // A controller of the preset (CC1 morph, no target: nothing) and a
    // voice-parameter controller on the manager: all zone voices.
    let mut map = MidiMap::from_json(
        r#"{"format": "neirosynth-midi-map", "version": 1,
            "cc": [{"cc": 7, "param": "gain", "min": 0, "max": 2}, {"cc": 64, "param": "sustain"}]}"#,
    )
    .unwrap();
    map.mpe.zones.lower = 3;
    let mut r2 = router(map);
    let a2 = started(&send(&mut r2, &[0x91, 60, 100]));
    let b2 = started(&send(&mut r2, &[0x93, 62, 100]));
    let p2 = started(&send(&mut r2, &[0x9A, 62, 100]));
    let cmds = send(&mut r2, &[0xB0, 7, 127]);
    assert_eq!(
        sets(&cmds, VoiceParam::Gain),
        by_id(vec![(a2, 2.0), (b2, 2.0)])
    );
    assert!(!sets(&cmds, VoiceParam::Gain).iter().any(|s| s.0 == p2));
    // Sustain on the manager holds the zone's notes, not the plain channel's.
    send(&mut r2, &[0xB0, 64, 127]);
    let offs = |cmds: &[EngineCommand]| {
        cmds.iter()
            .filter(|c| matches!(c, EngineCommand::NoteOff { .. }))
            .count()
    };
    assert_eq!(offs(&send(&mut r2, &[0x81, 60, 64])), 0);
    assert_eq!(offs(&send(&mut r2, &[0x83, 62, 64])), 0);
    assert_eq!(offs(&send(&mut r2, &[0x8A, 62, 64])), 1);
    assert_eq!(offs(&send(&mut r2, &[0xB0, 64, 0])), 2);
    let _ = plain;
}

/// Pressure and CC74 on a member channel drive the preset's (or default)
/// targets of that channel's note only; CC74 before a note sets its start;
/// release velocity scales the damping of the ring-out.
#[test]
fn pressure_and_timbre_mapping() {
    // Defaults, struck instrument: pressure → damping 1..0.25, CC74 → brightness.
    let mut r = router(MidiMap::default());
    mcm(&mut r, 0, 15);
    send(&mut r, &[0xB1, 74, 127]);
    let cmds = send(&mut r, &[0x91, 60, 100]);
    let a = started(&cmds);
    let req_brightness = cmds
        .iter()
        .find_map(|c| match c {
            EngineCommand::Start { req, .. } => Some(req.brightness),
            _ => None,
        })
        .unwrap();
    assert_eq!(req_brightness, 1.0);
    let b = started(&send(&mut r, &[0x92, 64, 100]));
    let cmds = send(&mut r, &[0xD1, 127]);
    assert_eq!(sets(&cmds, VoiceParam::Damping), vec![(a, 0.25)]);
    let cmds = send(&mut r, &[0xB2, 74, 0]);
    assert_eq!(sets(&cmds, VoiceParam::Brightness), vec![(b, 0.0)]);
    // Release velocity 127 after full pressure: damping 0.25 × 2^(63/32).
    let cmds = send(&mut r, &[0x81, 60, 127]);
    let d = sets(&cmds, VoiceParam::Damping);
    assert_eq!(d.len(), 1);
    assert!(
        (d[0].1 - 0.25 * 2f64.powf(63.0 / 32.0)).abs() < 1e-5,
        "{d:?}"
    );
    assert!(matches!(cmds.last(), Some(EngineCommand::NoteOff { .. })));
    // Release velocity 64 (or none): the instrument's own release.
    assert!(sets(&send(&mut r, &[0x82, 64, 64]), VoiceParam::Damping).is_empty());

    // Preset targets: pressure → bow_force, timbre → gain 0.5..1.5.
    let map = MidiMap::from_json(
        r#"{"format": "neirosynth-midi-map", "version": 1,
            "mpe": {"upper": 15, "pressure": "bow_force", "timbre": {"param": "gain", "min": 0.5, "max": 1.5}}}"#,
    )
    .unwrap();
    let mut r = router(map);
    let v = started(&send(&mut r, &[0x9E, 60, 100]));
    let cmds = send(&mut r, &[0xDE, 127]);
    assert_eq!(sets(&cmds, VoiceParam::BowForce), vec![(v, 0.5)]);
    let cmds = send(&mut r, &[0xBE, 74, 127]);
    assert_eq!(sets(&cmds, VoiceParam::Gain), vec![(v, 1.5)]);
    // Outside any zone, channel pressure keeps its plain-MIDI meaning (gain 1..2).
    let mut r = router(MidiMap::default());
    let v = started(&send(&mut r, &[0x91, 60, 100]));
    assert_eq!(
        sets(&send(&mut r, &[0xD1, 127]), VoiceParam::Gain),
        vec![(v, 2.0)]
    );
}
