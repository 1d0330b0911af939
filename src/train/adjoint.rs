//! The differentiable forward model of one voice and its exact gradient by
//! the adjoint-state method.
//!
//! # Forward model
//!
//! One voice on one mesh level at one step per sample, in the engine's exact
//! arithmetic (see [`crate::physics::scheme`]): for steps `t = 0 … T−1`,
//! starting at rest (`u₋₁ = u₀ = 0`),
//!
//! ```text
//! u_{t+1} = C·u_t − D·u_{t−1} + E·N w_t + F_t,     w_t = (a+b)·u_t − b·u_{t−1}
//! y_t     = g · P u_{t+1}
//! ```
//!
//! with `N` the neighbour sum (symmetric; padding and void nodes are zero),
//! the per-node coefficients of `fill_coefficients`
//! (`C = (2 − κk² − (a+b)·s·n)/(1+σ₀k)`, `D = (1 − σ₀k − b·s·n)/(1+σ₀k)`,
//! `E = s/(1+σ₀k)`), the strike force `F_t` (the engine's raised-cosine
//! window and envelope, injected after the step as
//! [`crate::engine::excitation::Excitation::inject`] does), the bilinear
//! pickup `P` and the output gain `g`. No DC blocker: the trainer applies
//! it (a fixed linear filter) on the loss side if it wants to.
//!
//! # Adjoint recurrence
//!
//! With `λ_t = ∂L/∂y_t` and `p_t = dL/du_t` (total derivative through
//! everything downstream), transposing the two Jacobians
//! `∂u_{t+1}/∂u_t = C + (a+b)·E·N` and `∂u_{t+1}/∂u_{t−1} = −D − b·E·N`
//! (`N` symmetric, `C, D, E` diagonal) gives a recurrence of the *same form*
//! as the scheme, run backwards in time:
//!
//! ```text
//! p_{T+1} = 0,  p_T = g·Pᵀλ_{T−1}
//! p_t = C·p_{t+1} − D·p_{t+2} + N v_{t+1} + g·Pᵀλ_{t−1},   v_t = E·((a+b)·p_t − b·p_{t+1})
//! ```
//!
//! and the gradients of the coefficients are sums over time of
//! `p_{t+1}` against the forward states:
//!
//! ```text
//! ∂L/∂C_i = Σ_t p_{t+1,i} u_{t,i}         ∂L/∂D_i = −Σ_t p_{t+1,i} u_{t−1,i}
//! ∂L/∂E_i = Σ_t p_{t+1,i} (N w_t)_i = (a+b)·U_i − b·V_i
//! ∂L/∂(a+b)|_w = Σ_i E_i U_i                ∂L/∂b|_w = −Σ_i E_i V_i
//! U_i = Σ_t p_{t+1,i} (N u_t)_i             V_i = Σ_t p_{t+1,i} (N u_{t−1})_i
//! ∂L/∂F_{t,i} = p_{t+1,i}                    ∂L/∂g = Σ_t λ_t P u_{t+1}
//! ```
//!
//! The chain rule through `C, D, E, (a+b), b` to the physical parameters
//! (with `inv = 1/(1+σ₀k)`):
//!
//! ```text
//! ∂L/∂s_i  = inv·(−(a+b)·n_i·∂C − b·n_i·∂D + ∂E)
//! ∂L/∂σ₀_i = −k·inv·(C·∂C + (1+D)·∂D + E·∂E)
//! ∂L/∂a    = Σ_i −s_i n_i inv_i ∂C_i + ∂(a+b)|_w
//! ∂L/∂b    = Σ_i −s_i n_i inv_i (∂C_i + ∂D_i) + ∂(a+b)|_w + ∂b|_w
//! ∂L/∂κk²  = Σ_i −inv_i ∂C_i
//! ```
//!
//! and through the strike (`F_{t,i} = A·S·k·env_t(n)·ŵ_i(c)`, `ŵ` the
//! normalised window, `n` the contact time in steps, `c` the centre) to its
//! amplitude, contact time and position.
//!
//! # Checkpointing
//!
//! The forward pass keeps `(u_{t−1}, u_t)` every `K` steps (≈ √T by
//! default). The backward pass walks the segments last to first,
//! recomputes each segment's states from its checkpoint into a buffer of
//! `K + 1` states (bit-identical to the forward pass: the auxiliary field is
//! stored too at checkpoints where the strike still acts, since the engine's
//! injection rounds it differently) and runs the adjoint over it. Memory is
//! `(T/K)·2 + (K+1)` states instead of `T`; with two threads a second segment
//! buffer lets one thread recompute segment `j−1` while the other runs the
//! adjoint over segment `j`.

use crate::engine::excitation::STRIKE_SCALE;
use crate::instrument::PLAN_SAFETY;
use crate::physics::aligned::Aligned;
use crate::physics::body::{Body, Layout, NodeKind};
use crate::physics::certificate::{row_bound, Certificate, LIMIT};
use crate::physics::kernel::{
    self, node_coefficients, CoefMaps, CoefView, OutOfPlace, OutOfPlacePair,
};
use crate::physics::scheme::{BodyMaps, SchemeParams};

/// The floating-point types the model runs in (`f32` for training, `f64`
/// for finite-difference checks): the kernel's.
pub use crate::physics::kernel::Real;

/// Why the model refused to run.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum AdjointError {
    /// A map or signal of the wrong length.
    #[error("{what}: expected {expected} values, got {got}")]
    Length {
        /// Which input.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// A parameter is NaN or infinite.
    #[error("parameter {0} is not finite")]
    NotFinite(&'static str),
    /// The parameters fail the stability certificate.
    #[error("unstable: (a+2b)·r + κk² = {value:.4} ≥ {limit}")]
    Unstable {
        /// The certificate's value.
        value: f64,
        /// The limit it must stay under.
        limit: f64,
    },
    /// The model cannot be built as asked.
    #[error("invalid model: {0}")]
    Invalid(String),
}

/// The strike's differentiable parameters.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct StrikeParams<T> {
    /// Horizontal position, 0..1 (clamped; the gradient is that of the interior).
    pub x: T,
    /// Vertical position, 0..1 (ignored on a string).
    pub y: T,
    /// Amplitude (the engine's velocity × loudness).
    pub amplitude: T,
    /// Contact time in time steps (real-valued, ≥ 1; the engine rounds `contact_s / k`).
    pub contact_steps: T,
}

/// Every trainable parameter θ of one voice. Maps are row-major
/// `width × height`; entries off the body are ignored (and get zero gradient).
#[derive(Clone, Debug, PartialEq)]
pub struct Params<T> {
    /// Stiffness map `s` (relative c²).
    pub stiffness: Vec<T>,
    /// Frequency-independent damping map σ₀, 1/s.
    pub sigma0: Vec<T>,
    /// `a = c²k²` (global stiffness: the pitch scale).
    pub a: T,
    /// `b = 2σ₁k` (frequency-dependent loss).
    pub b: T,
    /// `κk²` (support spring).
    pub kappa_k2: T,
    /// The strike.
    pub strike: StrikeParams<T>,
    /// Output gain.
    pub gain: T,
}

impl<T: Real> Params<T> {
    /// All parameters zero, with maps of `nodes` entries (a gradient accumulator).
    pub fn zeros(nodes: usize) -> Self {
        Self {
            stiffness: vec![T::ZERO; nodes],
            sigma0: vec![T::ZERO; nodes],
            a: T::ZERO,
            b: T::ZERO,
            kappa_k2: T::ZERO,
            strike: StrikeParams::default(),
            gain: T::ZERO,
        }
    }

