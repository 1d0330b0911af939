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

use super::aligned::AlignedF32;
use super::body::{Body, Layout, NodeKind};

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
/// scalars of the auxiliary field.
#[derive(Clone, Debug, Default)]
pub struct Coefficients {
    /// Weight of `u` at the node itself.
    pub c: AlignedF32,
    /// Weight of `u⁻` at the node itself (subtracted).
    pub d: AlignedF32,
    /// Weight of the neighbour sum of `w`.
    pub e: AlignedF32,
    /// `a + b` (weight of `u` in `w`).
    pub ab: f32,
    /// `b` (weight of `u⁻` in `w`, subtracted).
    pub b: f32,
}

impl Coefficients {
    /// Zeroed maps of `len` nodes.
    pub fn zeroed(len: usize) -> Self {
        Self {
            c: AlignedF32::zeroed(len),
            d: AlignedF32::zeroed(len),
            e: AlignedF32::zeroed(len),
            ab: 0.0,
            b: 0.0,
        }
    }
}

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
        let n = maps.diag[i];
        let inv = 1.0 / (1.0 + sig0 * k);
        c[i] = (2.0 - kk - (a + b) * s * n) * inv;
        d[i] = (1.0 - sig0 * k - b * s * n) * inv;
        e[i] = s * inv;
    }
}

/// Computes the auxiliary field `w = (a+b)·cur − b·prev` over the whole buffer.
///
/// # Real-time safety
/// No allocation.
pub fn compute_aux(coef: &Coefficients, prev: &[f32], cur: &[f32], w: &mut [f32]) {
    for ((w, &u), &p) in w.iter_mut().zip(cur).zip(prev) {
        *w = coef.ab * u - coef.b * p;
    }
}

/// Advances the mesh one time step.
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
    {
        if simd_level() == SimdLevel::Avx2 {
            // SAFETY: AVX2 support was checked at run time.
            unsafe { step_avx2(layout, coef, prev_next, cur, w, w_next) };
            return;
        }
    }
    step_generic(layout, coef, prev_next, cur, w, w_next)
}

/// Which vector instruction set the kernel uses on this CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimdLevel {
    /// The build's baseline (SSE2 on x86-64).
    Baseline,
    /// 256-bit AVX2 (selected at run time; no FMA, so results are identical).
    Avx2,
}

