//! Training targets: bad WAVs are refused with a reason, any format and
//! rate loads to a trimmed 48 kHz note, note numbers come from a manifest,
//! the file name or the pitch.

mod common;

use common::files::scratch_dir;

use std::f64::consts::PI;
use std::path::Path;

use neirosynth::train::analysis;
use neirosynth::train::target::{
    self, load, note_from_name, parse_note_name, NoteSource, TargetError, SAMPLE_RATE,
};

/// Scratch folders of this suite: `neirosynth-train-target-…`.
const SUITE: &str = "train-target";

/// Writes interleaved samples (full scale ±1) with the given format.
fn write_wav(path: &Path, rate: u32, channels: u16, bits: u16, float: bool, x: &[f64]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &v in x {
        if float {
            w.write_sample(v as f32).unwrap();
        } else if bits == 8 {
            w.write_sample((v * 127.0).round() as i8).unwrap();
        } else {
            let s = ((1i64 << (bits - 1)) - 1) as f64;
            w.write_sample((v * s).round() as i32).unwrap();
        }
    }
    w.finalize().unwrap();
}

/// A decaying harmonic tone at `f0` after `silence` seconds.
fn tone(rate: u32, f0: f64, silence: f64, seconds: f64) -> Vec<f64> {
    let n = ((silence + seconds) * rate as f64) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / rate as f64 - silence;
            if t < 0.0 {
                return 0.0;
            }
            let env = (-2.0 * t).exp();
            0.5 * env
                * (1..=4)
                    .map(|h| (2.0 * PI * f0 * h as f64 * t).sin() / h as f64)
                    .sum::<f64>()
        })
        .collect()
}