    fn scalars(&self) -> [T; 8] {
        let s = &self.strike;
        [
            self.a,
            self.b,
            self.kappa_k2,
            s.x,
            s.y,
            s.amplitude,
            s.contact_steps,
            self.gain,
        ]
    }

    fn scalars_mut(&mut self) -> [&mut T; 8] {
        let s = &mut self.strike;
        [
            &mut self.a,
            &mut self.b,
            &mut self.kappa_k2,
            &mut s.x,
            &mut s.y,
            &mut s.amplitude,
            &mut s.contact_steps,
            &mut self.gain,
        ]
    }

    /// Inner product `⟨self, other⟩` over every parameter (in `f64`).
    pub fn dot(&self, other: &Self) -> f64 {
        let maps: f64 = self
            .stiffness
            .iter()
            .zip(&other.stiffness)
            .chain(self.sigma0.iter().zip(&other.sigma0))
            .map(|(a, b)| a.to_f64() * b.to_f64())
            .sum();
        let sc: f64 = self
            .scalars()
            .iter()
            .zip(other.scalars())
            .map(|(a, b)| a.to_f64() * b.to_f64())
            .sum();
        maps + sc
    }

    /// `self += alpha · dir`.
    pub fn axpy(&mut self, alpha: f64, dir: &Self) {
        for (v, d) in self
            .stiffness
            .iter_mut()
            .zip(&dir.stiffness)
            .chain(self.sigma0.iter_mut().zip(&dir.sigma0))
        {
            *v = T::from_f64(v.to_f64() + alpha * d.to_f64());
        }
        for (v, d) in self.scalars_mut().into_iter().zip(dir.scalars()) {
            *v = T::from_f64(v.to_f64() + alpha * d.to_f64());
        }
    }

    /// True when every value is finite.
    pub fn is_finite(&self) -> bool {
        self.stiffness
            .iter()
            .chain(&self.sigma0)
            .chain(self.scalars().iter())
            .all(|v| v.to_f64().is_finite())
    }
}

/// The gradient of a loss with respect to every parameter, and what it cost.
#[derive(Clone, Debug)]
pub struct Gradients<T> {
    /// `∂L/∂θ`, in the shape of [`Params`].
    pub grad: Params<T>,
    /// Bytes held by the adjoint pass (checkpoints, segment buffers, work arrays).
    pub memory_bytes: usize,
    /// Steps per checkpoint segment used.
    pub segment: usize,
    /// Checkpoints stored.
    pub checkpoints: usize,
}

/// How the forward states are kept for the backward pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Checkpointing {
    /// Checkpoints every ≈ √T steps.
    #[default]
    Auto,
    /// Checkpoints every `K` steps (clamped to 1..=T).
    Every(usize),
    /// Every state of the forward pass is kept (no recomputation).
    FullHistory,
}

/// The forward pass's record for the backward pass.
#[derive(Clone, Debug)]
pub struct Tape<T> {
    steps: usize,
    segment: usize,
    full: bool,
    /// `(u_{jK−1}, u_{jK})` per checkpoint `j`, interior nodes only (no padding).
    checkpoints: Vec<T>,
    /// The auxiliary field at checkpoints inside the strike's contact time.
    aux: Vec<(usize, Vec<T>)>,
    /// The full history (`u_{−1} … u_{T−1}`) for [`Checkpointing::FullHistory`].
    history: Aligned<T>,
    /// Pickup before gain, `P u_{t+1}`.
    raw: Vec<T>,
}

impl<T> Tape<T> {
    /// Bytes this tape holds.
    pub fn bytes(&self) -> usize {
        let t = std::mem::size_of::<T>();
        (self.checkpoints.len()
            + self.aux.iter().map(|a| a.1.len()).sum::<usize>()
            + self.history.len()
            + self.raw.len())
            * t
    }
    /// Steps recorded.
    pub fn steps(&self) -> usize {
        self.steps
    }
}

/// Per-node coefficient maps in the padded layout.
#[derive(Clone, Debug)]
pub struct Coefs<T> {
    /// Weight of `u`.
    pub c: Vec<T>,
    /// Weight of `u⁻` (subtracted).
    pub d: Vec<T>,
    /// Weight of the neighbour sum of `w`.
    pub e: Vec<T>,
    /// `1/(1+σ₀k)` (zero off the body).
    pub inv: Vec<T>,
    /// `a + b`.
    pub ab: T,
    /// `b`.
    pub b: T,
}

/// Bilinear pickup: padded index of the top-left node and four weights.
#[derive(Clone, Copy, Debug)]
struct Tap<T> {
    i: usize,
    w: [T; 4],
}

impl<T: Real> Tap<T> {
    /// As the engine's `Tap::at` (weights computed in `f64`, rounded to `T`).
    fn at(layout: &Layout, x: f64, y: f64) -> Self {
        let gx = x.clamp(0.0, 1.0) * (layout.width - 1) as f64;
        let gy = y.clamp(0.0, 1.0) * (layout.height - 1) as f64;
        let (x0, y0) = (
            gx.floor().min((layout.width - 1) as f64),
            gy.floor().min((layout.height - 1) as f64),
        );
        let (fx, fy) = (T::from_f64(gx - x0), T::from_f64(gy - y0));
        let one = T::ONE;
        Self {
            i: layout.idx(x0 as usize, y0 as usize),
            w: [
                (one - fx) * (one - fy),
                fx * (one - fy),
                (one - fx) * fy,
                fx * fy,
            ],
        }
    }
    #[inline]
    fn read(&self, stride: usize, u: &[T]) -> T {
        let i = self.i;
        self.w[0] * u[i]
            + self.w[1] * u[i + 1]
            + self.w[2] * u[i + stride]
            + self.w[3] * u[i + stride + 1]
    }
    fn nodes(&self, stride: usize) -> [usize; 4] {
        [self.i, self.i + 1, self.i + stride, self.i + stride + 1]
    }
}

/// The strike's spatial window, prepared for one set of parameters.
#[derive(Clone, Debug)]
struct Strike<T> {
    /// Padded indices of the window's body nodes.
    nodes: Vec<usize>,
    /// Raw window `wx·wy` per node (in `T`, as the engine's arithmetic).
    wx: Vec<T>,
    wy: Vec<T>,
    /// Per-step scale `A·S·k / Σw` (in `T`).
    scale: T,
    /// Contact time in steps.
    n: f64,
    /// Normalised window and its derivatives in the centre (for gradients).
    hat: Vec<f64>,
    dhat_x: Vec<f64>,
    dhat_y: Vec<f64>,
}

impl<T: Real> Strike<T> {
    /// Envelope of step `t` (zero once `t + ½ ≥ n`), as the engine's `inject`.
    #[inline]
    fn env(&self, t: usize) -> Option<T> {
        if (t as f64 + 0.5) >= self.n {
            return None;
        }
        let n = T::from_f64(self.n);
        let phase = (T::from_f64(t as f64) + T::from_f64(0.5)) / n;
        let two_pi = T::from_f64(2.0) * T::from_f64(std::f64::consts::PI);
        Some((T::ONE - (two_pi * phase).cos()) / n)
    }
    /// Steps during which the strike acts.
    fn active_steps(&self) -> usize {
        (self.n - 0.5).ceil().max(0.0) as usize
    }
    /// `∂env_t/∂n` in `f64`.
    fn denv_dn(&self, t: usize) -> f64 {
        let n = self.n;
        let th = 2.0 * std::f64::consts::PI * (t as f64 + 0.5) / n;
        if t as f64 + 0.5 >= n {
            return 0.0;
        }
        -(1.0 - th.cos()) / (n * n) - th.sin() * th / (n * n)
    }
}

