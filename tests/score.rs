//! Offline scores: the same router and engine as the server; timed events
//! start on their exact frame; JSON and binary scores agree; deterministic.

use std::path::Path;

use neirosynth::instrument::bank::Bank;
use neirosynth::score::{render_score, Score, ScoreSettings};

fn bank() -> Bank {
    Bank::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"))
        .unwrap()
        .0
}

fn settings() -> ScoreSettings {
    ScoreSettings {
        sample_rate: 48000,
        block: 256,
        voices: 8,
        threads: 1,
    }
}

/// First frame whose magnitude exceeds `threshold`.
fn onset(x: &[f32], threshold: f32) -> usize {
    x.iter()
        .position(|v| v.abs() > threshold)
        .expect("an onset")
}

/// A note timetagged 0.5 s (and one 0.25013 s after it) starts exactly on
/// frame round(t × 48000): struck and picked up at the same node, the
/// strike's force is heard from its first sample.
#[test]
fn timed_notes_start_on_their_frame() {
    let json = br#"{"duration": 1.2, "events": [
        {"time": 0.5, "msg": ["/voice/new", 1, "good_small", 60, 0.8, "pan", -1.0, "x", 0.5, "y", 0.5,
            "pickup_lx", 0.5, "pickup_ly", 0.5, "pickup_rx", 0.5, "pickup_ry", 0.5]},
        {"time": 0.75013, "msg": ["/voice/new", 2, "good_small", 67, 0.8, "pan", 1.0, "x", 0.5, "y", 0.5,
            "pickup_lx", 0.5, "pickup_ly", 0.5, "pickup_rx", 0.5, "pickup_ry", 0.5]}
    ]}"#;
    let score = Score::parse(json).unwrap();
    let (buf, report) = render_score(bank(), &score, None, settings());
    assert!(
        report.replies.iter().all(|r| r.1 != "/fail"),
        "{:?}",
        report.replies
    );
    assert_eq!(buf.left.len(), 57600);
    // Hard left / hard right: each channel holds one voice.
    let l = onset(&buf.left, 1e-9);
    let r = onset(&buf.right, 1e-9);
    assert_eq!(l, 24000, "left note onset");
    assert_eq!(
        r,
        (0.75013f64 * 48000.0).round() as usize,
        "right note onset"
    );
    assert_eq!(r - l, (0.25013f64 * 48000.0).round() as usize);
}

/// The same score as JSON and as binary NRT bundles renders identically, twice.
#[test]
fn json_and_binary_scores_agree() {
    let json = br#"{"events": [
        {"time": 0.0, "msg": ["/note/on", "good_small", 55, 0.7]},
        {"time": 0.1, "msg": ["/voice/new", 3, "good_small", 62.5, 0.5]},
        {"time": 0.2, "msg": ["/voice/set", 3, "pitch", 63.0, "gain", 0.5]},
        {"time": 0.3, "msg": ["/excite", 3, 0.2, 0.7, 0.9, 0.2, "noise"]},
        {"time": 0.4, "msg": ["/note/off", "good_small", 55]}
    ]}"#;
    let a = Score::parse(json).unwrap();
    let mut bin = Vec::new();
    for e in &a.events {
        let secs = e.time.floor();
        let frac = ((e.time - secs) * 4294967296.0).round() as u32;
        let b = rosc::OscPacket::Bundle(rosc::OscBundle {
            timetag: rosc::OscTime {
                seconds: secs as u32,
                fractional: frac,
            },
            content: vec![rosc::OscPacket::Message(e.msg.clone())],
        });
        let bytes = rosc::encoder::encode(&b).unwrap();
        bin.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        bin.extend_from_slice(&bytes);
    }
    let b = Score::parse(&bin).unwrap();
    let (x, _) = render_score(bank(), &a, Some(1.0), settings());
    let (y, _) = render_score(bank(), &b, Some(1.0), settings());
    let (z, _) = render_score(bank(), &a, Some(1.0), settings());
    assert!(x.peak() > 0.01);
    assert!(x == y, "binary and JSON differ");
    assert!(x == z, "not deterministic");
}

/// Bad scores are refused with the event named; bad commands are reported as `/fail`s.
#[test]
fn bad_scores_are_refused() {
    assert!(
        Score::parse(b"{\"events\": [{\"time\": -1, \"msg\": [\"/status\"]}]}")
            .unwrap_err()
            .to_string()
            .contains("event 0")
    );
    assert!(Score::parse(b"{\"events\": [{\"time\": 0, \"msg\": [3]}]}")
        .unwrap_err()
        .to_string()
        .contains("address"));
    assert!(Score::parse(&[0, 0, 0, 50, 1, 2]).is_err());
    let s = Score::parse(br#"{"events": [{"time": 0, "msg": ["/note/on", "nope", 60, 0.5]}]}"#)
        .unwrap();
    let (_, report) = render_score(bank(), &s, Some(0.1), settings());
    assert_eq!(report.replies[0].1, "/fail");
}
