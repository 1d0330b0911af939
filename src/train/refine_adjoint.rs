//! The adjoint refiner (`--mode adjoint`, `hybrid`, `progressive`): Adam
//! on the instrument file's **stiffness and σ₀ maps, node by node**, plus
//! σ₁, the strike position and the contact time, with exact gradients of
//! the loss from [`super::adjoint`].
//!
//! # From the file to the adjoint model, and back
//!
//! Target `i` is played at `model.play_notes[i]`; [`Instrument::plan`]
//! gives the pyramid level and the scheme (`a`, `b`, `κk²`, `k`). The
//! adjoint model ([`voice`]) runs that level at one step per sample with
//! the level's maps, the engine's strike (velocity [`fit::VELOCITY`]
//! through [`velocity_amplitude`], the pitch loudness, the contact time
//! `contact_ms·2^(1−2v)` rounded to steps) or its pluck (the initial
//! displacement, [`adjoint::Model::with_initial_displacement`]), and both
//! pickups mixed to mono ([`adjoint::Model::with_pickups`]). On the loss
//! side the output goes through the engine's 5 Hz DC blocker, the onset
//! alignment of [`super::Problem::render_aligned`] and the RMS match of
//! [`super::Problem::loss`]; the gradient runs back through all three (the
//! RMS match is scale-invariant, so `dL/dy` loses its component along `y`).
//!
//! Back to the file: `dL/dσ₁ = dL/db · 2·scale·k`; the contact time and
//! strike position map one to one; the maps of a coarser level are pulled
//! back to the file's resolution through the adjoint of
//! [`Body::downsample_map`] (each coarse node's gradient shared among the
//! body nodes it averages). The stiffness map also tunes the note: the
//! engine sets `a = (4 sin²(πfk) − κk²)/μ₁(s)`, so the stiffness gradient
//! carries `−a·∂L/∂a·∂μ₁/∂s_i/μ₁`, with `∂μ₁/∂s_i = μ₁φ_i²/s_i` from the
//! fundamental's eigenvector `φ` of `S^{1/2}(−G)S^{1/2}` (Lanczos Ritz
//! vector, [`fundamental_sensitivity`]).
//!
//! # What it cannot model
//!
//! Notes the engine plays with oversampling (`M > 1` steps per sample:
//! above what the coarsest level plays at one step) and noise-burst
//! excitations. Such targets are left out of the gradient (their loss
//! still counts in every accept decision); when no target can be modelled
//! the refiner runs SPSA instead and says so. The pickup positions and the
//! strike width are not differentiated (the adjoint has no gradient for
//! them): `hybrid` moves them in its SPSA phase.
//!
//! # The loop
//!
//! Parameters θ: `ln s` and `ln(σ₀ + 0.05)` per body node of the file,
//! `ln(σ₁ + 0.1)`, logit of the strike position, `ln contact_ms`. Adam
//! with a cosine learning rate (to a tenth), coarse-to-fine loss stages
//! ([`LossConfig::coarse_to_fine`], a third of the iterations each). Each
//! update is made certified: the stepped file goes through
//! [`fit::certify`] (σ₁ halved until every note plans stably), the step
//! halved (up to 6 times) while it cannot be, and θ re-read from the
//! certified file. Every iterate is scored through the real engine
//! ([`engine_loss`]) and only improvements reach
//! [`RefineContext::improved`], so the result is never worse than the
//! analysis fit.
//!
//! `hybrid`: SPSA ([`Spsa`]) for the first half of the iterations (scalars
//! and pickups), then the adjoint from its result. `progressive`: the first
//! half models each note one pyramid level coarser (32×32 for a 64×64
//! body: a quarter of the cost; the coarse gradient lands on the file's
//! maps as a piecewise-constant update), the second half the level the
//! engine plays.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::adjoint::{self, Checkpointing, Params, StrikeParams};
use super::fit::{self, certify, Model, VELOCITY};
use super::loss::{LossConfig, SpectralLoss};
use super::spsa::Spsa;
use super::target::{onset_index, SAMPLE_RATE};
use super::{Problem, RefineContext, Refiner, TrainError};
use crate::instrument::format::{ExciteShape, MapData};
use crate::instrument::{note_to_hz, Instrument, PLAN_SAFETY};
use crate::physics::body::{Body, NodeKind};
use crate::physics::certificate::{Certificate, LIMIT};
use crate::physics::modes::{tridiagonal_eigenvalues, RIGID_MODE_EPS};
use crate::physics::scheme::BodyMaps;
use crate::voice::velocity_amplitude;