/// Bounds the certificate projection keeps parameters in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    /// Stiffness range (the instrument format allows 1e-3..1).
    pub stiffness: (f64, f64),
    /// σ₀ range, 1/s (the format allows 0..200).
    pub sigma0: (f64, f64),
    /// Smallest contact time in steps.
    pub min_contact_steps: f64,
    /// Share of the certificate's limit allowed ([`PLAN_SAFETY`] by default).
    pub safety: f64,
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            stiffness: (1e-3, 1.0),
            sigma0: (0.0, 200.0),
            min_contact_steps: 1.0,
            safety: PLAN_SAFETY,
        }
    }
}

/// The differentiable model of one voice on one mesh level.
#[derive(Clone, Debug)]
pub struct Model<T> {
    body: Body,
    layout: Layout,
    /// Padded: 1 on body nodes.
    is_body: Vec<bool>,
    /// Padded diagonal Laplacian weight `n`.
    diag: Vec<T>,
    /// Time step, seconds.
    k: f64,
    tap: Tap<T>,
    /// A second pickup, summed with the first ([`Model::with_pickups`]).
    tap2: Option<Tap<T>>,
    /// Initial displacement `u₋₁ = u₀` (padded), or rest ([`Model::with_initial_displacement`]).
    init: Option<Vec<T>>,
    /// Strike window diameter as a share of the mesh width.
    strike_width: f64,
    /// Worker threads for the backward pass (1 or 2).
    threads: usize,
}

impl<T: Real> Model<T> {
    /// A model of `body` at time step `k` (seconds), heard at `pickup`
    /// (0..1 each) and struck with a window of diameter `strike_width`
    /// (share of the mesh width, as the instrument file's `excitation.width`).
    pub fn new(
        body: Body,
        k: f64,
        pickup: (f64, f64),
        strike_width: f64,
    ) -> Result<Self, AdjointError> {
        if body.body_nodes() == 0 {
            return Err(AdjointError::Invalid("the body has no node".into()));
        }
        if !(k.is_finite() && k > 0.0) {
            return Err(AdjointError::Invalid(format!("time step {k}")));
        }
        if !(strike_width.is_finite() && strike_width > 0.0) {
            return Err(AdjointError::Invalid(format!(
                "strike width {strike_width}"
            )));
        }
        let layout = body.layout();
        let mut is_body = vec![false; layout.len];
        let mut diag = vec![T::ZERO; layout.len];
        for y in 0..body.height {
            for x in 0..body.width {
                if body.mask[y * body.width + x] == NodeKind::Body {
                    let p = layout.idx(x, y);
                    is_body[p] = true;
                    diag[p] = T::from_f64(body.diagonal_weight(x, y) as f64);
                }
            }
        }
        Ok(Self {
            tap: Tap::at(&layout, pickup.0, pickup.1),
            tap2: None,
            init: None,
            body,
            layout,
            is_body,
            diag,
            k,
            strike_width,
            threads: 1,
        })
    }

