//! SPSA refinement (`--mode spsa`): simultaneous-perturbation stochastic
//! approximation over the instrument's scalar controls, through the real
//! engine (no gradient of the scheme needed).
//!
//! Parameters (unconstrained θ, 0 = the initial fit): log σ₀-map scale,
//! σ₁ (log of σ₁ + 0.1), excitation position (logit x, y), log window
//! width, log contact time, pickup positions (logit), and for a bowed
//! model (excitation shape `bow`) log bow force and log bow velocity
//! (the friction's stick-slip solve is not differentiable, so the bow is
//! fitted here, not by the adjoint). The maps' shapes
//! stay the template's: moving them per node is the adjoint refiner's job.
//! Each iteration renders θ ± c·Δ (Δ random ±1) for every target; the
//! loss is RMS-matched (level is set once at the end) and follows the
//! coarse-to-fine schedule of [`LossConfig::coarse_to_fine`] (a third of
//! the iterations per stage; the best model is re-scored at each stage).

use serde::{Deserialize, Serialize};

use super::error::TrainError;
use super::fit::{certify, FitModel};
use super::loss::{LossConfig, SpectralLoss};
use super::problem::Problem;
use super::refine::{RefineContext, Refiner};
use crate::types::{ExciteShape, DEFAULT_BOW_FORCE, DEFAULT_BOW_VELOCITY};

/// Number of parameters.
pub const DIM: usize = 12;
/// Loss of a parameter set that cannot be played (refused by validation).
const INVALID_LOSS: f64 = 1e3;

/// SPSA state (what a checkpoint stores).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SpsaState {
    /// Current parameters.
    pub theta: Vec<f64>,
    /// Best parameters so far.
    pub best_theta: Vec<f64>,
    /// Step-size numerator (calibrated on the first iteration; 0 until then).
    pub a: f64,
    /// Random state.
    pub rng: u64,
    /// Next iteration.
    pub iteration: usize,
}

/// The SPSA refiner.
pub struct Spsa {
    state: SpsaState,
    /// Perturbation size.
    pub c: f64,
    /// Target initial step per parameter.
    pub first_step: f64,
}

impl Default for Spsa {
    fn default() -> Self {
        Self {
            state: SpsaState {
                theta: vec![0.0; DIM],
                best_theta: vec![0.0; DIM],
                a: 0.0,
                rng: 0x9E37_79B9_7F4A_7C15,
                iteration: 0,
            },
            c: 0.15,
            first_step: 0.15,
        }
    }
}

/// True when parameter `d` of θ moves `model` (a string has no y coordinates).
/// The bow's force and velocity (10, 11) move only a bowed model.
pub fn is_active(model: &FitModel, d: usize) -> bool {
    if d >= 10 {
        return model.file.excitation.shape == ExciteShape::Bow;
    }
    model.file.mesh.height > 1 || ![3, 7, 9].contains(&d)
}

/// A bowed model's bow force and velocity (the file's, else the defaults).
pub fn bow_controls(model: &FitModel) -> (f64, f64) {
    let e = &model.file.excitation;
    (
        e.bow_force.unwrap_or(DEFAULT_BOW_FORCE as f64),
        e.bow_velocity.unwrap_or(DEFAULT_BOW_VELOCITY as f64),
    )
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-3, 1.0 - 1e-3);
    (p / (1.0 - p)).ln()
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

/// The model for parameters `theta` around `base`.
pub fn apply(base: &FitModel, theta: &[f64]) -> Result<FitModel, TrainError> {
    let mut m = base.clone();
    let f = &mut m.file;
    let n = f.mesh.width * f.mesh.height;
    let s0 = f
        .maps
        .sigma0
        .decode_f32(n)
        .map_err(TrainError::Format)?
        .into_iter()
        .map(|v| (v as f64 * theta[0].exp()).clamp(0.0, 200.0) as f32)
        .collect::<Vec<_>>();
    f.maps.sigma0 = crate::instrument::format::MapData::from_f32(&s0);
    f.physics.sigma1 = ((f.physics.sigma1 + 0.1) * theta[1].exp() - 0.1).clamp(0.0, 100.0);
    let pos = |v: f64, t: f64| sigmoid(logit(v) + t).clamp(0.01, 0.99);
    f.excitation.x = pos(f.excitation.x, theta[2]);
    if f.mesh.height > 1 {
        f.excitation.y = pos(f.excitation.y, theta[3]);
    }
    f.excitation.width = (f.excitation.width * theta[4].exp()).clamp(0.005, 1.0);
    f.excitation.contact_ms = (f.excitation.contact_ms * theta[5].exp()).clamp(0.05, 50.0);
    f.pickups.left[0] = pos(f.pickups.left[0], theta[6]);
    f.pickups.right[0] = pos(f.pickups.right[0], theta[8]);
    if f.mesh.height > 1 {
        f.pickups.left[1] = pos(f.pickups.left[1], theta[7]);
        f.pickups.right[1] = pos(f.pickups.right[1], theta[9]);
    }
    if f.excitation.shape == ExciteShape::Bow {
        let (force, vel) = bow_controls(&m);
        let t = |d: usize| theta.get(d).copied().unwrap_or(0.0);
        m.file.excitation.bow_force = Some((force * t(10).exp()).clamp(0.005, 1.0));
        m.file.excitation.bow_velocity = Some((vel * t(11).exp()).clamp(0.02, 1.0));
    }
    certify(&mut m)?;
    Ok(m)
}

