//! The analysis-based fit: from target analyses to a valid, certified
//! instrument file — the starting point of every refinement.
//!
//! 1. **Body**: each candidate body (the shipped bank's, or `--from`) is
//!    planned at the note that puts its lowest elastic mode on an *anchor*
//!    partial of the target (f0 first; for bells and drums whose
//!    strongest partials lie above a lower hum, every partial below f0 is
//!    tried too). Its first 24 mode frequencies at that plan (eigenvalues
//!    of the pyramid level that plays the note, through the scheme's
//!    discrete dispersion relation) are matched against the target's
//!    partials ([`partial_match_cost`]: partials to nearest modes, plus a
//!    penalty for modes the target lacks). The cheapest body and anchor win.
//! 2. **Pitch**: the instrument is played at `hz_to_note(anchor)` (exact:
//!    the engine tunes the lowest mode to the note); the reference note is
//!    the target's note.
//! 3. **Damping**: σ₀ and σ₁ from the partials' decay rates by weighted
//!    least squares on `rate = σ₀ + σ₁·μ` (μ the matched mode's grid
//!    eigenvalue, scaled to full resolution as the engine scales σ₁); the
//!    template's σ₀ map keeps its shape, scaled to the fitted mean. σ₁ is
//!    halved until the stability certificate holds over the note range.
//! 4. **Level**: the gain that matches the rendered RMS to the target's.
//!
//! Excitation and pickups start at the template's; the [`super::Refiner`]s move
//! them (see [`super::spsa`]), and the adjoint refiner will move the maps.

use std::path::Path;
use std::sync::Arc;

use crate::instrument::format::{InstrumentFile, MapData, Provenance};
use crate::instrument::{note_to_hz, Instrument, PlanError};
use crate::physics::modes::{lowest_eigenvalues, mode_frequency, RIGID_MODE_EPS};
use crate::render::{render_note_cpu, NoteSpec, RenderSettings};
use crate::types::NoteRequest;

use super::analysis::{self, Analysis};
use super::error::TrainError;
use super::target::{hz_to_note, onset_index, Target, SAMPLE_RATE};

/// Velocity of every training render (and of `neirosynth render`'s default).
pub const VELOCITY: f32 = 0.8;
/// Modes of a body compared with the target's partials.
pub const MODES_MATCHED: usize = 24;
/// Most a partial's mismatch counts, cents.
const CENTS_CAP: f64 = 1200.0;

/// A target prepared for fitting: the trimmed note and its analysis.
#[derive(Clone, Debug)]
pub struct NoteTarget {
    /// The loaded target.
    pub target: Target,
    /// Its analysis (f0 with the note as prior).
    pub analysis: Analysis,
    /// The samples as f64.
    pub signal: Vec<f64>,
}

impl NoteTarget {
    /// Analyses a loaded target.
    pub fn new(target: Target) -> Self {
        let sr = SAMPLE_RATE as f64;
        let analysis = analysis::analyze(&target.samples, sr, Some(note_to_hz(target.note)));
        let signal = target.samples.iter().map(|&v| v as f64).collect();
        Self {
            target,
            analysis,
            signal,
        }
    }
}

/// A candidate instrument: the file and the note each target is played at.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FitModel {
    /// The instrument file (valid and certified).
    pub file: InstrumentFile,
    /// Per target, the (fractional) MIDI note that reproduces it.
    pub play_notes: Vec<f64>,
}

impl FitModel {
    /// Validates the file (certificate included).
    pub fn instrument(&self) -> Result<Arc<Instrument>, TrainError> {
        Instrument::from_file(self.file.clone(), &self.file.name)
            .map(Arc::new)
            .map_err(TrainError::Instrument)
    }
}

/// How well a body's modes match a target.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BodyMatch {
    /// Template name.
    pub template: String,
    /// Weighted mean |cents| from the target partials to the nearest mode, averaged over targets.
    pub cost_cents: f64,
    /// Per target, the partial the lowest mode is put on, Hz.
    pub anchors_hz: Vec<f64>,
}

/// Renders `inst` at `note` for `seconds` (velocity [`VELOCITY`]) and mixes to mono.
/// The instrument's own note shaping (its KAN, if any) applies, as in the server.
pub fn render_mono(
    inst: &Arc<Instrument>,
    note: f64,
    seconds: f64,
) -> Result<Vec<f64>, TrainError> {
    render_request(inst, inst.note_request(note, VELOCITY), seconds)
}