    /// Uses `threads` (1 or 2) for the backward pass: with 2, one thread
    /// recomputes the previous segment while the other runs the adjoint.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.clamp(1, 2);
        self
    }

    /// Hears the mean of two pickups, `y = g·(P_left + P_right)·u / 2`: the
    /// engine's mono mix `0.5·(L + R)` of its two channels.
    pub fn with_pickups(mut self, left: (f64, f64), right: (f64, f64)) -> Self {
        let half = T::from_f64(0.5);
        let (mut l, mut r) = (
            Tap::at(&self.layout, left.0, left.1),
            Tap::at(&self.layout, right.0, right.1),
        );
        for w in l.w.iter_mut().chain(r.w.iter_mut()) {
            *w = *w * half;
        }
        self.tap = l;
        self.tap2 = Some(r);
        self
    }

    /// Starts displaced: `u₋₁ = u₀ = u0` (row-major `width × height`, zero
    /// off the body), as the engine's pluck leaves the mesh. The gradient
    /// covers the scheme's parameters; `u0` itself is held fixed.
    pub fn with_initial_displacement(mut self, u0: &[T]) -> Result<Self, AdjointError> {
        if u0.len() != self.nodes() {
            return Err(AdjointError::Length {
                what: "initial displacement",
                expected: self.nodes(),
                got: u0.len(),
            });
        }
        let mut padded = vec![T::ZERO; self.layout.len];
        for y in 0..self.body.height {
            for x in 0..self.body.width {
                let q = self.layout.idx(x, y);
                if self.is_body[q] {
                    padded[q] = u0[y * self.body.width + x];
                }
            }
        }
        self.init = Some(padded);
        Ok(self)
    }

    /// The output before gain: `P u` (both pickups when there are two).
    #[inline]
    fn hear(&self, u: &[T]) -> T {
        let s = self.layout.stride;
        match &self.tap2 {
            Some(t) => self.tap.read(s, u) + t.read(s, u),
            None => self.tap.read(s, u),
        }
    }

    /// `Pᵀ` as (padded node, weight) pairs.
    fn tap_weights(&self) -> Vec<(usize, T)> {
        let s = self.layout.stride;
        let mut v: Vec<(usize, T)> = self.tap.nodes(s).into_iter().zip(self.tap.w).collect();
        if let Some(t) = &self.tap2 {
            v.extend(t.nodes(s).into_iter().zip(t.w));
        }
        v
    }

    /// Sets the initial state (`prev = u₋₁`, `cur = u₀`, `w = w₀`) of a run.
    fn start_state(&self, cf: &KernelCoefs<T>, prev: &mut [T], cur: &mut [T], w: &mut [T]) {
        if let Some(init) = &self.init {
            prev.copy_from_slice(init);
            cur.copy_from_slice(init);
            kernel::aux(cf.maps.ab, cf.maps.b, prev, cur, w);
        }
    }

    /// The body nodes: (index in a `width × height` map, padded index).
    fn body_nodes(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let (w, h) = (self.body.width, self.body.height);
        (0..w * h)
            .map(move |i| (i, self.layout.idx(i % w, i / w)))
            .filter(|&(_, q)| self.is_body[q])
    }

    /// The body.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// The padded layout.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Time step, seconds.
    pub fn k(&self) -> f64 {
        self.k
    }

    /// Nodes of a parameter map (`width × height`).
    pub fn nodes(&self) -> usize {
        self.body.width * self.body.height
    }

    fn check(&self, p: &Params<T>) -> Result<(), AdjointError> {
        for (what, m) in [("stiffness", &p.stiffness), ("sigma0", &p.sigma0)] {
            if m.len() != self.nodes() {
                return Err(AdjointError::Length {
                    what,
                    expected: self.nodes(),
                    got: m.len(),
                });
            }
        }
        if !p.is_finite() {
            return Err(AdjointError::NotFinite("θ"));
        }
        let cert = self.certificate(p);
        if !cert.holds() {
            return Err(AdjointError::Unstable {
                value: cert.value,
                limit: LIMIT,
            });
        }
        Ok(())
    }

    /// The per-node coefficients of `p`, in the engine's arithmetic
    /// (identical to `fill_coefficients` in `f32`).
    pub fn coefficients(&self, p: &Params<T>) -> Coefs<T> {
        let KernelCoefs { maps, inv } = self.kernel_coefs(p);
        Coefs {
            c: maps.c.to_vec(),
            d: maps.d.to_vec(),
            e: maps.e.to_vec(),
            inv: inv.to_vec(),
            ab: maps.ab,
            b: maps.b,
        }
    }

    /// [`Model::coefficients`] in aligned buffers, for the kernels.
    fn kernel_coefs(&self, p: &Params<T>) -> KernelCoefs<T> {
        let len = self.layout.len;
        let mut maps = CoefMaps::zeroed(len);
        let mut inv = Aligned::zeroed(len);
        let (c, d, e) = (&mut maps.c, &mut maps.d, &mut maps.e);
        self.fill_coefficients(p, c, d, e, &mut inv);
        (maps.ab, maps.b) = (p.a + p.b, p.b);
        KernelCoefs { maps, inv }
    }

    /// Writes `C, D, E` and `1/(1+σ₀k)` of `p` at the body nodes of the
    /// zeroed padded maps.
    fn fill_coefficients(
        &self,
        p: &Params<T>,
        c: &mut [T],
        d: &mut [T],
        e: &mut [T],
        inv: &mut [T],
    ) {
        let k = T::from_f64(self.k);
        let (a, b, kk) = (p.a, p.b, p.kappa_k2);
        for (i, q) in self.body_nodes() {
            let (s, sig0, n) = (p.stiffness[i], p.sigma0[i], self.diag[q]);
            [c[q], d[q], e[q], inv[q]] = node_coefficients(s, sig0, n, a, b, kk, k);
        }
    }

    /// The strike of `p`: the engine's raised-cosine window made smooth in
    /// the centre (every node strictly inside the radius `r + ½` is covered).
    fn strike(&self, p: &Params<T>) -> Strike<T> {
        let l = &self.layout;
        let sp = &p.strike;
        let half = T::from_f64(0.5);
        let radius = half * T::from_f64(self.strike_width) * T::from_f64(l.width as f64);
        let r = radius
            .to_f64()
            .max(0.5)
            .min((crate::engine::excitation::MAX_WINDOW / 2) as f64 - 0.5);
        let big_r = T::from_f64(r) + half;
        let clamp01 = |v: T| {
            if v < T::ZERO {
                T::ZERO
            } else if v > T::ONE {
                T::ONE
            } else {
                v
            }
        };
        let cx = clamp01(sp.x) * T::from_f64((l.width - 1) as f64);
        let cy = clamp01(sp.y) * T::from_f64((l.height - 1) as f64);
        let pi = T::from_f64(std::f64::consts::PI);
        // One axis: (node, window value in T, window and derivative in f64).
        let axis = |c: T, len: usize| -> Vec<(usize, T, f64, f64)> {
            let (cf, rf) = (c.to_f64(), big_r.to_f64());
            let lo = ((cf - rf).floor() + 1.0).max(0.0) as usize;
            let hi = ((cf + rf).ceil() - 1.0).min(len as f64 - 1.0);
            let mut out = Vec::new();
            if hi < lo as f64 {
                return out;
            }
            for j in lo..=hi as usize {
                let dd = (T::from_f64(j as f64) - c) / big_r;
                let v = half * (T::ONE + (pi * dd).cos());
                let df = (j as f64 - cf) / rf;
                let w = 0.5 * (1.0 + (std::f64::consts::PI * df).cos());
                let dw = 0.5 * (std::f64::consts::PI * df).sin() * std::f64::consts::PI / rf;
                out.push((j, v, w, dw));
            }
            out
        };
        let xs = axis(cx, l.width);
        let ys = if l.height == 1 {
            vec![(0, T::ONE, 1.0, 0.0)]
        } else {
            axis(cy, l.height)
        };
        let mut st = Strike {
            nodes: Vec::new(),
            wx: Vec::new(),
            wy: Vec::new(),
            scale: T::ZERO,
            n: sp.contact_steps.to_f64(),
            hat: Vec::new(),
            dhat_x: Vec::new(),
            dhat_y: Vec::new(),
        };
        let mut sum = T::ZERO;
        let (mut sum64, mut sx, mut sy) = (0.0, 0.0, 0.0);
        let mut raw = Vec::new();
        for &(jy, vy, wy, dwy) in &ys {
            for &(jx, vx, wx, dwx) in &xs {
                let q = l.idx(jx, jy);
                if !self.is_body[q] {
                    continue;
                }
                sum += vx * vy;
                st.nodes.push(q);
                st.wx.push(vx);
                st.wy.push(vy);
                let (w, gx, gy) = (wx * wy, dwx * wy, wx * dwy);
                sum64 += w;
                sx += gx;
                sy += gy;
                raw.push((w, gx, gy));
            }
        }
        if st.nodes.is_empty() || sum64 <= 0.0 {
            st.nodes.clear();
            return st;
        }
        st.scale = sp.amplitude * T::from_f64(STRIKE_SCALE as f64) * T::from_f64(self.k) / sum;
        for (w, gx, gy) in raw {
            st.hat.push(w / sum64);
            st.dhat_x.push(gx / sum64 - w * sx / (sum64 * sum64));
            st.dhat_y.push(gy / sum64 - w * sy / (sum64 * sum64));
        }
        st
    }

    /// The strike force added at step `t` (to `u_{t+1}`), as a padded field.
    pub fn strike_force(&self, p: &Params<T>, t: usize) -> Vec<T> {
        let st = self.strike(p);
        let mut out = vec![T::ZERO; self.layout.len];
        if let Some(env) = st.env(t) {
            let f = st.scale * env;
            for (j, &q) in st.nodes.iter().enumerate() {
                out[q] = st.wy[j] * f * st.wx[j];
            }
        }
        out
    }

    /// The certificate of `p` (the engine's own computation on `f32` maps).
    pub fn certificate(&self, p: &Params<T>) -> Certificate {
        let s: Vec<f32> = p.stiffness.iter().map(|v| v.to_f64() as f32).collect();
        let z = vec![0.0f32; s.len()];
        let maps = BodyMaps::new(self.body.clone(), &s, &z);
        Certificate::new(
            row_bound(&maps),
            &SchemeParams {
                a: p.a.to_f64(),
                b: p.b.to_f64(),
                kappa_k2: p.kappa_k2.to_f64(),
                k: self.k,
            },
        )
    }

    /// Runs the model for `steps` steps and returns the output `y` (the
    /// taped forward pass with a single checkpoint: the same steps, the
    /// same bits).
    pub fn forward(&self, p: &Params<T>, steps: usize) -> Result<Vec<T>, AdjointError> {
        let mode = Checkpointing::Every(steps.max(1));
        Ok(self.forward_taped(p, steps, mode)?.0)
    }

    /// One step plus the strike injection: `next = u_{t+1}`, `w_next = w_{t+1}`.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn advance(
        &self,
        cf: &KernelCoefs<T>,
        st: &Strike<T>,
        t: usize,
        prev: &[T],
        cur: &[T],
        next: &mut [T],
        w: &[T],
        w_next: &mut [T],
    ) {
        forward_step(&self.layout, cf, prev, cur, next, w, w_next);
        if let Some(env) = st.env(t) {
            let f = st.scale * env;
            for (j, &q) in st.nodes.iter().enumerate() {
                let d = st.wy[j] * f * st.wx[j];
                next[q] += d;
                w_next[q] += cf.maps.ab * d;
            }
        }
    }

    /// Segment length for `steps` under `mode`.
    fn segment_len(&self, steps: usize, mode: Checkpointing) -> usize {
        let steps = steps.max(1);
        match mode {
            Checkpointing::Auto => ((steps as f64).sqrt().round() as usize).clamp(1, steps),
            Checkpointing::Every(k) => k.clamp(1, steps),
            Checkpointing::FullHistory => steps,
        }
    }

    /// Runs the model and records what the backward pass needs.
    pub fn forward_taped(
        &self,
        p: &Params<T>,
        steps: usize,
        mode: Checkpointing,
    ) -> Result<(Vec<T>, Tape<T>), AdjointError> {
        self.check(p)?;
        let cf = self.kernel_coefs(p);
        let st = self.strike(p);
        let len = self.layout.len;
        let z = || Aligned::zeroed(len);
        let seg = self.segment_len(steps, mode);
        let full = mode == Checkpointing::FullHistory;
        let active = st.active_steps();
        let mut tape = Tape {
            steps,
            segment: seg,
            full,
            checkpoints: Vec::new(),
            aux: Vec::new(),
            history: Aligned::zeroed(0),
            raw: Vec::with_capacity(steps),
        };
        let mut out = Vec::with_capacity(steps);
        if full {
            // u_{−1} … u_{T−1}.
            tape.history = Aligned::zeroed((steps + 1) * len);
            let (mut w, mut w_next) = (z(), z());
            if self.init.is_some() {
                let (h0, h1) = tape.history.split_at_mut(len);
                self.start_state(&cf, h0, &mut h1[..len], &mut w);
            }
            for t in 0..steps {
                // Slots t, t+1 hold u_{t−1}, u_t; write u_{t+1} into slot t+2
                // (the last state goes to a scratch buffer).
                let mut scratch: Aligned<T>;
                let (head, tail) = tape.history.split_at_mut((t + 2).min(steps + 1) * len);
                let (prev, cur) = (
                    &head[t * len..(t + 1) * len],
                    &head[(t + 1) * len..(t + 2) * len],
                );
                let next: &mut [T] = if t + 2 <= steps {
                    &mut tail[..len]
                } else {
                    scratch = z();
                    &mut scratch
                };
                self.advance(&cf, &st, t, prev, cur, next, &w, &mut w_next);
                let y = self.hear(next);
                tape.raw.push(y);
                out.push(p.gain * y);
                std::mem::swap(&mut w, &mut w_next);
            }
            return Ok((out, tape));
        }
        let (mut prev, mut cur, mut next, mut next2) = (z(), z(), z(), z());
        let (mut w, mut w_next) = (z(), z());
        self.start_state(&cf, &mut prev, &mut cur, &mut w);
        tape.checkpoints
            .reserve(steps.div_ceil(seg) * 2 * self.layout.width * self.layout.height);
        let mut t = 0;
        while t < steps {
            if t % seg == 0 {
                self.pack(&prev, &mut tape.checkpoints);
                self.pack(&cur, &mut tape.checkpoints);
                if t > 0 && t <= active {
                    tape.aux.push((t, w.to_vec()));
                }
            }
            // Two steps per sweep once the strike is over, unless a
            // checkpoint falls between them.
            if t >= active && t + 2 <= steps && (t + 1) % seg != 0 {
                forward_pair(
                    &self.layout,
                    &cf,
                    &prev,
                    &cur,
                    &mut next,
                    &mut next2,
                    &mut w,
                    &mut w_next,
                );
                for u in [&next, &next2] {
                    let y = self.hear(u);
                    tape.raw.push(y);
                    out.push(p.gain * y);
                }
                std::mem::swap(&mut prev, &mut next);
                std::mem::swap(&mut cur, &mut next2);
                t += 2;
                continue;
            }
            self.advance(&cf, &st, t, &prev, &cur, &mut next, &w, &mut w_next);
            let y = self.hear(&next);
            tape.raw.push(y);
            out.push(p.gain * y);
            std::mem::swap(&mut prev, &mut cur);
            std::mem::swap(&mut cur, &mut next);
            std::mem::swap(&mut w, &mut w_next);
            t += 1;
        }
        Ok((out, tape))
    }

    /// Appends the interior nodes of the padded buffer `u` to `out`
    /// (checkpoints are kept without the zero padding).
    fn pack(&self, u: &[T], out: &mut Vec<T>) {
        let l = &self.layout;
        for y in 0..l.height {
            let o = l.idx(0, y);
            out.extend_from_slice(&u[o..o + l.width]);
        }
    }

    /// Writes packed interior nodes back into the padded buffer `u`
    /// (whose padding is zero and stays zero).
    fn unpack(&self, packed: &[T], u: &mut [T]) {
        let l = &self.layout;
        u.iter_mut().for_each(|v| *v = T::ZERO);
        for y in 0..l.height {
            let o = l.idx(0, y);
            u[o..o + l.width].copy_from_slice(&packed[y * l.width..(y + 1) * l.width]);
        }
    }

    /// Recomputes segment `j` into `buf` (slots `u_{jK−1} … u_{jK+cnt−1}`).
    #[allow(clippy::too_many_arguments)]
    fn recompute(
        &self,
        cf: &KernelCoefs<T>,
        st: &Strike<T>,
        tape: &Tape<T>,
        j: usize,
        buf: &mut [T],
        w: &mut Aligned<T>,
        w_next: &mut Aligned<T>,
    ) {
        let len = self.layout.len;
        let seg = tape.segment;
        let t0 = j * seg;
        let cnt = seg.min(tape.steps - t0);
        let n = self.layout.width * self.layout.height;
        let saved = &tape.checkpoints[2 * j * n..2 * (j + 1) * n];
        self.unpack(&saved[..n], &mut buf[..len]);
        self.unpack(&saved[n..], &mut buf[len..2 * len]);
        if let Some((_, a)) = tape.aux.iter().find(|a| a.0 == t0) {
            w.copy_from_slice(a);
        } else {
            kernel::aux(cf.maps.ab, cf.maps.b, &buf[..len], &buf[len..2 * len], w);
        }
        let active = st.active_steps();
        let mut m = 1;
        while m < cnt {
            let t = t0 + m - 1;
            let (head, tail) = buf.split_at_mut((m + 1) * len);
            let (prev, cur) = (&head[(m - 1) * len..m * len], &head[m * len..]);
            if t >= active && m + 2 <= cnt {
                let (next, next2) = tail.split_at_mut(len);
                forward_pair(
                    &self.layout,
                    cf,
                    prev,
                    cur,
                    next,
                    &mut next2[..len],
                    w,
                    w_next,
                );
                m += 2;
            } else {
                self.advance(cf, st, t, prev, cur, &mut tail[..len], w, w_next);
                std::mem::swap(w, w_next);
                m += 1;
            }
        }
    }

    /// Bytes the taped forward and backward passes hold for `steps` steps
    /// of `p` under `mode` (the figure [`Gradients::memory_bytes`] reports):
    /// checkpoints (2 states each, plus the auxiliary field at checkpoints
    /// inside the strike), the pickup record, the segment buffer(s) of
    /// `K + 1` states and 10 work arrays.
    pub fn adjoint_memory(&self, p: &Params<T>, steps: usize, mode: Checkpointing) -> usize {
        let len = self.layout.len;
        let seg = self.segment_len(steps, mode);
        let nseg = steps.div_ceil(seg);
        let active = self.strike(p).active_steps();
        let states = if mode == Checkpointing::FullHistory {
            (steps + 1) * len
        } else {
            let aux = (1..nseg).filter(|j| j * seg <= active).count();
            let buffers = if self.threads >= 2 && nseg >= 2 { 2 } else { 1 };
            // Checkpoints are stored without the padding.
            2 * nseg * self.layout.width * self.layout.height
                + aux * len
                + buffers * (seg + 1) * len
        };
        (states + steps + 10 * len) * std::mem::size_of::<T>()
    }

    /// The gradient of a loss `L(y)` with `dloss_dy = ∂L/∂y` (one value per
    /// step): runs the taped forward pass and the backward pass.
    pub fn gradient(
        &self,
        p: &Params<T>,
        dloss_dy: &[T],
        mode: Checkpointing,
    ) -> Result<Gradients<T>, AdjointError> {
        let (_, tape) = self.forward_taped(p, dloss_dy.len(), mode)?;
        self.backward(p, &tape, dloss_dy)
    }

    /// The backward (adjoint) pass over a tape of [`Model::forward_taped`]
    /// with the same parameters.
    pub fn backward(
        &self,
        p: &Params<T>,
        tape: &Tape<T>,
        dloss_dy: &[T],
    ) -> Result<Gradients<T>, AdjointError> {
        self.check(p)?;
        let steps = tape.steps;
        if dloss_dy.len() != steps {
            return Err(AdjointError::Length {
                what: "dloss_dy",
                expected: steps,
                got: dloss_dy.len(),
            });
        }
        let cf = self.kernel_coefs(p);
        let st = self.strike(p);
        let len = self.layout.len;
        let stride = self.layout.stride;
        let seg = tape.segment;
        let nseg = steps.div_ceil(seg.max(1));
        let tsize = std::mem::size_of::<T>();
        let mut grad = Params::zeros(self.nodes());
        if steps == 0 {
            return Ok(Gradients {
                grad,
                memory_bytes: tape.bytes(),
                segment: seg,
                checkpoints: 0,
            });
        }
        // Adjoint state.
        let mut adj = AdjointState::new(len);
        let gain = p.gain;
        let taps = self.tap_weights();
        // p_T = g·Pᵀλ_{T−1}, v_T = E·(a+b)·p_T.
        for &(q, tw) in &taps {
            let s = gain * dloss_dy[steps - 1] * tw;
            adj.p1[q] += s;
            adj.v[q] += cf.maps.e[q] * cf.maps.ab * s;
        }
        // Strike sums (f64): Σ env·P, Σ env'·P, Σ env·Px, Σ env·Py.
        let mut sg = [0.0f64; 4];
        let active = st.active_steps();
        let mut do_segment = |adj: &mut AdjointState<T>, j: usize, buf: &[T]| {
            let t0 = j * seg;
            let cnt = seg.min(steps - t0);
            for m in (1..=cnt).rev() {
                let t = t0 + m - 1;
                if t < active {
                    if let Some(env) = st.env(t) {
                        let env = env.to_f64();
                        let (mut pp, mut px, mut py) = (0.0, 0.0, 0.0);
                        for (i, &q) in st.nodes.iter().enumerate() {
                            let v = adj.p1[q].to_f64();
                            pp += v * st.hat[i];
                            px += v * st.dhat_x[i];
                            py += v * st.dhat_y[i];
                        }
                        sg[0] += env * pp;
                        sg[1] += st.denv_dn(t) * pp;
                        sg[2] += env * px;
                        sg[3] += env * py;
                    }
                }
                let ut = &buf[m * len..(m + 1) * len];
                adjoint_step(&self.layout, &cf, adj, ut);
                if t >= 1 {
                    let lam = gain * dloss_dy[t - 1];
                    for &(q, tw) in &taps {
                        let s = lam * tw;
                        adj.p2[q] += s;
                        adj.v_next[q] += cf.maps.e[q] * cf.maps.ab * s;
                    }
                }
                std::mem::swap(&mut adj.p1, &mut adj.p2);
                std::mem::swap(&mut adj.v, &mut adj.v_next);
            }
        };
        let work_bytes = adj.bytes() + 2 * len * tsize;
        let memory_bytes;
        if tape.full {
            do_segment(&mut adj, 0, &tape.history);
            memory_bytes = tape.bytes() + work_bytes;
        } else if self.threads >= 2 && nseg >= 2 {
            let seg_elems = (seg + 1) * len;
            memory_bytes = tape.bytes() + work_bytes + 2 * seg_elems * tsize;
            let (to_adj, from_rec) = std::sync::mpsc::sync_channel::<(usize, Aligned<T>)>(1);
            let (to_rec, free) = std::sync::mpsc::sync_channel::<Aligned<T>>(2);
            to_rec.send(Aligned::zeroed(seg_elems)).expect("buffer");
            to_rec.send(Aligned::zeroed(seg_elems)).expect("buffer");
            std::thread::scope(|s| {
                let (cf, st) = (&cf, &st);
                s.spawn(move || {
                    let (mut w, mut w_next) = (Aligned::zeroed(len), Aligned::zeroed(len));
                    for j in (0..nseg).rev() {
                        let Ok(mut buf) = free.recv() else { return };
                        self.recompute(cf, st, tape, j, &mut buf, &mut w, &mut w_next);
                        if to_adj.send((j, buf)).is_err() {
                            return;
                        }
                    }
                });
                for _ in 0..nseg {
                    let (j, buf) = from_rec.recv().expect("recompute thread");
                    do_segment(&mut adj, j, &buf);
                    let _ = to_rec.send(buf);
                }
            });
        } else {
            let mut buf = Aligned::zeroed((seg + 1) * len);
            let (mut w, mut w_next) = (Aligned::zeroed(len), Aligned::zeroed(len));
            memory_bytes = tape.bytes() + work_bytes + buf.len() * tsize;
            for j in (0..nseg).rev() {
                self.recompute(&cf, &st, tape, j, &mut buf, &mut w, &mut w_next);
                do_segment(&mut adj, j, &buf);
            }
        }
        // A displaced start: the t = 0 step also reads u₋₁ ≠ 0, whose terms
        // (Σ p_{t+1}u_{t−1} and Σ p_{t+1}N u_{t−1} at t = 0) no step adds;
        // here `adj.p2` holds p₁.
        if let Some(init) = &self.init {
            for (q, &u) in init.iter().enumerate() {
                if !self.is_body[q] {
                    continue;
                }
                let mut nu = init[q - 1] + init[q + 1];
                if !self.layout.is_1d() {
                    nu += init[q - stride] + init[q + stride];
                }
                let p1 = adj.p2[q];
                *adj.sum_mut(Sum::D, q) += p1 * u;
                *adj.sum_mut(Sum::V, q) += p1 * nu;
            }
        }
        // Chain rule to the physical parameters.
        let k = self.k;
        let (a, b) = (p.a.to_f64(), p.b.to_f64());
        let ab = cf.maps.ab.to_f64();
        let (mut ga, mut gb, mut gk) = (0.0f64, 0.0f64, 0.0f64);
        let (mut g_abw, mut g_bw) = (0.0f64, 0.0f64);
        for (i, q) in self.body_nodes() {
            let (gc, gd) = (adj.sum(Sum::C, q).to_f64(), -adj.sum(Sum::D, q).to_f64());
            let (u, v) = (adj.sum(Sum::U, q).to_f64(), adj.sum(Sum::V, q).to_f64());
            let (c, d, e) = (
                cf.maps.c[q].to_f64(),
                cf.maps.d[q].to_f64(),
                cf.maps.e[q].to_f64(),
            );
            let inv = cf.inv[q].to_f64();
            let ge = ab * u - b * v;
            let (s, n) = (p.stiffness[i].to_f64(), self.diag[q].to_f64());
            g_abw += e * u;
            g_bw -= e * v;
            grad.stiffness[i] = T::from_f64(inv * (-(a + b) * n * gc - b * n * gd + ge));
            grad.sigma0[i] = T::from_f64(-k * inv * (c * gc + (1.0 + d) * gd + e * ge));
            ga -= s * n * inv * gc;
            gb -= s * n * inv * (gc + gd);
            gk -= inv * gc;
        }
        grad.a = T::from_f64(ga + g_abw);
        grad.b = T::from_f64(gb + g_abw + g_bw);
        grad.kappa_k2 = T::from_f64(gk);
        let base = STRIKE_SCALE as f64 * k;
        let amp = p.strike.amplitude.to_f64();
        let inside = |v: f64| if (0.0..=1.0).contains(&v) { 1.0 } else { 0.0 };
        grad.strike.amplitude = T::from_f64(base * sg[0]);
        grad.strike.contact_steps = T::from_f64(amp * base * sg[1]);
        grad.strike.x = T::from_f64(
            amp * base * sg[2] * (self.layout.width - 1) as f64 * inside(p.strike.x.to_f64()),
        );
        grad.strike.y = T::from_f64(
            amp * base * sg[3] * (self.layout.height - 1) as f64 * inside(p.strike.y.to_f64()),
        );
        grad.gain = T::from_f64(
            tape.raw
                .iter()
                .zip(dloss_dy)
                .map(|(r, l)| r.to_f64() * l.to_f64())
                .sum(),
        );
        Ok(Gradients {
            grad,
            memory_bytes,
            segment: seg,
            checkpoints: if tape.full { 0 } else { nseg },
        })
    }

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

    /// Projects `p` onto the certified set: [`Model::clamp_to_bounds`],
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
    /// 40 times; then `p` is only [`Model::project`]ed). Returns the step
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