/// Extra samples rendered beyond the loss window (as [`Problem::render_aligned`]).
const TAIL_SECONDS: f64 = 0.05;
/// Offset inside the σ₀ logarithm (σ₀ may be 0).
const SIGMA0_EPS: f64 = 0.05;
/// Offset inside the σ₁ logarithm (as SPSA's).
const SIGMA1_EPS: f64 = 0.1;
/// Lanczos steps for the fundamental's eigenvector (as the engine's tuning).
const LANCZOS_STEPS: usize = 192;
/// Number of scalars after the two maps in θ.
const SCALARS: usize = 4;

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

/// Why a target cannot be played by the adjoint model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Unmodelled {
    /// The engine plays the note with `M > 1` steps per sample.
    #[error(
        "note {note:.2} needs {oversample}× oversampling (the adjoint models one step per sample)"
    )]
    Oversampled {
        /// The note.
        note: f64,
        /// Steps per sample.
        oversample: u32,
    },
    /// The excitation is a noise burst (random: no gradient).
    #[error("noise-burst excitations are not modelled")]
    Noise,
    /// The note cannot be planned or the model refused it.
    #[error("{0}")]
    Other(String),
}

/// The adjoint model of one note of an instrument, and how its gradient
/// maps back to the file.
pub struct Voice {
    /// Pyramid level modelled.
    pub level: usize,
    /// The model (both pickups, the strike or pluck).
    pub model: adjoint::Model<f32>,
    /// Its parameters at the file's current values.
    pub params: Params<f32>,
    /// `φ_i²/s_i` per level node (row-major): `∂μ₁/∂s_i / μ₁`.
    dmu: Vec<f64>,
    /// `dσ₁ → db`: `2·σ₁scale·k`.
    db_dsigma1: f64,
    /// Contact time in steps before rounding, and the file's contact_ms.
    contact: (f64, f64),
    /// True for a strike (position and contact time have gradients).
    strike: bool,
    /// Bodies from level 0 to `level` (for the pull-back).
    bodies: Vec<Body>,
}

/// The engine's raised-cosine window (`excitation::window`, in `f32`):
/// (first node, taps).
fn engine_window(centre: f32, radius: f32, len: usize) -> (usize, Vec<f32>) {
    let r = radius
        .max(0.5)
        .min((crate::voice::excitation::MAX_WINDOW / 2) as f32 - 0.5);
    let lo = (centre - r).ceil().max(0.0) as usize;
    let hi = ((centre + r).floor() as isize)
        .min(len as isize - 1)
        .max(lo as isize) as usize;
    let n = (hi - lo + 1).min(crate::voice::excitation::MAX_WINDOW);
    let taps = (0..n)
        .map(|j| {
            let d = ((lo + j) as f32 - centre) / (r + 0.5);
            0.5 * (1.0 + (std::f32::consts::PI * d).cos())
        })
        .collect();
    (lo, taps)
}

/// The engine's pluck displacement (`Excitation::setup`, `ExciteShape::Pluck`)
/// on `body` (row-major).
fn pluck_field(body: &Body, pos: (f32, f32), amplitude: f32, width: f32) -> Vec<f32> {
    /// `excitation::PLUCK_SCALE`.
    const PLUCK_SCALE: f32 = 0.2;
    let (w, h) = (body.width, body.height);
    let radius = 0.5 * width * w as f32;
    let cx = pos.0.clamp(0.0, 1.0) * (w - 1) as f32;
    let cy = pos.1.clamp(0.0, 1.0) * (h - 1) as f32;
    let (x0, wx) = engine_window(cx, radius, w);
    let (y0, wy) = if h == 1 {
        (0, vec![1.0])
    } else {
        engine_window(cy, radius, h)
    };
    let is_body = |x: usize, y: usize| body.mask[y * w + x] == NodeKind::Body;
    let mut peak = 0.0f32;
    for (j, &vy) in wy.iter().enumerate() {
        for (i, &vx) in wx.iter().enumerate() {
            if is_body(x0 + i, y0 + j) {
                peak = peak.max(vx * vy);
            }
        }
    }
    let mut out = vec![0.0f32; w * h];
    if peak == 0.0 {
        return out;
    }
    let s = amplitude * PLUCK_SCALE / peak;
    for (j, &vy) in wy.iter().enumerate() {
        for (i, &vx) in wx.iter().enumerate() {
            if is_body(x0 + i, y0 + j) {
                out[(y0 + j) * w + x0 + i] = s * vx * vy;
            }
        }
    }
    out
}

