//! The radiation filter (`radiation` in an instrument file): the engine
//! applies exactly the filter the file describes, bad filters are refused
//! with the field named, and the trainer's fit recovers a known body
//! response from a target rendered through it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use neirosynth::instrument::format::InstrumentFile;
use neirosynth::instrument::radiation::{RadiationFilter, RadiationSpec};
use neirosynth::instrument::{FaultKind, Instrument};
use neirosynth::render::{render_note_cpu, NoteSpec, RenderSettings};
use neirosynth::train::fit::{self, FitModel, NoteTarget};
use neirosynth::train::loss::LossConfig;
use neirosynth::train::radiation::fit_radiation;
use neirosynth::train::target::{NoteSource, Target};
use neirosynth::train::Problem;

fn bank_file(name: &str) -> InstrumentFile {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("instruments/{name}.json"));
    Instrument::load(&p).unwrap().file.clone()
}

/// Octave bands with a clear shape: +9 dB around 500 Hz, −12 dB from 4 kHz up.
fn coloured() -> RadiationSpec {
    let mut s = RadiationSpec::octaves();
    for (f, g) in s.bands_hz.iter().zip(s.gains_db.iter_mut()) {
        *g = match *f as u32 {
            500 => 9.0,
            250 | 1000 => 3.0,
            4000 | 8000 | 16000 => -12.0,
            _ => 0.0,
        };
    }
    s
}

fn with_radiation(mut f: InstrumentFile, r: Option<RadiationSpec>) -> Arc<Instrument> {
    f.radiation = r;
    Arc::new(Instrument::from_file(f, "test").unwrap())
}

fn rel_l2(a: &[f32], b: &[f32]) -> f64 {
    let d: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y) as f64)
        .map(|v| v * v)
        .sum();
    let n: f64 = b.iter().map(|&y| y as f64 * y as f64).sum();
    (d / n).sqrt()
}

/// A note of an instrument with a radiation filter equals the same note
/// without it, passed through the filter offline (both channels, 0.5 s,
/// a strike and a high note that runs oversampled or on a coarser level).
#[test]
fn engine_applies_the_files_filter() {
    let file = bank_file("string");
    let spec = coloured();
    let (flat, filtered) = (
        with_radiation(file.clone(), None),
        with_radiation(file, Some(spec.clone())),
    );
    for note in [45.0, 57.0, 84.0] {
        let ns = |inst: &Arc<Instrument>| NoteSpec {
            request: inst.note_request(note, 0.8),
            duration: 0.5,
            release_at: None,
        };
        let settings = RenderSettings::default();
        let a = render_note_cpu(&flat, &ns(&flat), settings).unwrap();
        let b = render_note_cpu(&filtered, &ns(&filtered), settings).unwrap();
        let mut f = RadiationFilter::new(Some(&spec), settings.sample_rate as f64);
        let l: Vec<f32> = a.left.iter().map(|&x| f.run(0, x)).collect();
        let r: Vec<f32> = a.right.iter().map(|&x| f.run(1, x)).collect();
        let (el, er) = (rel_l2(&b.left, &l), rel_l2(&b.right, &r));
        eprintln!("note {note}: relative L2 left {el:.2e}, right {er:.2e}");
        assert!(el < 1e-4 && er < 1e-4, "note {note}: {el} {er}");
        // And the filter is not a no-op on this note.
        assert!(rel_l2(&b.left, &a.left) > 0.05);
    }
}

/// Each kind of bad radiation filter is refused, naming the field.
#[test]
fn bad_filters_are_refused() {
    let file = bank_file("string");
    type Spoil = Box<dyn Fn(&mut RadiationSpec)>;
    let cases: Vec<(&str, Spoil, FaultKind)> = vec![
        (
            "radiation.gains_db[3]",
            Box::new(|s| s.gains_db[3] = f64::NAN),
            FaultKind::NotFinite,
        ),
        (
            "radiation.gains_db",
            Box::new(|s| {
                s.gains_db.pop();
            }),
            FaultKind::Size,
        ),
        (
            "radiation.gains_db[0]",
            Box::new(|s| s.gains_db[0] = 60.0),
            FaultKind::OutOfRange,
        ),
        (
            "radiation.bands_hz[2]",
            Box::new(|s| s.bands_hz[2] = s.bands_hz[1]),
            FaultKind::OutOfRange,
        ),
        (
            "radiation.q",
            Box::new(|s| s.q = 0.0),
            FaultKind::OutOfRange,
        ),
    ];
    for (field, spoil, kind) in cases {
        let mut spec = coloured();
        spoil(&mut spec);
        let mut f = file.clone();
        f.radiation = Some(spec);
        let e = Instrument::from_file(f, "bad.json").expect_err(field);
        let msg = e.to_string();
        eprintln!("{msg}");
        assert_eq!(e.field, field, "{msg}");
        assert_eq!(e.kind, kind, "{msg}");
        assert!(msg.contains("bad.json"), "{msg}");
    }
}

/// Target: the bank's string rendered through [`coloured`]. From the flat
/// string, the fit is kept, removes most of the loss, and puts the 500 Hz
/// band well above the 4 kHz one (truth: 21 dB apart).
#[test]
fn fit_recovers_a_known_response() {
    let file = bank_file("string");
    let note = 45.0;
    let truth = with_radiation(file.clone(), Some(coloured()));
    let y = fit::render_mono(&truth, note, 0.7).unwrap();
    let target = NoteTarget::new(Target {
        path: PathBuf::from("synthetic.wav"),
        samples: y.iter().map(|&v| v as f32).collect(),
        source_rate: 48000,
        source_channels: 2,
        onset_seconds: 0.0,
        note,
        note_source: NoteSource::Estimated,
        release: None,
    });
    let problem = Problem {
        targets: vec![target],
        loss_seconds: 0.6,
    };
    let model = FitModel {
        file,
        play_notes: vec![note],
    };
    let losses = problem.losses(&LossConfig::default());
    let (fitted, fit) = fit_radiation(&problem, &model, &losses).unwrap();
    eprintln!(
        "loss {:.4} -> {:.4}, gains {:?}",
        fit.loss_before, fit.loss_after, fit.gains_db
    );
    assert!(fit.kept);
    assert!(fit.loss_after < 0.5 * fit.loss_before, "{fit:?}");
    let spec = fitted
        .file
        .radiation
        .clone()
        .expect("kept filter in the model");
    assert_eq!(spec.gains_db, fit.gains_db);
    let at = |hz: f64| spec.response_db(hz, 48_000.0);
    let (g500, g4k) = (at(500.0), at(4000.0));
    assert!(g500 - g4k > 12.0, "500 Hz {g500:.1} dB, 4 kHz {g4k:.1} dB");
    // The fitted instrument loads and is certified like any other.
    Instrument::from_file(fitted.file, "fitted").unwrap();
}
