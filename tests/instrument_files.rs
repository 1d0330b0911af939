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