/// The coefficient maps in aligned buffers (what the kernels read), with
/// `inv = 1/(1+σ₀k)` for the chain rule.
struct KernelCoefs<T> {
    maps: CoefMaps<T>,
    inv: Aligned<T>,
}

/// The nodes one sweep updates: padded indices `lo..hi`, from the left
/// padding of the first interior row to the last interior node (whole rows,
/// padding columns included, as the engine's kernel: their coefficients are
/// zero), and `hi` rounded up to whole 8-node blocks for the backward kernel
/// (still inside the last interior row's padding).
#[inline]
fn sweep_range(l: &Layout) -> (usize, usize, usize) {
    let hi = kernel::sweep_end(l);
    (l.stride, hi, hi.next_multiple_of(8))
}

/// Work arrays of the backward pass (padded).
struct AdjointState<T> {
    /// `p_{t+1}`.
    p1: Aligned<T>,
    /// `p_{t+2}`, overwritten with `p_t`.
    p2: Aligned<T>,
    /// `v_{t+1}`.
    v: Aligned<T>,
    /// `v_t`.
    v_next: Aligned<T>,
    /// The four gradient sums, interleaved by 8-node block (one stream for
    /// the kernel instead of four: see [`adjoint_sweep`]): block `j` holds
    /// `Σ p_{t+1} u_t`, `Σ p_{t+2} u_t` (= `Σ p_{t+1} u_{t−1}`),
    /// `Σ p_{t+1} N u_t` and `Σ p_{t+2} N u_t` (= `Σ p_{t+1} N u_{t−1}`) of
    /// nodes `8j … 8j+7`, 8 values each.
    sums: Aligned<T>,
}

