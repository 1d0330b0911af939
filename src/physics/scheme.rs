//! The finite-difference scheme: per-node coefficients and the update kernel.
//!
//! The continuous model is the membrane (or string) with Bilbao's
//! two-parameter loss and a weak restoring spring (the "support"):
//!
//! ```text
//! u_tt = s(x)·(c² Δu + 2σ₁ Δu_t) − 2σ₀(x) u_t − κ u
//! ```
//!
//! with a stiffness map `s ∈ (0, 1]` (relative c²), a damping map `σ₀`
//! (1/s), a scalar `σ₁` (frequency-dependent loss) and `κ = (2π f_support)²`.
//! In grid units (h = 1) with time step `k` the explicit scheme is
//!
//! ```text
//! (1 + σ₀k) u⁺ = 2u − (1 − σ₀k) u⁻ − κk² u + a·s·(G u) + b·s·(G (u − u⁻))
//! ```
//!
//! where `G` is the graph Laplacian of the body (`(G u)_i = Σ_coupled u_j −
//! n_i u_i`, see [`Body::diagonal_weight`]), `a = c²k²` (the squared Courant
//! number at s = 1) and `b = 2σ₁k`. Solved for `u⁺` it becomes four
//! per-node coefficient maps:
//!
//! ```text
//! u⁺ = C·u − D·u⁻ + A·Σu_j − B·Σu⁻_j
//! ```
//!
//! Out-of-body nodes have all four coefficients zero and stay at zero.

use super::body::{Body, Layout, NodeKind};
use super::kernel::{self, node_coefficients, CoefMaps, InPlace, InPlacePair, Job, Step, StepPair};
pub use super::kernel::{simd_level, SimdLevel};

/// Precomputed, note-independent data of one body at one mesh resolution,
/// in the padded layout (zero outside the body).
#[derive(Clone, Debug)]
pub struct BodyMaps {
    /// The body's geometry.
    pub body: Body,
    /// Padded layout of the body.
    pub layout: Layout,
    /// Stiffness `s` per node (0 outside the body).
    pub stiffness: Vec<f32>,
    /// Frequency-independent damping σ₀ per node, 1/s (0 outside the body).
    pub sigma0: Vec<f32>,
    /// Diagonal Laplacian weight `n` per node (0 outside the body).
    pub diag: Vec<f32>,
    /// Bitmap of coupled neighbours per node: bit k set when neighbour k of
    /// [`Body::neighbour_offsets`] is a body node.
    pub coupled: Vec<u8>,
}

impl BodyMaps {
    /// Builds the padded maps from row-major `width × height` maps.
    pub fn new(body: Body, stiffness: &[f32], sigma0: &[f32]) -> Self {
        let layout = body.layout();
        let mut s = vec![0.0; layout.len];
        let mut d = vec![0.0; layout.len];
        let mut n = vec![0.0; layout.len];
        let mut coupled = vec![0u8; layout.len];
        for y in 0..body.height {
            for x in 0..body.width {
                let i = y * body.width + x;
                if body.mask[i] != NodeKind::Body {
                    continue;
                }
                let p = layout.idx(x, y);
                s[p] = stiffness[i];
                d[p] = sigma0[i];
                n[p] = body.diagonal_weight(x, y);
                for (k, &(dx, dy)) in body.neighbour_offsets().iter().enumerate() {
                    if body.coupled(x, y, dx, dy) {
                        coupled[p] |= 1 << k;
                    }
                }
            }
        }
        Self {
            body,
            layout,
            stiffness: s,
            sigma0: d,
            diag: n,
            coupled,
        }
    }

    /// Padded index offsets of the neighbours, matching [`Body::neighbour_offsets`].
    pub fn neighbour_deltas(&self) -> [isize; 4] {
        let s = self.layout.stride as isize;
        [-1, 1, -s, s]
    }

