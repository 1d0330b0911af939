//! The adjoint refiner: Adam over θ with a cosine learning rate,
//! coarse-to-fine loss stages, certified steps, its variants
//! ([`Variant`]) and its checkpointed [`State`].

use serde::{Deserialize, Serialize};

use super::gradient::{engine_loss, loss_and_gradient};
use super::theta::{model_of, theta_grad, theta_of, SCALARS};
use super::voice::{voice, Unmodelled};
use crate::train::error::TrainError;
use crate::train::fit::FitModel;
use crate::train::loss::LossConfig;
use crate::train::problem::Problem;
use crate::train::refine::{RefineContext, Refiner};
use crate::train::spsa::Spsa;

/// Which variant of the adjoint refiner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    /// Adjoint throughout.
    Adjoint,
    /// SPSA for the first half, then adjoint.
    Hybrid,
    /// Adjoint one level coarser for the first half, then at the played level.
    Progressive,
}

/// Adam's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct AdamOptions {
    /// Peak learning rate of `ln s` (per node).
    pub lr_stiffness: f64,
    /// Peak learning rate of `ln(σ₀ + ε)` (per node).
    pub lr_sigma0: f64,
    /// Peak learning rate of the scalars.
    pub lr_scalars: f64,
    /// The cosine schedule ends at this share of the peak.
    pub lr_floor: f64,
    /// First and second moment decay.
    pub betas: (f64, f64),
    /// Denominator guard.
    pub eps: f64,
}

impl Default for AdamOptions {
    fn default() -> Self {
        Self {
            lr_stiffness: 0.01,
            lr_sigma0: 0.3,
            lr_scalars: 0.2,
            lr_floor: 0.1,
            betas: (0.9, 0.999),
            eps: 1e-12,
        }
    }
}

/// Adam's state over θ (what a checkpoint keeps).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdamState {
    /// Current θ.
    pub theta: Vec<f64>,
    /// First moments.
    pub m: Vec<f64>,
    /// Second moments.
    pub v: Vec<f64>,
    /// Steps taken.
    pub t: usize,
}

/// The refiner's state (checkpoints).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// Variant (checked on resume).
    pub variant: Option<Variant>,
    /// Next iteration (over the whole run).
    pub iteration: usize,
    /// Phase: hybrid 0 = SPSA, 1 = adjoint; progressive 0 = coarse, 1 = played level.
    pub phase: usize,
    /// SPSA's state (hybrid, phase 0).
    pub spsa: Option<serde_json::Value>,
    /// The model the adjoint phase works on (non-θ parts: pickups, width…).
    pub start: Option<FitModel>,
    /// Adam (adjoint phases).
    pub adam: Option<AdamState>,
    /// θ of the best model of the current adjoint phase.
    pub best_theta: Option<Vec<f64>>,
    /// True when no target could be modelled and SPSA ran instead.
    pub fallback: bool,
}

/// The adjoint refiner.
pub struct AdjointRefiner {
    variant: Variant,
    state: State,
    /// Adam's settings.
    pub adam: AdamOptions,
}

impl AdjointRefiner {
    /// A refiner of the given variant.
    pub fn new(variant: Variant) -> Self {
        let adam = AdamOptions::default();
        Self {
            variant,
            state: State {
                variant: Some(variant),
                ..State::default()
            },
            adam,
        }
    }

    fn learning_rates(&self, n: usize, frac: f64) -> Vec<f64> {
        let o = &self.adam;
        let c = o.lr_floor + (1.0 - o.lr_floor) * 0.5 * (1.0 + (std::f64::consts::PI * frac).cos());
        let mut lr = vec![o.lr_stiffness * c; n];
        lr.extend(std::iter::repeat_n(o.lr_sigma0 * c, n));
        lr.extend(std::iter::repeat_n(o.lr_scalars * c, SCALARS));
        lr
    }

    /// Runs SPSA over iterations `[state.iteration, end)` from `base`;
    /// returns its best model.
    fn run_spsa(
        &mut self,
        problem: &Problem,
        base: &FitModel,
        ctx: &mut RefineContext<'_>,
        end: usize,
    ) -> Result<FitModel, TrainError> {
        let mut spsa = Spsa::default();
        if let Some(s) = &self.state.spsa {
            spsa.resume(s)?;
        }
        let total = ctx.iterations;
        ctx.iterations = end;
        let r = spsa.refine(problem, base, ctx);
        ctx.iterations = total;
        self.state.spsa = Some(spsa.state());
        r
    }

