//! Per-voice modulators, measured on renders of the CPU engine: an LFO on
//! `pan` moves the stereo balance at its rate and by the depth the pan law
//! gives; removing it stops it. And the OSC side of `/voice/mod` and
//! `/voice/mod/clear`.

mod common;

use std::path::Path;
use std::sync::Arc;

use neirosynth::control::command::{parse_message, Command, ModShape, ModSpec, VoiceParam};
use neirosynth::engine::command::{EngineCommand, EngineEvent};
use neirosynth::engine::{ApplyCommands, CpuEngine, EngineConfig};
use neirosynth::instrument::format::ExciteShape;
use neirosynth::instrument::Instrument;
use rosc::{OscMessage, OscType};

const RATE: f64 = 48000.0;
/// Balance windows: 10 ms.
const WIN: usize = 480;

fn string() -> Arc<Instrument> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("instruments/string.json");
    Arc::new(Instrument::load(&p).unwrap())
}

/// A bowed string (a steady tone) on the CPU engine, voice id 1.
fn bowed_engine(inst: &Arc<Instrument>) -> CpuEngine {
    let mut cfg = EngineConfig::new(inst.max_buffer_len());
    cfg.threads = 1;
    let mut engine = CpuEngine::new(cfg);
    let note = inst.file.reference_note;
    let plan = inst.plan(note, 2.0, RATE).unwrap();
    let mut req = inst.note_request(note, 0.8);
    req.excite = Some((ExciteShape::Bow, 0.12, 0.0));
    let mut ev: Vec<EngineEvent> = Vec::new();
    engine.apply(
        EngineCommand::Start {
            id: 1,
            inst: inst.clone(),
            plan,
            req,
        },
        &mut ev,
    );
    engine
}

/// Renders `seconds` into `left`/`right`.
fn render(engine: &mut CpuEngine, seconds: f64, left: &mut Vec<f32>, right: &mut Vec<f32>) {
    let n = (seconds * RATE) as usize;
    let (mut l, mut r) = (vec![0.0f32; 256], vec![0.0f32; 256]);
    let mut ev: Vec<EngineEvent> = Vec::new();
    let mut done = 0;
    while done < n {
        let m = (n - done).min(256);
        engine.process_scheduled(&mut l[..m], &mut r[..m], &mut ev, |_| None);
        left.extend_from_slice(&l[..m]);
        right.extend_from_slice(&r[..m]);
        done += m;
    }
}

/// The balance 10·log10(E_L / E_R) of each 10 ms window of `a..b` seconds.
fn balance_db(left: &[f32], right: &[f32], a: f64, b: f64) -> Vec<f32> {
    let (i0, i1) = ((a * RATE) as usize, (b * RATE) as usize);
    left[i0..i1]
        .chunks_exact(WIN)
        .zip(right[i0..i1].chunks_exact(WIN))
        .map(|(l, r)| {
            let el: f64 = l.iter().map(|&v| (v as f64).powi(2)).sum();
            let er: f64 = r.iter().map(|&v| (v as f64).powi(2)).sum();
            (10.0 * (el / er).log10()) as f32
        })
        .collect()
}

fn mean(x: &[f32]) -> f64 {
    x.iter().map(|&v| v as f64).sum::<f64>() / x.len() as f64
}

