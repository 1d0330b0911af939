//! Refinement: the [`Refiner`] interface, the [`RefineContext`] a refiner
//! runs in, and the [`Observer`] that follows a run.

use std::sync::atomic::{AtomicBool, Ordering};

use super::error::TrainError;
use super::fit::FitModel;
use super::problem::Problem;

/// What training tells its user as it goes (the CLI draws a progress bar).
pub trait Observer {
    /// A phase starts (analysis, fit, refinement, report).
    fn phase(&mut self, _message: &str) {}
    /// Refinement starts with this many iterations in all, from `first`.
    fn start(&mut self, _first: usize, _total: usize) {}
    /// An iteration ended with this loss; `best` so far.
    fn iteration(&mut self, _iteration: usize, _loss: f64, _best: f64) {}
    /// A better model was saved.
    fn improved(&mut self, _loss: f64) {}
}

/// An observer that ignores everything.
pub struct Quiet;
impl Observer for Quiet {}

/// The callback a [`RefineContext`] calls with each new best model:
/// (model, loss, iteration, refiner state).
pub type ImprovedFn<'a> =
    dyn FnMut(&FitModel, f64, usize, serde_json::Value) -> Result<(), TrainError> + 'a;

/// What a refiner gets besides the problem: budget, stop flag, reporting.
pub struct RefineContext<'a> {
    /// Iterations in all (a resumed refiner continues its own count).
    pub iterations: usize,
    /// Set by Ctrl-C: finish the iteration and return the best so far.
    pub stop: &'a AtomicBool,
    /// Progress.
    pub observer: &'a mut dyn Observer,
    /// Called with each new best model.
    pub on_improved: &'a mut ImprovedFn<'a>,
    /// (iteration, best loss) after each improvement.
    pub history: Vec<(usize, f64)>,
}

impl RefineContext<'_> {
    /// True once the user asked to stop.
    pub fn should_stop(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Reports a new best model (saved, checkpointed, sent live).
    pub fn improved(
        &mut self,
        model: &FitModel,
        loss: f64,
        iteration: usize,
        state: serde_json::Value,
    ) -> Result<(), TrainError> {
        self.history.push((iteration, loss));
        self.observer.improved(loss);
        (self.on_improved)(model, loss, iteration, state)
    }
}

/// A refinement method: takes the analysis fit and returns a better model.
///
/// The hook for the adjoint: implement `refine` with
/// [`Problem::render_aligned`] and [`SpectralLoss::value_and_grad`](crate::train::loss::SpectralLoss::value_and_grad) (which
/// gives `dL/dy`), run the scheme's adjoint to get `dL/d(maps)`, step the
/// maps, keep them certified with [`fit::certify`](crate::train::fit::certify), and call
/// [`RefineContext::improved`] on each better model.
pub trait Refiner {
    /// Name (as `--mode`).
    fn name(&self) -> &'static str;
    /// Improves `base` for at most `ctx.iterations` iterations.
    fn refine(
        &mut self,
        problem: &Problem,
        base: &FitModel,
        ctx: &mut RefineContext<'_>,
    ) -> Result<FitModel, TrainError>;
    /// The refiner's state, for checkpoints.
    fn state(&self) -> serde_json::Value;
    /// Restores a state from a checkpoint.
    fn resume(&mut self, state: &serde_json::Value) -> Result<(), TrainError>;
}