    /// Adam over iterations `[state.iteration, end)` from `start`, modelling
    /// each note `coarser` levels below the played one.
    fn run_adjoint(
        &mut self,
        problem: &Problem,
        start: &FitModel,
        ctx: &mut RefineContext<'_>,
        first: usize,
        end: usize,
        coarser: usize,
    ) -> Result<FitModel, TrainError> {
        let n = start.file.mesh.width * start.file.mesh.height;
        let adam = match self.state.adam.take() {
            Some(a) if a.theta.len() == 2 * n + SCALARS => a,
            _ => {
                let theta = theta_of(start)?;
                AdamState {
                    m: vec![0.0; theta.len()],
                    v: vec![0.0; theta.len()],
                    theta,
                    t: 0,
                }
            }
        };
        self.state.adam = Some(adam);
        self.state.start = Some(start.clone());
        let span = (end - first).max(1);
        let stage_of = |it: usize| (3 * (it.max(first) - first) / span).min(2);
        let mut stage = stage_of(self.state.iteration);
        let mut losses = problem.losses(&LossConfig::coarse_to_fine(stage));
        let (mut current, mut cur_inst) =
            model_of(start, &self.state.adam.as_ref().expect("set").theta)?;
        let (mut best_model, mut best_inst) = match &self.state.best_theta {
            Some(b) => model_of(start, b)?,
            None => (current.clone(), cur_inst.clone()),
        };
        let mut best = engine_loss(problem, &best_model, &best_inst, &losses)?;
        let mut cur_loss = engine_loss(problem, &current, &cur_inst, &losses)?;
        ctx.observer.iteration(self.state.iteration, cur_loss, best);
        while self.state.iteration < end {
            if ctx.should_stop() {
                break;
            }
            let it = self.state.iteration;
            if stage_of(it) != stage {
                stage = stage_of(it);
                losses = problem.losses(&LossConfig::coarse_to_fine(stage));
                best = engine_loss(problem, &best_model, &best_inst, &losses)?;
                cur_loss = engine_loss(problem, &current, &cur_inst, &losses)?;
            }
            let (_, g) = loss_and_gradient(problem, &current, &cur_inst, &losses, coarser)?;
            if let Some(Some(why)) = g.unmodelled.iter().find(|u| u.is_some()) {
                if g.unmodelled.iter().all(|u| u.is_some()) {
                    ctx.observer.phase(&format!(
                        "adjoint: stopped early, no target can be modelled any more ({why})"
                    ));
                    break;
                }
            }
            let gt = theta_grad(&current, &g)?;
            let lr = self.learning_rates(n, (it - first) as f64 / span as f64);
            let o = self.adam.clone();
            let a = self.state.adam.as_mut().expect("set");
            a.t += 1;
            let (b1, b2) = o.betas;
            let (c1, c2) = (1.0 - b1.powi(a.t as i32), 1.0 - b2.powi(a.t as i32));
            let mut dir = vec![0.0; gt.len()];
            for j in 0..gt.len() {
                if !gt[j].is_finite() {
                    continue;
                }
                a.m[j] = b1 * a.m[j] + (1.0 - b1) * gt[j];
                a.v[j] = b2 * a.v[j] + (1.0 - b2) * gt[j] * gt[j];
                let (mh, vh) = (a.m[j] / c1, a.v[j] / c2);
                if vh > 0.0 {
                    dir[j] = -lr[j] * mh / (vh.sqrt() + o.eps);
                }
            }
            // A certified step: halve it until the stepped file certifies.
            let mut scale = 1.0;
            let mut next = None;
            for _ in 0..7 {
                let trial: Vec<f64> = a
                    .theta
                    .iter()
                    .zip(&dir)
                    .map(|(t, d)| t + scale * d)
                    .collect();
                if let Ok(m) = model_of(start, &trial) {
                    next = Some(m);
                    break;
                }
                scale *= 0.5;
            }
            self.state.iteration += 1;
            if let Some((m, inst)) = next {
                // θ as the certified file holds it (clamped maps, certified σ₁).
                let theta = theta_of(&m)?;
                self.state.adam.as_mut().expect("set").theta = theta.clone();
                current = m;
                cur_inst = inst;
                cur_loss = engine_loss(problem, &current, &cur_inst, &losses)?;
                if cur_loss < best {
                    best = cur_loss;
                    best_model = current.clone();
                    best_inst = cur_inst.clone();
                    self.state.best_theta = Some(theta);
                    ctx.improved(&best_model, best, self.state.iteration, self.state())?;
                }
            }
            ctx.observer.iteration(self.state.iteration, cur_loss, best);
        }
        Ok(best_model)
    }

