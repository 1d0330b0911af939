//! Instrument files: the good fixture loads; each kind of fault is refused
//! with a message naming the file, the field and the fault, without panicking.

use std::path::Path;

use neirosynth::instrument::bank::Bank;
use neirosynth::instrument::{FaultKind, Instrument};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The good fixture loads and plays the whole note range.
#[test]
fn good_fixture_loads() {
    let inst = Instrument::load(&fixture("good_small.json")).expect("good fixture loads");
    assert_eq!(inst.name(), "small");
    for n in [24.0, 60.0, 108.0] {
        inst.plan(n, 0.0, 48000.0).expect("playable");
    }
}

/// Each bad fixture fails with the expected kind, field and words.
#[test]
fn bad_fixtures_are_refused_with_reasons() {
    use FaultKind::*;
    let cases: &[(&str, FaultKind, &str, &str)] = &[
        ("not_json", Syntax, "(json)", "not valid JSON"),
        ("wrong_format", Version, "format", "some-other-synth"),
        (
            "future_version",
            Version,
            "version",
            "unsupported version 2",
        ),
        ("unknown_field", Syntax, "(structure)", "colour"),
        ("missing_field", Syntax, "(structure)", "excitation"),
        (
            "map_wrong_size",
            Size,
            "maps.stiffness",
            "the mesh needs 256",
        ),
        ("stiffness_nan", NotFinite, "maps.stiffness", "NaN"),
        (
            "stiffness_out_of_range",
            OutOfRange,
            "maps.stiffness",
            "3.5",
        ),
        ("damping_negative", OutOfRange, "maps.sigma0", "-1"),
        ("mask_bad_kind", OutOfRange, "maps.mask", "is 7"),
        ("mask_empty", OutOfRange, "maps.mask", "no body node"),
        ("mesh_too_big", Size, "mesh", "1000×16"),
        ("position_out_of_range", OutOfRange, "excitation.x", "1.5"),
        ("bad_name", OutOfRange, "name", "etc/passwd"),
        ("bad_base64", Size, "maps.sigma0", "invalid base64"),
        ("unstable", Unstable, "maps", "unstable"),
        (
            "kan_wrong_size",
            Size,
            "kan.layers[0].coef",
            "has 5 values, needs 6",
        ),
    ];
    let dir = fixture("bad");
    let on_disk = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(on_disk, cases.len(), "every fixture has a case");
    for (name, kind, field, words) in cases {
        let path = dir.join(format!("{name}.json"));
        let err = Instrument::load(&path).expect_err(name);
        let msg = err.to_string();
        assert_eq!(err.kind, *kind, "{name}: {msg}");
        assert_eq!(err.field, *field, "{name}: {msg}");
        assert!(msg.contains(words), "{name}: `{msg}` lacks `{words}`");
        assert!(
            msg.contains(&format!("{name}.json")),
            "{name}: message does not name the file: {msg}"
        );
    }
}

/// A missing file is an I/O fault naming the file.
#[test]
fn missing_file_is_refused() {
    let err = Instrument::load(Path::new("/nonexistent/x.json")).unwrap_err();
    assert_eq!(err.kind, FaultKind::Io);
    assert!(err.to_string().contains("/nonexistent/x.json"));
}