/// Which of the sums in [`AdjointState::sums`].
#[derive(Clone, Copy)]
enum Sum {
    /// `Σ p_{t+1} u_t` (`∂L/∂C`).
    C = 0,
    /// `Σ p_{t+2} u_t` (`−∂L/∂D`).
    D = 1,
    /// `Σ p_{t+1} N u_t`.
    U = 2,
    /// `Σ p_{t+2} N u_t`.
    V = 3,
}

impl<T: Real> AdjointState<T> {
    fn new(len: usize) -> Self {
        Self {
            p1: Aligned::zeroed(len),
            p2: Aligned::zeroed(len),
            v: Aligned::zeroed(len),
            v_next: Aligned::zeroed(len),
            sums: Aligned::zeroed(4 * len.next_multiple_of(8)),
        }
    }
    fn bytes(&self) -> usize {
        (4 * self.p1.len() + self.sums.len()) * std::mem::size_of::<T>()
    }
    /// What a backward step against `u_t = ut` reads and writes.
    fn io<'a>(
        &'a mut self,
        l: &'a Layout,
        cf: &'a KernelCoefs<T>,
        ut: &'a [T],
    ) -> BackwardIo<'a, T> {
        BackwardIo {
            l,
            cf: cf.maps.view(),
            p1: &self.p1,
            p2: &mut self.p2,
            v: &self.v,
            vn: &mut self.v_next,
            ut,
            sums: &mut self.sums,
        }
    }
    /// Sum `which` at padded node `q`.
    fn sum(&self, which: Sum, q: usize) -> T {
        self.sums[(q / 8) * 32 + which as usize * 8 + q % 8]
    }
    /// Sum `which` at padded node `q`, to add to.
    fn sum_mut(&mut self, which: Sum, q: usize) -> &mut T {
        &mut self.sums[(q / 8) * 32 + which as usize * 8 + q % 8]
    }
}

