//! The training problem: the prepared targets and how a model is scored
//! against them ([`Problem`]).

use std::sync::Arc;

use super::error::TrainError;
use super::fit::{self, FitModel, NoteTarget};
use super::loss::{LossConfig, SpectralLoss};
use super::target::{self, SAMPLE_RATE};
use crate::instrument::Instrument;

/// The targets and how a model is scored against them.
pub struct Problem {
    /// The prepared targets.
    pub targets: Vec<NoteTarget>,
    /// Seconds of each target the loss looks at.
    pub loss_seconds: f64,
}

impl Problem {
    /// Samples of target `i` under the loss: [`Problem::loss_seconds`], and
    /// never past a release found in the recording (the renders that are
    /// scored hold the note).
    pub fn loss_len(&self, i: usize) -> usize {
        let t = &self.targets[i];
        let mut secs = self.loss_seconds;
        if let Some(r) = t.target.release {
            // The hold counts from the onset, a pre-roll into the samples.
            let onset = target::onset_index(&t.target.samples, target::ONSET_DB) as f64
                / SAMPLE_RATE as f64;
            secs = secs.min(onset + r.hold_seconds);
        }
        t.signal.len().min((secs * SAMPLE_RATE as f64) as usize)
    }

    /// The release T60 the recordings ask for: the median of the sustained
    /// notes' measured releases, `None` when no target is a held note.
    pub fn release_t60(&self) -> Option<f64> {
        let mut v: Vec<f64> = self
            .targets
            .iter()
            .filter_map(|t| t.target.release)
            .filter(|r| r.sustained)
            .map(|r| r.t60)
            .collect();
        v.sort_by(f64::total_cmp);
        (!v.is_empty()).then(|| v[v.len() / 2])
    }

    /// The loss of each target under `cfg` (build once per stage).
    pub fn losses(&self, cfg: &LossConfig) -> Vec<SpectralLoss> {
        (0..self.targets.len())
            .map(|i| SpectralLoss::new(&self.targets[i].signal[..self.loss_len(i)], cfg.clone()))
            .collect()
    }

    /// `inst` rendered at target `i`'s note, onset-aligned to it, `loss_len(i)` long.
    pub fn render_aligned(
        &self,
        inst: &Arc<Instrument>,
        model: &FitModel,
        i: usize,
    ) -> Result<Vec<f64>, TrainError> {
        let len = self.loss_len(i);
        let y = fit::render_mono(
            inst,
            model.play_notes[i],
            len as f64 / SAMPLE_RATE as f64 + 0.05,
        )?;
        Ok(self.align(&y, i))
    }

    /// A render shifted so its onset lands on target `i`'s, `loss_len(i)` long.
    pub fn align(&self, y: &[f64], i: usize) -> Vec<f64> {
        let len = self.loss_len(i);
        let f: Vec<f32> = self.targets[i].signal[..len]
            .iter()
            .map(|&v| v as f32)
            .collect();
        fit::align_to(y, target::onset_index(&f, -40.0), len)
    }

    /// Mean total loss of `model` over the targets, each render RMS-matched
    /// to its target (level is fitted separately).
    pub fn loss(&self, model: &FitModel, cfg: &LossConfig) -> Result<f64, TrainError> {
        self.loss_with(model, &self.losses(cfg))
    }

    /// [`Problem::loss`] under target losses built once by [`Problem::losses`].
    pub fn loss_with(&self, model: &FitModel, losses: &[SpectralLoss]) -> Result<f64, TrainError> {
        let inst = model.instrument()?;
        let mut sum = 0.0;
        for (i, l) in losses.iter().enumerate() {
            let y = self.render_aligned(&inst, model, i)?;
            let g = fit::rms(&self.targets[i].signal[..self.loss_len(i)]) / fit::rms(&y).max(1e-12);
            let y: Vec<f64> = y.iter().map(|v| v * g).collect();
            sum += l.value(&y).total;
        }
        Ok(sum / losses.len() as f64)
    }
}
