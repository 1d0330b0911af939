//! Training mode (`neirosynth train`): learns a playable physical
//! instrument from recordings.
//!
//! The pipeline ([`train`]):
//!
//! 1. [`target`]: load each WAV (any rate, channels, format), resample to
//!    48 kHz, find the onset, trim the note, refuse bad input, find the note.
//! 2. [`analysis`]: f0 (with the note as prior), partials with decay rates,
//!    T60, loudness envelope.
//! 3. [`fit`]: the analysis fit — body chosen by matching the partials
//!    against each candidate body's eigenmodes, pitch, σ₀/σ₁, level — a
//!    valid, certified instrument.
//! 4. A [`Refiner`] improves it against the [`loss`] (multi-resolution
//!    STFT and log-mel, coarse to fine): [`spsa`] on the scalar controls,
//!    [`refine_adjoint`] on the maps with exact gradients, or both
//!    (`hybrid`, the default; see [`Mode`]).
//! 5. [`multinote`]: with several targets, the note-shaping network.
//! 6. [`radiation`]: the radiation filter (body and microphone colour).
//! 7. [`level`]: the gain is lowered so that velocity 1 peaks at −1 dBFS
//!    across the playable range (the loss and the report compare at the
//!    target's level, the file plays at this one).
//! 8. [`report`]: `<out>.report/` with metrics, WAVs and PNGs.
//!
//! [`progress`] is what the CLI shows of a run (progress bar, summary).
//!
//! [`adjoint`] is the differentiable forward model of one voice on one mesh
//! level and its exact gradients by the adjoint-state method (reverse-time
//! pass with checkpointing), plus the certificate projection that keeps
//! every parameter update stable.
//!
//! After each improvement the best model is written to `--out` (so an
//! interrupted run keeps it), a checkpoint to `<out>.report/checkpoint.json`
//! (`--resume` continues from it) and, with `--live HOST:PORT`,
//! `/inst/reload <name>` is sent to a running server.

pub mod adjoint;
pub mod analysis;
pub mod error;
pub mod fit;
pub mod level;
pub mod loss;
pub mod multinote;
pub mod output;
pub mod problem;
pub mod progress;
pub mod radiation;
pub mod refine;
pub mod refine_adjoint;
pub mod report;
pub mod search;
pub mod spsa;
pub mod target;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::instrument::Instrument;
use crate::types::ExciteShape;
pub use error::TrainError;
use fit::{BodyMatch, FitModel, NoteTarget};
use loss::LossConfig;
pub use output::{name_from_path, report_dir, send_reload, write_atomic, ReloadError};
pub use problem::Problem;
pub use refine::{ImprovedFn, Observer, Quiet, RefineContext, Refiner};

/// Training modes of the command-line contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Exact gradient of the scheme: Adam on the maps, σ₁ and the strike.
    Adjoint,
    /// Simultaneous-perturbation stochastic approximation of the scalar controls.
    Spsa,
    /// SPSA for the scalars and pickups, then adjoint for the maps (the
    /// command line's default: best on the corpus, see the README).
    Hybrid,
    /// Adjoint one pyramid level coarser first, then at the played level.
    Progressive,
}

impl Mode {
    /// The mode's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Adjoint => "adjoint",
            Self::Spsa => "spsa",
            Self::Hybrid => "hybrid",
            Self::Progressive => "progressive",
        }
    }

    /// The refiner of this mode, or why there is none yet.
    pub fn refiner(self) -> Result<Box<dyn Refiner>, TrainError> {
        match self {
            Self::Spsa => Ok(Box::new(spsa::Spsa::default())),
            Self::Adjoint => Ok(Box::new(refine_adjoint::AdjointRefiner::new(
                refine_adjoint::Variant::Adjoint,
            ))),
            Self::Hybrid => Ok(Box::new(refine_adjoint::AdjointRefiner::new(
                refine_adjoint::Variant::Hybrid,
            ))),
            Self::Progressive => Ok(Box::new(refine_adjoint::AdjointRefiner::new(
                refine_adjoint::Variant::Progressive,
            ))),
        }
    }
}

