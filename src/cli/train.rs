//! `train`: learn an instrument from recordings.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{anyhow, Context as _, Result};
use clap::ValueEnum;
use neirosynth::instrument::lookup::instruments_dir;

use crate::cli::{bad, load_instrument};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum ModeArg {
    /// Adam on the stiffness and σ₀ maps (per node), σ₁ and the strike,
    /// with the scheme's exact adjoint gradient.
    Adjoint,
    /// Stochastic perturbation of the scalar controls through the engine.
    Spsa,
    /// SPSA (scalars, pickups) for half the iterations, then adjoint.
    Hybrid,
    /// Adjoint one pyramid level coarser for half the iterations, then at
    /// the played level.
    Progressive,
}

#[derive(clap::Args)]
pub(crate) struct TrainArgs {
    /// Target recordings (WAV, any rate, channels and sample format): one
    /// note each; several files are several notes of one instrument.
    #[arg(required = true)]
    targets: Vec<PathBuf>,
    /// Output instrument file (its name is the file stem); the report goes
    /// to `<out>.report/`.
    #[arg(long)]
    out: PathBuf,
    /// Refinement after the analysis fit.
    #[arg(long, value_enum, default_value_t = ModeArg::Hybrid)]
    mode: ModeArg,
    /// Refinement iterations (each renders every target twice; default 40,
    /// 80 with `--excite bow`, whose refinement is SPSA only).
    #[arg(long)]
    iterations: Option<usize>,
    /// Start from this instrument's body (name in the bank or a file)
    /// instead of choosing among the bank's.
    #[arg(long)]
    from: Option<String>,
    /// Send `/inst/reload <name>` to the server at HOST:PORT after each
    /// improvement (`--out` must be in that server's instruments folder).
    #[arg(long, value_name = "HOST:PORT")]
    live: Option<String>,
    /// Continue from `<out>.report/checkpoint.json`.
    #[arg(long)]
    resume: bool,
    /// Seconds of each target the refinement loss looks at.
    #[arg(long, default_value_t = neirosynth::train::DEFAULT_LOSS_SECONDS)]
    loss_seconds: f64,
    /// Candidate bodies (default: the shipped instruments folder).
    #[arg(long)]
    instruments: Option<PathBuf>,
    /// Excitation of the trained model (`strike`, `pluck`, `noise`, `bow`;
    /// default: the search picks strike or pluck). `bow` fits the bow's
    /// force and velocity with the body (SPSA refinement).
    #[arg(long)]
    excite: Option<String>,
}

/// `train`: the search and refinement, with a progress bar; Ctrl-C stops
/// it after the current iteration.
pub(crate) fn train(a: TrainArgs) -> Result<()> {
    use neirosynth::train::progress::{ProgressBar, Summary};
    use neirosynth::train::{Mode, TrainOptions};
    let mode = match a.mode {
        ModeArg::Adjoint => Mode::Adjoint,
        ModeArg::Spsa => Mode::Spsa,
        ModeArg::Hybrid => Mode::Hybrid,
        ModeArg::Progressive => Mode::Progressive,
    };
    if !a.loss_seconds.is_finite() || a.loss_seconds < 0.1 {
        return Err(bad("--loss-seconds must be at least 0.1"));
    }
    let from = match &a.from {
        Some(spec) => Some(load_instrument(spec, a.instruments.clone())?),
        None => None,
    };
    let excite = match &a.excite {
        Some(name) => Some(
            neirosynth::types::ExciteShape::from_name(name)
                .ok_or_else(|| bad(format!("--excite {name}: not strike, pluck, noise or bow")))?,
        ),
        None => None,
    };
    let opts = TrainOptions {
        excite,
        targets: a.targets,
        out: a.out,
        mode,
        iterations: a
            .iterations
            .unwrap_or(neirosynth::train::default_iterations(excite)),
        from,
        templates_dir: instruments_dir(a.instruments),
        live: a.live,
        resume: a.resume,
        loss_seconds: a.loss_seconds,
    };
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = stop.clone();
    ctrlc::set_handler(move || s.store(true, std::sync::atomic::Ordering::Relaxed))
        .context("cannot install the signal handler")?;
    let mut progress = ProgressBar::new();
    let result = neirosynth::train::train(&opts, &mut progress, &stop);
    progress.finish();
    // The training error's message already names its cause.
    let outcome = result.map_err(|e| {
        if e.is_usage() {
            bad(e.to_string())
        } else {
            anyhow!("{e}")
        }
    })?;
    let summary = Summary {
        opts: &opts,
        outcome: &outcome,
    };
    eprint!("{summary}");
    Ok(())
}
