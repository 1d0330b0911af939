//! The update kernel, written once: the engine's steps (`f32`, `u⁺` over
//! `u⁻` in place, see [`super::scheme`]) and the training model's forward
//! and recomputation passes (`f32` or `f64`, every state kept, see
//! `train::adjoint`) run this code.
//!
//! One step is `u⁺ = C·u − D·u⁻ + E·Σ_j w_j` with the auxiliary field
//! `w = (a+b)·u − b·u⁻` (`Σ_j` over a node's two or four neighbours), and
//! `w⁺ = (a+b)·u⁺ − b·u`. A sweep is a single flat loop over the padded
//! buffer from the first row's left padding to the last interior node
//! (padding and void nodes have zero coefficients and state, so they stay
//! zero, and no per-row set-up is paid). The same expression, in the same
//! order, for every caller: the same bits in `f32`.
//!
//! Where the step reads `u⁻` and writes `u⁺` is a [`History`]: [`InPlace`]
//! (one buffer, the engine) or [`OutOfPlace`] (two, the training model).
//! AVX2 is chosen at run time ([`simd_level`]); no FMA, so the SSE2 and AVX2
//! paths agree bit for bit.

use std::fmt::Debug;
use std::ops::{Add, AddAssign, Div, Mul, Neg, Sub, SubAssign};
use std::sync::atomic::{AtomicBool, Ordering};

use super::aligned::Aligned;
use super::body::Layout;

/// The floating-point types the kernel runs in (`f32` for the engine and
/// training, `f64` for finite-difference checks).
pub trait Real:
    Copy
    + Send
    + Sync
    + Debug
    + Default
    + PartialOrd
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
{
    /// Zero.
    const ZERO: Self;
    /// One.
    const ONE: Self;
    /// Nearest value to `v`.
    fn from_f64(v: f64) -> Self;
    /// Widened to `f64`.
    fn to_f64(self) -> f64;
    /// Cosine.
    fn cos(self) -> Self;
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[inline]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline]
    fn cos(self) -> Self {
        f32::cos(self)
    }
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[inline]
    fn from_f64(v: f64) -> Self {
        v
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn cos(self) -> Self {
        f64::cos(self)
    }
}

/// Which vector instruction set the kernels use on this CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimdLevel {
    /// The build's baseline (SSE2 on x86-64).
    Baseline,
    /// 256-bit AVX2 (selected at run time; no FMA, so results are identical).
    Avx2,
}

/// Set by [`limit_simd`]: the kernels stay on the baseline path.
static BASELINE_ONLY: AtomicBool = AtomicBool::new(false);

/// Keeps every kernel of this process on `level` at most: with
/// [`SimdLevel::Baseline`] they run the build's baseline path even where the
/// CPU has AVX2 (both give the same bits; this exists for measurements and
/// checks). `neirosynth bench --simd baseline` calls it before starting an engine;
/// the default is the best the CPU has.
pub fn limit_simd(level: SimdLevel) {
    BASELINE_ONLY.store(level == SimdLevel::Baseline, Ordering::Relaxed);
}

/// The instruction set the kernels run with on this machine: AVX2 where the
/// CPU has it, unless [`limit_simd`] said otherwise.
pub fn simd_level() -> SimdLevel {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static DETECTED: OnceLock<bool> = OnceLock::new();
        let avx2 = *DETECTED.get_or_init(|| std::arch::is_x86_feature_detected!("avx2"));
        if avx2 && !BASELINE_ONLY.load(Ordering::Relaxed) {
            return SimdLevel::Avx2;
        }
    }
    SimdLevel::Baseline
}

/// The per-node coefficients `[C, D, E, 1/(1+σ₀k)]` of a node with
/// stiffness `s`, damping `sig0` and diagonal Laplacian weight `n`, for
/// `a`, `b`, `κk²` (`kk`) and time step `k` (the formulas of
/// [`super::scheme`]; the engine and the training model share them).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn node_coefficients<T: Real>(s: T, sig0: T, n: T, a: T, b: T, kk: T, k: T) -> [T; 4] {
    let inv = T::ONE / (T::ONE + sig0 * k);
    let c = (T::from_f64(2.0) - kk - (a + b) * s * n) * inv;
    let d = (T::ONE - sig0 * k - b * s * n) * inv;
    [c, d, s * inv, inv]
}

