//! The report folder next to the output, `<out>.report/`:
//!
//! - `metrics.json`: per target the note, its source, the analysis, the
//!   play note, and the metrics (Rust ports of `shared/eval/metrics.py`,
//!   see [`super::loss::compare`]); the body ranking, the loss history,
//!   the run's mode, iterations and wall time; the play level
//!   (`play_level`: velocity-1 peaks before, the gain change in dB);
//!   the WAVs and metrics are at the target's level, before that change;
//! - `result.wav` / `target.wav` (one target) or `result_<stem>.wav` /
//!   `target_<stem>.wav` (several): the trained instrument rendered at the
//!   target's note through the real engine (48 kHz stereo float), and the
//!   trimmed target (48 kHz mono float);
//! - `spectrogram.png` (or `spectrogram_<stem>.png`): log-mel
//!   spectrograms, target above, result below (80 dB range);
//! - `maps.png`: the learned stiffness | σ₀ | mask maps (as `inspect --png`);
//! - `loss.png`: the best loss against the iteration.

use std::path::Path;

use serde_json::json;

use super::error::TrainError;
use super::fit::{BodyMatch, FitModel, VELOCITY};
use super::loss::{self, Metrics, N_MELS};
use super::problem::Problem;
use super::target::SAMPLE_RATE;
use crate::inspect::{write_png, write_rgb_png, PngError};
use crate::render::{render_note_cpu, NoteSpec, RenderSettings};

/// Facts about the run written into `metrics.json`.
pub struct RunInfo<'a> {
    /// `--mode`.
    pub mode: &'a str,
    /// `--iterations`.
    pub iterations: usize,
    /// Wall time so far, seconds.
    pub seconds: f64,
    /// Stopped early by the user.
    pub interrupted: bool,
    /// Failures to reach the `--live` server.
    pub live_errors: &'a [String],
    /// The body the tone search chose (empty on a resumed run).
    pub body: &'a str,
    /// The tone search's screening table.
    pub screened: &'a [super::search::Screened],
    /// Per-note corrections behind the note-shaping network (several targets).
    pub notes: &'a [super::multinote::NoteFit],
    /// The radiation filter fit (absent when training was interrupted).
    pub radiation: Option<&'a super::radiation::RadiationFit>,
    /// The play level set after the fit (`play_level`).
    pub play_level: &'a super::level::PlayLevel,
}

fn io<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> TrainError + '_ {
    move |reason| TrainError::Io {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Writes the report for `model`; returns the metrics per target.
pub fn write(
    dir: &Path,
    problem: &Problem,
    model: &FitModel,
    ranking: &[BodyMatch],
    history: &[(usize, f64)],
    info: &RunInfo<'_>,
) -> Result<Vec<Metrics>, TrainError> {
    let inst = model.instrument()?;
    let single = problem.targets.len() == 1;
    let mut metrics = Vec::new();
    let mut per_target = Vec::new();
    for (t, &note) in problem.targets.iter().zip(&model.play_notes) {
        let suffix = if single {
            String::new()
        } else {
            format!("_{}", t.target.stem())
        };
        let spec = NoteSpec {
            // As the server plays it: through the note-shaping network
            // (several notes) and the level curve.
            request: inst.note_request(note, VELOCITY),
            duration: t.signal.len() as f64 / SAMPLE_RATE as f64,
            // A held note is let go where the recording let it go.
            release_at: super::fit::release_at(model, t),
        };
        let buf = render_note_cpu(&inst, &spec, RenderSettings::default())
            .map_err(|e| TrainError::Render(e.to_string()))?;
        let p = dir.join(format!("result{suffix}.wav"));
        buf.write_wav(&p).map_err(io(&p))?;
        let p = dir.join(format!("target{suffix}.wav"));
        write_mono(&p, &t.target.samples).map_err(io(&p))?;
        let mono: Vec<f64> = buf
            .left
            .iter()
            .zip(&buf.right)
            .map(|(l, r)| 0.5 * (*l as f64 + *r as f64))
            .collect();
        let m = loss::compare(&t.signal, &mono);
        let p = dir.join(format!("spectrogram{suffix}.png"));
        spectrogram_png(&p, &t.signal, &mono).map_err(io(&p))?;
        per_target.push(json!({
            "file": t.target.path.display().to_string(),
            "note": t.target.note,
            "note_source": t.target.note_source,
            "source_rate": t.target.source_rate,
            "source_channels": t.target.source_channels,
            "onset_s": t.target.onset_seconds,
            "trimmed_s": t.signal.len() as f64 / SAMPLE_RATE as f64,
            "play_note": note,
            "release": t.target.release,
            "analysis": {
                "f0_hz": t.analysis.f0_hz,
                "t60_s": t.analysis.t60_s,
                "rms": t.analysis.rms,
                "partials": t.analysis.partials,
            },
            "metrics": m,
        }));
        metrics.push(m);
    }
    let p = dir.join("maps.png");
    write_png(&inst, &p).map_err(io(&p))?;
    let p = dir.join("loss.png");
    loss_png(&p, history).map_err(io(&p))?;
    let median = |f: &dyn Fn(&Metrics) -> Option<f64>| {
        let mut v: Vec<f64> = metrics
            .iter()
            .filter_map(f)
            .filter(|x| x.is_finite())
            .collect();
        v.sort_by(f64::total_cmp);
        (!v.is_empty()).then(|| v[v.len() / 2])
    };
    let doc = json!({
        "instrument": model.file.name,
        "body": info.body,
        "body_ranking": ranking,
        "screened": info.screened,
        "note_shaping": info.notes,
        "radiation": info.radiation,
        "play_level": info.play_level,
        "mode": info.mode,
        "iterations": info.iterations,
        "seconds": info.seconds,
        "interrupted": info.interrupted,
        "live_errors": info.live_errors,
        "loss_history": history,
        "summary": {
            "logmel_l1_db_median": median(&|m| Some(m.logmel_l1_db)),
            "partials_cents_median": median(&|m| m.partials_cents),
            "mrstft_median": median(&|m| Some(m.mrstft)),
        },
        "targets": per_target,
    });
    let p = dir.join("metrics.json");
    super::output::write_atomic(
        &p,
        &(serde_json::to_string_pretty(&doc).expect("serialises") + "\n"),
    )?;
    Ok(metrics)
}

fn write_mono(path: &Path, x: &[f32]) -> Result<(), hound::Error> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec)?;
    for &v in x {
        w.write_sample(v)?;
    }
    w.finalize()
}

