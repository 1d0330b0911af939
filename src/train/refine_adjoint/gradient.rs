//! The loss and its gradient on the instrument file: the adjoint model's
//! output through the engine's DC blocker, the onset alignment and the RMS
//! match, then back to the file's maps and scalars.

use std::sync::Arc;

use super::voice::{voice, AdjointVoice, Unmodelled};
use crate::instrument::Instrument;
use crate::physics::body::{Body, NodeKind};
use crate::train::adjoint::{self, Checkpointing, Params};
use crate::train::error::TrainError;
use crate::train::fit::{self, FitModel};
use crate::train::loss::SpectralLoss;
use crate::train::problem::Problem;
use crate::train::target::{onset_index, SAMPLE_RATE};

/// Extra samples rendered beyond the loss window (as [`Problem::render_aligned`]).
const TAIL_SECONDS: f64 = 0.05;

/// The engine's output DC blocker (one pole at 5 Hz, `r` as the voice rounds it).
fn dc_r() -> f64 {
    (1.0f32 - (2.0 * std::f64::consts::PI * 5.0 / SAMPLE_RATE as f64) as f32) as f64
}

/// Applies the DC blocker `y[n] = x[n] − x[n−1] + r·y[n−1]`.
pub fn dc_block(x: &[f64]) -> Vec<f64> {
    let r = dc_r();
    let (mut x1, mut y1) = (0.0, 0.0);
    x.iter()
        .map(|&v| {
            let y = v - x1 + r * y1;
            x1 = v;
            y1 = y;
            y
        })
        .collect()
}

/// The transpose of [`dc_block`]: the same filter run backwards in time.
pub fn dc_block_adjoint(g: &[f64]) -> Vec<f64> {
    let mut out = dc_block(&g.iter().rev().copied().collect::<Vec<_>>());
    out.reverse();
    out
}

/// The adjoint model's mono output for `steps` samples (DC-blocked): what
/// [`fit::render_mono`] gives for the same note.
pub fn render_voice(v: &AdjointVoice, steps: usize) -> Result<Vec<f64>, TrainError> {
    let y = v
        .model
        .forward(&v.params, steps)
        .map_err(|e| TrainError::Render(e.to_string()))?;
    Ok(dc_block(&y.iter().map(|&s| s as f64).collect::<Vec<_>>()))
}

/// Gradient of the loss with respect to the file's parameters.
#[derive(Clone, Debug, Default)]
pub struct FileGradient {
    /// `∂L/∂s` per node of the file's map (row-major; zero off the body).
    pub stiffness: Vec<f64>,
    /// `∂L/∂σ₀` per node.
    pub sigma0: Vec<f64>,
    /// `∂L/∂σ₁`.
    pub sigma1: f64,
    /// `∂L/∂excitation.x`, `∂L/∂excitation.y` (strikes only).
    pub position: (f64, f64),
    /// `∂L/∂excitation.contact_ms` (strikes only; the smooth model's: the engine rounds to steps).
    pub contact_ms: f64,
    /// Per target: `None` when modelled, else why not.
    pub unmodelled: Vec<Option<Unmodelled>>,
}

impl FileGradient {
    fn zeros(n: usize, targets: usize) -> Self {
        Self {
            stiffness: vec![0.0; n],
            sigma0: vec![0.0; n],
            unmodelled: vec![None; targets],
            ..Self::default()
        }
    }
}

/// The adjoint of [`Body::downsample_map`]: a gradient on the coarse map
/// to one on the fine map.
pub fn downsample_map_adjoint(fine: &Body, coarse: &Body, g: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; fine.width * fine.height];
    for cy in 0..coarse.height {
        for cx in 0..coarse.width {
            let gc = g[cy * coarse.width + cx];
            if gc == 0.0 {
                continue;
            }
            let nodes: Vec<(usize, usize)> = fine.fine_nodes(cx, cy).collect();
            let body: Vec<usize> = nodes
                .iter()
                .map(|&(x, y)| y * fine.width + x)
                .filter(|&i| fine.mask[i] == NodeKind::Body)
                .collect();
            if body.is_empty() {
                for &(x, y) in &nodes {
                    out[y * fine.width + x] += gc / nodes.len() as f64;
                }
            } else {
                for &i in &body {
                    out[i] += gc / body.len() as f64;
                }
            }
        }
    }
    out
}

