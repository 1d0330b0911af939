//! The CPU mesh back-end of the voice program ([`crate::voice::Voice`]):
//! four state buffers in memory, the coefficient maps, and the scheme's
//! kernel run sample by sample between the program's control ticks.
//!
//! # Lifecycle
//! 1. [`Voice::new`] (control side, allocates every buffer for the largest
//!    mesh the engine will play).
//! 2. [`Voice::start`] (real-time safe): copies the plan, fills the
//!    coefficient maps, clears the state and applies the excitation.
//! 3. [`Voice::render`] (real-time safe), block after block.
//! 4. The voice ends by itself once inaudible, or after `free`'s fade.

use crate::instrument::radiation::RadiationFilter;
use crate::physics::aligned::AlignedF32;
use crate::physics::bow::solve as bow_solve;
use crate::physics::scheme::{
    compute_aux, fill_coefficients, step, step_pair, BodyMaps, Coefficients, DampingControl,
    SchemeParams,
};
use crate::types::ExciteShape;
use crate::voice::excitation::Excitation;
use crate::voice::output::{dc_pole, silence_hold, OutputChain, VoiceFault};
use crate::voice::program::PeriodMark;
use crate::voice::walk::{BlockWalk, Run};
use crate::voice::Mesh;

// The voice's types and constants, where the engine's users found them.
pub use crate::types::NoteRequest;
pub use crate::voice::{
    morph_compatible, velocity_amplitude, VoiceState, CONTROL_PERIOD, FREE_FADE, MAX_EXCITATIONS,
    SILENCE, SILENCE_HOLD, SMOOTHING_TIME,
};

/// A CPU engine voice: the voice program on a [`CpuMesh`].
pub type Voice = crate::voice::Voice<CpuMesh>;

/// The mesh of one CPU voice slot, with the note's output chain.
pub struct CpuMesh {
    /// Four state buffers, each `capacity` long: two displacement buffers
    /// (current and previous/next, swapped every step) and two auxiliary
    /// `w` buffers (current and next).
    state_buf: AlignedF32,
    capacity: usize,
    /// Which of each pair is current.
    flip: bool,
    coef: Coefficients,
    /// The note's output chain (DC blocker, radiation, silence count).
    out: OutputChain,
    /// Run mesh steps in fused pairs where possible (see [`step_pair`]).
    fused_steps: bool,
}

impl CpuMesh {
    /// Buffers for meshes up to `capacity` padded nodes.
    fn new(capacity: usize) -> Self {
        // Whole lanes, so each of the four state buffers starts 32-byte
        // aligned; and buffers spaced ±1 KiB modulo 4 KiB, so the kernel's
        // loads never alias its recent stores in the low address bits
        // (x86 "4K aliasing" stalls the loads).
        let mut capacity = capacity.next_multiple_of(8);
        while (capacity * 4) % 4096 != 1024 && (capacity * 4) % 4096 != 3072 {
            capacity += 8;
        }
        Self {
            state_buf: AlignedF32::zeroed(4 * capacity),
            capacity,
            flip: false,
            coef: Coefficients::zeroed(capacity),
            out: OutputChain::default(),
            fused_steps: true,
        }
    }
}

impl Mesh for CpuMesh {
    fn capacity(&self) -> usize {
        self.capacity
    }

    fn reset(&mut self, radiation: &RadiationFilter) {
        self.state_buf.iter_mut().for_each(|v| *v = 0.0);
        self.flip = false;
        self.out = OutputChain::new(*radiation);
    }

    fn set_coefficients(
        &mut self,
        maps: &BodyMaps,
        morph: Option<(&BodyMaps, f32)>,
        params: &SchemeParams,
        damping: DampingControl,
    ) {
        fill_coefficients(maps, morph, params, damping, &mut self.coef);
        // The auxiliary field depends on a and b: rebuild it from the state.
        let st = split_state(&mut self.state_buf, self.capacity, self.flip);
        compute_aux(&self.coef, st.prev, st.cur, st.w);
    }

    fn fault(&self) -> Option<VoiceFault> {
        self.out.fault()
    }

    fn excitation_state(&mut self) -> (&mut [f32], &mut [f32]) {
        let st = split_state(&mut self.state_buf, self.capacity, self.flip);
        (st.cur, st.prev)
    }

    fn excited(&mut self, _e: &Excitation, shape: ExciteShape) {
        let st = split_state(&mut self.state_buf, self.capacity, self.flip);
        if shape == ExciteShape::Pluck {
            compute_aux(&self.coef, st.prev, st.cur, st.w);
        }
        st.w_next.iter_mut().for_each(|v| *v = 0.0);
    }
}

impl Voice {
    /// Allocates a voice able to play meshes up to `capacity` padded nodes
    /// in blocks of up to `max_block` frames.
    pub fn new(capacity: usize, max_block: usize) -> Self {
        Self::with_mesh(CpuMesh::new(capacity), max_block)
    }

    /// Chooses fused two-step sweeps (the default) or single steps. Both give
    /// bit-identical output; single steps exist for verification and
    /// benchmarks.
    pub fn set_fused_steps(&mut self, fused: bool) {
        self.mesh_mut().fused_steps = fused;
    }

    /// Renders `frames` samples into `out_l` / `out_r`.
    ///
    /// # Real-time safety
    /// No allocation, lock or I/O.
    pub fn render(&mut self, frames: usize) {
        let mut walk = CpuWalk {
            hold: silence_hold(self.sample_rate()),
        };
        self.walk_block(frames, &mut walk);
    }
}

