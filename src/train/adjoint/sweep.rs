//! The backward step's kernel: one fused flat sweep for the adjoint
//! recurrence and the gradient sums.

use crate::physics::aligned::Aligned;
use crate::physics::body::Layout;
use crate::physics::kernel::{self, CoefView, Real};

use super::model::KernelCoefs;

/// The nodes one sweep updates: padded indices `lo..hi`, from the left
/// padding of the first interior row to the last interior node (whole rows,
/// padding columns included, as the engine's kernel: their coefficients are
/// zero), and `hi` rounded up to whole 8-node blocks for the backward kernel
/// (still inside the last interior row's padding).
#[inline]
pub(super) fn sweep_range(l: &Layout) -> (usize, usize, usize) {
    let hi = kernel::sweep_end(l);
    (l.stride, hi, hi.next_multiple_of(8))
}

/// Work arrays of the backward pass (padded).
pub(super) struct AdjointState<T> {
    /// `p_{t+1}`.
    pub(super) p1: Aligned<T>,
    /// `p_{t+2}`, overwritten with `p_t`.
    pub(super) p2: Aligned<T>,
    /// `v_{t+1}`.
    pub(super) v: Aligned<T>,
    /// `v_t`.
    pub(super) v_next: Aligned<T>,
    /// The four gradient sums, interleaved by 8-node block (one stream for
    /// the kernel instead of four: see [`adjoint_sweep`]): block `j` holds
    /// `Σ p_{t+1} u_t`, `Σ p_{t+2} u_t` (= `Σ p_{t+1} u_{t−1}`),
    /// `Σ p_{t+1} N u_t` and `Σ p_{t+2} N u_t` (= `Σ p_{t+1} N u_{t−1}`) of
    /// nodes `8j … 8j+7`, 8 values each.
    pub(super) sums: Aligned<T>,
}

/// Which of the sums in [`AdjointState::sums`].
#[derive(Clone, Copy)]
pub(super) enum Sum {
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
    pub(super) fn new(len: usize) -> Self {
        Self {
            p1: Aligned::zeroed(len),
            p2: Aligned::zeroed(len),
            v: Aligned::zeroed(len),
            v_next: Aligned::zeroed(len),
            sums: Aligned::zeroed(4 * len.next_multiple_of(8)),
        }
    }
    pub(super) fn bytes(&self) -> usize {
        (4 * self.p1.len() + self.sums.len()) * std::mem::size_of::<T>()
    }
    /// What a backward step against `u_t = ut` reads and writes.
    pub(super) fn io<'a>(
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
    pub(super) fn sum(&self, which: Sum, q: usize) -> T {
        self.sums[(q / 8) * 32 + which as usize * 8 + q % 8]
    }
    /// Sum `which` at padded node `q`, to add to.
    pub(super) fn sum_mut(&mut self, which: Sum, q: usize) -> &mut T {
        &mut self.sums[(q / 8) * 32 + which as usize * 8 + q % 8]
    }
}

/// One backward step (fused, one flat sweep): `p_t = C·p_{t+1} − D·p_{t+2}
/// + N v_{t+1}` into `p2`, `v_t = E·((a+b)·p_t − b·p_{t+1})` into `v_next`,
/// and the step's gradient sums against `u_t` (see [`AdjointState::sums`]).
#[inline]
pub(super) fn adjoint_step<T: Real>(
    l: &Layout,
    cf: &KernelCoefs<T>,
    st: &mut AdjointState<T>,
    ut: &[T],
) {
    kernel::run(st.io(l, cf, ut))
}

/// What one backward step reads and writes (see [`adjoint_step`]).
pub(super) struct BackwardIo<'a, T> {
    /// The layout.
    pub(super) l: &'a Layout,
    /// The coefficient maps.
    pub(super) cf: CoefView<'a, T>,
    /// `p_{t+1}`.
    pub(super) p1: &'a [T],
    /// `p_{t+2}`, overwritten with `p_t`.
    pub(super) p2: &'a mut [T],
    /// `v_{t+1}`.
    pub(super) v: &'a [T],
    /// Receives `v_t`.
    pub(super) vn: &'a mut [T],
    /// `u_t`.
    pub(super) ut: &'a [T],
    /// The interleaved gradient sums.
    pub(super) sums: &'a mut [T],
}

impl<T: Real> kernel::Job for BackwardIo<'_, T> {
    #[inline(always)]
    fn run(self) {
        let Self {
            l,
            cf,
            p1,
            p2,
            v,
            vn,
            ut,
            sums,
        } = self;
        adjoint_sweep(l, cf.c, cf.d, cf.e, cf.ab, cf.b, p1, p2, v, vn, ut, sums)
    }
}