#[test]
fn refuses_bad_files_with_reasons() {
    let d = scratch_dir(SUITE, "bad");
    // Not a WAV.
    let p = d.join("notes_C4.wav");
    std::fs::write(&p, b"this is not a RIFF file at all").unwrap();
    let e = load(&p).unwrap_err();
    assert!(matches!(e, TargetError::NotWav { .. }), "{e}");
    assert!(e.to_string().contains("not a WAV"), "{e}");
    // Missing file.
    let e = load(&d.join("missing.wav")).unwrap_err();
    assert!(matches!(e, TargetError::Unreadable { .. }), "{e}");
    // Empty.
    let p = d.join("empty.wav");
    write_wav(&p, 48000, 1, 16, false, &[]);
    let e = load(&p).unwrap_err();
    assert!(matches!(e, TargetError::Empty { .. }), "{e}");
    assert!(e.to_string().contains("no audio samples"), "{e}");
    // Silent.
    let p = d.join("silent.wav");
    write_wav(&p, 48000, 2, 16, false, &vec![0.0; 96000]);
    let e = load(&p).unwrap_err();
    assert!(matches!(e, TargetError::Silent { .. }), "{e}");
    assert!(e.to_string().contains("silent"), "{e}");
    // Clipped to nothing: a full-scale square wave.
    let p = d.join("clipped.wav");
    let sq: Vec<f64> = (0..48000)
        .map(|i| if (i / 50) % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    write_wav(&p, 48000, 1, 16, false, &sq);
    let e = load(&p).unwrap_err();
    assert!(
        matches!(e, TargetError::Clipped { percent, .. } if percent > 90.0),
        "{e}"
    );
    assert!(e.to_string().contains("full scale"), "{e}");
    // Too short after the onset: a 20 ms blip at the very end.
    let p = d.join("short.wav");
    let mut x = vec![0.0; 48000];
    x.extend(tone(48000, 440.0, 0.0, 0.02));
    write_wav(&p, 48000, 1, 16, false, &x);
    let e = load(&p).unwrap_err();
    assert!(matches!(e, TargetError::TooShort { .. }), "{e}");
    assert!(e.to_string().contains("too short"), "{e}");
}

/// A stereo 24-bit 44.1 kHz file with leading silence: resampled to 48 kHz,
/// trimmed to 1 ms before the onset, its pitch (and note) right.
#[test]
fn resamples_trims_and_finds_pitch() {
    let d = scratch_dir(SUITE, "resample");
    let rate = 44100;
    let mono = tone(rate, 440.0, 0.4, 1.5);
    let stereo: Vec<f64> = mono.iter().flat_map(|&v| [v, 0.5 * v]).collect();
    let p = d.join("mystery.wav");
    write_wav(&p, rate, 2, 24, false, &stereo);
    let t = load(&p).unwrap();
    assert_eq!(t.source_rate, 44100);
    assert_eq!(t.source_channels, 2);
    assert!(
        (t.onset_seconds - 0.4).abs() < 0.002,
        "onset {}",
        t.onset_seconds
    );
    let len_s = t.samples.len() as f64 / SAMPLE_RATE as f64;
    assert!((len_s - 1.501).abs() < 0.01, "trimmed length {len_s}");
    // The note starts after the 1 ms pre-roll.
    let on = target::onset_index(&t.samples, -40.0);
    assert!((40..=56).contains(&on), "onset at sample {on}");
    let f0 = analysis::estimate_f0(&t.samples, SAMPLE_RATE as f64, None).unwrap();
    let cents = 1200.0 * (f0 / 440.0).log2();
    assert!(cents.abs() < 2.0, "f0 {f0} Hz ({cents:.2} cents)");
    assert_eq!(t.note_source, NoteSource::Estimated);
    assert_eq!(t.note, 69.0);
    // 8-bit and float files of the same tone agree on the pitch.
    for (bits, float) in [(8, false), (32, true), (16, false)] {
        let p = d.join(format!("tone_A4_{bits}.wav"));
        write_wav(&p, 48000, 1, bits, float, &tone(48000, 440.0, 0.1, 1.0));
        let t = load(&p).unwrap();
        assert_eq!(t.note_source, NoteSource::FileName);
        let f0 = analysis::estimate_f0(&t.samples, 48000.0, None).unwrap();
        assert!(
            (1200.0 * (f0 / 440.0).log2()).abs() < 2.0,
            "{bits}-bit: {f0}"
        );
    }
}

#[test]
fn note_names() {
    assert_eq!(parse_note_name("C4"), Some(60.0));
    assert_eq!(parse_note_name("Cs3"), Some(49.0));
    assert_eq!(parse_note_name("As4"), Some(70.0));
    assert_eq!(parse_note_name("F#2"), Some(42.0));
    assert_eq!(parse_note_name("Eb2"), Some(39.0));
    assert_eq!(parse_note_name("C-1"), Some(0.0));
    assert_eq!(parse_note_name("H4"), None);
    assert_eq!(parse_note_name("c4"), None);
    assert_eq!(parse_note_name("C"), None);
    assert_eq!(note_from_name("harp_C4"), Some(60.0));
    assert_eq!(note_from_name("drum_crash_Cs3"), Some(49.0));
    assert_eq!(note_from_name("tubular_bells_As4"), Some(70.0));
    assert_eq!(note_from_name("my-bell-G3"), Some(55.0));
    assert_eq!(note_from_name("recording"), None);
}

/// A manifest beside the file wins over the file name.
#[test]
fn manifest_note_wins() {
    let d = scratch_dir(SUITE, "manifest");
    let p = d.join("bell_C4.wav");
    write_wav(&p, 48000, 1, 16, false, &tone(48000, 262.0, 0.0, 0.5));
    assert_eq!(load(&p).unwrap().note, 60.0);
    std::fs::write(
        d.join("manifest.json"),
        r#"{"files": [{"file": "bell_C4.wav", "midi_note": 48, "f0_hz": 130.8}]}"#,
    )
    .unwrap();
    let t = load(&p).unwrap();
    assert_eq!((t.note, t.note_source), (48.0, NoteSource::Manifest));
}

/// A sine at 220 Hz under a level curve given in dB per 10 ms step.
fn enveloped(rate: u32, seconds: f64, level_db: impl Fn(f64) -> f64) -> Vec<f32> {
    let n = (seconds * rate as f64) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / rate as f64;
            (0.5 * 10f64.powf(level_db(t) / 20.0) * (2.0 * PI * 220.0 * t).sin()) as f32
        })
        .collect()
}

