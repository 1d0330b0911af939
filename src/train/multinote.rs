//! Several notes of one instrument: per-note shaping and the note-shaping
//! KAN ([`crate::instrument::kan`]).
//!
//! After the shared body, maps and controls are fitted to all targets
//! together, each note gets its own small corrections — damping scale,
//! contact-time scale (mallet hardness across the range), level and the
//! detune that puts its lowest mode where the recording has it — found by
//! a [`pattern_search`] on that note's loss alone. A Kolmogorov–Arnold
//! network (Gaussian RBF edges) is then fitted to those per-note values as
//! smooth functions of note and velocity and stored in the instrument, so
//! the server shapes *every* note the same way: notes between the trained
//! ones get interpolated physics, not the nearest sample.

use std::sync::Arc;

use crate::instrument::kan::KanSpec;
use crate::instrument::Instrument;
use crate::types::NoteRequest;

use super::error::TrainError;
use super::fit::{self, FitModel, VELOCITY};
use super::loss::{LossConfig, SpectralLoss};
use super::problem::Problem;
use super::refine::Observer;
use super::search::pattern_search;
use super::target::SAMPLE_RATE;

/// Outputs of the fitted network, in order.
pub const OUTPUTS: [&str; 4] = ["detune_cents", "damping_log2", "contact_log2", "gain_db"];
/// Output scales of the KAN fit (what one unit of error means per output).
const SCALES: [f64; 4] = [5.0, 0.1, 0.1, 0.5];
/// Loss evaluations per note.
pub const NOTE_EVALUATIONS: usize = 13;
/// Hidden nodes of the network (0: one layer, each output a sum of two
/// edge functions — enough for a handful of notes, and it extrapolates
/// gently).
const HIDDEN: usize = 0;
/// RBF centres per edge.
const CENTRES: usize = 5;

/// One note's fitted corrections.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct NoteFit {
    /// The note a player asks for: the recording's note, or the fitted
    /// play note where the detune does not fit the network's range.
    pub note: f64,
    /// The network's targets, in the order of [`OUTPUTS`].
    pub values: [f64; 4],
    /// The note's loss before and after its own corrections.
    pub loss_before: f64,
    /// After.
    pub loss_after: f64,
}

/// The note request for target `i` with corrections `phi` = (damping log2, contact log2).
fn request(note: f64, phi: &[f64]) -> NoteRequest {
    let mut req = NoteRequest::new(note, VELOCITY);
    req.damping = phi[0].clamp(-2.0, 2.0).exp2() as f32;
    req.contact_scale = phi[1].clamp(-2.0, 2.0).exp2() as f32;
    req
}

/// Target `i`'s loss for corrections `phi`, rendered through the engine.
fn note_loss(
    problem: &Problem,
    inst: &Arc<Instrument>,
    note: f64,
    i: usize,
    loss: &SpectralLoss,
    phi: &[f64],
) -> f64 {
    let len = problem.loss_len(i);
    match fit::render_request(
        inst,
        request(note, phi),
        len as f64 / SAMPLE_RATE as f64 + 0.05,
    ) {
        Ok(y) => {
            let y = problem.align(&y, i);
            let g = fit::rms(&problem.targets[i].signal[..len]) / fit::rms(&y).max(1e-12);
            let y: Vec<f64> = y.iter().map(|v| v * g).collect();
            let v = loss.value(&y).total;
            if v.is_finite() {
                v
            } else {
                1e3
            }
        }
        Err(_) => 1e3,
    }
}