/// Where a rendering of `target` lets its note go: at the recording's
/// release when the recording holds a note and `model` has a release
/// (then the rendering plays the note as the recording did); `None`
/// holds it throughout.
pub fn release_at(model: &FitModel, target: &NoteTarget) -> Option<f64> {
    target
        .target
        .release
        .filter(|r| r.sustained && model.file.physics.release_t60.is_some())
        .map(|r| r.hold_seconds)
}

/// Renders `inst` at `note` as the recording of `target` played (its
/// length; released where it released a held note: [`release_at`]), mono.
pub fn render_as_recorded(
    inst: &Arc<Instrument>,
    model: &FitModel,
    target: &NoteTarget,
    note: f64,
) -> Result<Vec<f64>, TrainError> {
    render_spec_mono(
        inst,
        &NoteSpec {
            request: inst.note_request(note, VELOCITY),
            duration: target.signal.len() as f64 / SAMPLE_RATE as f64,
            release_at: release_at(model, target),
        },
    )
}

/// Renders `request` on `inst` for `seconds` and mixes to mono.
pub fn render_request(
    inst: &Arc<Instrument>,
    request: NoteRequest,
    seconds: f64,
) -> Result<Vec<f64>, TrainError> {
    render_spec_mono(
        inst,
        &NoteSpec {
            request,
            duration: seconds,
            release_at: None,
        },
    )
}

/// Renders `spec` on `inst` and mixes to mono.
fn render_spec_mono(inst: &Arc<Instrument>, spec: &NoteSpec) -> Result<Vec<f64>, TrainError> {
    let b = render_note_cpu(inst, spec, RenderSettings::default())
        .map_err(|e| TrainError::Render(e.to_string()))?;
    Ok(b.left
        .iter()
        .zip(&b.right)
        .map(|(l, r)| 0.5 * (*l as f64 + *r as f64))
        .collect())
}

/// Shifts `y` so its onset (−40 dB) lands on sample `onset`, cut or zero-padded to `len`.
pub fn align_to(y: &[f64], onset: usize, len: usize) -> Vec<f64> {
    let f: Vec<f32> = y.iter().map(|&v| v as f32).collect();
    let shift = onset_index(&f, -40.0) as isize - onset as isize;
    (0..len as isize)
        .map(|i| {
            let j = i + shift;
            if j >= 0 && (j as usize) < y.len() {
                y[j as usize]
            } else {
                0.0
            }
        })
        .collect()
}

/// RMS of a signal.
pub fn rms(x: &[f64]) -> f64 {
    (x.iter().map(|v| v * v).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

/// Elastic mode frequencies (Hz, ascending, at most `count`) of `inst` played at `note`,
/// with each mode's eigenvalue scaled to full resolution (as σ₁ sees it).
pub fn mode_frequencies(
    inst: &Instrument,
    note: f64,
    count: usize,
) -> Result<Vec<(f64, f64)>, PlanError> {
    let plan = inst.plan(note, 0.0, SAMPLE_RATE as f64)?;
    let lv = &inst.levels[plan.level];
    let p = plan.params;
    Ok(lowest_eigenvalues(&lv.maps, count + 2)
        .into_iter()
        .filter(|&m| m > RIGID_MODE_EPS)
        .take(count)
        .map(|m| (mode_frequency(m, p.a, p.kappa_k2, p.k), m * lv.sigma1_scale))
        .collect())
}

/// How well modes match partials: the amplitude-weighted mean |cents|
/// (capped at 1200) from each partial to its nearest mode, plus
/// [`SPURIOUS_WEIGHT`] × the mean |cents| (capped at 600) from each mode
/// inside the partials' frequency range to its nearest partial (a body
/// with modes the target lacks — a string for a marimba bar — pays for them).
pub fn partial_match_cost(partials: &[analysis::Partial], modes_hz: &[f64]) -> f64 {
    let cents = |a: f64, b: f64| (1200.0 * (a / b).log2()).abs();
    let (mut num, mut den) = (0.0, 0.0);
    for p in partials {
        let w = 10f64.powf(p.rel_db / 40.0);
        let e = modes_hz
            .iter()
            .map(|&f| cents(f, p.hz))
            .fold(CENTS_CAP, f64::min);
        num += w * e;
        den += w;
    }
    if den <= 0.0 {
        return CENTS_CAP;
    }
    let lo = partials.iter().map(|p| p.hz).fold(f64::INFINITY, f64::min) * 0.97;
    let hi = partials.iter().map(|p| p.hz).fold(0.0, f64::max) * 1.03;
    let spurious: Vec<f64> = modes_hz
        .iter()
        .filter(|&&f| f >= lo && f <= hi)
        .map(|&f| {
            partials
                .iter()
                .map(|p| cents(f, p.hz))
                .fold(CENTS_CAP / 2.0, f64::min)
        })
        .collect();
    let rev = if spurious.is_empty() {
        0.0
    } else {
        spurious.iter().sum::<f64>() / spurious.len() as f64
    };
    num / den + SPURIOUS_WEIGHT * rev
}

/// Weight of the modes the target lacks in [`partial_match_cost`].
pub const SPURIOUS_WEIGHT: f64 = 0.3;

/// Anchor candidates of a target: f0, then partials below it (strongest first).
fn anchors(a: &Analysis) -> Vec<f64> {
    let mut v = vec![a.f0_hz];
    for p in &a.partials {
        if p.hz < a.f0_hz * 0.97 && p.hz >= 25.0 && p.rel_db > -30.0 {
            v.push(p.hz);
        }
    }
    v
}

/// Scores each template against the targets; best first.
pub fn rank_bodies(templates: &[Arc<Instrument>], targets: &[NoteTarget]) -> Vec<BodyMatch> {
    let mut out: Vec<BodyMatch> = templates
        .iter()
        .map(|inst| {
            let mut cost = 0.0;
            let mut anchors_hz = Vec::new();
            for t in targets {
                let best = anchors(&t.analysis)
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, hz)| {
                        let modes = mode_frequencies(inst, hz_to_note(hz), MODES_MATCHED).ok()?;
                        let f: Vec<f64> = modes.iter().map(|m| m.0).collect();
                        // A small preference for the estimated f0 as anchor.
                        let c = partial_match_cost(&t.analysis.partials, &f)
                            + if i == 0 { 0.0 } else { 5.0 };
                        Some((c, hz))
                    })
                    .min_by(|a, b| a.0.total_cmp(&b.0))
                    .unwrap_or((CENTS_CAP, t.analysis.f0_hz));
                cost += best.0 / targets.len() as f64;
                anchors_hz.push(best.1);
            }
            BodyMatch {
                template: inst.name().to_string(),
                cost_cents: cost,
                anchors_hz,
            }
        })
        .collect();
    out.sort_by(|a, b| a.cost_cents.total_cmp(&b.cost_cents));
    out
}