    /// Number of neighbours of the Laplacian (2 or 4).
    pub fn neighbour_count(&self) -> usize {
        self.body.neighbour_offsets().len()
    }

    /// Applies `y = −S^{1/2}·G·S^{1/2}·x` (symmetric, positive semi-definite) on padded vectors.
    pub fn apply_operator(&self, x: &[f64], y: &mut [f64]) {
        let deltas = self.neighbour_deltas();
        let nn = self.neighbour_count();
        for p in 0..self.layout.len {
            let s = self.stiffness[p] as f64;
            if s == 0.0 {
                y[p] = 0.0;
                continue;
            }
            let sq = s.sqrt();
            let mut acc = self.diag[p] as f64 * sq * x[p];
            for (k, &d) in deltas.iter().enumerate().take(nn) {
                if self.coupled[p] & (1 << k) != 0 {
                    let q = (p as isize + d) as usize;
                    acc -= (self.stiffness[q] as f64).sqrt() * x[q];
                }
            }
            y[p] = sq * acc;
        }
    }

    /// Quadratic form `Q(x, y) = −⟨G x, y⟩` of the plain (unweighted) graph Laplacian.
    pub fn laplacian_form(&self, x: &[f32], y: &[f32]) -> f64 {
        let deltas = self.neighbour_deltas();
        let nn = self.neighbour_count();
        let mut q = 0.0f64;
        for p in 0..self.layout.len {
            if self.stiffness[p] == 0.0 {
                continue;
            }
            let mut gx = -(self.diag[p] as f64) * x[p] as f64;
            for (k, &d) in deltas.iter().enumerate().take(nn) {
                if self.coupled[p] & (1 << k) != 0 {
                    gx += x[(p as isize + d) as usize] as f64;
                }
            }
            q -= gx * y[p] as f64;
        }
        q
    }
}

/// Scalar parameters of the scheme for one voice at one moment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SchemeParams {
    /// `a = c²k²`: squared Courant number of a node with stiffness 1.
    pub a: f64,
    /// `b = 2σ₁k`: the frequency-dependent loss term.
    pub b: f64,
    /// `κk²`: the support spring term.
    pub kappa_k2: f64,
    /// Time step `k`, seconds.
    pub k: f64,
}

/// The per-node coefficient maps of the update (padded layout) and the
/// scalars of the auxiliary field, in the engine's `f32`.
pub type Coefficients = CoefMaps<f32>;

/// How the damping of a voice departs from its instrument's maps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DampingControl {
    /// Multiplies σ₀ and σ₁.
    pub scale: f64,
    /// Added to σ₀ everywhere (release), 1/s.
    pub extra_sigma0: f64,
}

impl Default for DampingControl {
    fn default() -> Self {
        Self {
            scale: 1.0,
            extra_sigma0: 0.0,
        }
    }
}

/// Fills `out` (first `maps.layout.len` entries) with the coefficients of
/// `maps`, optionally blended toward `morph = Some((other, t))` (same
/// layout), for scheme parameters `p`.
///
/// # Real-time safety
/// No allocation: writes into the caller's buffers.
pub fn fill_coefficients(
    maps: &BodyMaps,
    morph: Option<(&BodyMaps, f32)>,
    p: &SchemeParams,
    damping: DampingControl,
    out: &mut Coefficients,
) {
    let len = maps.layout.len;
    let (a, b, kk) = (p.a as f32, (p.b * damping.scale) as f32, p.kappa_k2 as f32);
    let k = p.k as f32;
    let (scale, extra) = (damping.scale as f32, damping.extra_sigma0 as f32);
    let (other, t) = match morph {
        Some((o, t)) if o.layout == maps.layout && t > 0.0 => (o, t),
        _ => (maps, 0.0),
    };
    out.ab = a + b;
    out.b = b;
    let (c, d, e) = (&mut out.c[..len], &mut out.d[..len], &mut out.e[..len]);
    for i in 0..len {
        let s0 = maps.stiffness[i];
        if s0 == 0.0 {
            c[i] = 0.0;
            d[i] = 0.0;
            e[i] = 0.0;
            continue;
        }
        let s = s0 + t * (other.stiffness[i].max(1e-6) - s0);
        let sig0 = (maps.sigma0[i] + t * (other.sigma0[i] - maps.sigma0[i])) * scale + extra;
        let [ci, di, ei, _] = node_coefficients(s, sig0, maps.diag[i], a, b, kk, k);
        (c[i], d[i], e[i]) = (ci, di, ei);
    }
}