/// Row-major values of a padded map.
fn unpad(maps: &BodyMaps, padded: &[f32]) -> Vec<f32> {
    let b = &maps.body;
    let mut out = Vec::with_capacity(b.width * b.height);
    for y in 0..b.height {
        for x in 0..b.width {
            out.push(padded[maps.layout.idx(x, y)]);
        }
    }
    out
}

/// The fundamental (lowest elastic) eigenvalue μ₁ of `maps` and
/// `φ_i²/s_i` per node (row-major, zero off the body), `φ` its unit
/// eigenvector of `S^{1/2}(−G)S^{1/2}`: then `∂μ₁/∂s_i = μ₁·φ_i²/s_i`.
/// Lanczos as [`crate::physics::modes::lowest_eigenvalues`] (same start,
/// same steps), the Ritz vector by inverse iteration on the tridiagonal.
pub fn fundamental_sensitivity(maps: &BodyMaps) -> Option<(f64, Vec<f64>)> {
    let l = maps.layout;
    let nodes: Vec<usize> = (0..l.len).filter(|&p| maps.stiffness[p] > 0.0).collect();
    let n = nodes.len();
    if n == 0 {
        return None;
    }
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let m = n.min(LANCZOS_STEPS);
    let mut basis: Vec<Vec<f64>> = Vec::with_capacity(m);
    let (mut alpha, mut beta) = (Vec::with_capacity(m), Vec::<f64>::with_capacity(m));
    let mut v: Vec<f64> = (0..n)
        .map(|i| 1.0 + 0.5 * (((i as u64).wrapping_mul(2654435761) % 1000) as f64 / 1000.0))
        .collect();
    let nv = dot(&v, &v).sqrt();
    v.iter_mut().for_each(|x| *x /= nv);
    let (mut xp, mut yp) = (vec![0.0; l.len], vec![0.0; l.len]);
    for j in 0..m {
        for (k, &p) in nodes.iter().enumerate() {
            xp[p] = v[k];
        }
        maps.apply_operator(&xp, &mut yp);
        let mut w: Vec<f64> = nodes.iter().map(|&p| yp[p]).collect();
        alpha.push(dot(&w, &v));
        basis.push(v.clone());
        for _ in 0..2 {
            for q in &basis {
                let c = dot(&w, q);
                w.iter_mut().zip(q).for_each(|(wi, qi)| *wi -= c * qi);
            }
        }
        let bn = dot(&w, &w).sqrt();
        if j + 1 == m || bn < 1e-12 {
            break;
        }
        beta.push(bn);
        v = w.into_iter().map(|x| x / bn).collect();
    }
    let k = alpha.len();
    let eig = tridiagonal_eigenvalues(&alpha, &beta, k.min(12));
    let mu = *eig.iter().find(|&&e| e > RIGID_MODE_EPS)?;
    // Inverse iteration on the tridiagonal (dense LU with partial pivoting).
    let shift = mu * (1.0 - 1e-9);
    let mut y = vec![1.0; k];
    for _ in 0..3 {
        let mut a = vec![0.0; k * k];
        for i in 0..k {
            a[i * k + i] = alpha[i] - shift;
            if i + 1 < k {
                a[i * k + i + 1] = beta[i];
                a[(i + 1) * k + i] = beta[i];
            }
        }
        y = solve_dense(&mut a, k, y)?;
        let ny = dot(&y, &y).sqrt();
        if !ny.is_finite() || ny == 0.0 {
            return None;
        }
        y.iter_mut().for_each(|v| *v /= ny);
    }
    let mut phi = vec![0.0; n];
    for (c, q) in y.iter().zip(&basis) {
        phi.iter_mut().zip(q).for_each(|(p, v)| *p += c * v);
    }
    let np = dot(&phi, &phi);
    let mut out = vec![0.0; maps.body.width * maps.body.height];
    for (i, &p) in nodes.iter().enumerate() {
        let (x, yy) = ((p % l.stride) - 1, (p / l.stride) - 1);
        out[yy * maps.body.width + x] = phi[i] * phi[i] / np / maps.stiffness[p] as f64;
    }
    Some((mu, out))
}

