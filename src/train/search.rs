//! Tone search: the second half of the fit, between the analysis and the
//! refiner. The analysis fit sets pitch and decay from the partials; what
//! it cannot see is the *spectral balance* — how loud each mode is against
//! the others and how fast the upper ones die — which is what the log-mel
//! metric weighs most (a near-sine marimba note struck with a hard mallet
//! scores worse than a plain sine). That balance is set by a handful of
//! physical controls with strong, non-smooth effects (σ₁ over decades,
//! mallet contact time, strike and pickup positions near nodal lines, the
//! excitation's kind), so a derivative-free search through the real engine
//! is the right tool for it:
//!
//! 1. **Shortlist**: the bodies whose modes match the partials best
//!    ([`super::fit::rank_bodies`]), each with the template's excitation
//!    kind and the other of strike/pluck.
//! 2. **Screen**: a short [`pattern_search`] over σ₁, contact time and the
//!    σ₀ scale for each candidate; the lowest loss, plus [`PARTIAL_WEIGHT`]
//!    × the body's partial mismatch, wins.
//! 3. **Tune**: the winner gets the rest of the budget over every control
//!    ([`super::spsa::apply`]'s parameters).
//!
//! The loss is the training loss ([`super::Problem::loss_with`]): the
//! renders are RMS-matched, so level is left to [`super::fit::set_gain`].

use std::sync::Arc;

use crate::instrument::format::ExciteShape;
use crate::instrument::Instrument;

use super::error::TrainError;
use super::fit::{self, BodyMatch, FitModel};
use super::loss::{LossConfig, SpectralLoss};
use super::problem::Problem;
use super::refine::Observer;
use super::spsa::{self, DIM};

/// Bodies screened (best partial matches first).
pub const SHORTLIST: usize = 3;
/// Loss evaluations per screened candidate.
pub const SCREEN_EVALUATIONS: usize = 7;
/// Loss evaluations of the final tuning.
pub const TUNE_EVALUATIONS: usize = 48;
/// Parameters screened: σ₁, contact time, σ₀ scale (indices into θ).
const SCREEN_DIMS: [usize; 3] = [1, 5, 0];
/// Parameters screened for a bowed model: σ₁, bow force, σ₀ scale.
const SCREEN_DIMS_BOW: [usize; 3] = [1, 10, 0];
/// Weight of the body's partial mismatch ([`BodyMatch::cost_cents`], per
/// cent) added to its screened loss: the spectral loss alone can prefer a
/// body whose overtones sit in the wrong places (a plate for a harp) when
/// its balance is closer, and wrong partials are what a listener hears
/// first.
pub const PARTIAL_WEIGHT: f64 = 0.01;
/// Bow force a bowed search starts from (see `start_in_helmholtz_region`).
pub const BOW_START_FORCE: f64 = 0.05;
/// Bow velocity a bowed search starts from.
pub const BOW_START_VELOCITY: f64 = 0.15;
/// Bow position on a string a bowed search starts from (share of the length).
pub const BOW_START_X: f64 = 0.1;
/// Loss of a parameter set that cannot be played.
const INVALID_LOSS: f64 = 1e3;

/// Initial step of each parameter of θ ([`spsa::apply`]'s coordinates:
/// log σ₀ scale, log(σ₁+0.1), logit strike x/y, log width, log contact,
/// logit pickups, log bow force, log bow velocity).
const STEPS: [f64; DIM] = [0.7, 1.6, 0.8, 0.8, 0.7, 0.9, 0.8, 0.8, 0.8, 0.8, 0.9, 0.7];
/// Steps below this are not tried.
const MIN_STEP: f64 = 0.05;

/// Result of a [`pattern_search`].
#[derive(Clone, Debug)]
pub struct SearchResult {
    /// Best point.
    pub x: Vec<f64>,
    /// Its value.
    pub value: f64,
    /// Evaluations spent.
    pub evaluations: usize,
}