/// Computes the auxiliary field `w = (a+b)·cur − b·prev` over the whole buffer.
///
/// # Real-time safety
/// No allocation.
pub fn compute_aux(coef: &Coefficients, prev: &[f32], cur: &[f32], w: &mut [f32]) {
    kernel::aux(coef.ab, coef.b, prev, cur, w);
}

/// Advances the mesh one time step (the kernel of [`super::kernel`], in
/// place).
///
/// On entry `prev_next` holds `u⁻`, `cur` holds `u` and `w` holds
/// `(a+b)·u − b·u⁻`; on return `prev_next` holds `u⁺` and `w_next` holds
/// `(a+b)·u⁺ − b·u`. All are padded buffers of at least `layout.len`;
/// padding is left untouched (zero).
///
/// # Real-time safety
/// No allocation, no branch per node; uses AVX2 when the CPU has it.
#[inline]
pub fn step(
    layout: &Layout,
    coef: &Coefficients,
    prev_next: &mut [f32],
    cur: &[f32],
    w: &[f32],
    w_next: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if simd_level() == SimdLevel::Avx2 {
        // SAFETY: AVX2 support was checked at run time.
        unsafe { step_avx2(layout, coef, prev_next, cur, w, w_next) };
        return;
    }
    step_baseline(layout, coef, prev_next, cur, w, w_next)
}