/// Solves `A x = b` (A row-major `k × k`, destroyed) by LU with partial pivoting.
fn solve_dense(a: &mut [f64], k: usize, mut b: Vec<f64>) -> Option<Vec<f64>> {
    for c in 0..k {
        let p = (c..k).max_by(|&i, &j| a[i * k + c].abs().total_cmp(&a[j * k + c].abs()))?;
        if p != c {
            for j in 0..k {
                a.swap(c * k + j, p * k + j);
            }
            b.swap(c, p);
        }
        let piv = if a[c * k + c] == 0.0 {
            1e-300
        } else {
            a[c * k + c]
        };
        for r in c + 1..k {
            let f = a[r * k + c] / piv;
            if f != 0.0 {
                for j in c..k {
                    a[r * k + j] -= f * a[c * k + j];
                }
                b[r] -= f * b[c];
            }
        }
    }
    let mut x = vec![0.0; k];
    for r in (0..k).rev() {
        let s: f64 = (r + 1..k).map(|j| a[r * k + j] * x[j]).sum();
        let piv = if a[r * k + r] == 0.0 {
            1e-300
        } else {
            a[r * k + r]
        };
        x[r] = (b[r] - s) / piv;
    }
    Some(x)
}

/// The adjoint model of `inst` playing `note`, `coarser` levels below the
/// level the engine plans (when that level plays the note at one step per
/// sample; else the planned level).
pub fn voice(inst: &Instrument, note: f64, coarser: usize) -> Result<Voice, Unmodelled> {
    let sr = SAMPLE_RATE as f64;
    let plan = inst.plan(note, 0.0, sr).map_err(Unmodelled::Other)?;
    if plan.oversample > 1 {
        return Err(Unmodelled::Oversampled {
            note,
            oversample: plan.oversample,
        });
    }
    let f = &inst.file;
    if f.excitation.shape == ExciteShape::Noise {
        return Err(Unmodelled::Noise);
    }
    let mut level = plan.level;
    for l in (plan.level + 1..=(plan.level + coarser).min(inst.levels.len() - 1)).rev() {
        let p = inst.params(l, 1, note, sr);
        if p.a > 0.0 && Certificate::new(inst.levels[l].bound, &p).value < LIMIT * PLAN_SAFETY {
            level = l;
            break;
        }
    }
    let lv = &inst.levels[level];
    let sp = inst.params(level, 1, note, sr);
    let body = lv.maps.body.clone();
    let stiffness = unpad(&lv.maps, &lv.maps.stiffness);
    let sigma0 = unpad(&lv.maps, &lv.maps.sigma0);
    let (_, dmu) = fundamental_sensitivity(&lv.maps)
        .ok_or_else(|| Unmodelled::Other("the body has no elastic mode".into()))?;
    let v = VELOCITY.clamp(0.0, 1.0);
    let amp = velocity_amplitude(v);
    let loudness =
        (note_to_hz(note) / note_to_hz(f.reference_note) * 0.42f64.powi(level as i32)) as f32;
    // As `Voice::start` and `Excitation::setup` (brightness 0.5: no change).
    let contact_s = (f.excitation.contact_ms * 1e-3 * 2f64.powf(1.0 - 2.0 * v as f64)) as f32;
    let k32 = sp.k as f32;
    let steps = ((contact_s / k32).round() as u32).max(1);
    let left = (f.pickups.left[0], f.pickups.left[1]);
    let right = (f.pickups.right[0], f.pickups.right[1]);
    let strike = f.excitation.shape == ExciteShape::Strike;
    let err = |e: adjoint::AdjointError| Unmodelled::Other(e.to_string());
    let mut model = adjoint::Model::<f32>::new(body.clone(), sp.k, left, f.excitation.width)
        .map_err(err)?
        .with_pickups(left, right)
        .with_threads(2);
    if !strike {
        let u0 = pluck_field(
            &body,
            (f.excitation.x as f32, f.excitation.y as f32),
            amp,
            f.excitation.width as f32,
        );
        model = model.with_initial_displacement(&u0).map_err(err)?;
    }
    let params = Params {
        stiffness,
        sigma0,
        a: sp.a as f32,
        b: sp.b as f32,
        kappa_k2: sp.kappa_k2 as f32,
        strike: StrikeParams {
            x: f.excitation.x as f32,
            y: f.excitation.y as f32,
            amplitude: if strike { amp * loudness } else { 0.0 },
            contact_steps: steps as f32,
        },
        gain: f.gain as f32,
    };
    let mut bodies = vec![inst.levels[0].maps.body.clone()];
    for l in 1..=level {
        bodies.push(inst.levels[l].maps.body.clone());
    }
    Ok(Voice {
        level,
        model,
        params,
        dmu,
        db_dsigma1: 2.0 * lv.sigma1_scale * sp.k,
        contact: ((contact_s / k32) as f64, f.excitation.contact_ms),
        strike,
        bodies,
    })
}

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
pub fn render_voice(v: &Voice, steps: usize) -> Result<Vec<f64>, TrainError> {
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
    v: &Voice,
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
    model: &Model,
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
    model: &Model,
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

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-4, 1.0 - 1e-4);
    (p / (1.0 - p)).ln()
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