/// Options of a training run.
pub struct TrainOptions {
    /// Target recordings (several: several notes of one instrument).
    pub targets: Vec<PathBuf>,
    /// Output instrument file; its stem is the instrument's name.
    pub out: PathBuf,
    /// Refinement mode.
    pub mode: Mode,
    /// Refinement iterations.
    pub iterations: usize,
    /// Start from this body instead of choosing among `templates_dir`.
    pub from: Option<Arc<Instrument>>,
    /// Candidate bodies (the shipped bank).
    pub templates_dir: PathBuf,
    /// `HOST:PORT` of a server to send `/inst/reload` to after each improvement.
    pub live: Option<String>,
    /// Continue from `<out>.report/checkpoint.json`.
    pub resume: bool,
    /// Seconds of each target the refinement loss looks at.
    pub loss_seconds: f64,
    /// Excitation the model must use (`None`: the search picks strike or
    /// pluck per body). `Some(Bow)` trains a bowed model: bow force and
    /// velocity are fitted with the body by the search and SPSA, and the
    /// refiner is SPSA whatever `mode` says (the adjoint model has no bow).
    pub excite: Option<ExciteShape>,
}

/// Default refinement iterations.
pub const DEFAULT_ITERATIONS: usize = 40;
/// Default refinement iterations of a bowed model (`--excite bow`): its
/// refinement is SPSA through the engine whatever the mode (the friction
/// has no adjoint), which needs more steps than the hybrid refiner
/// (`cello_E3`: 2.32 dB log-mel at 40, 2.26 at 80).
pub const DEFAULT_BOWED_ITERATIONS: usize = 80;

/// The default iterations for a run of excitation `excite`.
pub fn default_iterations(excite: Option<crate::types::ExciteShape>) -> usize {
    match excite {
        Some(crate::types::ExciteShape::Bow) => DEFAULT_BOWED_ITERATIONS,
        _ => DEFAULT_ITERATIONS,
    }
}
/// Default loss window, seconds. Two seconds see the decay as a listener
/// hears it: on 6 corpus files against 1 s, the full-length log-mel mean
/// fell 2.79 → 2.17 dB at the same first-second mean (3.64); 3 s did
/// worse on both (2.22 and 4.01).
pub const DEFAULT_LOSS_SECONDS: f64 = 2.0;

