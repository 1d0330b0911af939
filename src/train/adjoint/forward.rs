//! The forward passes: plain, taped (checkpoints) and the recomputation of
//! a segment, all on the engine's kernel.

use crate::physics::aligned::Aligned;
use crate::physics::body::Layout;
use crate::physics::kernel::{self, OutOfPlace, OutOfPlacePair, Real};

use super::model::{AdjointModel, KernelCoefs, Strike};
use super::params::{AdjointError, Checkpointing, Params, Tape};

impl<T: Real> AdjointModel<T> {
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
    pub(super) fn advance(
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
    pub(super) fn segment_len(&self, steps: usize, mode: Checkpointing) -> usize {
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
    pub(super) fn pack(&self, u: &[T], out: &mut Vec<T>) {
        let l = &self.layout;
        for y in 0..l.height {
            let o = l.idx(0, y);
            out.extend_from_slice(&u[o..o + l.width]);
        }
    }

    /// Writes packed interior nodes back into the padded buffer `u`
    /// (whose padding is zero and stays zero).
    pub(super) fn unpack(&self, packed: &[T], u: &mut [T]) {
        let l = &self.layout;
        u.iter_mut().for_each(|v| *v = T::ZERO);
        for y in 0..l.height {
            let o = l.idx(0, y);
            u[o..o + l.width].copy_from_slice(&packed[y * l.width..(y + 1) * l.width]);
        }
    }

    /// Recomputes segment `j` into `buf` (slots `u_{jK−1} … u_{jK+cnt−1}`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn recompute(
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
}

/// One step of the scheme, out of place: `next = C·cur − D·prev + E·N w`,
/// `w_next = (a+b)·next − b·cur`. The engine's kernel
/// ([`crate::physics::kernel::Step`], the code `scheme::step` runs), so the
/// same bits in `f32`.
#[inline]
pub(super) fn forward_step<T: Real>(
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
pub(super) fn forward_pair<T: Real>(
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