fn std_dev(x: &[f32]) -> f64 {
    let m = mean(x);
    (x.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

/// Amplitude of the `f` Hz component of `x` (sampled at `rate` Hz, a
/// whole number of cycles long).
fn amplitude_at(x: &[f32], rate: f64, f: f64) -> f64 {
    let m = mean(x);
    let (mut re, mut im) = (0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let w = std::f64::consts::TAU * f * i as f64 / rate;
        re += (v as f64 - m) * w.cos();
        im += (v as f64 - m) * w.sin();
    }
    2.0 * (re * re + im * im).sqrt() / x.len() as f64
}

/// An LFO (sine, 2 Hz, depth 0.5) on `pan` swings the L/R balance at 2 Hz,
/// by the amount the voice's pan law gives (gains √2·cos θ, √2·sin θ with
/// θ = (pan + 1)·π/4); once removed, the balance stands still again.
#[test]
fn lfo_on_pan_moves_the_balance_at_its_rate() {
    let inst = string();
    let mut engine = bowed_engine(&inst);
    let (mut left, mut right) = (Vec::new(), Vec::new());
    render(&mut engine, 1.0, &mut left, &mut right);
    let mut ev: Vec<EngineEvent> = Vec::new();
    let spec = ModSpec {
        param: VoiceParam::Pan,
        shape: ModShape::Sine,
        rate: 2.0,
        depth: 0.5,
        phase: Some(0.0),
    };
    engine.apply(EngineCommand::Modulate { id: 1, spec }, &mut ev);
    render(&mut engine, 3.0, &mut left, &mut right);
    engine.apply(
        EngineCommand::Unmodulate {
            id: 1,
            param: Some(VoiceParam::Pan),
        },
        &mut ev,
    );
    render(&mut engine, 1.5, &mut left, &mut right);

    let still = balance_db(&left, &right, 0.5, 1.0);
    // Five whole cycles of the LFO, after its fade-in.
    let moving = balance_db(&left, &right, 1.25, 3.75);
    // Two whole cycles' time after the LFO's fade-out.
    let after = balance_db(&left, &right, 4.1, 5.1);
    let win_rate = RATE / WIN as f64;
    let f = common::peak_between(&moving, win_rate, 0.5, 6.0);
    // The balance the pan law gives, over one cycle of the LFO (the
    // pickups' own balance is a constant offset in dB).
    let law = |pan: f64| {
        let th = (pan + 1.0) * std::f64::consts::FRAC_PI_4;
        (20.0 * (th.cos() / th.sin()).log10()) as f32
    };
    let expected: Vec<f32> = (0..moving.len())
        .map(|i| law(0.5 * (std::f64::consts::TAU * 2.0 * i as f64 / win_rate).sin()))
        .collect();
    let (a, want) = (
        amplitude_at(&moving, win_rate, 2.0),
        amplitude_at(&expected, win_rate, 2.0),
    );
    let left_over = amplitude_at(&after, win_rate, 2.0);
    println!(
        "LFO 2 Hz on pan: balance at {f:.3} Hz, {a:.2} dB (pan law: {want:.2} dB); after clear {left_over:.2} dB at 2 Hz; std still {:.3} dB, after clear {:.3} dB",
        std_dev(&still),
        std_dev(&after)
    );
    assert!((f - 2.0).abs() < 0.05, "balance moves at {f} Hz, not 2");
    assert!(
        (a - want).abs() < 0.1 * want,
        "balance swing {a} dB, pan law {want} dB"
    );
    // Removed: still as before the LFO, around the same balance.
    assert!(std_dev(&after) < 2.0 * std_dev(&still) + 0.1);
    assert!((mean(&after) - mean(&still)).abs() < 0.5);
    assert!(left_over < 0.2 * a, "{left_over} dB at 2 Hz after clear");
}

/// Every shape sounds without a click: the loudest sample-to-sample step
/// of a bowed tone with a square LFO (the sharpest shape) on `gain` at
/// full depth stays within that of the unmodulated tone times the largest
/// gain the LFO reaches.
#[test]
fn square_lfo_on_gain_does_not_click() {
    let inst = string();
    let steps = |modulate: bool| {
        let mut engine = bowed_engine(&inst);
        let (mut left, mut right) = (Vec::new(), Vec::new());
        let mut ev: Vec<EngineEvent> = Vec::new();
        render(&mut engine, 0.5, &mut left, &mut right);
        if modulate {
            let spec = ModSpec {
                param: VoiceParam::Gain,
                shape: ModShape::Square,
                rate: 8.0,
                depth: 0.9,
                phase: None,
            };
            engine.apply(EngineCommand::Modulate { id: 1, spec }, &mut ev);
        }
        render(&mut engine, 1.0, &mut left, &mut right);
        let i0 = (0.5 * RATE) as usize;
        left[i0..]
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0f32, f32::max)
    };
    let (plain, square) = (steps(false), steps(true));
    println!("largest step: plain {plain:.5}, square LFO {square:.5}");
    // Gain swings 1 ± 0.9: a click would add a step of ~1.8 × the signal.
    assert!(square <= 1.9 * plain * 1.1, "{square} vs {plain}");
}

fn msg(addr: &str, args: Vec<OscType>) -> OscMessage {
    OscMessage {
        addr: addr.into(),
        args,
    }
}

fn s(v: &str) -> OscType {
    OscType::String(v.into())
}

/// `/voice/mod id param shape rate depth [phase]` and
/// `/voice/mod/clear id [param]`: values clamped and counted, bad
/// parameters and shapes refused with their reasons.
#[test]
fn modulator_messages_parse() {
    use OscType::{Float, Int};
    let p = parse_message(&msg(
        "/voice/mod",
        vec![
            Int(3),
            s("pitch"),
            s("noise"),
            Int(500),
            Float(-300.0),
            Float(0.25),
        ],
    ))
    .unwrap();
    assert_eq!(
        p.command,
        Command::VoiceMod {
            id: 3,
            spec: ModSpec {
                param: VoiceParam::Pitch,
                shape: ModShape::Noise,
                rate: 100.0,
                depth: -127.0,
                phase: Some(0.25),
            }
        }
    );
    assert_eq!(p.clamped, 2, "rate and depth clamped");
    let p = parse_message(&msg(
        "/voice/mod",
        vec![Int(3), s("gain"), s("saw"), Float(1.0), Float(0.5)],
    ))
    .unwrap();
    assert!(matches!(p.command, Command::VoiceMod { spec, .. } if spec.phase.is_none()));
    assert_eq!(
        parse_message(&msg("/voice/mod/clear", vec![Int(3)]))
            .unwrap()
            .command,
        Command::VoiceModClear { id: 3, param: None }
    );
    let reason = |m: OscMessage| parse_message(&m).unwrap_err().reason.to_string();
    assert_eq!(
        reason(msg(
            "/voice/mod",
            vec![Int(3), s("pan"), s("wobble"), Float(1.0), Float(0.5)]
        )),
        "argument 3 (shape): unknown modulator shape \"wobble\" (sine, triangle, saw, square or noise)"
    );
    assert_eq!(
        reason(msg(
            "/voice/mod",
            vec![Int(3), s("colour"), s("sine"), Float(1.0), Float(0.5)]
        )),
        "argument 2 (param): unknown parameter \"colour\""
    );
    assert_eq!(
        reason(msg(
            "/voice/mod",
            vec![Int(3), s("x"), s("sine"), Float(1.0), Float(0.5)]
        )),
        "argument 2 (param): parameter \"x\" acts only at /voice/new and cannot be modulated"
    );
    assert_eq!(
        reason(msg(
            "/voice/mod",
            vec![Int(3), s("pan"), s("sine"), Float(f32::NAN), Float(0.5)]
        )),
        "argument 4 (rate): NaN is not allowed"
    );
    assert_eq!(
        reason(msg("/voice/mod", vec![Int(3), s("pan"), s("sine")])),
        "argument 4 (rate): missing"
    );
}