/// `n` blocks of 8 values of `s` from `lo`.
#[inline(always)]
pub(super) fn blocks<T>(s: &[T], lo: usize, n: usize) -> &[[T; 8]] {
    s[lo..lo + 8 * n].as_chunks::<8>().0
}

/// `n` blocks of 8 values of `s` from `lo`, mutable.
#[inline(always)]
pub(super) fn blocks_mut<T>(s: &mut [T], lo: usize, n: usize) -> &mut [[T; 8]] {
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
///
/// Each block is read into registers before anything is written: the
/// compiler cannot know that the output streams alias no input (they come
/// in a struct, [`BackwardIo`], not as arguments), and the vectorisation of
/// the block's body needs its loads ahead of its stores.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn adjoint_sweep<T: Real>(
    l: &Layout,
    c: &[T],
    d: &[T],
    e: &[T],
    ab: T,
    b: T,
    p1: &[T],
    p2: &mut [T],
    v: &[T],
    vn: &mut [T],
    ut: &[T],
    sums: &mut [T],
) {
    let s = l.stride;
    let (lo, _, hi) = sweep_range(l);
    let n = (hi - lo) / 8;
    let (c, d, e) = (blocks(c, lo, n), blocks(d, lo, n), blocks(e, lo, n));
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
            let (c, d, e, q1, q2k, vl, vr) = (c[k], d[k], e[k], q1[k], q2[k], vl[k], vr[k]);
            let (u0, ul, ur, mut g) = (u0[k], ul[k], ur[k], sums[k]);
            let (mut pn, mut von) = ([T::ZERO; 8], [T::ZERO; 8]);
            for x in 0..8 {
                let (q, qq) = (q1[x], q2k[x]);
                pn[x] = (c[x] * q - d[x] * qq) + (vl[x] + vr[x]);
                von[x] = e[x] * (ab * pn[x] - b * q);
                let su = ul[x] + ur[x];
                g[x] += q * u0[x];
                g[8 + x] += qq * u0[x];
                g[16 + x] += q * su;
                g[24 + x] += qq * su;
            }
            (q2[k], vo[k], sums[k]) = (pn, von, g);
        }
    } else {
        let (vu, vd) = (blocks(v, lo - s, n), blocks(v, lo + s, n));
        let (uu, ud) = (blocks(ut, lo - s, n), blocks(ut, lo + s, n));
        for k in 0..n {
            let (c, d, e, q1, q2k) = (c[k], d[k], e[k], q1[k], q2[k]);
            let (vl, vr, vu, vd) = (vl[k], vr[k], vu[k], vd[k]);
            let (u0, ul, ur, uu, ud, mut g) = (u0[k], ul[k], ur[k], uu[k], ud[k], sums[k]);
            let (mut pn, mut von) = ([T::ZERO; 8], [T::ZERO; 8]);
            for x in 0..8 {
                let (q, qq) = (q1[x], q2k[x]);
                pn[x] = (c[x] * q - d[x] * qq) + ((vl[x] + vr[x]) + (vu[x] + vd[x]));
                von[x] = e[x] * (ab * pn[x] - b * q);
                let su = (ul[x] + ur[x]) + (uu[x] + ud[x]);
                g[x] += q * u0[x];
                g[8 + x] += qq * u0[x];
                g[16 + x] += q * su;
                g[24 + x] += qq * su;
            }
            (q2[k], vo[k], sums[k]) = (pn, von, g);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::AdjointModel;
    use super::super::params::{Params, StrikeParams};
    use super::*;
    use crate::physics::body::{Body, Boundary};
    use crate::physics::kernel::{OutOfPlace, Step};

    /// The AVX2 kernels and the baseline ones give the same bits (the same
    /// expression per node, no FMA), forward and backward, 2D and 1D.
    #[test]
    fn simd_paths_agree() {
        for body in [Body::disc(13), Body::rectangle(11, 1, Boundary::FIXED)] {
            let model = AdjointModel::<f32>::new(body, 1.0 / 48000.0, (0.3, 0.6), 0.3).unwrap();
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
            let step = |next, w_next| Step {
                l: &l,
                cf: cf.maps.view(),
                h: OutOfPlace { prev: &prev, next },
                cur: &cur,
                w: &w,
                w_next,
            };
            kernel::run_baseline(step(&mut n1, &mut w1));
            kernel::run(step(&mut n2, &mut w2));
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