/// A held note that is let go is found: its hold time and the T60 of its
/// fall; notes that decay at one rate, or fast then slow, have no release.
#[test]
fn release_of_a_held_note_is_found() {
    let sr = SAMPLE_RATE as f64;
    // Held 1.2 s (slowly fading 2 dB/s), then released with a 0.5 s T60.
    let held = enveloped(SAMPLE_RATE, 2.5, |t| {
        if t < 1.2 {
            -2.0 * t
        } else {
            -2.4 - 120.0 * (t - 1.2)
        }
    });
    let r = target::detect_release(&held, sr).expect("a release");
    assert!(
        (r.hold_seconds - 1.2).abs() < 0.03,
        "hold {:.3} s, expected 1.2",
        r.hold_seconds
    );
    assert!(
        (r.t60 - 0.5).abs() < 0.05,
        "release T60 {:.3} s, expected 0.5",
        r.t60
    );
    assert!(r.sustained);
    // A decaying note cut short (a drum sample that stops) is not sustained.
    let cut = enveloped(SAMPLE_RATE, 2.5, |t| {
        if t < 0.6 {
            -45.0 * t
        } else {
            -27.0 - 200.0 * (t - 0.6)
        }
    });
    let r = target::detect_release(&cut, sr).expect("a cut");
    assert!((r.hold_seconds - 0.6).abs() < 0.03 && !r.sustained, "{r:?}");
    // A pluck: one exponential decay (T60 0.8 s), down to silence.
    let pluck = enveloped(SAMPLE_RATE, 2.5, |t| -75.0 * t);
    assert_eq!(target::detect_release(&pluck, sr), None);
    // Fast then slow (a bar's bright attack, then its fundamental).
    let two_stage = enveloped(SAMPLE_RATE, 2.5, |t| {
        if t < 0.3 {
            -60.0 * t
        } else {
            -18.0 - 10.0 * (t - 0.3)
        }
    });
    assert_eq!(target::detect_release(&two_stage, sr), None);
    // A dip that recovers (a beat, tremolo) is not a release either.
    let dip = enveloped(SAMPLE_RATE, 2.5, |t| {
        if (1.0..1.2).contains(&t) {
            -20.0
        } else {
            0.0
        }
    });
    assert_eq!(target::detect_release(&dip, sr), None);
}

/// Prints what the detector finds on the dev corpus (run by hand with
/// `--ignored --nocapture`).
#[test]
#[ignore]
fn release_on_the_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "wav"))
    {
        let t = load(f).unwrap();
        println!("{}: {:?}", t.stem(), t.release);
    }
}

/// The loss never looks past a release (the training renders hold the
/// note), and only a held note gives the instrument a release T60.
#[test]
fn loss_stops_at_the_release() {
    use neirosynth::train::fit::NoteTarget;
    use neirosynth::train::Problem;
    let sr = SAMPLE_RATE as f64;
    let held = enveloped(SAMPLE_RATE, 2.5, |t| {
        if t < 0.8 {
            0.0
        } else {
            -150.0 * (t - 0.8)
        }
    });
    let cut = enveloped(SAMPLE_RATE, 2.5, |t| {
        if t < 0.7 {
            -45.0 * t
        } else {
            -31.5 - 300.0 * (t - 0.7)
        }
    });
    let pluck = enveloped(SAMPLE_RATE, 2.5, |t| -30.0 * t);
    let load = |name: &str, x: &[f32]| {
        NoteTarget::new(target::from_samples(Path::new(name), x, SAMPLE_RATE, 1).unwrap())
    };
    let problem = |targets: Vec<NoteTarget>| Problem {
        targets,
        loss_seconds: 2.0,
    };
    let p = problem(vec![load("held_A3.wav", &held)]);
    let secs = p.loss_len(0) as f64 / sr;
    assert!(
        (secs - 0.8).abs() < 0.03,
        "loss window {secs:.3} s, held 0.8 s"
    );
    let t60 = p.release_t60().expect("a held note has a release");
    assert!(
        (t60 - 0.4).abs() < 0.04,
        "release T60 {t60:.3}, expected 0.6"
    );
    let p = problem(vec![load("cut_A3.wav", &cut)]);
    let secs = p.loss_len(0) as f64 / sr;
    assert!(
        (secs - 0.7).abs() < 0.03,
        "loss window {secs:.3} s, cut at 0.7 s"
    );
    assert_eq!(p.release_t60(), None, "a cut drum gets no release");
    let p = problem(vec![load("pluck_A3.wav", &pluck)]);
    assert_eq!(p.loss_len(0) as f64 / sr, 2.0);
    assert_eq!(p.release_t60(), None);
}