/// Loss of target `i` from the adjoint model and its gradient with respect
/// to the model's parameters (level resolution): the model's output
/// through the DC blocker, onset alignment and RMS match of
/// [`Problem::loss`], then back.
pub fn voice_loss_grad(
    problem: &Problem,
    i: usize,
    v: &AdjointVoice,
    loss: &SpectralLoss,
) -> Result<(f64, Params<f32>), TrainError> {
    let render = |e: adjoint::AdjointError| TrainError::Render(e.to_string());
    let len = problem.loss_len(i);
    let steps = len + (TAIL_SECONDS * SAMPLE_RATE as f64) as usize;
    let (y, tape) = v
        .model
        .forward_taped(&v.params, steps, Checkpointing::Auto)
        .map_err(render)?;
    let y = dc_block(&y.iter().map(|&s| s as f64).collect::<Vec<_>>());
    let target = &problem.targets[i].signal[..len];
    let t32: Vec<f32> = target.iter().map(|&s| s as f32).collect();
    let y32: Vec<f32> = y.iter().map(|&s| s as f32).collect();
    let shift = onset_index(&y32, -40.0) as isize - onset_index(&t32, -40.0) as isize;
    let src = |j: usize| {
        let s = j as isize + shift;
        (s >= 0 && (s as usize) < y.len()).then_some(s as usize)
    };
    let aligned: Vec<f64> = (0..len).map(|j| src(j).map_or(0.0, |s| y[s])).collect();
    let yy: f64 = aligned.iter().map(|v| v * v).sum();
    let g = fit::rms(target) / fit::rms(&aligned).max(1e-12);
    let z: Vec<f64> = aligned.iter().map(|v| v * g).collect();
    let (val, gz) = loss.value_and_grad(&z);
    // z = g(y)·y with g ∝ 1/‖y‖: dL/dy = g·(λ − (λ·y / y·y)·y).
    let ly: f64 = gz.iter().zip(&aligned).map(|(a, b)| a * b).sum();
    let c = if yy > 0.0 { ly / yy } else { 0.0 };
    let mut gy = vec![0.0; steps];
    for j in 0..len {
        if let Some(s) = src(j) {
            gy[s] = g * (gz[j] - c * aligned[j]);
        }
    }
    let gy: Vec<f32> = dc_block_adjoint(&gy).iter().map(|&s| s as f32).collect();
    let grads = v.model.backward(&v.params, &tape, &gy).map_err(render)?;
    Ok((val.total, grads.grad))
}

/// The mean loss over the targets (as [`Problem::loss`]) from the adjoint
/// models, and its gradient with respect to the file of `model`. Targets
/// the adjoint cannot model are skipped (`unmodelled`); the mean is over
/// the modelled ones.
pub fn loss_and_gradient(
    problem: &Problem,
    model: &FitModel,
    inst: &Instrument,
    losses: &[SpectralLoss],
    coarser: usize,
) -> Result<(f64, FileGradient), TrainError> {
    let w = model.file.mesh.width * model.file.mesh.height;
    let mut out = FileGradient::zeros(w, problem.targets.len());
    let mut voices = Vec::new();
    for (i, &note) in model.play_notes.iter().enumerate() {
        match voice(inst, note, coarser) {
            Ok(v) => voices.push((i, v)),
            Err(e) => out.unmodelled[i] = Some(e),
        }
    }
    if voices.is_empty() {
        return Ok((f64::NAN, out));
    }
    let scale = 1.0 / voices.len() as f64;
    let mut total = 0.0;
    for (i, v) in &voices {
        let (l, g) = voice_loss_grad(problem, *i, v, &losses[*i])?;
        total += l * scale;
        let a = v.params.a as f64;
        let ga = g.a as f64;
        let mut gs: Vec<f64> = g
            .stiffness
            .iter()
            .zip(&v.dmu)
            .map(|(&gs, &d)| gs as f64 - a * ga * d)
            .collect();
        let mut gd: Vec<f64> = g.sigma0.iter().map(|&x| x as f64).collect();
        for l in (0..v.level).rev() {
            gs = downsample_map_adjoint(&v.bodies[l], &v.bodies[l + 1], &gs);
            gd = downsample_map_adjoint(&v.bodies[l], &v.bodies[l + 1], &gd);
        }
        for (o, x) in out.stiffness.iter_mut().zip(&gs) {
            *o += scale * x;
        }
        for (o, x) in out.sigma0.iter_mut().zip(&gd) {
            *o += scale * x;
        }
        out.sigma1 += scale * g.b as f64 * v.db_dsigma1;
        if v.strike {
            out.position.0 += scale * g.strike.x as f64;
            out.position.1 += scale * g.strike.y as f64;
            out.contact_ms += scale * g.strike.contact_steps as f64 * v.contact.0 / v.contact.1;
        }
    }
    Ok((total, out))
}

/// The mean loss over the targets through the real engine (as
/// [`Problem::loss`], with the stage's losses built once).
pub fn engine_loss(
    problem: &Problem,
    model: &FitModel,
    inst: &Arc<Instrument>,
    losses: &[SpectralLoss],
) -> Result<f64, TrainError> {
    let mut sum = 0.0;
    for (i, l) in losses.iter().enumerate() {
        let y = problem.render_aligned(inst, model, i)?;
        let g =
            fit::rms(&problem.targets[i].signal[..problem.loss_len(i)]) / fit::rms(&y).max(1e-12);
        let y: Vec<f64> = y.iter().map(|v| v * g).collect();
        sum += l.value(&y).total;
    }
    Ok(sum / losses.len() as f64)
}