/// One step of the scheme, out of place: `next = C·cur − D·prev + E·N w`,
/// `w_next = (a+b)·next − b·cur`. The engine's kernel
/// ([`crate::physics::kernel::Step`], the code `scheme::step` runs), so the
/// same bits in `f32`.
#[inline]
fn forward_step<T: Real>(
    l: &Layout,
    cf: &KernelCoefs<T>,
    prev: &[T],
    cur: &[T],
    next: &mut [T],
    w: &[T],
    w_next: &mut [T],
) {
    kernel::run(kernel::Step {
        l,
        cf: cf.maps.view(),
        h: OutOfPlace { prev, next },
        cur,
        w,
        w_next,
    })
}

/// Two steps of the scheme in one sweep (temporal blocking, the engine's
/// [`crate::physics::kernel::StepPair`]): `s2 = u_{t+1}` from
/// `(s0, s1) = (u_{t−1}, u_t)`, then `s3 = u_{t+2}` from `(s1, s2)`. On
/// entry `w` holds `w_t`; on return `w_mid` holds `w_{t+1}` and `w` holds
/// `w_{t+2}`. Bit-identical to two [`forward_step`]s; no strike can be
/// injected between the two steps.
#[allow(clippy::too_many_arguments)]
#[inline]
fn forward_pair<T: Real>(
    l: &Layout,
    cf: &KernelCoefs<T>,
    s0: &[T],
    s1: &[T],
    s2: &mut [T],
    s3: &mut [T],
    w: &mut [T],
    w_mid: &mut [T],
) {
    let p = OutOfPlacePair { s0, s1, s2, s3 };
    kernel::run(kernel::StepPair {
        l,
        cf: cf.maps.view(),
        p,
        w,
        w_mid,
    })
}

/// One backward step (fused, one flat sweep): `p_t = C·p_{t+1} − D·p_{t+2}
/// + N v_{t+1}` into `p2`, `v_t = E·((a+b)·p_t − b·p_{t+1})` into `v_next`,
/// and the step's gradient sums against `u_t` (see [`AdjointState::sums`]).
#[inline]
fn adjoint_step<T: Real>(l: &Layout, cf: &KernelCoefs<T>, st: &mut AdjointState<T>, ut: &[T]) {
    kernel::run(st.io(l, cf, ut))
}

/// What one backward step reads and writes (see [`adjoint_step`]).
struct BackwardIo<'a, T> {
    /// The layout.
    l: &'a Layout,
    /// The coefficient maps.
    cf: CoefView<'a, T>,
    /// `p_{t+1}`.
    p1: &'a [T],
    /// `p_{t+2}`, overwritten with `p_t`.
    p2: &'a mut [T],
    /// `v_{t+1}`.
    v: &'a [T],
    /// Receives `v_t`.
    vn: &'a mut [T],
    /// `u_t`.
    ut: &'a [T],
    /// The interleaved gradient sums.
    sums: &'a mut [T],
}