/// The instruction set the kernel runs with on this machine.
pub fn simd_level() -> SimdLevel {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static LEVEL: OnceLock<SimdLevel> = OnceLock::new();
        *LEVEL.get_or_init(|| {
            if std::env::var_os("NEIROSYNTH_NO_AVX2").is_none()
                && std::arch::is_x86_feature_detected!("avx2")
            {
                SimdLevel::Avx2
            } else {
                SimdLevel::Baseline
            }
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    SimdLevel::Baseline
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
    step_generic(layout, coef, prev_next, cur, w, w_next)
}

/// One sweep over the whole interior as a single flat loop.
#[inline(always)]
fn step_generic(
    layout: &Layout,
    coef: &Coefficients,
    prev_next: &mut [f32],
    cur: &[f32],
    w: &[f32],
    w_next: &mut [f32],
) {
    let (s, h) = (layout.stride, layout.height);
    // From the left padding of the first row to the last interior node.
    let hi = h * s + layout.width + 1;
    sweep(layout, coef, s, hi, prev_next, cur, w, w_next);
}

/// Updates the nodes of padded indices `lo..hi` (whole rows, padding
/// columns included: their coefficients and state are zero, so they stay
/// zero, and no per-row loop set-up is paid): `prev_next ← u⁺` and
/// `w_next ← (a+b)·u⁺ − b·u` from `cur = u`, `prev_next = u⁻` and `w`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn sweep(
    layout: &Layout,
    coef: &Coefficients,
    lo: usize,
    hi: usize,
    prev_next: &mut [f32],
    cur: &[f32],
    w: &[f32],
    w_next: &mut [f32],
) {
    let s = layout.stride;
    let (o, n) = (lo, hi - lo);
    let (ab, b) = (coef.ab, coef.b);
    let (c, d, e) = (&coef.c[o..o + n], &coef.d[o..o + n], &coef.e[o..o + n]);
    let uc = &cur[o..o + n];
    let pn = &mut prev_next[o..o + n];
    let wo = &mut w_next[o..o + n];
    let (wl, wr) = (&w[o - 1..o - 1 + n], &w[o + 1..o + 1 + n]);
    if layout.is_1d() {
        for x in 0..n {
            let u = (c[x] * uc[x] - d[x] * pn[x]) + e[x] * (wl[x] + wr[x]);
            pn[x] = u;
            wo[x] = ab * u - b * uc[x];
        }
    } else {
        let (wu, wd) = (&w[o - s..o - s + n], &w[o + s..o + s + n]);
        for x in 0..n {
            let sw = (wl[x] + wr[x]) + (wu[x] + wd[x]);
            let u = (c[x] * uc[x] - d[x] * pn[x]) + e[x] * sw;
            pn[x] = u;
            wo[x] = ab * u - b * uc[x];
        }
    }
}

/// Bytes of the seven streams (three maps, two states, two auxiliary
/// fields) that one chunk of [`step_pair`] may span: about three quarters of
/// a 32 KiB L1 data cache, so the second step, trailing the first by one
/// row, finds its inputs there. (Measured at 64×64: 12–16-row chunks run
/// ~15% faster than 4-row or whole-mesh ones; the per-chunk loop set-up
/// costs on small chunks, L1 misses on large ones.)
const PAIR_CHUNK_BYTES: usize = 24 * 1024;

/// Advances the mesh two time steps in one sweep (temporal blocking).
///
/// Bit-identical to two calls of [`step`] (the same arithmetic per node),
/// but the second step runs one row behind the first, while its inputs are
/// still in cache: the coefficient maps and the state come from memory once
/// for both steps, which matters when many voices share a core's L2.
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
    {
        if simd_level() == SimdLevel::Avx2 {
            // SAFETY: AVX2 support was checked at run time.
            unsafe { step_pair_avx2(layout, coef, a, b, w, w_mid) };
            return;
        }
    }
    step_pair_generic(layout, coef, a, b, w, w_mid)
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
    step_pair_generic(layout, coef, a, b, w, w_mid)
}

/// Row `y` of the second step needs the first step's auxiliary field on rows
/// `y−1..=y+1` and overwrites `w` on row `y`, which the first step reads for
/// rows `y−1..=y+1`: so the second step trails by exactly one row.
#[inline(always)]
fn step_pair_generic(
    layout: &Layout,
    coef: &Coefficients,
    a: &mut [f32],
    b: &mut [f32],
    w: &mut [f32],
    w_mid: &mut [f32],
) {
    let (s, h) = (layout.stride, layout.height);
    let chunk_rows = (PAIR_CHUNK_BYTES / (7 * 4 * s)).max(2);
    let mut first = 1; // next row of the first step
    let mut second = 1; // next row of the second step
    while first <= h {
        let end = (first + chunk_rows).min(h + 1);
        sweep(layout, coef, first * s, end * s, a, b, w, w_mid);
        first = end;
        let upto = if first > h { h + 1 } else { first - 1 };
        if upto > second {
            sweep(layout, coef, second * s, upto * s, b, a, w_mid, w);
            second = upto;
        }
    }
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
        let body = Body::disc(21);
        let n = 21 * 21;
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
        let prev: Vec<f32> = (0..l.len)
            .map(|i| {
                if coef.c[i] != 0.0 {
                    ((i * 31) % 17) as f32 / 17.0
                } else {
                    0.0
                }
            })
            .collect();
        let cur: Vec<f32> = (0..l.len)
            .map(|i| {
                if coef.c[i] != 0.0 {
                    ((i * 13) % 11) as f32 / 11.0
                } else {
                    0.0
                }
            })
            .collect();
        let mut w = vec![0.0; l.len];
        compute_aux(&coef, &prev, &cur, &mut w);
        let (mut n1, mut n2) = (prev.clone(), prev.clone());
        let (mut w1, mut w2) = (vec![0.0; l.len], vec![0.0; l.len]);
        step_generic(&l, &coef, &mut n1, &cur, &w, &mut w1);
        step(&l, &coef, &mut n2, &cur, &w, &mut w2);
        assert_eq!(w1, w2);
        assert_eq!(n1, n2);
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
                        step_pair_generic(&l, &coef, &mut a, &mut b, &mut pw, &mut pw2);
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
