//! Eigen-analysis of a body: the lowest modes of `S^{1/2}(−G)S^{1/2}`.
//!
//! Lanczos with full re-orthogonalisation over the body nodes, then the
//! tridiagonal matrix's eigenvalues by Sturm-sequence bisection. Used to tune
//! every note exactly (the fundamental is the lowest elastic mode) and by
//! `inspect`.

use super::scheme::BodyMaps;

/// Eigenvalues `μ` below which a mode counts as rigid (zero frequency).
pub const RIGID_MODE_EPS: f64 = 1e-9;

/// The `count` smallest eigenvalues of the body operator, ascending
/// (rigid modes of free bodies included, as ~0). Uses `160 + 4·count`
/// Lanczos steps: enough for the fundamental (tuning); [`lowest_eigenvalues_with`]
/// takes more for accurate higher modes.
pub fn lowest_eigenvalues(maps: &BodyMaps, count: usize) -> Vec<f64> {
    lowest_eigenvalues_with(maps, count, 160 + 4 * count, |i| {
        1.0 + 0.5 * (((i as u64).wrapping_mul(2654435761) % 1000) as f64 / 1000.0)
    })
}

/// Lanczos with full re-orthogonalisation over at most `max_steps` steps
/// (all of them for small bodies, which makes it exact) from the start
/// vector `start(i)` over the body nodes; then the tridiagonal matrix's
/// `count` smallest eigenvalues by Sturm bisection.
pub fn lowest_eigenvalues_with(
    maps: &BodyMaps,
    count: usize,
    max_steps: usize,
    start: impl Fn(usize) -> f64,
) -> Vec<f64> {
    let l = maps.layout;
    let nodes: Vec<usize> = (0..l.len).filter(|&p| maps.stiffness[p] > 0.0).collect();
    let n = nodes.len();
    if n == 0 {
        return Vec::new();
    }
    let m = n.min(max_steps);
    let mut basis: Vec<Vec<f64>> = Vec::with_capacity(m);
    let mut alpha = Vec::with_capacity(m);
    let mut beta: Vec<f64> = Vec::with_capacity(m);
    let mut v: Vec<f64> = (0..n).map(start).collect();
    normalise(&mut v);
    let mut xp = vec![0.0; l.len];
    let mut yp = vec![0.0; l.len];
    for j in 0..m {
        for (k, &p) in nodes.iter().enumerate() {
            xp[p] = v[k];
        }
        maps.apply_operator(&xp, &mut yp);
        let mut w: Vec<f64> = nodes.iter().map(|&p| yp[p]).collect();
        let a = dot(&w, &v);
        alpha.push(a);
        basis.push(v.clone());
        // Full re-orthogonalisation (twice for safety).
        for _ in 0..2 {
            for q in &basis {
                let c = dot(&w, q);
                for (wi, qi) in w.iter_mut().zip(q) {
                    *wi -= c * qi;
                }
            }
        }
        let bnorm = dot(&w, &w).sqrt();
        if j + 1 == m || bnorm < 1e-12 {
            break;
        }
        beta.push(bnorm);
        v = w.into_iter().map(|x| x / bnorm).collect();
    }
    tridiagonal_eigenvalues(&alpha, &beta, count)
}