    fn variant_name(&self) -> &'static str {
        match self.variant {
            Variant::Adjoint => "adjoint",
            Variant::Hybrid => "hybrid",
            Variant::Progressive => "progressive",
        }
    }
}

impl Refiner for AdjointRefiner {
    fn name(&self) -> &'static str {
        self.variant_name()
    }

    fn state(&self) -> serde_json::Value {
        serde_json::to_value(&self.state).unwrap_or_default()
    }

    fn resume(&mut self, state: &serde_json::Value) -> Result<(), TrainError> {
        if state.get("phase").is_none() {
            // Saved by SPSA: a hybrid run's first phase, or the fallback.
            self.state = State {
                variant: Some(self.variant),
                iteration: state.get("iteration").and_then(|v| v.as_u64()).unwrap_or(0) as usize,
                spsa: Some(state.clone()),
                fallback: self.variant != Variant::Hybrid,
                ..State::default()
            };
            return Ok(());
        }
        let s: State = serde_json::from_value(state.clone())
            .map_err(|e| TrainError::Resume(format!("not an adjoint refiner state: {e}")))?;
        if s.variant != Some(self.variant) {
            return Err(TrainError::Resume("a checkpoint of another mode".into()));
        }
        self.state = s;
        Ok(())
    }

    fn refine(
        &mut self,
        problem: &Problem,
        base: &FitModel,
        ctx: &mut RefineContext<'_>,
    ) -> Result<FitModel, TrainError> {
        let total = ctx.iterations;
        // Can the adjoint model any target?
        let inst = base.instrument()?;
        let why: Vec<Unmodelled> = base
            .play_notes
            .iter()
            .filter_map(|&n| voice(&inst, n, 0).err())
            .collect();
        if self.state.fallback || why.len() == base.play_notes.len() {
            if !self.state.fallback {
                ctx.observer.phase(&format!(
                    "adjoint: no target can be modelled ({}); refining with SPSA instead",
                    why[0]
                ));
            }
            self.state.fallback = true;
            return self.run_spsa(problem, base, ctx, total);
        }
        for w in &why {
            ctx.observer.phase(&format!(
                "adjoint: a target is left to the engine loss only: {w}"
            ));
        }
        let half = total / 2;
        match self.variant {
            Variant::Adjoint => {
                let start = self.state.start.clone().unwrap_or_else(|| base.clone());
                self.run_adjoint(problem, &start, ctx, 0, total, 0)
            }
            Variant::Hybrid => {
                let mut start = self.state.start.clone();
                if self.state.phase == 0 {
                    ctx.observer
                        .phase("hybrid: SPSA on the scalars and pickups");
                    let m = self.run_spsa(problem, base, ctx, half)?;
                    if ctx.should_stop() {
                        return Ok(m);
                    }
                    self.state.phase = 1;
                    self.state.iteration = half;
                    start = Some(m);
                }
                ctx.observer.phase("hybrid: adjoint on the maps");
                let start = start.unwrap_or_else(|| base.clone());
                self.run_adjoint(problem, &start, ctx, half, total, 0)
            }
            Variant::Progressive => {
                let mut start = self.state.start.clone().unwrap_or_else(|| base.clone());
                if self.state.phase == 0 {
                    ctx.observer
                        .phase("progressive: adjoint one pyramid level coarser");
                    start = self.run_adjoint(problem, &start, ctx, 0, half, 1)?;
                    if ctx.should_stop() {
                        return Ok(start);
                    }
                    self.state.phase = 1;
                    self.state.adam = None;
                    self.state.best_theta = None;
                    self.state.iteration = half;
                }
                ctx.observer
                    .phase("progressive: adjoint at the played level");
                self.run_adjoint(problem, &start, ctx, half, total, 0)
            }
        }
    }
}
