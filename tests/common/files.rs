//! Files the tests read and write: the shipped bank's folder, per-test
//! scratch folders and mono WAVs.

use std::path::{Path, PathBuf};

/// The shipped bank's folder (`instruments/`).
pub fn bank_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("instruments")
}

/// A fresh, empty folder for one test: `neirosynth-SUITE-PID-NAME` under
/// the system's temporary folder (whatever an earlier run left is removed).
pub fn scratch_dir(suite: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("neirosynth-{suite}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes `y · scale` as a 48 kHz mono 32-bit float WAV.
pub fn write_mono_wav(path: &Path, y: &[f64], scale: f64) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &v in y {
        w.write_sample((v * scale) as f32).unwrap();
    }
    w.finalize().unwrap();
}
