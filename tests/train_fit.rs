//! The analysis fit and the training run: a target rendered by the engine
//! from a shipped instrument is fitted back at its pitch; `train` writes a
//! loadable instrument, its report and a checkpoint it can resume from.

mod common;

use common::files::{bank_dir, scratch_dir, write_mono_wav};

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use neirosynth::instrument::{note_to_hz, Instrument};
use neirosynth::train::fit::{self, NoteTarget};
use neirosynth::train::{analysis, target, train, Mode, Quiet, TrainOptions};

/// Scratch folders of this suite: `neirosynth-train-fit-…`.
const SUITE: &str = "train-fit";

/// Renders `name` at `note` (1.2 s) and writes it as a float WAV.
fn synth_target(dir: &Path, name: &str, note: f64, file: &str) -> PathBuf {
    let inst = Arc::new(Instrument::load(&bank_dir().join(format!("{name}.json"))).unwrap());
    let y = fit::render_mono(&inst, note, 1.2).unwrap();
    let peak = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let p = dir.join(file);
    write_mono_wav(&p, &y, 0.5 / peak);
    p
}

fn cents(a: f64, b: f64) -> f64 {
    1200.0 * (a / b).log2()
}

/// The fit recovers the pitch of engine renders of shipped instruments.
#[test]
fn fit_recovers_pitch() {
    let d = scratch_dir(SUITE, "pitch");
    let templates = fit::load_templates(&bank_dir()).unwrap();
    for (name, note, file) in [
        ("string", 52.0, "synth_E3.wav"),
        ("tom", 50.0, "synth_D3.wav"),
    ] {
        let p = synth_target(&d, name, note, file);
        let t = NoteTarget::new(target::load(&p).unwrap());
        assert_eq!(t.target.note, note);
        let (model, ranking) =
            fit::initial_fit(&templates, std::slice::from_ref(&t), "fitted").unwrap();
        // The same kind of body wins (drum and tom are both round membranes).
        let same_kind: &[&str] = if name == "tom" {
            &["tom", "drum"]
        } else {
            &[name]
        };
        assert!(
            same_kind.contains(&ranking[0].template.as_str()),
            "{name}: best body {} ({:.1} cents), ranking {:?}",
            ranking[0].template,
            ranking[0].cost_cents,
            ranking
                .iter()
                .map(|b| (&b.template, b.cost_cents))
                .collect::<Vec<_>>()
        );
        let c = cents(note_to_hz(model.play_notes[0]), note_to_hz(note));
        assert!(
            c.abs() < 5.0,
            "{name}: play note {} ({c:.2} cents off)",
            model.play_notes[0]
        );
        // The fitted instrument, rendered, sounds at the target's pitch.
        let inst = model.instrument().unwrap();
        let y = fit::render_mono(&inst, model.play_notes[0], 1.0).unwrap();
        let yf: Vec<f32> = y.iter().map(|&v| v as f32).collect();
        let f0 = analysis::estimate_f0(&yf, 48000.0, Some(note_to_hz(note))).unwrap();
        let c = cents(f0, t.analysis.f0_hz);
        assert!(
            c.abs() < 5.0,
            "{name}: rendered f0 {f0:.2} Hz vs target {:.2} Hz",
            t.analysis.f0_hz
        );
        // Level: RMS within 1 dB of the target's.
        let lvl = 20.0 * (fit::rms(&y) / t.analysis.rms).log10();
        assert!(lvl.abs() < 1.0, "{name}: level off by {lvl:.2} dB");
    }
}

