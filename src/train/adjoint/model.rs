//! The model: one voice on one mesh level (body, pickups, strike, initial
//! displacement), its coefficients and its certificate.

use crate::engine::excitation::STRIKE_SCALE;
use crate::physics::aligned::Aligned;
use crate::physics::body::{Body, Layout, NodeKind};
use crate::physics::certificate::{row_bound, Certificate, LIMIT};
use crate::physics::kernel::{self, node_coefficients, CoefMaps, Real};
use crate::physics::scheme::{BodyMaps, SchemeParams};

use super::params::{AdjointError, Coefs, Params};

/// Bilinear pickup: padded index of the top-left node and four weights.
#[derive(Clone, Copy, Debug)]
pub(super) struct Tap<T> {
    pub(super) i: usize,
    pub(super) w: [T; 4],
}

impl<T: Real> Tap<T> {
    /// As the engine's `Tap::at` (weights computed in `f64`, rounded to `T`).
    pub(super) fn at(layout: &Layout, x: f64, y: f64) -> Self {
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
    pub(super) fn read(&self, stride: usize, u: &[T]) -> T {
        let i = self.i;
        self.w[0] * u[i]
            + self.w[1] * u[i + 1]
            + self.w[2] * u[i + stride]
            + self.w[3] * u[i + stride + 1]
    }
    pub(super) fn nodes(&self, stride: usize) -> [usize; 4] {
        [self.i, self.i + 1, self.i + stride, self.i + stride + 1]
    }
}

/// The strike's spatial window, prepared for one set of parameters.
#[derive(Clone, Debug)]
pub(super) struct Strike<T> {
    /// Padded indices of the window's body nodes.
    pub(super) nodes: Vec<usize>,
    /// Raw window `wx·wy` per node (in `T`, as the engine's arithmetic).
    pub(super) wx: Vec<T>,
    pub(super) wy: Vec<T>,
    /// Per-step scale `A·S·k / Σw` (in `T`).
    pub(super) scale: T,
    /// Contact time in steps.
    pub(super) n: f64,
    /// Normalised window and its derivatives in the centre (for gradients).
    pub(super) hat: Vec<f64>,
    pub(super) dhat_x: Vec<f64>,
    pub(super) dhat_y: Vec<f64>,
}

impl<T: Real> Strike<T> {
    /// Envelope of step `t` (zero once `t + ½ ≥ n`), as the engine's `inject`.
    #[inline]
    pub(super) fn env(&self, t: usize) -> Option<T> {
        if (t as f64 + 0.5) >= self.n {
            return None;
        }
        let n = T::from_f64(self.n);
        let phase = (T::from_f64(t as f64) + T::from_f64(0.5)) / n;
        let two_pi = T::from_f64(2.0) * T::from_f64(std::f64::consts::PI);
        Some((T::ONE - (two_pi * phase).cos()) / n)
    }
    /// Steps during which the strike acts.
    pub(super) fn active_steps(&self) -> usize {
        (self.n - 0.5).ceil().max(0.0) as usize
    }
    /// `∂env_t/∂n` in `f64`.
    pub(super) fn denv_dn(&self, t: usize) -> f64 {
        let n = self.n;
        let th = 2.0 * std::f64::consts::PI * (t as f64 + 0.5) / n;
        if t as f64 + 0.5 >= n {
            return 0.0;
        }
        -(1.0 - th.cos()) / (n * n) - th.sin() * th / (n * n)
    }
}

/// The differentiable model of one voice on one mesh level.
#[derive(Clone, Debug)]
pub struct AdjointModel<T> {
    pub(super) body: Body,
    pub(super) layout: Layout,
    /// Padded: 1 on body nodes.
    pub(super) is_body: Vec<bool>,
    /// Padded diagonal Laplacian weight `n`.
    pub(super) diag: Vec<T>,
    /// Time step, seconds.
    pub(super) k: f64,
    pub(super) tap: Tap<T>,
    /// A second pickup, summed with the first ([`AdjointModel::with_pickups`]).
    pub(super) tap2: Option<Tap<T>>,
    /// Initial displacement `u₋₁ = u₀` (padded), or rest ([`AdjointModel::with_initial_displacement`]).
    pub(super) init: Option<Vec<T>>,
    /// Strike window diameter as a share of the mesh width.
    pub(super) strike_width: f64,
    /// Worker threads for the backward pass (1 or 2).
    pub(super) threads: usize,
}

impl<T: Real> AdjointModel<T> {
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
    pub(super) fn hear(&self, u: &[T]) -> T {
        let s = self.layout.stride;
        match &self.tap2 {
            Some(t) => self.tap.read(s, u) + t.read(s, u),
            None => self.tap.read(s, u),
        }
    }

    /// `Pᵀ` as (padded node, weight) pairs.
    pub(super) fn tap_weights(&self) -> Vec<(usize, T)> {
        let s = self.layout.stride;
        let mut v: Vec<(usize, T)> = self.tap.nodes(s).into_iter().zip(self.tap.w).collect();
        if let Some(t) = &self.tap2 {
            v.extend(t.nodes(s).into_iter().zip(t.w));
        }
        v
    }

    /// Sets the initial state (`prev = u₋₁`, `cur = u₀`, `w = w₀`) of a run.
    pub(super) fn start_state(
        &self,
        cf: &KernelCoefs<T>,
        prev: &mut [T],
        cur: &mut [T],
        w: &mut [T],
    ) {
        if let Some(init) = &self.init {
            prev.copy_from_slice(init);
            cur.copy_from_slice(init);
            kernel::aux(cf.maps.ab, cf.maps.b, prev, cur, w);
        }
    }

    /// The body nodes: (index in a `width × height` map, padded index).
    pub(super) fn body_nodes(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
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

    pub(super) fn check(&self, p: &Params<T>) -> Result<(), AdjointError> {
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

    /// [`AdjointModel::coefficients`] in aligned buffers, for the kernels.
    pub(super) fn kernel_coefs(&self, p: &Params<T>) -> KernelCoefs<T> {
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
    pub(super) fn fill_coefficients(
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
    pub(super) fn strike(&self, p: &Params<T>) -> Strike<T> {
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
}

/// The coefficient maps in aligned buffers (what the kernels read), with
/// `inv = 1/(1+σ₀k)` for the chain rule.
pub(super) struct KernelCoefs<T> {
    pub(super) maps: CoefMaps<T>,
    pub(super) inv: Aligned<T>,
}