/// The `count` smallest eigenvalues of the symmetric tridiagonal matrix with
/// diagonal `alpha` and off-diagonal `beta` (at least `alpha.len() − 1` long).
pub fn tridiagonal_eigenvalues(alpha: &[f64], beta: &[f64], count: usize) -> Vec<f64> {
    let k = alpha.len();
    if k == 0 {
        return Vec::new();
    }
    (0..count.min(k))
        .map(|i| tridiagonal_eigenvalue(alpha, &beta[..k - 1], i))
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn normalise(v: &mut [f64]) {
    let n = dot(v, v).sqrt();
    v.iter_mut().for_each(|x| *x /= n);
}

/// Number of eigenvalues of the symmetric tridiagonal (alpha, beta) below `x`.
fn sturm_count(alpha: &[f64], beta: &[f64], x: f64) -> usize {
    let mut count = 0;
    let mut q = 1.0f64;
    for i in 0..alpha.len() {
        let b2 = if i == 0 {
            0.0
        } else {
            beta[i - 1] * beta[i - 1]
        };
        q = alpha[i] - x - if i == 0 { 0.0 } else { b2 / q };
        if q == 0.0 {
            q = -1e-300;
        }
        if q < 0.0 {
            count += 1;
        }
    }
    count
}

/// The `index`-th smallest eigenvalue (0-based) by bisection.
fn tridiagonal_eigenvalue(alpha: &[f64], beta: &[f64], index: usize) -> f64 {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for i in 0..alpha.len() {
        let r =
            (if i > 0 { beta[i - 1].abs() } else { 0.0 }) + beta.get(i).map_or(0.0, |b| b.abs());
        lo = lo.min(alpha[i] - r);
        hi = hi.max(alpha[i] + r);
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if sturm_count(alpha, beta, mid) > index {
            hi = mid;
        } else {
            lo = mid;
        }
        if hi - lo <= 1e-15 * hi.abs().max(1e-300) {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// Frequency in Hz of a mode with eigenvalue `mu` under scheme parameters
/// `a`, `κk²`, time step `k` (lossless discrete dispersion relation
/// `4 sin²(ωk/2) = a·μ + κk²`).
pub fn mode_frequency(mu: f64, a: f64, kappa_k2: f64, k: f64) -> f64 {
    let x = ((a * mu + kappa_k2) / 4.0).clamp(0.0, 1.0);
    2.0 * x.sqrt().asin() / k / (2.0 * std::f64::consts::PI)
}

/// The `a` that puts a mode of eigenvalue `mu` at `freq` Hz (inverse of [`mode_frequency`]).
pub fn a_for_frequency(mu: f64, freq: f64, kappa_k2: f64, k: f64) -> f64 {
    let s = (std::f64::consts::PI * freq * k).sin();
    (4.0 * s * s - kappa_k2) / mu
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::physics::body::{Body, Boundary};

    /// Lanczos finds the analytic eigenvalues of a uniform fixed square (relative 1e-9).
    #[test]
    fn square_membrane_eigenvalues() {
        let n = 24;
        let maps = BodyMaps::new(
            Body::rectangle(n, n, Boundary::FIXED),
            &vec![1.0; n * n],
            &vec![0.0; n * n],
        );
        let mut exact: Vec<f64> = Vec::new();
        for p in 1..=n {
            for q in 1..=n {
                let f = |m: usize| {
                    4.0 * (m as f64 * std::f64::consts::PI / (2.0 * (n + 1) as f64))
                        .sin()
                        .powi(2)
                };
                exact.push(f(p) + f(q));
            }
        }
        exact.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let got = lowest_eigenvalues(&maps, 8);
        for i in 0..8 {
            assert!(
                (got[i] - exact[i]).abs() < 1e-9 * exact[i],
                "mode {i}: {} vs {}",
                got[i],
                exact[i]
            );
        }
    }

    /// A free-free string has a zero (rigid) mode and then cos modes.
    #[test]
    fn free_string_has_rigid_mode() {
        let n = 40;
        let maps = BodyMaps::new(
            Body::rectangle(n, 1, Boundary::FREE),
            &vec![1.0; n],
            &vec![0.0; n],
        );
        let got = lowest_eigenvalues(&maps, 3);
        assert!(got[0].abs() < RIGID_MODE_EPS);
        let e1 = 4.0 * (std::f64::consts::PI / (2.0 * n as f64)).sin().powi(2);
        assert!((got[1] - e1).abs() < 1e-9, "{} vs {e1}", got[1]);
    }

    /// Frequency and its inverse agree.
    #[test]
    fn frequency_roundtrip() {
        let k = 1.0 / 48000.0;
        let a = a_for_frequency(0.01, 220.0, 1e-6, k);
        assert!((mode_frequency(0.01, a, 1e-6, k) - 220.0).abs() < 1e-9);
    }
}