/// `train` writes a valid instrument, the report and a checkpoint; `--resume` continues.
#[test]
fn train_writes_instrument_report_and_resumes() {
    let d = scratch_dir(SUITE, "run");
    let p = synth_target(&d, "string", 57.0, "pluck_A3.wav");
    let out = d.join("pluck.json");
    let mut opts = TrainOptions {
        targets: vec![p],
        out: out.clone(),
        mode: Mode::Spsa,
        iterations: 2,
        from: Some(Arc::new(
            Instrument::load(&bank_dir().join("string.json")).unwrap(),
        )),
        templates_dir: bank_dir(),
        live: None,
        resume: false,
        loss_seconds: 0.5,
        excite: None,
    };
    let stop = AtomicBool::new(false);
    let run = train(&opts, &mut Quiet, &stop).unwrap();
    assert!(!run.interrupted);
    let inst = Instrument::load(&out).unwrap();
    assert_eq!(inst.name(), "pluck");
    assert_eq!(inst.file.provenance.method, "trained");
    let rd = d.join("pluck.json.report");
    assert_eq!(run.report_dir, rd);
    for f in [
        "metrics.json",
        "result.wav",
        "target.wav",
        "spectrogram.png",
        "maps.png",
        "loss.png",
    ] {
        assert!(rd.join(f).is_file(), "missing {f}");
    }
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(rd.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["targets"][0]["note"], 57.0);
    let pc = m["targets"][0]["metrics"]["partials_cents"]
        .as_f64()
        .unwrap();
    assert!(pc < 10.0, "partials {pc} cents");
    assert!(run.metrics[0].logmel_l1_db.is_finite());
    // With a checkpoint, --resume continues to a higher iteration count.
    if rd.join("checkpoint.json").is_file() {
        opts.resume = true;
        opts.iterations = 3;
        let again = train(&opts, &mut Quiet, &stop).unwrap();
        assert!(Instrument::load(&out).is_ok());
        assert_eq!(again.model.file.name, "pluck");
    } else {
        opts.resume = true;
        let e = train(&opts, &mut Quiet, &stop).unwrap_err();
        assert!(e.to_string().contains("cannot resume"), "{e}");
    }
}