/// Coordinate pattern search (Hooke–Jeeves without the pattern move):
/// each active coordinate in turn tries `x ± step` (and doubles a step
/// that improved, once); a coordinate whose moves both fail halves its
/// step. Stops after `budget` evaluations of `f` (the start included) or
/// when every step is below `min_step`. Deterministic.
pub fn pattern_search(
    mut f: impl FnMut(&[f64]) -> f64,
    x0: &[f64],
    steps: &[f64],
    dims: &[usize],
    budget: usize,
    min_step: f64,
) -> SearchResult {
    let mut x = x0.to_vec();
    let mut step = steps.to_vec();
    let mut fx = f(&x);
    let mut evals = 1;
    // Evaluates `x + dir·step` along `d`; moves there when it is better.
    let mut try_move = |x: &mut Vec<f64>, fx: &mut f64, d: usize, delta: f64| {
        let mut y = x.clone();
        y[d] += delta;
        let fy = f(&y);
        if fy < *fx {
            *x = y;
            *fx = fy;
            true
        } else {
            false
        }
    };
    'outer: while evals < budget {
        if dims.iter().all(|&d| step[d] < min_step) {
            break;
        }
        for &d in dims {
            if step[d] < min_step {
                continue;
            }
            let mut moved = false;
            for dir in [1.0, -1.0] {
                if evals >= budget {
                    break 'outer;
                }
                evals += 1;
                if try_move(&mut x, &mut fx, d, dir * step[d]) {
                    moved = true;
                    // One extension along the successful direction.
                    if evals < budget {
                        evals += 1;
                        try_move(&mut x, &mut fx, d, dir * step[d]);
                    }
                    break;
                }
            }
            if !moved {
                step[d] *= 0.5;
            }
        }
    }
    SearchResult {
        x,
        value: fx,
        evaluations: evals,
    }
}

/// One screened candidate.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Screened {
    /// Template body.
    pub template: String,
    /// Excitation kind tried.
    pub excitation: ExciteShape,
    /// Loss after the screening search.
    pub loss: f64,
    /// The body's partial mismatch, cents ([`BodyMatch::cost_cents`]).
    pub partial_cents: f64,
    /// What decides: `loss + PARTIAL_WEIGHT · partial_cents`.
    pub score: f64,
}

/// The shortlisted starting models: each of the best [`SHORTLIST`] bodies
/// with its own excitation kind and with the other of strike/pluck, or,
/// with `excite` given, with that kind only.
fn candidates(
    templates: &[Arc<Instrument>],
    ranking: &[BodyMatch],
    problem: &Problem,
    name: &str,
    excite: Option<ExciteShape>,
) -> Result<Vec<(BodyMatch, FitModel)>, TrainError> {
    let mut out = Vec::new();
    for m in ranking.iter().take(SHORTLIST) {
        let Some(inst) = templates.iter().find(|t| t.name() == m.template) else {
            continue;
        };
        let mut base = fit::fit_body(inst, m, &problem.targets, name)?;
        if let Some(shape) = excite {
            base.file.excitation.shape = shape;
            if shape == ExciteShape::Bow {
                start_in_helmholtz_region(&mut base);
            }
            out.push((m.clone(), base));
            continue;
        }
        let other = match base.file.excitation.shape {
            ExciteShape::Pluck => ExciteShape::Strike,
            _ => ExciteShape::Pluck,
        };
        let mut alt = base.clone();
        alt.file.excitation.shape = other;
        out.push((m.clone(), base));
        out.push((m.clone(), alt));
    }
    Ok(out)
}

/// A bowed candidate's bow before the search: the template's force and
/// velocity where it has them, else [`BOW_START_FORCE`] and
/// [`BOW_START_VELOCITY`]; on a string (a 1D mesh) the bow at
/// [`BOW_START_X`] unless the template is bowed already.
///
/// Why: the server's default bow (force 0.3, velocity 0.3) is beyond
/// Schelleng's maximum force on the string's templates: the motion is
/// raucous (autocorrelation 0.2–0.8 at the period), its noise fills the
/// troughs between harmonics, and a search started there stays there.
/// Force 0.05 at velocity 0.15, bowed at a tenth of the length, gives
/// periodic Helmholtz motion (autocorrelation at one period 0.99): the
/// sustained tone a bowed recording holds. `cello_E3`: 2.26 dB log-mel from here against
/// 2.68 from the default bow (docs/training.md, "Bowed targets").
fn start_in_helmholtz_region(base: &mut FitModel) {
    let string = base.file.mesh.height == 1;
    let e = &mut base.file.excitation;
    if string && e.bow_force.is_none() {
        e.x = BOW_START_X;
    }
    e.bow_force.get_or_insert(BOW_START_FORCE);
    e.bow_velocity.get_or_insert(BOW_START_VELOCITY);
}