/// Computes the auxiliary field `w = ab·cur − b·prev` over whole buffers.
#[inline]
pub fn aux<T: Real>(ab: T, b: T, prev: &[T], cur: &[T], w: &mut [T]) {
    for ((w, &u), &p) in w.iter_mut().zip(cur).zip(prev) {
        *w = ab * u - b * p;
    }
}

/// The per-node coefficient maps of the update (padded layout, aligned)
/// and the scalars of the auxiliary field.
#[derive(Clone, Debug, Default)]
pub struct CoefMaps<T> {
    /// Weight of `u` at the node itself.
    pub c: Aligned<T>,
    /// Weight of `u⁻` at the node itself (subtracted).
    pub d: Aligned<T>,
    /// Weight of the neighbour sum of `w`.
    pub e: Aligned<T>,
    /// `a + b` (weight of `u` in `w`).
    pub ab: T,
    /// `b` (weight of `u⁻` in `w`, subtracted).
    pub b: T,
}

impl<T: Real> CoefMaps<T> {
    /// Zeroed maps of `len` nodes.
    pub fn zeroed(len: usize) -> Self {
        Self {
            c: Aligned::zeroed(len),
            d: Aligned::zeroed(len),
            e: Aligned::zeroed(len),
            ab: T::ZERO,
            b: T::ZERO,
        }
    }

    /// The maps as the kernel reads them.
    #[inline]
    pub fn view(&self) -> CoefView<'_, T> {
        CoefView {
            c: &self.c,
            d: &self.d,
            e: &self.e,
            ab: self.ab,
            b: self.b,
        }
    }
}

/// The coefficient maps of a step (padded layout) and the scalars of the
/// auxiliary field, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct CoefView<'a, T> {
    /// Weight of `u` at the node itself.
    pub c: &'a [T],
    /// Weight of `u⁻` at the node itself (subtracted).
    pub d: &'a [T],
    /// Weight of the neighbour sum of `w`.
    pub e: &'a [T],
    /// `a + b` (weight of `u` in `w`).
    pub ab: T,
    /// `b` (weight of `u⁻` in `w`, subtracted).
    pub b: T,
}

/// Where a step reads `u⁻` and writes `u⁺`.
pub trait History<T> {
    /// The nodes `o..o+n` only (indices below count from `o`).
    fn window(self, o: usize, n: usize) -> Self;
    /// `u⁻` at node `x` (read before `u⁺` is written there).
    fn prev(&self, x: usize) -> T;
    /// Writes `u⁺` at node `x`.
    fn set_next(&mut self, x: usize, v: T);
}

/// `u⁺` written over `u⁻` in one buffer (the engine: two state buffers).
pub struct InPlace<'a, T>(pub &'a mut [T]);

impl<T: Copy> History<T> for InPlace<'_, T> {
    #[inline(always)]
    fn window(self, o: usize, n: usize) -> Self {
        Self(&mut self.0[o..o + n])
    }
    #[inline(always)]
    fn prev(&self, x: usize) -> T {
        self.0[x]
    }
    #[inline(always)]
    fn set_next(&mut self, x: usize, v: T) {
        self.0[x] = v;
    }
}

/// `u⁻` read from one buffer, `u⁺` written to another (the training model:
/// every state is kept).
pub struct OutOfPlace<'a, T> {
    /// `u⁻`.
    pub prev: &'a [T],
    /// Receives `u⁺`.
    pub next: &'a mut [T],
}

impl<T: Copy> History<T> for OutOfPlace<'_, T> {
    #[inline(always)]
    fn window(self, o: usize, n: usize) -> Self {
        Self {
            prev: &self.prev[o..o + n],
            next: &mut self.next[o..o + n],
        }
    }
    #[inline(always)]
    fn prev(&self, x: usize) -> T {
        self.prev[x]
    }
    #[inline(always)]
    fn set_next(&mut self, x: usize, v: T) {
        self.next[x] = v;
    }
}

/// One past the last node a step updates: the last interior node of the
/// last row (a step starts at the first row's left padding, `stride`).
#[inline]
pub fn sweep_end(l: &Layout) -> usize {
    l.height * l.stride + l.width + 1
}