/// Fits per-note corrections and the note-shaping network for a model of
/// several targets. With one target the model is returned unchanged.
/// The returned model carries the network and plays each target at its
/// recorded note (the network's detune does the rest) where every detune
/// fits the network's ±100 cents; otherwise it keeps the fitted play notes
/// and leaves the detune out.
pub fn shape_notes(
    problem: &Problem,
    model: &FitModel,
    observer: &mut dyn Observer,
) -> Result<(FitModel, Vec<NoteFit>), TrainError> {
    let n = problem.targets.len();
    if n < 2 {
        return Ok((model.clone(), Vec::new()));
    }
    let mut plain = model.clone();
    plain.file.kan = None;
    let inst = plain.instrument()?;
    let losses = problem.losses(&LossConfig::default());
    let mut fits = Vec::with_capacity(n);
    let mut level_db = Vec::with_capacity(n);
    for (i, loss) in losses.iter().enumerate() {
        let note = plain.play_notes[i];
        let r = pattern_search(
            |phi| note_loss(problem, &inst, note, i, loss, phi),
            &[0.0, 0.0],
            &[0.5, 0.7],
            &[0, 1],
            NOTE_EVALUATIONS,
            0.05,
        );
        let before = note_loss(problem, &inst, note, i, loss, &[0.0, 0.0]);
        let t = &problem.targets[i];
        let y = fit::render_request(
            &inst,
            request(note, &r.x),
            t.signal.len() as f64 / SAMPLE_RATE as f64,
        )?;
        level_db.push(20.0 * (fit::rms(&t.signal) / fit::rms(&y).max(1e-12)).log10());
        let recorded = t.target.note;
        fits.push(NoteFit {
            note: recorded,
            values: [
                100.0 * (note - recorded),
                r.x[0].clamp(-2.0, 2.0),
                r.x[1].clamp(-2.0, 2.0),
                0.0,
            ],
            loss_before: before,
            loss_after: r.value.min(before),
        });
        observer.phase(&format!(
            "note {recorded:.0}: loss {before:.4} → {:.4}",
            r.value.min(before)
        ));
    }
    // Levels relative to their mean: the file's gain carries the mean.
    let mean_db = level_db.iter().sum::<f64>() / n as f64;
    for (f, db) in fits.iter_mut().zip(&level_db) {
        f.values[3] = (db - mean_db).clamp(-24.0, 24.0);
    }
    let detune_fits = fits.iter().all(|f| f.values[0].abs() <= 100.0);
    if !detune_fits {
        // The network is then keyed by the notes the instrument plays.
        for (f, &p) in fits.iter_mut().zip(&model.play_notes) {
            f.note = p;
            f.values[0] = 0.0;
        }
    }
    let outputs: Vec<&str> = OUTPUTS
        .iter()
        .copied()
        .filter(|&o| detune_fits || o != "detune_cents")
        .collect();
    let lo = fits.iter().map(|f| f.note).fold(f64::INFINITY, f64::min);
    let hi = fits
        .iter()
        .map(|f| f.note)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut kan = KanSpec::zeroed([lo, hi.max(lo + 1.0)], &outputs, HIDDEN, CENTRES);
    let samples: Vec<(f64, f64, Vec<f64>)> = fits
        .iter()
        .map(|f| {
            let v: Vec<f64> = OUTPUTS
                .iter()
                .zip(f.values)
                .filter(|(o, _)| detune_fits || **o != "detune_cents")
                .map(|(_, v)| v)
                .collect();
            (f.note, VELOCITY as f64, v)
        })
        .collect();
    let scales: Vec<f64> = OUTPUTS
        .iter()
        .zip(SCALES)
        .filter(|(o, _)| detune_fits || **o != "detune_cents")
        .map(|(_, s)| s)
        .collect();
    let rms = kan.fit(&samples, &scales, 3000, 0.05);
    observer.phase(&format!(
        "note-shaping network fitted to {n} notes (rms error {rms:.3} in output units)"
    ));
    let mut shaped = plain;
    shaped.file.kan = Some(kan);
    if detune_fits {
        shaped.play_notes = fits.iter().map(|f| f.note).collect();
    }
    fit::set_gain(&mut shaped, &problem.targets)?;
    Ok((shaped, fits))
}