impl<T: Real> kernel::Job for BackwardIo<'_, T> {
    #[inline(always)]
    fn run(self) {
        adjoint_sweep(self)
    }
}

/// `n` blocks of 8 values of `s` from `lo`.
#[inline(always)]
fn blocks<T>(s: &[T], lo: usize, n: usize) -> &[[T; 8]] {
    s[lo..lo + 8 * n].as_chunks::<8>().0
}

/// `n` blocks of 8 values of `s` from `lo`, mutable.
#[inline(always)]
fn blocks_mut<T>(s: &mut [T], lo: usize, n: usize) -> &mut [[T; 8]] {
    s[lo..lo + 8 * n].as_chunks_mut::<8>().0
}

/// The body of [`adjoint_step`]: one flat sweep over whole 8-node blocks.
///
/// Written block by block (`[T; 8]` per stream, every stream cut to the
/// same number of blocks, so no bounds check is left in the loop), which
/// the compiler turns into one vector per stream and block. The kernel
/// reads or writes 12 streams (3 coefficient maps, `p_{t+1}`, `p_{t+2}`,
/// `v_{t+1}` and `u_t` at 5 points, `v_t`, and the sums): with the four
/// sums interleaved in one array, their addresses fit the 16 registers of
/// x86-64 beside the others, where four separate sum arrays made the loop
/// reload addresses from the stack on every block (≈ 25% more instructions).
/// Padding and void nodes get garbage `p` (`N v` of their neighbours) and
/// sums: nothing reads them (their `C, D, E` are zero).
#[inline(always)]
fn adjoint_sweep<T: Real>(io: BackwardIo<'_, T>) {
    let BackwardIo {
        l,
        cf,
        p1,
        p2,
        v,
        vn,
        ut,
        sums,
    } = io;
    let (ab, b) = (cf.ab, cf.b);
    let s = l.stride;
    let (lo, _, hi) = sweep_range(l);
    let n = (hi - lo) / 8;
    let (c, d, e) = (
        blocks(cf.c, lo, n),
        blocks(cf.d, lo, n),
        blocks(cf.e, lo, n),
    );
    let (q1, q2, vo) = (
        blocks(p1, lo, n),
        blocks_mut(p2, lo, n),
        blocks_mut(vn, lo, n),
    );
    let sums = &mut sums[4 * lo..4 * lo + 32 * n].as_chunks_mut::<32>().0[..n];
    let (vl, vr) = (blocks(v, lo - 1, n), blocks(v, lo + 1, n));
    let (u0, ul, ur) = (
        blocks(ut, lo, n),
        blocks(ut, lo - 1, n),
        blocks(ut, lo + 1, n),
    );
    if l.is_1d() {
        for k in 0..n {
            let (c, d, e, q1, vl, vr) = (&c[k], &d[k], &e[k], &q1[k], &vl[k], &vr[k]);
            let (u0, ul, ur) = (&u0[k], &ul[k], &ur[k]);
            let (q2, vo, g) = (&mut q2[k], &mut vo[k], &mut sums[k]);
            for x in 0..8 {
                let (q, qq) = (q1[x], q2[x]);
                let pn = (c[x] * q - d[x] * qq) + (vl[x] + vr[x]);
                q2[x] = pn;
                vo[x] = e[x] * (ab * pn - b * q);
                let su = ul[x] + ur[x];
                g[x] += q * u0[x];
                g[8 + x] += qq * u0[x];
                g[16 + x] += q * su;
                g[24 + x] += qq * su;
            }
        }
    } else {
        let (vu, vd) = (blocks(v, lo - s, n), blocks(v, lo + s, n));
        let (uu, ud) = (blocks(ut, lo - s, n), blocks(ut, lo + s, n));
        for k in 0..n {
            let (c, d, e, q1) = (&c[k], &d[k], &e[k], &q1[k]);
            let (vl, vr, vu, vd) = (&vl[k], &vr[k], &vu[k], &vd[k]);
            let (u0, ul, ur, uu, ud) = (&u0[k], &ul[k], &ur[k], &uu[k], &ud[k]);
            let (q2, vo, g) = (&mut q2[k], &mut vo[k], &mut sums[k]);
            for x in 0..8 {
                let (q, qq) = (q1[x], q2[x]);
                let pn = (c[x] * q - d[x] * qq) + ((vl[x] + vr[x]) + (vu[x] + vd[x]));
                q2[x] = pn;
                vo[x] = e[x] * (ab * pn - b * q);
                let su = (ul[x] + ur[x]) + (uu[x] + ud[x]);
                g[x] += q * u0[x];
                g[8 + x] += qq * u0[x];
                g[16 + x] += q * su;
                g[24 + x] += qq * su;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::physics::body::Boundary;

    /// The AVX2 kernels and the baseline ones give the same bits (the same
    /// expression per node, no FMA), forward and backward, 2D and 1D.
    #[test]
    fn simd_paths_agree() {
        for body in [Body::disc(13), Body::rectangle(11, 1, Boundary::FIXED)] {
            let model = Model::<f32>::new(body, 1.0 / 48000.0, (0.3, 0.6), 0.3).unwrap();
            let n = model.nodes();
            let p = Params {
                stiffness: (0..n)
                    .map(|i| 0.5 + ((i * 37) % 11) as f32 / 22.0)
                    .collect(),
                sigma0: vec![3.0; n],
                a: 0.2,
                b: 1e-3,
                kappa_k2: 1e-5,
                strike: StrikeParams {
                    x: 0.4,
                    y: 0.5,
                    amplitude: 0.7,
                    contact_steps: 5.0,
                },
                gain: 1.0,
            };
            let cf = model.kernel_coefs(&p);
            let l = model.layout();
            let state = |seed: usize| {
                let mut a = Aligned::<f32>::zeroed(l.len);
                for q in 0..l.len {
                    if cf.maps.c[q] != 0.0 {
                        a[q] = ((q * seed) % 23) as f32 / 23.0 - 0.5;
                    }
                }
                a
            };
            let (prev, cur, w) = (state(31), state(13), state(7));
            let z = || Aligned::<f32>::zeroed(l.len);
            let (mut n1, mut n2, mut w1, mut w2) = (z(), z(), z(), z());
            let h = OutOfPlace {
                prev: &prev,
                next: &mut n1,
            };
            kernel::run_baseline(kernel::Step {
                l: &l,
                cf: cf.maps.view(),
                h,
                cur: &cur,
                w: &w,
                w_next: &mut w1,
            });
            forward_step(&l, &cf, &prev, &cur, &mut n2, &w, &mut w2);
            assert!(n1.iter().any(|&v| v != 0.0));
            assert_eq!(n1[..], n2[..]);
            assert_eq!(w1[..], w2[..]);

            let fill = |st: &mut AdjointState<f32>| {
                st.p1 = state(5);
                st.p2 = state(3);
                st.v = state(17);
                for (i, g) in st.sums.iter_mut().enumerate() {
                    *g = (i % 7) as f32 * 0.1;
                }
            };
            let (mut a, mut b) = (AdjointState::new(l.len), AdjointState::new(l.len));
            fill(&mut a);
            fill(&mut b);
            kernel::run_baseline(a.io(&l, &cf, &cur));
            adjoint_step(&l, &cf, &mut b, &cur);
            assert!(a.v_next.iter().any(|&v| v != 0.0));
            assert_eq!(a.p2[..], b.p2[..]);
            assert_eq!(a.v_next[..], b.v_next[..]);
            assert_eq!(a.sums[..], b.sums[..]);
        }
    }
}
