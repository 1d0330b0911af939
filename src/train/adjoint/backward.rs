//! The backward (adjoint) pass and the chain rule to θ.

use crate::engine::excitation::STRIKE_SCALE;
use crate::physics::aligned::Aligned;
use crate::physics::kernel::Real;

use super::model::AdjointModel;
use super::params::{AdjointError, Checkpointing, Gradients, Params, Tape};
use super::sweep::{adjoint_step, AdjointState, Sum};

impl<T: Real> AdjointModel<T> {
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

    /// The backward (adjoint) pass over a tape of [`AdjointModel::forward_taped`]
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
}