/// Updates the nodes of padded indices `lo..hi` (whole rows, padding
/// columns included: their coefficients and state are zero, so they stay
/// zero): `u⁺` into `h` and `w_next ← (a+b)·u⁺ − b·u` from `cur = u`, `u⁻`
/// in `h` and `w`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn sweep<T: Real, H: History<T>>(
    l: &Layout,
    cf: &CoefView<'_, T>,
    lo: usize,
    hi: usize,
    h: H,
    cur: &[T],
    w: &[T],
    w_next: &mut [T],
) {
    let s = l.stride;
    let (o, n) = (lo, hi - lo);
    let (ab, b) = (cf.ab, cf.b);
    let (c, d, e) = (&cf.c[o..o + n], &cf.d[o..o + n], &cf.e[o..o + n]);
    let uc = &cur[o..o + n];
    let mut h = h.window(o, n);
    let wo = &mut w_next[o..o + n];
    let (wl, wr) = (&w[o - 1..o - 1 + n], &w[o + 1..o + 1 + n]);
    if l.is_1d() {
        for x in 0..n {
            let u = (c[x] * uc[x] - d[x] * h.prev(x)) + e[x] * (wl[x] + wr[x]);
            h.set_next(x, u);
            wo[x] = ab * u - b * uc[x];
        }
    } else {
        let (wu, wd) = (&w[o - s..o - s + n], &w[o + s..o + s + n]);
        for x in 0..n {
            let sw = (wl[x] + wr[x]) + (wu[x] + wd[x]);
            let u = (c[x] * uc[x] - d[x] * h.prev(x)) + e[x] * sw;
            h.set_next(x, u);
            wo[x] = ab * u - b * uc[x];
        }
    }
}

/// A sweep of a kernel (one or two steps, or the training model's backward
/// step): what [`run`] runs on the best instruction set.
pub trait Job {
    /// Runs the sweep (inlined into the caller: [`run`] compiles it for
    /// AVX2).
    fn run(self);
}

/// Runs `job` with AVX2 where [`simd_level`] says so, else on the build's
/// baseline: the same bits either way (no FMA).
///
/// # Real-time safety
/// No allocation.
#[inline]
pub fn run<J: Job>(job: J) {
    #[cfg(target_arch = "x86_64")]
    {
        if simd_level() == SimdLevel::Avx2 {
            // SAFETY: AVX2 support was checked at run time.
            unsafe { run_avx2(job) };
            return;
        }
    }
    job.run()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline(never)]
unsafe fn run_avx2<J: Job>(job: J) {
    job.run()
}

/// Runs `job` on the build's baseline instruction set (for checks that the
/// paths agree).
#[inline(never)]
pub fn run_baseline<J: Job>(job: J) {
    job.run()
}

/// One time step: `u⁺` into `h` (from `u⁻` in `h`, `u = cur` and
/// `w = (a+b)·u − b·u⁻`), `w_next ← (a+b)·u⁺ − b·u`. All buffers are
/// padded, at least `l.len` long; padding is left untouched.
pub struct Step<'a, T, H> {
    /// The layout.
    pub l: &'a Layout,
    /// The coefficients.
    pub cf: CoefView<'a, T>,
    /// Where `u⁻` is read and `u⁺` written.
    pub h: H,
    /// `u`.
    pub cur: &'a [T],
    /// `(a+b)·u − b·u⁻`.
    pub w: &'a [T],
    /// Receives `(a+b)·u⁺ − b·u`.
    pub w_next: &'a mut [T],
}

impl<T: Real, H: History<T>> Job for Step<'_, T, H> {
    #[inline(always)]
    fn run(self) {
        let l = self.l;
        sweep(
            l,
            &self.cf,
            l.stride,
            sweep_end(l),
            self.h,
            self.cur,
            self.w,
            self.w_next,
        )
    }
}

/// Bytes of the streams that one chunk of [`StepPair`] may span: about
/// three quarters of a 32 KiB L1 data cache, so the second step, trailing
/// the first by one row, finds its inputs there. (Measured at 64×64:
/// 12–16-row chunks run ~15% faster than 4-row or whole-mesh ones; the
/// per-chunk loop set-up costs on small chunks, L1 misses on large ones.)
const PAIR_CHUNK_BYTES: usize = 24 * 1024;