/// Loading a folder keeps the good instruments and reports the bad ones.
#[test]
fn bank_keeps_good_and_reports_bad() {
    let tmp = std::env::temp_dir().join(format!("neirosynth-bank-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::copy(fixture("good_small.json"), tmp.join("good_small.json")).unwrap();
    std::fs::copy(
        fixture("bad/stiffness_nan.json"),
        tmp.join("stiffness_nan.json"),
    )
    .unwrap();
    let (bank, errors) = Bank::load_dir(&tmp).unwrap();
    std::fs::remove_dir_all(&tmp).unwrap();
    assert_eq!(bank.instruments.len(), 1);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind, FaultKind::NotFinite);
    assert!(bank.path_for("../secret").is_err());
    assert!(bank.path_for("/etc/passwd").is_err());
    assert!(bank.path_for("drum").is_ok());
}

/// Saving and reloading an instrument gives the same file.
#[test]
fn save_and_reload_round_trips() {
    let inst = Instrument::load(&fixture("good_small.json")).unwrap();
    let text = serde_json::to_string_pretty(&inst.file).unwrap();
    let again = Instrument::from_json(&text, "roundtrip").unwrap();
    assert_eq!(again.file, inst.file);
}

/// An instrument's KAN shapes every note: a network saying "−6 dB and a
/// quarter of the damping above the middle of the range" halves the level of
/// a high note and lengthens its ring, and leaves a note played with its
/// own parameters otherwise as filed.
#[test]
fn kan_shapes_notes() {
    use neirosynth::engine::{CpuEngine, EngineConfig, VoiceEngine};
    use neirosynth::instrument::kan::KanSpec;
    let plain = Instrument::load(&fixture("good_small.json")).unwrap();
    let mut file = plain.file.clone();
    file.name = "shaped".into();
    let mut kan = KanSpec::zeroed([40.0, 80.0], &["gain_db", "damping_log2"], 0, 3);
    kan.layers[0].bias = vec![-6.0, -2.0];
    file.kan = Some(kan);
    let shaped = Instrument::from_file(file, "shaped").unwrap();
    let render = |inst: Instrument| {
        let inst = std::sync::Arc::new(inst);
        let mut e = CpuEngine::new(EngineConfig::new(inst.max_buffer_len()));
        let req = inst.note_request(60.0, 0.8);
        let plan = inst.plan(req.note, 2.0, 48000.0).unwrap();
        e.start_voice(1, inst.clone(), plan, &req);
        let (mut l, mut r) = (vec![0.0; 24000], vec![0.0; 24000]);
        for (cl, cr) in l.chunks_mut(256).zip(r.chunks_mut(256)) {
            e.process(cl, cr);
        }
        l
    };
    let rms = |x: &[f32]| (x.iter().map(|v| (v * v) as f64).sum::<f64>() / x.len() as f64).sqrt();
    let (a, b) = (render(plain), render(shaped));
    // The attack (before damping matters): −6 dB.
    let ratio = rms(&b[..1200]) / rms(&a[..1200]);
    assert!((ratio - 0.501).abs() < 0.03, "attack level ratio {ratio}");
    // The tail rings longer with a quarter of the damping: relative to its
    // attack, the shaped note's tail is clearly louder.
    let tail = rms(&b[12000..]) / rms(&a[12000..]);
    assert!(
        tail > 1.4 * ratio,
        "tail ratio {tail} vs attack ratio {ratio}"
    );
}

/// A level curve scales each note's gain by its dB, linear between its
/// points and constant beyond; a bad curve is refused naming the field.
#[test]
fn level_curve_sets_note_gains() {
    use neirosynth::instrument::format::LevelCurve;
    let good = Instrument::load(&fixture("good_small.json")).unwrap();
    let mut f = good.file.clone();
    f.level_curve = Some(LevelCurve {
        notes: vec![50.0, 70.0],
        db: vec![0.0, -12.0],
    });
    let curved = Instrument::from_file(f.clone(), "curved.json").unwrap();
    for (note, db) in [
        (40.0, 0.0),
        (50.0, 0.0),
        (60.0, -6.0),
        (65.0, -9.0),
        (90.0, -12.0),
    ] {
        let (a, b) = (good.note_request(note, 0.7), curved.note_request(note, 0.7));
        let got = 20.0 * (b.gain / a.gain).log10();
        assert!((got - db).abs() < 1e-4, "note {note}: {got} dB, want {db}");
    }
    let cases: [(&str, LevelCurve); 4] = [
        (
            "level_curve.db",
            LevelCurve {
                notes: vec![50.0, 70.0],
                db: vec![0.0],
            },
        ),
        (
            "level_curve.notes[1]",
            LevelCurve {
                notes: vec![50.0, 50.0],
                db: vec![0.0, 1.0],
            },
        ),
        (
            "level_curve.db[0]",
            LevelCurve {
                notes: vec![50.0],
                db: vec![f64::NAN],
            },
        ),
        (
            "level_curve.db[1]",
            LevelCurve {
                notes: vec![50.0, 60.0],
                db: vec![0.0, 90.0],
            },
        ),
    ];
    for (field, curve) in cases {
        let mut bad = f.clone();
        bad.level_curve = Some(curve);
        let e = Instrument::from_file(bad, "bad.json").expect_err(field);
        assert_eq!(e.field, field, "{e}");
    }
}