/// [`step`] on the build's baseline instruction set. (The engine's entry
/// points take the buffers as arguments rather than through
/// [`kernel::run`]'s job struct: so the compiler knows that the outputs
/// alias nothing and keeps the loop free of run-time alias checks and
/// spills, ~5–9% at 64×64.)
#[inline(always)]
fn step_baseline(
    layout: &Layout,
    coef: &Coefficients,
    prev_next: &mut [f32],
    cur: &[f32],
    w: &[f32],
    w_next: &mut [f32],
) {
    let h = InPlace(prev_next);
    let cf = coef.view();
    Job::run(Step {
        l: layout,
        cf,
        h,
        cur,
        w,
        w_next,
    })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn step_avx2(
    layout: &Layout,
    coef: &Coefficients,
    prev_next: &mut [f32],
    cur: &[f32],
    w: &[f32],
    w_next: &mut [f32],
) {
    step_baseline(layout, coef, prev_next, cur, w, w_next)
}

/// Advances the mesh two time steps in one sweep (temporal blocking; see
/// [`kernel::StepPair`]): bit-identical to two calls of [`step`].
///
/// On entry `a` holds `u⁻`, `b` holds `u`, `w` holds `(a+b)·u − b·u⁻`; on
/// return `a` holds `u⁺` (the first step), `b` holds `u⁺⁺` (the second),
/// `w_mid` holds the first step's auxiliary field and `w` the second's: the
/// buffers keep their roles for the next step. No excitation can be
/// injected between the two steps: callers use [`step`] while one is active.
///
/// # Real-time safety
/// No allocation, no branch per node; uses AVX2 when the CPU has it.
#[inline]
pub fn step_pair(
    layout: &Layout,
    coef: &Coefficients,
    a: &mut [f32],
    b: &mut [f32],
    w: &mut [f32],
    w_mid: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if simd_level() == SimdLevel::Avx2 {
        // SAFETY: AVX2 support was checked at run time.
        unsafe { step_pair_avx2(layout, coef, a, b, w, w_mid) };
        return;
    }
    step_pair_baseline(layout, coef, a, b, w, w_mid)
}

/// [`step_pair`] on the build's baseline instruction set (buffers as
/// arguments, as [`step_baseline`]).
#[inline(always)]
fn step_pair_baseline(
    layout: &Layout,
    coef: &Coefficients,
    a: &mut [f32],
    b: &mut [f32],
    w: &mut [f32],
    w_mid: &mut [f32],
) {
    let p = InPlacePair { a, b };
    let cf = coef.view();
    Job::run(StepPair {
        l: layout,
        cf,
        p,
        w,
        w_mid,
    })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn step_pair_avx2(
    layout: &Layout,
    coef: &Coefficients,
    a: &mut [f32],
    b: &mut [f32],
    w: &mut [f32],
    w_mid: &mut [f32],
) {
    step_pair_baseline(layout, coef, a, b, w, w_mid)
}

/// The discrete energy that the scheme conserves without loss and never
/// increases with loss (weights `1/s`; see the module docs):
///
/// `H = Σ (u⁺−u)²/s + a·Q(u, u⁺) + κk² Σ u·u⁺/s − b·Q(u⁺−u, u⁺−u)`
///
/// with `Q(x, y) = −⟨G x, y⟩`. It is non-negative when the stability
/// certificate holds.
pub fn discrete_energy(maps: &BodyMaps, p: &SchemeParams, cur: &[f32], next: &[f32]) -> f64 {
    let mut kinetic = 0.0f64;
    let mut spring = 0.0f64;
    let mut diff = vec![0.0f32; cur.len()];
    for i in 0..cur.len() {
        let s = maps.stiffness[i] as f64;
        if s == 0.0 {
            continue;
        }
        let dv = next[i] as f64 - cur[i] as f64;
        diff[i] = dv as f32;
        kinetic += dv * dv / s;
        spring += cur[i] as f64 * next[i] as f64 / s;
    }
    kinetic + p.a * maps.laplacian_form(cur, next) + p.kappa_k2 * spring
        - p.b * maps.laplacian_form(&diff, &diff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::physics::body::Boundary;

    /// A 3×1 string at sample rate 1 follows the hand-computed update.
    #[test]
    fn tiny_string_step_by_hand() {
        let body = Body::rectangle(3, 1, Boundary::FIXED);
        let maps = BodyMaps::new(body, &[1.0; 3], &[0.0; 3]);
        let p = SchemeParams {
            a: 0.5,
            b: 0.0,
            kappa_k2: 0.0,
            k: 1.0,
        };
        let mut coef = Coefficients::zeroed(maps.layout.len);
        fill_coefficients(&maps, None, &p, DampingControl::default(), &mut coef);
        let l = maps.layout;
        let mut next = vec![0.0; l.len];
        let mut cur = vec![0.0; l.len];
        cur[l.idx(1, 0)] = 1.0;
        let mut w = vec![0.0; l.len];
        compute_aux(&coef, &next, &cur, &mut w);
        let mut w_next = vec![0.0; l.len];
        step(&l, &coef, &mut next, &cur, &w, &mut w_next);
        // centre: 2·1 − 0.5·2·1 = 1; neighbours: 0.5·1 = 0.5
        assert_eq!(next[l.idx(0, 0)], 0.5);
        assert_eq!(next[l.idx(1, 0)], 1.0);
        assert_eq!(next[l.idx(2, 0)], 0.5);
        assert_eq!(next[0], 0.0);
    }

    /// The AVX2 and baseline kernels give bit-identical results.
    #[test]
    fn simd_paths_agree() {
        let (l, coef, prev, cur, w) = test_setup(Body::disc(21), 21 * 21);
        let (mut n1, mut n2) = (prev.clone(), prev.clone());
        let (mut w1, mut w2) = (vec![0.0; l.len], vec![0.0; l.len]);
        kernel::run_baseline(Step {
            l: &l,
            cf: coef.view(),
            h: InPlace(&mut n1),
            cur: &cur,
            w: &w,
            w_next: &mut w1,
        });
        step(&l, &coef, &mut n2, &cur, &w, &mut w2);
        assert_eq!(w1, w2);
        assert_eq!(n1, n2);
    }

    /// A body of `n` nodes with a varied stiffness map, its coefficients,
    /// two states and the auxiliary field.
    fn test_setup(body: Body, n: usize) -> (Layout, Coefficients, Vec<f32>, Vec<f32>, Vec<f32>) {
        let s: Vec<f32> = (0..n)
            .map(|i| 0.3 + 0.7 * ((i * 7919) % 101) as f32 / 101.0)
            .collect();
        let maps = BodyMaps::new(body, &s, &vec![3.0; n]);
        let p = SchemeParams {
            a: 0.3,
            b: 0.02,
            kappa_k2: 1e-5,
            k: 1.0 / 48000.0,
        };
        let mut coef = Coefficients::zeroed(maps.layout.len);
        fill_coefficients(&maps, None, &p, DampingControl::default(), &mut coef);
        let l = maps.layout;
        let prev = test_state(&coef, l.len, 31);
        let cur = test_state(&coef, l.len, 13);
        let mut w = vec![0.0; l.len];
        compute_aux(&coef, &prev, &cur, &mut w);
        (l, coef, prev, cur, w)
    }

    /// Fills a mesh state with deterministic pseudo-random values inside the body.
    fn test_state(coef: &Coefficients, len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| {
                if coef.c[i] != 0.0 {
                    ((i * seed) % 23) as f32 / 23.0 - 0.5
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// The fused two-step sweep equals two single steps bit for bit, in 2D
    /// (one chunk and several) and 1D, on both SIMD paths.
    #[test]
    fn step_pair_equals_two_steps() {
        use crate::physics::body::Boundary;
        for (body, n) in [
            (Body::disc(19), 19 * 19),
            (Body::rectangle(13, 7, Boundary::FIXED), 13 * 7),
            (Body::rectangle(9, 4, Boundary::FIXED), 9 * 4),
            // Several chunks (stride 72: 12 rows each), the last one partial.
            (Body::rectangle(64, 29, Boundary::FIXED), 64 * 29),
            (Body::rectangle(6, 2, Boundary::FIXED), 6 * 2),
            (Body::rectangle(17, 1, Boundary::FIXED), 17),
        ] {
            let (l, coef, prev, cur, w) = test_setup(body, n);
            // Reference: three pairs as six single steps.
            let (mut ra, mut rb, mut rw, mut rw2) =
                (prev.clone(), cur.clone(), w.clone(), vec![0.0; l.len]);
            for _ in 0..3 {
                step(&l, &coef, &mut ra, &rb, &rw, &mut rw2);
                step(&l, &coef, &mut rb, &ra, &rw2, &mut rw);
            }
            assert!(rb.iter().any(|v| v.abs() > 1e-3));
            for generic in [true, false] {
                let (mut a, mut b, mut pw, mut pw2) =
                    (prev.clone(), cur.clone(), w.clone(), vec![0.0; l.len]);
                for _ in 0..3 {
                    if generic {
                        let pair = InPlacePair {
                            a: &mut a,
                            b: &mut b,
                        };
                        kernel::run_baseline(StepPair {
                            l: &l,
                            cf: coef.view(),
                            p: pair,
                            w: &mut pw,
                            w_mid: &mut pw2,
                        });
                    } else {
                        step_pair(&l, &coef, &mut a, &mut b, &mut pw, &mut pw2);
                    }
                }
                assert_eq!(a, ra);
                assert_eq!(b, rb);
                assert_eq!(pw, rw);
                assert_eq!(pw2, rw2);
            }
        }
    }
}
