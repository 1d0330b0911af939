//! The adjoint model of one note of an instrument ([`voice`]) and the
//! fundamental's sensitivity to the stiffness map ([`fundamental_sensitivity`]).

use crate::instrument::format::ExciteShape;
use crate::instrument::{note_to_hz, Instrument, PLAN_SAFETY};
use crate::physics::body::{Body, NodeKind};
use crate::physics::certificate::{Certificate, LIMIT};
use crate::physics::modes::{tridiagonal_eigenvalues, RIGID_MODE_EPS};
use crate::physics::scheme::BodyMaps;
use crate::train::adjoint::{self, Params, StrikeParams};
use crate::train::fit::VELOCITY;
use crate::train::target::SAMPLE_RATE;
use crate::voice::velocity_amplitude;

/// Lanczos steps for the fundamental's eigenvector (as the engine's tuning).
const LANCZOS_STEPS: usize = 192;

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
pub struct AdjointVoice {
    /// Pyramid level modelled.
    pub level: usize,
    /// The model (both pickups, the strike or pluck).
    pub model: adjoint::AdjointModel<f32>,
    /// Its parameters at the file's current values.
    pub params: Params<f32>,
    /// `φ_i²/s_i` per level node (row-major): `∂μ₁/∂s_i / μ₁`.
    pub(super) dmu: Vec<f64>,
    /// `dσ₁ → db`: `2·σ₁scale·k`.
    pub(super) db_dsigma1: f64,
    /// Contact time in steps before rounding, and the file's contact_ms.
    pub(super) contact: (f64, f64),
    /// True for a strike (position and contact time have gradients).
    pub(super) strike: bool,
    /// Bodies from level 0 to `level` (for the pull-back).
    pub(super) bodies: Vec<Body>,
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
pub fn voice(inst: &Instrument, note: f64, coarser: usize) -> Result<AdjointVoice, Unmodelled> {
    let sr = SAMPLE_RATE as f64;
    let plan = inst
        .plan(note, 0.0, sr)
        .map_err(|e| Unmodelled::Other(e.to_string()))?;
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
    let mut model = adjoint::AdjointModel::<f32>::new(body.clone(), sp.k, left, f.excitation.width)
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
    Ok(AdjointVoice {
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