/// The result of a run.
#[derive(Debug)]
pub struct TrainOutcome {
    /// The trained model (written to `--out`).
    pub model: FitModel,
    /// The report folder.
    pub report_dir: PathBuf,
    /// Metrics per target, in order.
    pub metrics: Vec<loss::Metrics>,
    /// True when stopped early by the user.
    pub interrupted: bool,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// A checkpoint: the best model, the initial fit, the refiner's state.
#[derive(Serialize, Deserialize)]
struct Checkpoint {
    mode: String,
    targets: Vec<String>,
    base: FitModel,
    best: FitModel,
    best_loss: f64,
    iteration: usize,
    refiner: serde_json::Value,
    history: Vec<(usize, f64)>,
}

/// Runs training: targets → analysis → fit → refinement → `--out` and report.
pub fn train(
    opts: &TrainOptions,
    observer: &mut dyn Observer,
    stop: &AtomicBool,
) -> Result<TrainOutcome, TrainError> {
    let t0 = Instant::now();
    let mut refiner = check_options(opts)?;
    let run = prepare(opts, observer)?;
    let start = starting_point(opts, &run, refiner.as_mut(), observer)?;
    if !opts.resume {
        write_model(&opts.out, &start.base)?;
    }
    observer.phase(&format!("refining ({})", refiner.name()));
    let mut history = start.history.clone();
    let refined = refine_step(
        opts,
        &run,
        &start.base,
        &mut history,
        refiner.as_mut(),
        observer,
        stop,
    )?;
    let finished = finish_model(&run.problem, refined.model, refined.interrupted, observer)?;
    let mut model = finished.model;
    // The report compares at the target's level; the file plays at its own.
    let calibrated = model.clone();
    let play_level = play_level_step(&run.problem, &mut model, observer)?;
    write_model(&opts.out, &model)?;
    observer.phase("writing the report");
    let body = start
        .screened
        .iter()
        .min_by(|a, b| a.score.total_cmp(&b.score))
        .map_or_else(String::new, |s| s.template.clone());
    let metrics = report::write(
        &run.report_dir,
        &run.problem,
        &calibrated,
        &start.ranking,
        &history,
        &report::RunInfo {
            mode: opts.mode.name(),
            iterations: opts.iterations,
            seconds: t0.elapsed().as_secs_f64(),
            interrupted: refined.interrupted,
            live_errors: &refined.live_errors,
            body: &body,
            screened: &start.screened,
            notes: &finished.note_fits,
            radiation: finished.radiation.as_ref(),
            play_level: &play_level,
        },
    )?;
    Ok(TrainOutcome {
        model,
        report_dir: run.report_dir,
        metrics,
        interrupted: refined.interrupted,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// The options' own checks (before any work): at least one target, a mode
/// this build runs (its refiner is returned), a `--live` address.
fn check_options(opts: &TrainOptions) -> Result<Box<dyn Refiner>, TrainError> {
    if opts.targets.is_empty() {
        return Err(TrainError::Usage("no target WAV given".into()));
    }
    // The friction's stick-slip solve has no adjoint here: a bowed model
    // is refined by SPSA through the real engine.
    let refiner = if opts.excite == Some(ExciteShape::Bow) {
        Mode::Spsa.refiner()?
    } else {
        opts.mode.refiner()?
    };
    if let Some(live) = &opts.live {
        use std::net::ToSocketAddrs;
        live.to_socket_addrs()
            .map_err(|e| TrainError::Usage(format!("--live {live}: not HOST:PORT ({e})")))?;
    }
    Ok(refiner)
}

/// What a run works on once its targets are loaded.
struct Run {
    /// The instrument's name (from `--out`).
    name: String,
    /// `<out>.report/`.
    report_dir: PathBuf,
    /// The loaded targets and the loss window.
    problem: Problem,
    /// The targets' paths as written (a checkpoint must match them).
    target_names: Vec<String>,
    /// `<out>.report/checkpoint.json`.
    checkpoint: PathBuf,
}

/// Creates the report folder and loads the targets.
fn prepare(opts: &TrainOptions, observer: &mut dyn Observer) -> Result<Run, TrainError> {
    let name = name_from_path(&opts.out);
    let rdir = report_dir(&opts.out);
    std::fs::create_dir_all(&rdir).map_err(|e| TrainError::Io {
        path: rdir.clone(),
        reason: e.to_string(),
    })?;
    observer.phase("loading and analysing targets");
    let targets = opts
        .targets
        .iter()
        .map(|p| target::load(p).map(NoteTarget::new))
        .collect::<Result<Vec<_>, _>>()?;
    let target_names = opts
        .targets
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    Ok(Run {
        name,
        checkpoint: rdir.join("checkpoint.json"),
        report_dir: rdir,
        problem: Problem {
            targets,
            loss_seconds: opts.loss_seconds,
        },
        target_names,
    })
}

/// Where refinement starts: a fitted model, or a resumed checkpoint's.
struct Start {
    /// The model refinement starts from (bare body: no radiation filter
    /// and no level curve).
    base: FitModel,
    /// The bodies ranked against the targets (empty when resumed).
    ranking: Vec<BodyMatch>,
    /// The tone search's screening table (empty when resumed).
    screened: Vec<search::Screened>,
    /// (iteration, best loss) so far.
    history: Vec<(usize, f64)>,
}

/// Resumes from the checkpoint (`--resume`) or fits a model: the bodies
/// ranked by their modes, then the tone search.
fn starting_point(
    opts: &TrainOptions,
    run: &Run,
    refiner: &mut dyn Refiner,
    observer: &mut dyn Observer,
) -> Result<Start, TrainError> {
    let mut start = if opts.resume {
        resume(opts, run, refiner, observer)?
    } else {
        observer.phase("fitting: ranking bodies by their modes against the partials");
        let templates = match &opts.from {
            Some(i) => vec![i.clone()],
            None => fit::load_templates(&opts.templates_dir)?,
        };
        let ranking = fit::rank_bodies(&templates, &run.problem.targets);
        observer.phase("tone search: screening the best bodies and excitations");
        let (base, screened) = search::search(
            &templates,
            &ranking,
            &run.problem,
            &run.name,
            opts.excite,
            &mut *observer,
        )?;
        Start {
            base,
            ranking,
            screened,
            history: Vec::new(),
        }
    };
    // The refiners model the bare body: a radiation filter (from `--from`)
    // is fitted again at the end.
    start.base.file.radiation = None;
    start.base.file.level_curve = None;
    Ok(start)
}

/// Reads the checkpoint, checks it was made for these targets and this
/// mode, and restores the refiner's state.
fn resume(
    opts: &TrainOptions,
    run: &Run,
    refiner: &mut dyn Refiner,
    observer: &mut dyn Observer,
) -> Result<Start, TrainError> {
    let path = &run.checkpoint;
    let text = std::fs::read_to_string(path)
        .map_err(|e| TrainError::Resume(format!("{}: {e}", path.display())))?;
    let c: Checkpoint = serde_json::from_str(&text)
        .map_err(|e| TrainError::Resume(format!("{}: {e}", path.display())))?;
    if c.targets != run.target_names || c.mode != opts.mode.name() {
        return Err(TrainError::Resume(format!(
            "{} was made for other targets or another mode",
            path.display()
        )));
    }
    refiner.resume(&c.refiner)?;
    observer.phase(&format!("resumed at iteration {}", c.iteration));
    Ok(Start {
        base: c.base,
        ranking: Vec::new(),
        screened: Vec::new(),
        history: c.history,
    })
}

/// Writes `model`'s instrument file to `out` (atomically).
fn write_model(out: &Path, model: &FitModel) -> Result<(), TrainError> {
    let text = serde_json::to_string_pretty(&model.file).expect("serialises") + "\n";
    write_atomic(out, &text)
}

/// What refinement gave.
struct Refined {
    /// The best model.
    model: FitModel,
    /// True when the user stopped it.
    interrupted: bool,
    /// Failures to reach the `--live` server.
    live_errors: Vec<String>,
}

/// Runs the refiner from `base`; each better model is level-matched,
/// written to `--out`, checkpointed (`history` grows) and sent live.
fn refine_step(
    opts: &TrainOptions,
    run: &Run,
    base: &FitModel,
    history: &mut Vec<(usize, f64)>,
    refiner: &mut dyn Refiner,
    observer: &mut dyn Observer,
    stop: &AtomicBool,
) -> Result<Refined, TrainError> {
    let mut live_errors = Vec::new();
    let mut on_improved = |m: &FitModel, loss: f64, it: usize, state: serde_json::Value| {
        let mut m = m.clone();
        fit::set_gain(&mut m, &run.problem.targets)?;
        write_model(&opts.out, &m)?;
        history.push((it, loss));
        let c = Checkpoint {
            mode: opts.mode.name().into(),
            targets: run.target_names.clone(),
            base: base.clone(),
            best: m.clone(),
            best_loss: loss,
            iteration: it,
            refiner: state,
            history: history.clone(),
        };
        write_atomic(
            &run.checkpoint,
            &(serde_json::to_string(&c).expect("serialises") + "\n"),
        )?;
        if let Some(addr) = &opts.live {
            if let Err(e) = send_reload(addr, &m.file.name) {
                live_errors.push(e.to_string());
            }
        }
        Ok(())
    };
    let mut ctx = RefineContext {
        iterations: opts.iterations,
        stop,
        observer: &mut *observer,
        on_improved: &mut on_improved,
        history: Vec::new(),
    };
    let model = refiner.refine(&run.problem, base, &mut ctx)?;
    let interrupted = ctx.should_stop();
    Ok(Refined {
        model,
        interrupted,
        live_errors,
    })
}

/// The refined model finished: notes shaped, radiation filter, release.
struct Finished {
    /// The finished model, gain matched to the targets.
    model: FitModel,
    /// Per-note corrections (several targets; empty when interrupted).
    note_fits: Vec<multinote::NoteFit>,
    /// The radiation filter's fit (`None` when interrupted).
    radiation: Option<radiation::RadiationFit>,
}

/// Shapes the notes and fits the radiation filter (skipped when the user
/// stopped the run), sets the recordings' release, matches the gain.
fn finish_model(
    problem: &Problem,
    refined: FitModel,
    interrupted: bool,
    observer: &mut dyn Observer,
) -> Result<Finished, TrainError> {
    let (mut model, note_fits) = if interrupted {
        (refined, Vec::new())
    } else {
        observer.phase("shaping notes");
        multinote::shape_notes(problem, &refined, &mut *observer)?
    };
    let radiation = if interrupted {
        None
    } else {
        observer.phase("fitting the radiation filter");
        let losses = problem.losses(&LossConfig::default());
        let (m, f) = radiation::fit_radiation(problem, &model, &losses)?;
        observer.phase(&format!(
            "radiation filter {}: loss {:.4} → {:.4}",
            if f.kept { "kept" } else { "not kept (no gain)" },
            f.loss_before,
            f.loss_after
        ));
        model = m;
        Some(f)
    };
    if let Some(t60) = problem.release_t60() {
        observer.phase(&format!(
            "the recording releases a held note: release T60 {t60:.2} s"
        ));
        model.file.physics.release_t60 = Some(t60);
    }
    fit::set_gain(&mut model, &problem.targets)?;
    Ok(Finished {
        model,
        note_fits,
        radiation,
    })
}

/// Sets the play level (each trained note at the recording's velocity
/// peaks where its recording peaks) and says so in the model's description.
fn play_level_step(
    problem: &Problem,
    model: &mut FitModel,
    observer: &mut dyn Observer,
) -> Result<level::PlayLevel, TrainError> {
    observer.phase("setting the play level (trained notes at the recordings' peaks)");
    let trained: Vec<level::TrainedPeak> = problem
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| level::TrainedPeak {
            note: model.play_notes.get(i).copied().unwrap_or(t.target.note),
            recording_peak: t
                .target
                .samples
                .iter()
                .fold(0.0f64, |m, &v| m.max((v as f64).abs())),
            render_peak: 0.0,
        })
        .collect();
    let t_level = Instant::now();
    let play_level = level::set_play_level(model, &trained)?;
    let clause = play_level.description();
    // A model refined `--from` a trained file carries its old clause.
    let own = &model.file.description;
    let own = own[..level::clause_start(own).unwrap_or(own.len())].trim_end();
    model.file.description = format!("{own} {clause}").trim().to_string();
    let db = |x: f64| 20.0 * x.max(1e-12).log10();
    let worst = play_level
        .trained
        .iter()
        .map(|t| db(t.render_peak) - db(t.recording_peak))
        .fold(0.0f64, |m, d| if d.abs() > m.abs() { d } else { m });
    observer.phase(&format!(
        "play level: gain {:+.1} dB, trained notes within {:.1} dB of their recordings' peaks; \
         velocity 1 peaks at {:.1} dBFS at note {:.0}, the loudest of {} measured ({:.1} s)",
        play_level.gain_db,
        worst.abs(),
        db(play_level.peak_full_range),
        play_level.loudest_note,
        play_level.notes.len(),
        t_level.elapsed().as_secs_f64()
    ));
    Ok(play_level)
}