/// Fits σ₀ (mean) and σ₁ to the targets' partial decay rates on `inst`
/// played at `play_notes`. Returns (σ₀, σ₁), or `None` without usable decay data.
pub fn fit_damping(
    inst: &Instrument,
    targets: &[NoteTarget],
    play_notes: &[f64],
) -> Option<(f64, f64)> {
    let mut pts = Vec::new(); // (x = μ full-res, rate, weight)
    for (t, &note) in targets.iter().zip(play_notes) {
        let Ok(modes) = mode_frequencies(inst, note, MODES_MATCHED) else {
            continue;
        };
        for p in &t.analysis.partials {
            let Some(rate) = p.decay_rate else { continue };
            let nearest = modes
                .iter()
                .min_by(|a, b| (a.0 / p.hz).ln().abs().total_cmp(&(b.0 / p.hz).ln().abs()))?;
            if (1200.0 * (nearest.0 / p.hz).log2()).abs() <= 100.0 {
                pts.push((nearest.1, rate, 10f64.powf(p.rel_db / 20.0)));
            }
        }
    }
    if pts.is_empty() {
        return None;
    }
    let sw: f64 = pts.iter().map(|p| p.2).sum();
    let mx = pts.iter().map(|p| p.0 * p.2).sum::<f64>() / sw;
    let my = pts.iter().map(|p| p.1 * p.2).sum::<f64>() / sw;
    let sxx: f64 = pts.iter().map(|p| p.2 * (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| p.2 * (p.0 - mx) * (p.1 - my)).sum();
    let mut s1 = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let mut s0 = my - s1 * mx;
    if s1 < 0.0 || s0 < 0.0 {
        // Inconsistent slope: a single rate for all partials, or all in σ₁.
        if s1 < 0.0 {
            s1 = 0.0;
            s0 = my;
        } else {
            s0 = 0.05 * my;
            s1 = (my - s0) / mx.max(1e-12);
        }
    }
    Some((s0.clamp(0.01, 200.0), s1.clamp(0.0, 100.0)))
}

/// The analysis fit on the best-matching body: body, pitch, damping and
/// level. `templates` are the candidate bodies (the bank, or the one given
/// with `--from`); `name` is the new instrument's name.
pub fn initial_fit(
    templates: &[Arc<Instrument>],
    targets: &[NoteTarget],
    name: &str,
) -> Result<(FitModel, Vec<BodyMatch>), TrainError> {
    if targets.is_empty() {
        return Err(TrainError::Usage("no target".into()));
    }
    let ranking = rank_bodies(templates, targets);
    let best = ranking.first().ok_or(TrainError::NoTemplate)?;
    let inst = templates
        .iter()
        .find(|t| t.name() == best.template)
        .expect("ranked templates exist");
    let model = fit_body(inst, best, targets, name)?;
    Ok((model, ranking))
}

/// The analysis fit of one body (`m`: its ranking entry, with the anchors):
/// pitch from the anchors, σ₀ (the template's map shape, scaled to the
/// fitted mean) and σ₁ from the partials' decay rates, certified, level set.
pub fn fit_body(
    inst: &Arc<Instrument>,
    m: &BodyMatch,
    targets: &[NoteTarget],
    name: &str,
) -> Result<FitModel, TrainError> {
    let play_notes: Vec<f64> = m.anchors_hz.iter().map(|&f| hz_to_note(f)).collect();
    let mut file = inst.file.clone();
    file.name = name.to_string();
    file.description = format!(
        "Trained from {} on the `{}` body ({:.0} cents mean partial mismatch before refinement).",
        targets
            .iter()
            .map(|t| t.target.stem())
            .collect::<Vec<_>>()
            .join(", "),
        m.template,
        m.cost_cents
    );
    file.reference_note = targets[0].target.note.clamp(0.0, 127.0);
    file.provenance = Provenance {
        method: "trained".into(),
        tool: format!("neirosynth train {}", env!("CARGO_PKG_VERSION")),
        source: targets
            .iter()
            .map(|t| t.target.path.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        date: today(),
    };
    if let Some((s0, s1)) = fit_damping(inst, targets, &play_notes) {
        let n = file.mesh.width * file.mesh.height;
        let s0_map = file.maps.sigma0.decode_f32(n).map_err(TrainError::Format)?;
        let mask = file.maps.mask.decode_u8(n).map_err(TrainError::Format)?;
        let (sum, cnt) = s0_map
            .iter()
            .zip(&mask)
            .filter(|(_, &m)| m == 1)
            .fold((0.0, 0), |(s, c), (v, _)| (s + *v as f64, c + 1));
        let mean = if cnt > 0 { sum / cnt as f64 } else { 1.0 };
        let scaled: Vec<f32> = if mean > 1e-6 {
            s0_map
                .iter()
                .map(|&v| (v as f64 * s0 / mean).clamp(0.0, 200.0) as f32)
                .collect()
        } else {
            vec![s0 as f32; n]
        };
        file.maps.sigma0 = MapData::from_f32(&scaled);
        file.physics.sigma1 = s1;
    }
    let mut model = FitModel { file, play_notes };
    certify(&mut model)?;
    set_gain(&mut model, targets)?;
    Ok(model)
}

/// Halves σ₁ until the instrument passes validation (stability included).
pub fn certify(model: &mut FitModel) -> Result<Arc<Instrument>, TrainError> {
    let mut last = None;
    for _ in 0..24 {
        match model.instrument() {
            Ok(i) => return Ok(i),
            Err(e) => {
                last = Some(e);
                if model.file.physics.sigma1 < 1e-6 {
                    break;
                }
                model.file.physics.sigma1 *= 0.5;
            }
        }
    }
    Err(last.expect("at least one attempt"))
}

/// Sets the gain so the renders' RMS matches the targets' (geometric mean
/// over targets). Not capped at full scale: the targets' level is the
/// reference (the metric does not normalise level).
pub fn set_gain(model: &mut FitModel, targets: &[NoteTarget]) -> Result<(), TrainError> {
    model.file.gain = 1.0;
    let inst = model.instrument()?;
    let mut log_g = 0.0;
    for (t, &note) in targets.iter().zip(&model.play_notes) {
        let y = render_as_recorded(&inst, model, t, note)?;
        let r = rms(&y).max(1e-12);
        log_g += (rms(&t.signal) / r).ln() / targets.len() as f64;
    }
    model.file.gain = log_g.exp().clamp(1e-6, 1e6);
    Ok(())
}

/// Today's date, ISO 8601 (UTC).
pub fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Loads the candidate bodies: every designed instrument in `dir` (trained
/// ones, `provenance.method == "trained"`, are results, not bodies).
pub fn load_templates(dir: &Path) -> Result<Vec<Arc<Instrument>>, TrainError> {
    let (bank, _errors) = crate::instrument::bank::Bank::load_dir(dir)
        .map_err(|e| TrainError::Usage(format!("cannot read {}: {e}", dir.display())))?;
    let bodies: Vec<_> = bank
        .instruments
        .into_iter()
        .filter(|i| i.file.provenance.method != "trained")
        .collect();
    if bodies.is_empty() {
        return Err(TrainError::NoTemplate);
    }
    Ok(bodies)
}
