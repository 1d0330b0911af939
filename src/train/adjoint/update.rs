//! Parameter updates that keep the certificate: clamping, projection and
//! backtracking steps.

use crate::physics::certificate::{Certificate, LIMIT};
use crate::physics::kernel::Real;

use super::model::AdjointModel;
use super::params::{Bounds, Params};

impl<T: Real> AdjointModel<T> {
    /// Clamps every parameter into `bounds` (maps, non-negative scalars,
    /// positions in 0..1, contact time ≥ its minimum). No certificate.
    pub fn clamp_to_bounds(&self, p: &mut Params<T>, bounds: &Bounds) {
        let clamp = |v: T, (lo, hi): (f64, f64)| T::from_f64(v.to_f64().clamp(lo, hi));
        for v in &mut p.stiffness {
            *v = clamp(*v, bounds.stiffness);
        }
        for v in &mut p.sigma0 {
            *v = clamp(*v, bounds.sigma0);
        }
        let pos = (0.0, f64::MAX);
        p.a = clamp(p.a, pos);
        p.b = clamp(p.b, pos);
        p.kappa_k2 = clamp(p.kappa_k2, pos);
        p.strike.x = clamp(p.strike.x, (0.0, 1.0));
        p.strike.y = clamp(p.strike.y, (0.0, 1.0));
        p.strike.amplitude = clamp(p.strike.amplitude, pos);
        p.strike.contact_steps =
            clamp(p.strike.contact_steps, (bounds.min_contact_steps, f64::MAX));
    }

    /// Projects `p` onto the certified set: [`AdjointModel::clamp_to_bounds`],
    /// then, while `(a+2b)·r + κk² ≥ 4·safety`, scales the stiffness map
    /// down (the row bound `r` is linear in it; `a` and `b` instead once the
    /// map sits at its floor). Returns the certificate, which then holds
    /// with the margin `bounds.safety`.
    pub fn project(&self, p: &mut Params<T>, bounds: &Bounds) -> Certificate {
        self.clamp_to_bounds(p, bounds);
        let limit = LIMIT * bounds.safety;
        if p.kappa_k2.to_f64() >= 0.5 * limit {
            p.kappa_k2 = T::from_f64(0.5 * limit);
        }
        let floor = bounds.stiffness.0;
        let mut cert = self.certificate(p);
        for _ in 0..200 {
            if cert.value.is_finite() && cert.value < limit {
                break;
            }
            let kk = p.kappa_k2.to_f64();
            let rho = ((limit - kk) / (cert.value - kk) * (1.0 - 1e-4)).clamp(0.0, 0.999);
            let rho = if rho.is_finite() { rho } else { 0.5 };
            let smax = p
                .stiffness
                .iter()
                .map(|v| v.to_f64())
                .fold(0.0f64, f64::max);
            if smax > floor * 1.0001 {
                for v in &mut p.stiffness {
                    *v = T::from_f64((v.to_f64() * rho).max(floor));
                }
            } else {
                p.a = T::from_f64(p.a.to_f64() * rho);
                p.b = T::from_f64(p.b.to_f64() * rho);
            }
            cert = self.certificate(p);
        }
        cert
    }

    /// Applies the update `p += step · dir` keeping the certificate
    /// (backtracking): the trial point is clamped to `bounds` and accepted
    /// once `(a+2b)·r + κk² < 4·safety`; otherwise the step is halved (up to
    /// 40 times; then `p` is only [`AdjointModel::project`]ed). Returns the step
    /// taken and the certificate of the new `p`.
    pub fn apply_update(
        &self,
        p: &mut Params<T>,
        dir: &Params<T>,
        step: f64,
        bounds: &Bounds,
    ) -> (f64, Certificate) {
        let limit = LIMIT * bounds.safety;
        let mut alpha = step;
        for _ in 0..40 {
            let mut trial = p.clone();
            trial.axpy(alpha, dir);
            if trial.is_finite() {
                self.clamp_to_bounds(&mut trial, bounds);
                let cert = self.certificate(&trial);
                if cert.value.is_finite() && cert.value < limit {
                    *p = trial;
                    return (alpha, cert);
                }
            }
            alpha *= 0.5;
        }
        (0.0, self.project(p, bounds))
    }
}