/// θ of a model: `ln s`, `ln(σ₀ + ε)` per node, then `ln(σ₁ + ε)`, logit x,
/// logit y, `ln contact_ms`.
pub fn theta_of(model: &Model) -> Result<Vec<f64>, TrainError> {
    let f = &model.file;
    let n = f.mesh.width * f.mesh.height;
    let s = f.maps.stiffness.decode_f32(n).map_err(TrainError::Format)?;
    let d = f.maps.sigma0.decode_f32(n).map_err(TrainError::Format)?;
    let mut t: Vec<f64> = s.iter().map(|&v| (v as f64).max(1e-6).ln()).collect();
    t.extend(d.iter().map(|&v| (v as f64 + SIGMA0_EPS).max(1e-9).ln()));
    t.push((f.physics.sigma1 + SIGMA1_EPS).ln());
    t.push(logit(f.excitation.x));
    t.push(logit(f.excitation.y));
    t.push(f.excitation.contact_ms.ln());
    Ok(t)
}

/// The model with parameters θ on `base` (body nodes' maps, σ₁, strike),
/// certified ([`fit::certify`]), and its validated instrument.
pub fn model_of(base: &Model, theta: &[f64]) -> Result<(Model, Arc<Instrument>), TrainError> {
    let mut m = base.clone();
    let f = &mut m.file;
    let n = f.mesh.width * f.mesh.height;
    if theta.len() != 2 * n + SCALARS || !theta.iter().all(|v| v.is_finite()) {
        return Err(TrainError::Usage(
            "adjoint refiner: bad parameter vector".into(),
        ));
    }
    let mask = f.maps.mask.decode_u8(n).map_err(TrainError::Format)?;
    let mut s = f.maps.stiffness.decode_f32(n).map_err(TrainError::Format)?;
    let mut d = f.maps.sigma0.decode_f32(n).map_err(TrainError::Format)?;
    for i in 0..n {
        if mask[i] == 1 {
            s[i] = theta[i].exp().clamp(1e-3, 1.0) as f32;
            d[i] = (theta[n + i].exp() - SIGMA0_EPS).clamp(0.0, 200.0) as f32;
        }
    }
    f.maps.stiffness = MapData::from_f32(&s);
    f.maps.sigma0 = MapData::from_f32(&d);
    f.physics.sigma1 = (theta[2 * n].exp() - SIGMA1_EPS).clamp(0.0, 100.0);
    f.excitation.x = sigmoid(theta[2 * n + 1]).clamp(0.01, 0.99);
    if f.mesh.height > 1 {
        f.excitation.y = sigmoid(theta[2 * n + 2]).clamp(0.01, 0.99);
    }
    f.excitation.contact_ms = theta[2 * n + 3].exp().clamp(0.05, 50.0);
    let inst = certify(&mut m)?;
    Ok((m, inst))
}

/// `∂L/∂θ` from the file gradient at `model`.
fn theta_grad(model: &Model, g: &FileGradient) -> Result<Vec<f64>, TrainError> {
    let f = &model.file;
    let n = f.mesh.width * f.mesh.height;
    let s = f.maps.stiffness.decode_f32(n).map_err(TrainError::Format)?;
    let d = f.maps.sigma0.decode_f32(n).map_err(TrainError::Format)?;
    let mut out: Vec<f64> = (0..n).map(|i| g.stiffness[i] * s[i] as f64).collect();
    out.extend((0..n).map(|i| g.sigma0[i] * (d[i] as f64 + SIGMA0_EPS)));
    out.push(g.sigma1 * (f.physics.sigma1 + SIGMA1_EPS));
    let (x, y) = (f.excitation.x, f.excitation.y);
    out.push(g.position.0 * x * (1.0 - x));
    out.push(if f.mesh.height > 1 {
        g.position.1 * y * (1.0 - y)
    } else {
        0.0
    });
    out.push(g.contact_ms * f.excitation.contact_ms);
    Ok(out)
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
    pub start: Option<Model>,
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
        base: &Model,
        ctx: &mut RefineContext<'_>,
        end: usize,
    ) -> Result<Model, TrainError> {
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
        start: &Model,
        ctx: &mut RefineContext<'_>,
        first: usize,
        end: usize,
        coarser: usize,
    ) -> Result<Model, TrainError> {
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
        base: &Model,
        ctx: &mut RefineContext<'_>,
    ) -> Result<Model, TrainError> {
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