/// The states of two steps in one sweep ([`StepPair`]): which buffers the
/// first step and the second read and write.
pub trait Pair<T> {
    /// Streams one chunk holds per node (maps, states, auxiliary fields).
    const STREAMS: usize;
    /// Where a step of the pair reads `u⁻` and writes `u⁺`.
    type H<'b>: History<T>
    where
        Self: 'b;
    /// The history and the current state `u` of the first step
    /// (`second == false`) or of the second.
    fn states(&mut self, second: bool) -> (Self::H<'_>, &[T]);
}

/// Two steps in two buffers (the engine): on entry `a = u⁻`, `b = u`; on
/// return `a = u⁺` and `b = u⁺⁺`.
pub struct InPlacePair<'a, T> {
    /// `u⁻`, then `u⁺`.
    pub a: &'a mut [T],
    /// `u`, then `u⁺⁺`.
    pub b: &'a mut [T],
}

impl<T: Real> Pair<T> for InPlacePair<'_, T> {
    const STREAMS: usize = 7;
    type H<'b>
        = InPlace<'b, T>
    where
        Self: 'b;
    #[inline(always)]
    fn states(&mut self, second: bool) -> (InPlace<'_, T>, &[T]) {
        if second {
            (InPlace(&mut *self.b), &*self.a)
        } else {
            (InPlace(&mut *self.a), &*self.b)
        }
    }
}

/// Two steps into two more buffers (the training model): `s2 = u_{t+1}`
/// from `(s0, s1) = (u_{t−1}, u_t)`, then `s3 = u_{t+2}` from `(s1, s2)`.
pub struct OutOfPlacePair<'a, T> {
    /// `u_{t−1}`.
    pub s0: &'a [T],
    /// `u_t`.
    pub s1: &'a [T],
    /// Receives `u_{t+1}`.
    pub s2: &'a mut [T],
    /// Receives `u_{t+2}`.
    pub s3: &'a mut [T],
}

impl<T: Real> Pair<T> for OutOfPlacePair<'_, T> {
    const STREAMS: usize = 9;
    type H<'b>
        = OutOfPlace<'b, T>
    where
        Self: 'b;
    #[inline(always)]
    fn states(&mut self, second: bool) -> (OutOfPlace<'_, T>, &[T]) {
        let (prev, cur, next) = if second {
            (self.s1, &*self.s2, &mut *self.s3)
        } else {
            (self.s0, self.s1, &mut *self.s2)
        };
        (OutOfPlace { prev, next }, cur)
    }
}

/// Two time steps in one sweep (temporal blocking).
///
/// Bit-identical to two [`Step`]s (the same arithmetic per node), but the
/// second step runs one row behind the first, while its inputs are still in
/// cache: the coefficient maps and the state come from memory once for both
/// steps, which matters when many voices share a core's L2. On entry `w`
/// holds the auxiliary field of the current state; on return `w_mid` holds
/// the first step's and `w` the second's. No excitation can be injected
/// between the two steps: callers use [`Step`] while one is active.
///
/// Row `y` of the second step needs the first step's auxiliary field on
/// rows `y−1..=y+1` and overwrites `w` on row `y`, which the first step
/// reads for rows `y−1..=y+1`: so the second step trails by exactly one row.
pub struct StepPair<'a, T, P> {
    /// The layout.
    pub l: &'a Layout,
    /// The coefficients.
    pub cf: CoefView<'a, T>,
    /// The states.
    pub p: P,
    /// The auxiliary field: the current state's, then the second step's.
    pub w: &'a mut [T],
    /// Receives the first step's auxiliary field.
    pub w_mid: &'a mut [T],
}

impl<T: Real, P: Pair<T>> Job for StepPair<'_, T, P> {
    #[inline(always)]
    fn run(self) {
        let Self {
            l,
            cf,
            mut p,
            w,
            w_mid,
        } = self;
        let (s, h) = (l.stride, l.height);
        let last = sweep_end(l);
        let end_of = |row: usize| if row > h { last } else { row * s };
        let chunk_rows = (PAIR_CHUNK_BYTES / (P::STREAMS * std::mem::size_of::<T>() * s)).max(2);
        let mut first = 1; // next row of the first step
        let mut second = 1; // next row of the second step
        while first <= h {
            let end = (first + chunk_rows).min(h + 1);
            let (hist, cur) = p.states(false);
            sweep(l, &cf, first * s, end_of(end), hist, cur, w, w_mid);
            first = end;
            let upto = if first > h { h + 1 } else { first - 1 };
            if upto > second {
                let (hist, cur) = p.states(true);
                sweep(l, &cf, second * s, end_of(upto), hist, cur, w_mid, w);
                second = upto;
            }
        }
    }
}