/// A dark-to-bright colour ramp for 0..1.
fn heat(v: f64) -> [u8; 3] {
    let v = v.clamp(0.0, 1.0);
    let r = (255.0 * (1.5 * v).min(1.0)) as u8;
    let g = (255.0 * (1.5 * v - 0.5).clamp(0.0, 1.0)) as u8;
    let b = (255.0 * if v < 0.33 { 1.5 * v } else { (1.0 - v) * 0.5 }).clamp(0.0, 255.0) as u8;
    [r, g, b]
}

/// Log-mel spectrograms of `target` (top) and `result` (bottom), 2 px per band.
fn spectrogram_png(path: &Path, target: &[f64], result: &[f64]) -> Result<(), PngError> {
    let (ft, t) = loss::logmel_db(target);
    let (fr, r) = loss::logmel_db(result);
    let top = t.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let frames = ft.min(fr).max(1);
    let width = frames.min(1200);
    let band_px = 2;
    let gap = 6;
    let height = 2 * N_MELS * band_px + gap;
    let mut img = vec![255u8; width * height * 3];
    for (panel, spec) in [&t, &r].into_iter().enumerate() {
        for x in 0..width {
            let f = x * frames / width;
            for m in 0..N_MELS {
                let v = (spec[f * N_MELS + m] - (top - 80.0)) / 80.0;
                let c = heat(v);
                for dy in 0..band_px {
                    let y = panel * (N_MELS * band_px + gap) + (N_MELS - 1 - m) * band_px + dy;
                    let o = (y * width + x) * 3;
                    img[o..o + 3].copy_from_slice(&c);
                }
            }
        }
    }
    write_rgb_png(path, width as u32, height as u32, &img)
}

/// The best loss against the iteration, as a step line on a white canvas.
fn loss_png(path: &Path, history: &[(usize, f64)]) -> Result<(), PngError> {
    let (w, h, m) = (640usize, 320usize, 20usize);
    let mut img = vec![255u8; w * h * 3];
    let mut put = |x: usize, y: usize, c: [u8; 3]| {
        if x < w && y < h {
            let o = (y * w + x) * 3;
            img[o..o + 3].copy_from_slice(&c);
        }
    };
    for x in m..w - m {
        put(x, h - m, [0, 0, 0]);
    }
    for y in m..h - m {
        put(m, y, [0, 0, 0]);
    }
    if let (Some(first), Some(last)) = (history.first(), history.last()) {
        let (i0, i1) = (0usize, last.0.max(first.0 + 1));
        let lo = history.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let hi = history
            .iter()
            .map(|p| p.1)
            .fold(f64::NEG_INFINITY, f64::max);
        let span = (hi - lo).max(1e-9);
        let px = |i: usize| m + (i - i0) * (w - 2 * m - 1) / (i1 - i0);
        let py = |v: f64| m + ((hi - v) / span * (h - 2 * m - 1) as f64) as usize;
        for pair in history.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            for x in px(a.0)..=px(b.0) {
                put(x, py(a.1), [200, 40, 40]);
            }
            let (ya, yb) = (py(a.1).min(py(b.1)), py(a.1).max(py(b.1)));
            for y in ya..=yb {
                put(px(b.0), y, [200, 40, 40]);
            }
        }
        for p in history {
            for d in 0..3 {
                put(px(p.0) + d, py(p.1), [40, 40, 200]);
            }
        }
    }
    write_rgb_png(path, w as u32, h as u32, &img)
}