impl Spsa {
    fn rand_sign(&mut self) -> f64 {
        // xorshift64*
        let mut x = self.state.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state.rng = x;
        if x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 63 == 1 {
            1.0
        } else {
            -1.0
        }
    }

    fn loss(problem: &Problem, base: &FitModel, theta: &[f64], losses: &[SpectralLoss]) -> f64 {
        match apply(base, theta).and_then(|m| problem.loss_with(&m, losses)) {
            Ok(v) if v.is_finite() => v,
            _ => INVALID_LOSS,
        }
    }
}

impl Refiner for Spsa {
    fn name(&self) -> &'static str {
        "spsa"
    }

    fn state(&self) -> serde_json::Value {
        serde_json::to_value(&self.state).unwrap_or_default()
    }

    fn resume(&mut self, state: &serde_json::Value) -> Result<(), TrainError> {
        self.state = serde_json::from_value(state.clone())
            .map_err(|e| TrainError::Resume(format!("not an SPSA state: {e}")))?;
        // A checkpoint from before the bow's two parameters: they start at 0.
        for v in [&mut self.state.theta, &mut self.state.best_theta] {
            if v.len() == DIM - 2 {
                v.resize(DIM, 0.0);
            }
        }
        if self.state.theta.len() != DIM || self.state.best_theta.len() != DIM {
            return Err(TrainError::Resume("SPSA state of the wrong size".into()));
        }
        Ok(())
    }

    fn refine(
        &mut self,
        problem: &Problem,
        base: &FitModel,
        ctx: &mut RefineContext<'_>,
    ) -> Result<FitModel, TrainError> {
        let total = ctx.iterations;
        let active: Vec<bool> = (0..DIM).map(|i| is_active(base, i)).collect();
        let stage_of = |it: usize| (3 * it / total.max(1)).min(2);
        let mut stage = stage_of(self.state.iteration);
        let mut losses = problem.losses(&LossConfig::coarse_to_fine(stage));
        let mut best = Self::loss(problem, base, &self.state.best_theta, &losses);
        ctx.observer.iteration(self.state.iteration, best, best);
        while self.state.iteration < total {
            if ctx.should_stop() {
                break;
            }
            let k = self.state.iteration;
            if stage_of(k) != stage {
                stage = stage_of(k);
                losses = problem.losses(&LossConfig::coarse_to_fine(stage));
                best = Self::loss(problem, base, &self.state.best_theta, &losses);
            }
            let ck = self.c / ((k + 1) as f64).powf(0.101);
            let delta: Vec<f64> = active
                .iter()
                .map(|&on| if on { self.rand_sign() } else { 0.0 })
                .collect();
            let plus: Vec<f64> = self
                .state
                .theta
                .iter()
                .zip(&delta)
                .map(|(t, d)| t + ck * d)
                .collect();
            let minus: Vec<f64> = self
                .state
                .theta
                .iter()
                .zip(&delta)
                .map(|(t, d)| t - ck * d)
                .collect();
            let lp = Self::loss(problem, base, &plus, &losses);
            let lm = Self::loss(problem, base, &minus, &losses);
            let g = (lp - lm) / (2.0 * ck);
            if self.state.a == 0.0 {
                let big_a = 0.1 * total as f64;
                self.state.a = if g.abs() > 1e-12 {
                    self.first_step * (big_a + 1.0).powf(0.602) / g.abs()
                } else {
                    self.first_step
                };
            }
            let ak = self.state.a / ((k + 1) as f64 + 0.1 * total as f64).powf(0.602);
            for (t, d) in self.state.theta.iter_mut().zip(&delta) {
                *t = (*t - ak * g * d).clamp(-4.0, 4.0);
            }
            self.state.iteration += 1;
            let (lbest, tbest) = if lp <= lm { (lp, plus) } else { (lm, minus) };
            if lbest < best {
                best = lbest;
                self.state.best_theta = tbest;
                // Restart from the best point: keeps the walk near what works.
                self.state.theta = self.state.best_theta.clone();
                let m = apply(base, &self.state.best_theta)?;
                ctx.improved(&m, best, self.state.iteration, self.state())?;
            }
            ctx.observer
                .iteration(self.state.iteration, lp.min(lm), best);
        }
        apply(base, &self.state.best_theta)
    }
}