/// The CPU back-end's side of a block's walk: it steps the mesh and
/// finishes each sample at once.
struct CpuWalk {
    /// Silent periods after which the voice ends ([`silence_hold`]).
    hold: u32,
}

impl BlockWalk<CpuMesh> for CpuWalk {
    fn begin(&mut self, mesh: &mut CpuMesh, excited: bool) {
        if excited {
            mesh.out.reset_silence();
        }
    }

    fn silence(&mut self, (l, r): (&mut [f32], &mut [f32]), from: usize, to: usize) {
        l[from..to].iter_mut().for_each(|v| *v = 0.0);
        r[from..to].iter_mut().for_each(|v| *v = 0.0);
    }

    fn period(&mut self, mesh: &mut CpuMesh, _frame: usize, mark: PeriodMark) -> bool {
        mark.fade_done || mesh.out.end_of_period(mark.exciting, self.hold)
    }

    /// Renders the run's samples into the outputs. While the bow acts, its
    /// force is solved at its node after each step (with the strikes'
    /// forces already in `u⁺`). While no excitation is
    /// injecting and no bow acts, mesh steps run in fused pairs ([`step_pair`],
    /// bit-identical to single steps).
    #[inline]
    fn run(&mut self, run: Run<'_, CpuMesh>) {
        let Run {
            mesh,
            excitations,
            bow,
            out: (out_l, out_r),
            mask,
            plan,
            layout,
            sample_rate,
            gains,
            taps,
            start,
            tick_pos,
        } = run;
        let n = taps.len();
        let r = dc_pole(sample_rate);
        let CpuMesh {
            state_buf,
            capacity,
            flip,
            coef,
            out,
            fused_steps,
        } = mesh;
        let cap = *capacity;
        let m = plan.oversample as usize;
        let inv_m = 1.0 / m as f32;
        let period = CONTROL_PERIOD as f32;
        let ab = coef.ab;
        let (u, w) = state_buf.split_at_mut(2 * cap);
        let (u0, u1) = u.split_at_mut(cap);
        let (w0, w1) = w.split_at_mut(cap);
        // Sample `j` of the run, step `sub` of its `m`, the pickups' sums so far.
        let (mut j, mut sub) = (0usize, 0usize);
        let mut acc = (0.0f32, 0.0f32);
        // Reads one mesh state into the current sample; after `m` states,
        // finishes the sample (output chain) and moves to the next.
        let mut emit = |state: &[f32], j: &mut usize, sub: &mut usize, acc: &mut (f32, f32)| {
            let tap = &taps[*j];
            acc.0 += tap.0.read(layout.stride, state);
            acc.1 += tap.1.read(layout.stride, state);
            *sub += 1;
            if *sub < m {
                return;
            }
            let t = (tick_pos + *j) as f32 / period;
            let (ol, or) = out.sample((acc.0 * inv_m, acc.1 * inv_m), r, gains, t);
            out_l[start + *j] = ol;
            out_r[start + *j] = or;
            *acc = (0.0, 0.0);
            *sub = 0;
            *j += 1;
        };
        while j < n {
            let remaining = (n - j) * m - sub;
            let exciting = excitations.iter().any(|e| e.is_active()) || bow.is_active();
            let (cur, next, wc, wn): (&mut [f32], &mut [f32], &mut [f32], &mut [f32]) = if *flip {
                (&mut *u1, &mut *u0, &mut *w1, &mut *w0)
            } else {
                (&mut *u0, &mut *u1, &mut *w0, &mut *w1)
            };
            if *fused_steps && remaining >= 2 && !exciting {
                // `next` ← the first step, `cur` ← the second; roles unchanged.
                step_pair(&layout, coef, next, cur, wc, wn);
                emit(next, &mut j, &mut sub, &mut acc);
                emit(cur, &mut j, &mut sub, &mut acc);
            } else {
                let bowing = bow.next_step();
                // u⁻ at the bowed node, before the step writes u⁺ over it.
                let u_prev = bowing.map_or(0.0, |b| next[b.node]);
                step(&layout, coef, next, cur, wc, wn);
                for e in excitations.iter_mut() {
                    e.inject(layout.stride, mask, ab, next, wn);
                }
                if let Some(b) = bowing {
                    let p = b.node;
                    let (d, _) = bow_solve(next[p], u_prev, coef.e[p], b.force, b.vel, b.g);
                    next[p] += d;
                    wn[p] += ab * d;
                }
                emit(next, &mut j, &mut sub, &mut acc);
                *flip = !*flip;
            }
        }
    }
}

/// The state buffers in their roles for the next step.
struct StateSlices<'a> {
    cur: &'a mut [f32],
    prev: &'a mut [f32],
    w: &'a mut [f32],
    w_next: &'a mut [f32],
}

/// Splits the four state buffers (each `cap` long) into their current roles.
fn split_state(buf: &mut [f32], cap: usize, flip: bool) -> StateSlices<'_> {
    let (u, w) = buf.split_at_mut(2 * cap);
    let (u0, u1) = u.split_at_mut(cap);
    let (w0, w1) = w.split_at_mut(cap);
    if flip {
        StateSlices {
            cur: u1,
            prev: u0,
            w: w1,
            w_next: w0,
        }
    } else {
        StateSlices {
            cur: u0,
            prev: u1,
            w: w0,
            w_next: w1,
        }
    }
}
