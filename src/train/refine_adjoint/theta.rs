//! The refiner's parameters θ and the instrument file: θ of a model, the
//! certified model of a θ, and `∂L/∂θ` from the file gradient.

use std::sync::Arc;

use super::gradient::FileGradient;
use crate::instrument::format::MapData;
use crate::instrument::Instrument;
use crate::train::error::TrainError;
use crate::train::fit::{certify, FitModel};

/// Offset inside the σ₀ logarithm (σ₀ may be 0).
const SIGMA0_EPS: f64 = 0.05;
/// Offset inside the σ₁ logarithm (as SPSA's).
const SIGMA1_EPS: f64 = 0.1;
/// Number of scalars after the two maps in θ.
pub(super) const SCALARS: usize = 4;

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-4, 1.0 - 1e-4);
    (p / (1.0 - p)).ln()
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

/// θ of a model: `ln s`, `ln(σ₀ + ε)` per node, then `ln(σ₁ + ε)`, logit x,
/// logit y, `ln contact_ms`.
pub fn theta_of(model: &FitModel) -> Result<Vec<f64>, TrainError> {
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
/// certified ([`fit::certify`](crate::train::fit::certify)), and its validated instrument.
pub fn model_of(base: &FitModel, theta: &[f64]) -> Result<(FitModel, Arc<Instrument>), TrainError> {
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
pub(super) fn theta_grad(model: &FitModel, g: &FileGradient) -> Result<Vec<f64>, TrainError> {
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