/// The CLI: bad targets exit 2 with one line (whatever the mode).
#[test]
fn cli_refusals() {
    let d = scratch_dir(SUITE, "cli");
    let bad = d.join("noise.wav");
    std::fs::write(&bad, b"not a wav").unwrap();
    let exe = env!("CARGO_BIN_EXE_neirosynth");
    let out = Command::new(exe)
        .args([
            "train",
            bad.to_str().unwrap(),
            "--out",
            d.join("x.json").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a WAV"), "{err}");
    assert_eq!(
        err.trim()
            .lines()
            .filter(|l| l.starts_with("neirosynth:"))
            .count(),
        1,
        "{err}"
    );
    let out = Command::new(exe)
        .args([
            "train",
            bad.to_str().unwrap(),
            "--out",
            "x.json",
            "--mode",
            "adjoint",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a WAV"), "{err}");
}

/// `--live`: `/inst/reload <name>` reaches a UDP listener as an OSC message.
#[test]
fn live_reload_message() {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(2)))
        .unwrap();
    let addr = sock.local_addr().unwrap().to_string();
    neirosynth::train::send_reload(&addr, "pluck").unwrap();
    let mut buf = [0u8; 256];
    let (n, _) = sock.recv_from(&mut buf).unwrap();
    match rosc::decoder::decode_udp(&buf[..n]).unwrap().1 {
        rosc::OscPacket::Message(m) => {
            assert_eq!(m.addr, "/inst/reload");
            assert_eq!(m.args, vec![rosc::OscType::String("pluck".into())]);
        }
        other => panic!("not a message: {other:?}"),
    }
    assert!(neirosynth::train::send_reload("not-an-address", "x").is_err());
}

/// Several notes of one instrument: each note's own damping is found and
/// the note-shaping network carries it; a note between the trained ones
/// plays at its pitch.
#[test]
fn multi_note_training_fits_the_note_shaping_network() {
    use neirosynth::engine::voice::NoteRequest;
    let d = scratch_dir(SUITE, "multi");
    let string = Arc::new(Instrument::load(&bank_dir().join("string.json")).unwrap());
    // Two notes, the upper one damped twice as much (a KAN damping_log2 of +1 between them).
    let mut targets = Vec::new();
    for (note, damping, file) in [(57.0, 1.0f32, "pluck_A3.wav"), (64.0, 2.0, "pluck_E4.wav")] {
        let mut req = NoteRequest::new(note, fit::VELOCITY);
        req.damping = damping;
        let y = fit::render_request(&string, req, 1.2).unwrap();
        let p = d.join(file);
        write_mono_wav(&p, &y, 0.5);
        targets.push(p);
    }
    let out = d.join("multi.json");
    let opts = TrainOptions {
        targets,
        out: out.clone(),
        mode: Mode::Spsa,
        iterations: 2,
        from: Some(string.clone()),
        templates_dir: bank_dir(),
        live: None,
        resume: false,
        loss_seconds: 0.6,
        excite: None,
    };
    let run = train(&opts, &mut Quiet, &AtomicBool::new(false)).unwrap();
    let inst = Instrument::load(&out).unwrap();
    let kan = inst
        .file
        .kan
        .as_ref()
        .expect("a multi-note instrument has a KAN");
    let (lo, hi) = (kan.shape(57.0, 0.8), kan.shape(64.0, 0.8));
    let ratio = (hi.damping / lo.damping).log2();
    assert!(
        (ratio - 1.0).abs() < 0.4,
        "damping_log2 between the notes {ratio:.3} (lo {lo:?}, hi {hi:?})"
    );
    assert!(lo.detune_cents.abs() < 10.0 && hi.detune_cents.abs() < 10.0);
    assert_eq!(run.model.play_notes, vec![57.0, 64.0]);
    // A note between the trained ones, through the network, at its pitch.
    let inst = Arc::new(inst);
    let y = fit::render_mono(&inst, 60.0, 1.0).unwrap();
    let yf: Vec<f32> = y.iter().map(|&v| v as f32).collect();
    let f0 = analysis::estimate_f0(&yf, 48000.0, Some(note_to_hz(60.0))).unwrap();
    let c = cents(f0, note_to_hz(60.0));
    assert!(
        c.abs() < 10.0,
        "note 60 through the network: {c:.1} cents off"
    );
}

/// Velocity-1 stereo peaks of `inst` at notes 24..=108 in steps of `step`
/// (0.4 s each, its own note shaping); notes it cannot plan are left out.
fn velocity_one_peaks(inst: &Arc<Instrument>, step: f64) -> Vec<(f64, f64)> {
    use neirosynth::render::{render_note_cpu, NoteSpec, RenderSettings};
    (0..)
        .map(|i| 24.0 + step * i as f64)
        .take_while(|&n| n <= 108.0)
        .filter_map(|note| {
            let spec = NoteSpec {
                request: inst.note_request(note, 1.0),
                duration: 0.4,
                release_at: None,
            };
            let b = render_note_cpu(inst, &spec, RenderSettings::default()).ok()?;
            Some((note, b.peak() as f64))
        })
        .collect()
}

/// Velocity-1 RMS of `inst` at `note` over 0.4 s, dB.
fn velocity_one_rms_db(inst: &Arc<Instrument>, note: f64) -> f64 {
    use neirosynth::render::{render_note_cpu, NoteSpec, RenderSettings};
    let spec = NoteSpec {
        request: inst.note_request(note, 1.0),
        duration: 0.4,
        release_at: None,
    };
    let b = render_note_cpu(inst, &spec, RenderSettings::default()).unwrap();
    20.0 * b.rms().log10()
}

/// A target peak-normalised to −1 dBFS: `train` evens the notes' loudness
/// with a level curve and sets the gain so that the trained note, played at
/// the recording's velocity (0.8), peaks where the recording peaks (within
/// 2 dB; the bound), and records it in the report and the
/// description. The loudest note of 24..108 is reported as it plays.
#[test]
fn train_sets_the_play_level() {
    let d = scratch_dir(SUITE, "level");
    let string = Arc::new(Instrument::load(&bank_dir().join("string.json")).unwrap());
    let y = fit::render_mono(&string, 57.0, 1.2).unwrap();
    let peak = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let p = d.join("pluck_A3.wav");
    write_mono_wav(&p, &y, 0.891 / peak);
    let out = d.join("level.json");
    let opts = TrainOptions {
        targets: vec![p],
        out: out.clone(),
        mode: Mode::Spsa,
        iterations: 1,
        from: Some(string),
        templates_dir: bank_dir(),
        live: None,
        resume: false,
        loss_seconds: 0.4,
        excite: None,
    };
    let run = train(&opts, &mut Quiet, &AtomicBool::new(false)).unwrap();
    let inst = Arc::new(Instrument::load(&out).unwrap());
    assert!((inst.file.gain / run.model.file.gain - 1.0).abs() < 1e-12);
    let m: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(d.join("level.json.report/metrics.json")).unwrap(),
    )
    .unwrap();
    let pl = &m["play_level"];
    let range = [
        pl["range"][0].as_f64().unwrap(),
        pl["range"][1].as_f64().unwrap(),
    ];
    assert_eq!(range, [24.0, 108.0], "{pl}");
    // The trained note at velocity 0.8 peaks where the recording peaks.
    let spec = neirosynth::render::NoteSpec {
        request: inst.note_request(57.0, fit::VELOCITY),
        duration: 1.0,
        release_at: None,
    };
    let trained_peak = neirosynth::render::render_note_cpu(&inst, &spec, Default::default())
        .unwrap()
        .peak() as f64;
    let off_db = 20.0 * (trained_peak / 0.891).log10();
    eprintln!("trained note peaks {off_db:+.2} dB from the recording's peak");
    assert!(off_db.abs() < 2.0, "trained note {off_db:+.2} dB off");
    let reported = &pl["trained"][0];
    assert!(
        (reported["render_peak"].as_f64().unwrap() / trained_peak - 1.0).abs() < 0.02
            && (reported["recording_peak"].as_f64().unwrap() - 0.891).abs() < 0.01,
        "{reported}"
    );
    // Every note of 24..108 plays.
    let peaks = velocity_one_peaks(&inst, 1.0);
    assert!(
        peaks.len() >= 80,
        "only {} notes play: {peaks:?}",
        peaks.len()
    );
    // The level curve makes every semitone as loud as the trained note
    // (RMS within 0.5 dB over two octaves; without it they swing by many dB).
    let curve = inst.file.level_curve.as_ref().expect("a level curve");
    let at57 = velocity_one_rms_db(&inst, 57.0);
    assert!(curve.db_at(57.0).abs() < 1e-9, "{curve:?}");
    let mut swing: f64 = 0.0;
    for n in (45..=69).map(f64::from) {
        let d = velocity_one_rms_db(&inst, n) - at57;
        swing = swing.max(d.abs());
        assert!(d.abs() < 0.5, "note {n}: {d:.2} dB from the trained note");
    }
    let curve_db = [
        pl["curve_db"][0].as_f64().unwrap(),
        pl["curve_db"][1].as_f64().unwrap(),
    ];
    eprintln!("level curve {curve_db:?} dB; RMS within {swing:.2} dB of note 57 over 45..69");
    // The loudest note of the whole range (semitones and the plan changes
    // between them) is reported as it plays.
    let loud = peaks.iter().map(|p| p.1).fold(0.0, f64::max);
    let reported = pl["peak_full_range"].as_f64().unwrap();
    let loud_note = pl["loudest_note"].as_f64().unwrap();
    let spec = neirosynth::render::NoteSpec {
        request: inst.note_request(loud_note, 1.0),
        duration: 0.4,
        release_at: None,
    };
    let at_loudest = neirosynth::render::render_note_cpu(&inst, &spec, Default::default())
        .unwrap()
        .peak() as f64;
    assert!(
        reported >= 0.98 * loud && (reported / at_loudest - 1.0).abs() < 0.02,
        "reported {reported:.3} at {loud_note} (renders {at_loudest:.3}), semitones' loudest {loud:.3}"
    );
    assert!(pl["notes"].as_array().unwrap().len() >= 9, "{pl}");
    assert!(
        inst.file.description.contains("Level set to the recording"),
        "{}",
        inst.file.description
    );
    // The radiation fit is reported, never worsens the loss, and the file
    // has the filter exactly when the report says it was kept.
    let rad = &m["radiation"];
    assert!(
        rad["loss_after"].as_f64().unwrap() <= rad["loss_before"].as_f64().unwrap(),
        "{rad}"
    );
    assert_eq!(
        rad["kept"].as_bool().unwrap(),
        inst.file.radiation.is_some(),
        "{rad}"
    );
    // The report still compares at the target's level.
    let lvl = m["targets"][0]["metrics"]["level_diff_db"]
        .as_f64()
        .unwrap();
    assert!(lvl.abs() < 1.5, "report level {lvl:.2} dB off the target");
}