/// The loss of θ around `base` under precomputed target losses.
fn loss_at(problem: &Problem, base: &FitModel, theta: &[f64], losses: &[SpectralLoss]) -> f64 {
    match spsa::apply(base, theta).and_then(|m| problem.loss_with(&m, losses)) {
        Ok(v) if v.is_finite() => v,
        _ => INVALID_LOSS,
    }
}

/// Shortlists, screens and tunes: the fitted model with the lowest loss,
/// and the screening table (for the report).
pub fn search(
    templates: &[Arc<Instrument>],
    ranking: &[BodyMatch],
    problem: &Problem,
    name: &str,
    excite: Option<ExciteShape>,
    observer: &mut dyn Observer,
) -> Result<(FitModel, Vec<Screened>), TrainError> {
    let losses = problem.losses(&LossConfig::default());
    let mut screened = Vec::new();
    let mut best: Option<(FitModel, SearchResult, f64)> = None;
    for (body, base) in candidates(templates, ranking, problem, name, excite)? {
        let screen = if base.file.excitation.shape == ExciteShape::Bow {
            SCREEN_DIMS_BOW
        } else {
            SCREEN_DIMS
        };
        let dims: Vec<usize> = screen
            .iter()
            .copied()
            .filter(|&d| spsa::is_active(&base, d))
            .collect();
        let r = pattern_search(
            |t| loss_at(problem, &base, t, &losses),
            &[0.0; DIM],
            &STEPS,
            &dims,
            SCREEN_EVALUATIONS,
            MIN_STEP,
        );
        let score = r.value + PARTIAL_WEIGHT * body.cost_cents;
        observer.phase(&format!(
            "screened {} ({:?}): loss {:.4}, partials {:.0} cents, score {score:.4}",
            body.template, base.file.excitation.shape, r.value, body.cost_cents
        ));
        screened.push(Screened {
            template: body.template.clone(),
            excitation: base.file.excitation.shape,
            loss: r.value,
            partial_cents: body.cost_cents,
            score,
        });
        if best.as_ref().is_none_or(|(_, _, s)| score < *s) {
            best = Some((base, r, score));
        }
    }
    let (base, start, _) = best.ok_or(TrainError::NoTemplate)?;
    let dims: Vec<usize> = (0..DIM).filter(|&d| spsa::is_active(&base, d)).collect();
    // Continue from the screened point with fresh, slightly smaller steps.
    let steps: Vec<f64> = STEPS.iter().map(|s| 0.7 * s).collect();
    let r = pattern_search(
        |t| loss_at(problem, &base, t, &losses),
        &start.x,
        &steps,
        &dims,
        TUNE_EVALUATIONS,
        MIN_STEP,
    );
    let mut model = spsa::apply(&base, &r.x)?;
    fit::set_gain(&mut model, &problem.targets)?;
    observer.phase(&format!("tuned: loss {:.4}", r.value));
    Ok((model, screened))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_minimum_of_a_separable_bowl() {
        let f = |x: &[f64]| (x[0] - 1.3).powi(2) + 3.0 * (x[1] + 0.4).powi(2) + x[2].abs();
        let r = pattern_search(f, &[0.0; 3], &[1.0; 3], &[0, 1, 2], 200, 1e-4);
        assert!((r.x[0] - 1.3).abs() < 1e-3, "{:?}", r.x);
        assert!((r.x[1] + 0.4).abs() < 1e-3, "{:?}", r.x);
        assert!(r.x[2].abs() < 1e-3, "{:?}", r.x);
        assert!(r.evaluations <= 200);
    }

    #[test]
    fn respects_the_budget_and_inactive_dimensions() {
        let mut calls = 0;
        let r = pattern_search(
            |x: &[f64]| {
                calls += 1;
                (x[0] - 5.0).powi(2) + (x[1] - 5.0).powi(2)
            },
            &[0.0, 0.0],
            &[1.0, 1.0],
            &[1],
            7,
            1e-6,
        );
        assert_eq!(calls, 7);
        assert_eq!(r.evaluations, 7);
        assert_eq!(r.x[0], 0.0, "an inactive dimension never moves");
        assert!(r.x[1] > 0.0);
    }
}
