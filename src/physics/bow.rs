//! The friction bow at one node: Bilbao's soft friction characteristic and
//! the per-step Newton solve of the explicit scheme with the bow force.
//!
//! The bow acts at one node `p` with force `−F_B·φ(η)`, where `η` is the
//! relative velocity of the node and the bow (normalised to the bow's
//! velocity unit) and
//!
//! ```text
//! φ(η) = √(2A)·η·exp(−A·η² + 1/2)
//! ```
//!
//! (odd, `φ(η)·η ≥ 0`, peak 1 at `η = 1/√(2A)`). The scheme is explicit, so
//! with the force the node's next value is `u⁺ = u_free + Δ`,
//! `Δ = −E_p·F·φ(η)` (`E_p = s·/(1+σ₀k)` the node's coefficient of the
//! neighbour sum, `F = k²·F_B` the step's force in displacement units) and
//! `η = (u⁺ − u⁻)·g − v_B` (`g = 1/(2k·V)`, `V` the velocity unit). Hence
//! `η` solves the scalar equation
//!
//! ```text
//! η + Q·φ(η) = η_free,   Q = E_p·F·g,   η_free = (u_free − u⁻)·g − v_B
//! ```
//!
//! whose roots all lie between 0 and `η_free` (the left side minus
//! `η_free` changes sign there). [`solve`] runs a fixed number of Newton
//! iterations safeguarded by that bracket (a step leaving it bisects):
//! fixed cost, no data-dependent loop, the same arithmetic as the GPU
//! kernel (`shaders/voice_block.wgsl`, `bow_delta`), with the exponential
//! written out ([`exp_approx`]) so both engines compute the same bits.
//!
//! **Energy.** The force adds `W = −2k³·F_B·φ(η)·(η + v_B)·V` to the
//! scheme's energy ([`super::scheme::discrete_energy`]) in the step:
//! `−…φ(η)·η ≤ 0` is the contact's dissipation, `−…φ(η)·v_B` the bow's
//! input; with `v_B = 0` energy cannot grow.

/// Sharpness `A` of the friction characteristic (velocity unit⁻²).
pub const FRICTION_A: f32 = 100.0;
/// Newton iterations per step (fixed: real-time cost is constant).
pub const NEWTON_ITERATIONS: u32 = 8;

/// `√(2A)` (the WGSL kernel writes the same literal).
pub const SQRT_2A: f32 = 14.142136;

/// `exp(x)` for `x ≤ 1`, written out (range reduction to `2^n·2^f`, a
/// degree-8 Taylor polynomial): relative error < 3e-7 + 1e-7·|x| over `−80 ≤ x ≤ 1`,
/// and `exp(−80)` below. The GPU kernel computes the same operations in the
/// same order, with the same literals (shortest decimal forms of the `f32`
/// constants).
#[inline(always)]
pub fn exp_approx(x: f32) -> f32 {
    let t = x.clamp(-80.0, 1.0) * std::f32::consts::LOG2_E; // WGSL: 1.442695f
    let n = t.floor();
    let f = (t - n) * std::f32::consts::LN_2; // WGSL: 0.6931472f
                                              // e^f for f in [0, ln 2) (Horner).
    let p = 1.0
        + f * (1.0
            + f * (0.5
                + f * (0.16666667
                    + f * (0.041666668
                        + f * (0.008333334
                            + f * (0.0013888889 + f * (0.0001984127 + f * 2.4801588e-5)))))));
    // 2^n for n in −116..=1: the exponent bits.
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// The friction characteristic `φ(η)` and its derivative `φ'(η)`.
#[inline(always)]
pub fn friction(eta: f32) -> (f32, f32) {
    let a2 = FRICTION_A * eta * eta;
    let e = exp_approx(0.5 - a2);
    let phi = SQRT_2A * eta * e;
    let dphi = SQRT_2A * e * (1.0 - 2.0 * a2);
    (phi, dphi)
}

/// One step of the bow at its node: the displacement `Δ` to add to the
/// node's `u⁺` (already holding `u_free`, the step without the bow), given
/// the node's `u⁻` (`u_prev`), its coefficient `e` (`E_p`), the step's
/// force `force` (`F`), bow velocity `vel` (`v_B`, in velocity units) and
/// `g = 1/(2k·V)`. Returns `(Δ, η)`, `η` the solved relative velocity.
#[inline(always)]
pub fn solve(u_free: f32, u_prev: f32, e: f32, force: f32, vel: f32, g: f32) -> (f32, f32) {
    let eta_free = (u_free - u_prev) * g - vel;
    let q = e * force * g;
    // Bracket of the roots: between 0 and η_free.
    let mut lo = eta_free.min(0.0);
    let mut hi = eta_free.max(0.0);
    // Start at the sticking solution of the linearised characteristic.
    let (_, d0) = friction(0.0);
    let mut eta = eta_free / (1.0 + q * d0);
    for _ in 0..NEWTON_ITERATIONS {
        let (phi, dphi) = friction(eta);
        let r = eta + q * phi - eta_free;
        // r is negative below the root(s) and positive above.
        if r < 0.0 {
            lo = eta;
        } else {
            hi = eta;
        }
        let next = eta - r / (1.0 + q * dphi).max(1e-6);
        let inside = next >= lo && next <= hi;
        eta = if inside { next } else { 0.5 * (lo + hi) };
    }
    let (phi, _) = friction(eta);
    (-e * force * phi, eta)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The written-out exponential matches `f32::exp`.
    #[test]
    fn exp_approx_is_accurate() {
        let mut x = -80.0f32;
        while x <= 1.0 {
            let (a, b) = (exp_approx(x), x.exp());
            assert!(
                (a - b).abs() <= (3e-7 + 1e-7 * x.abs()) * b,
                "x {x}: {a} vs {b}"
            );
            x += 0.01;
        }
        assert_eq!(exp_approx(-1000.0), exp_approx(-80.0));
    }

    /// φ peaks at 1 where η = 1/√(2A), is odd, and φ·η ≥ 0.
    #[test]
    fn friction_shape() {
        let peak = 1.0 / (2.0 * FRICTION_A).sqrt();
        assert!((friction(peak).0 - 1.0).abs() < 1e-5);
        for i in -100..=100 {
            let eta = i as f32 * 0.01;
            let (p, _) = friction(eta);
            assert!(p * eta >= 0.0);
            assert_eq!(p, -friction(-eta).0);
        }
    }

    /// The solve returns a root of `η + Qφ(η) = η_free` (stick and slip, weak
    /// and strong force), and the displacement it returns is consistent.
    #[test]
    fn solve_finds_the_root() {
        let g = 10.0;
        for &force in &[1e-4f32, 1e-3, 1e-2, 0.1] {
            for &(uf, up) in &[(0.0f32, 0.0f32), (0.01, -0.01), (-0.2, 0.1), (0.5, 0.49)] {
                for &vel in &[0.0f32, 0.05, 0.3, 1.0] {
                    let e = 0.9;
                    let (d, eta) = solve(uf, up, e, force, vel, g);
                    let actual = (uf + d - up) * g - vel;
                    let tol = 1e-4 * (1.0 + ((uf - up) * g - vel).abs());
                    assert!(
                        (actual - eta).abs() < tol,
                        "{force} {uf} {up} {vel}: {actual} vs {eta}"
                    );
                    assert!(friction(eta).0 * eta >= 0.0);
                }
            }
        }
    }
}
