//! The GPU mesh back-end of the voice program ([`crate::voice::Voice`]):
//! the mesh lives in a slot of the GPU engine's state buffer and is stepped
//! by the block's dispatch.
//!
//! A block is rendered in two halves: `GpuVoice::plan_block` walks the
//! block with the program (`Voice::walk_block`, as the CPU voice renders
//! it) and records what the GPU must do (coefficient updates, pickup taps
//! per sample, excitation forces per step) into a [`BlockProgram`]; after
//! the GPU ran, `GpuVoice::finish_block` turns the raw pickup signal into
//! the voice's output through the program's output chain (DC blocker,
//! radiation, gain and pan ramps, silence and fade detection), exactly
//! where the CPU voice does.

use super::layout::{CoefUpdate, TapPair, VoiceHeader, Window, BOW_FLOATS, MAX_STRIKES};
use crate::instrument::radiation::RadiationFilter;
use crate::physics::scheme::{BodyMaps, DampingControl, SchemeParams};
use crate::types::ExciteShape;
use crate::voice::excitation::Excitation;
use crate::voice::output::{dc_pole, silence_hold, OutputChain, VoiceFault};
use crate::voice::program::PeriodMark;
use crate::voice::walk::{BlockWalk, Run};
use crate::voice::{Mesh, Voice, CONTROL_PERIOD, MAX_EXCITATIONS};

pub use crate::voice::Restart;

/// A GPU engine voice: the voice program on a [`GpuMesh`].
pub type GpuVoice = Voice<GpuMesh>;

/// What the GPU does this block, for all voices (preallocated, reused).
#[derive(Default)]
pub struct BlockProgram {
    /// One header per voice in the dispatch.
    pub headers: Vec<VoiceHeader>,
    /// Coefficient updates.
    pub updates: Vec<CoefUpdate>,
    /// Pickup taps, one pair per simulated sample.
    pub taps: Vec<TapPair>,
    /// Pluck and strike windows.
    pub windows: Vec<Window>,
    /// Strike forces, one per step and window; the bows' steps
    /// ([`BOW_FLOATS`] per step).
    pub forces: Vec<f32>,
}

impl BlockProgram {
    /// Empty program with room for `voices` voices of `max_block` frames.
    pub fn with_capacity(voices: usize, max_block: usize, max_oversample: usize) -> Self {
        let updates_per_voice = max_block / CONTROL_PERIOD + 2;
        Self {
            headers: Vec::with_capacity(voices),
            updates: Vec::with_capacity(voices * updates_per_voice),
            taps: Vec::with_capacity(voices * max_block),
            windows: Vec::with_capacity(voices * (MAX_STRIKES + MAX_EXCITATIONS)),
            forces: Vec::with_capacity(
                voices * (MAX_STRIKES + BOW_FLOATS) * max_block * max_oversample,
            ),
        }
    }
    /// Clears it for the next block (keeps the memory).
    pub fn clear(&mut self) {
        self.headers.clear();
        self.updates.clear();
        self.taps.clear();
        self.windows.clear();
        self.forces.clear();
    }
}

/// What `plan_block` recorded for `finish_block`: the block's output side
/// (the GPU engine may plan the next block before this one is finished).
#[derive(Clone, Copy, Default)]
pub(crate) struct Finish {
    /// Incarnation of the voice the block belongs to (a restart makes a new one).
    gen: u64,
    /// Frames of silence before the voice starts in this block.
    delay: usize,
    /// Control-period phase at the block's start.
    tick_pos: usize,
    /// The block's period marks in the caller's mark list.
    marks: (u32, u32),
    /// An excitation was added before this block: the silence count restarts.
    reset_silence: bool,
}

/// The output side of a voice slot: the output chain, gain ramps in
/// progress, end detection; reset lazily when a block of a new incarnation
/// arrives.
#[derive(Clone, Copy, Default)]
struct OutSide {
    gen: u64,
    chain: OutputChain,
    /// Gain ramps of the period in progress at the end of the last block.
    carry_gains: ((f32, f32), (f32, f32)),
    /// This incarnation has ended (its later blocks are silent).
    ended: bool,
}

/// The mesh of one GPU voice slot: what the next block's program must
/// carry (reset, coefficient update, plucks) and the slot's output side.
pub struct GpuMesh {
    capacity: usize,
    /// Which displacement buffer is current on the GPU.
    flip: bool,
    /// The coefficients in effect.
    coef: CoefUpdate,
    /// Coefficients set since the last planned step (at start or at a tick).
    pending: Option<CoefUpdate>,
    /// Incarnation counter (each start is a new one).
    gen: u64,
    /// The GPU clears the slot's state before the next block.
    reset: bool,
    plucks: [Window; MAX_EXCITATIONS],
    n_plucks: usize,
    /// Scratch for [`Excitation::setup`]'s pluck (its result is unused: the
    /// GPU applies the pluck).
    scratch: Vec<f32>,
    out_side: OutSide,
}

impl Mesh for GpuMesh {
    fn capacity(&self) -> usize {
        self.capacity
    }

    fn reset(&mut self, _radiation: &RadiationFilter) {
        // The output side resets when this incarnation's first block is
        // finished (a block of the previous one may still be in flight).
        self.gen += 1;
        self.reset = true;
        self.pending = None;
        self.n_plucks = 0;
        self.flip = false;
    }

    /// Records the scalars of `fill_coefficients` (the GPU fills the maps).
    fn set_coefficients(
        &mut self,
        _maps: &BodyMaps,
        morph: Option<(&BodyMaps, f32)>,
        params: &SchemeParams,
        damping: DampingControl,
    ) {
        let scale = damping.scale;
        // As fill_coefficients computes them.
        let (a, b) = (params.a as f32, (params.b * scale) as f32);
        let u = CoefUpdate {
            at: 0,
            morph: morph.is_some() as u32,
            a,
            b,
            kk: params.kappa_k2 as f32,
            k: params.k as f32,
            scale: scale as f32,
            extra: damping.extra_sigma0 as f32,
            t: morph.map_or(0.0, |m| m.1),
            ab: a + b,
            pad0: 0,
            pad1: 0,
        };
        self.coef = u;
        self.pending = Some(u);
    }

    fn fault(&self) -> Option<VoiceFault> {
        self.out_side.chain.fault()
    }

    fn excitation_state(&mut self) -> (&mut [f32], &mut [f32]) {
        self.scratch.split_at_mut(self.capacity)
    }

    fn excited(&mut self, e: &Excitation, shape: ExciteShape) {
        if shape == ExciteShape::Pluck && self.n_plucks < MAX_EXCITATIONS {
            let (origin, nx, ny, _, _) = e.window();
            // A window over no body node does nothing (setup returned early).
            if nx > 0 && ny > 0 {
                self.plucks[self.n_plucks] = window_of(e, 0);
                self.plucks[self.n_plucks].origin = origin as u32;
                self.n_plucks += 1;
            }
        }
    }
}

impl GpuVoice {
    /// Allocates a voice for meshes up to `capacity` padded nodes and blocks
    /// up to `max_block` frames.
    pub fn new(capacity: usize, max_block: usize) -> Self {
        let mesh = GpuMesh {
            capacity,
            flip: false,
            coef: CoefUpdate::default(),
            pending: None,
            gen: 0,
            reset: false,
            plucks: [Window::default(); MAX_EXCITATIONS],
            n_plucks: 0,
            scratch: vec![0.0; 2 * capacity],
            out_side: OutSide::default(),
        };
        Self::with_mesh(mesh, max_block)
    }

    /// Records this block's GPU work for `frames` frames into `prog`
    /// (header last: the caller fills the offsets it owns) and its period
    /// marks into `marks`. Returns the header and what
    /// [`finish_block`](Self::finish_block) needs, or `None` for an idle voice.
    ///
    /// # Real-time safety
    /// No allocation (`prog` and `marks` were sized at construction).
    pub(crate) fn plan_block(
        &mut self,
        frames: usize,
        prog: &mut BlockProgram,
        marks: &mut Vec<PeriodMark>,
    ) -> Option<(VoiceHeader, Finish)> {
        if !self.is_active() {
            return None;
        }
        let first_mark = marks.len() as u32;
        let plan = *self.plan()?;
        let layout = self.layout();
        let m = plan.oversample as usize;
        // Frames of silence before the note starts (the walk counts them down).
        let delay = self.delay().min(frames);
        let steps = (frames - delay) * m;
        let fin_tick_pos = self.tick_pos();
        let (g, excitations, bow) = self.mesh_and_excitations();
        let mut h = VoiceHeader {
            width: layout.width as u32,
            height: layout.height as u32,
            stride: layout.stride as u32,
            len: layout.len as u32,
            cap: g.capacity as u32,
            oversample: plan.oversample,
            flip: g.flip as u32,
            reset: g.reset as u32,
            first_update: prog.updates.len() as u32,
            first_window: prog.windows.len() as u32,
            first_tap: prog.taps.len() as u32,
            ..Default::default()
        };
        g.reset = false;
        if let Some(u) = g.pending.take() {
            prog.updates.push(u);
            h.n_pre = 1;
        }
        // Plucks apply with the coefficients in effect now.
        h.ab = g.coef.ab;
        h.b = g.coef.b;
        for p in &g.plucks[..g.n_plucks] {
            prog.windows.push(*p);
        }
        h.n_plucks = g.n_plucks as u32;
        g.n_plucks = 0;
        // Strike windows of the excitations active at the block's start
        // (no new excitation can start inside a block).
        let mut strike_slots = [usize::MAX; MAX_STRIKES];
        let mut n_strikes = 0;
        for (slot, e) in excitations.iter().enumerate() {
            if e.is_active() && n_strikes < MAX_STRIKES {
                let mut w = window_of(e, prog.forces.len() as u32);
                w.origin = e.window().0 as u32;
                prog.windows.push(w);
                prog.forces.extend(std::iter::repeat_n(0.0, steps));
                strike_slots[n_strikes] = slot;
                n_strikes += 1;
            }
        }
        h.n_strikes = n_strikes as u32;
        // The bow's steps (zero force where it lifts inside the block).
        let bowing = bow.is_active();
        if bowing {
            h.bow_node = bow.node() as u32;
            h.bow_steps = prog.forces.len() as u32;
            prog.forces
                .extend(std::iter::repeat_n(0.0, BOW_FLOATS * steps));
        }
        let mut walk = GpuWalk {
            prog,
            marks,
            strikes: &strike_slots[..n_strikes],
            first_strike: (h.first_window + h.n_plucks) as usize,
            bow_steps: bowing.then_some(h.bow_steps as usize),
            delay,
            step: 0,
            excited: false,
        };
        // Walk the block as the CPU voice renders it.
        self.walk_block(frames, &mut walk);
        h.samples = (frames - delay) as u32;
        h.n_updates = walk.prog.updates.len() as u32 - h.first_update;
        let fin = Finish {
            gen: self.mesh().gen,
            delay,
            tick_pos: fin_tick_pos,
            marks: (first_mark, walk.marks.len() as u32),
            reset_silence: walk.excited,
        };
        Some((h, fin))
    }

    /// Turns the raw pickup signal of a planned block (`raw`: left, right
    /// interleaved, one pair per simulated sample; `fin` and `marks` as
    /// `plan_block` recorded them) into `out_l`/`out_r`. Blocks are
    /// finished in the order they were planned, possibly after the next
    /// one was planned: the output side follows the block's incarnation,
    /// and only the current incarnation's end makes the voice idle.
    /// Returns false when the block has no output (its incarnation had
    /// already ended).
    ///
    /// # Real-time safety
    /// No allocation.
    pub(crate) fn finish_block(
        &mut self,
        frames: usize,
        raw: &[f32],
        fin: &Finish,
        marks: &[PeriodMark],
    ) -> bool {
        let current = self.mesh().gen == fin.gen;
        let r = dc_pole(self.sample_rate());
        let hold = silence_hold(self.sample_rate());
        let radiation = if current {
            *self.radiation()
        } else {
            RadiationFilter::default()
        };
        let (mesh, out_l, out_r) = self.mesh_and_outputs();
        let o = &mut mesh.out_side;
        if o.gen != fin.gen {
            *o = OutSide {
                gen: fin.gen,
                chain: OutputChain::new(radiation),
                ..OutSide::default()
            };
        }
        if o.ended {
            return false;
        }
        if fin.reset_silence {
            o.chain.reset_silence();
        }
        let marks = &marks[fin.marks.0 as usize..fin.marks.1 as usize];
        let delay = fin.delay;
        out_l[..delay].iter_mut().for_each(|v| *v = 0.0);
        out_r[..delay].iter_mut().for_each(|v| *v = 0.0);
        let period = CONTROL_PERIOD as f32;
        let mut tick_pos = fin.tick_pos;
        let mut mark = 0usize;
        // Ramps of the period in progress at the block's start.
        let mut gains = o.carry_gains;
        for f in delay..frames {
            let s = f - delay;
            if tick_pos == 0 {
                let pm = marks[mark];
                mark += 1;
                if pm.fade_done || o.chain.end_of_period(pm.exciting, hold) {
                    o.ended = true;
                    out_l[f..frames].iter_mut().for_each(|v| *v = 0.0);
                    out_r[f..frames].iter_mut().for_each(|v| *v = 0.0);
                    if current {
                        self.finish();
                    }
                    return true;
                }
                gains = pm.gains;
            }
            let t = tick_pos as f32 / period;
            let (ol, or) = o.chain.sample((raw[2 * s], raw[2 * s + 1]), r, gains, t);
            out_l[f] = ol;
            out_r[f] = or;
            tick_pos = (tick_pos + 1) % CONTROL_PERIOD;
        }
        o.carry_gains = gains;
        true
    }
}

/// The GPU back-end's side of a block's walk: it records the block's
/// program (coefficient updates, taps, strike forces) and its period marks;
/// the samples are finished after the dispatch (`finish_block`).
struct GpuWalk<'a> {
    prog: &'a mut BlockProgram,
    marks: &'a mut Vec<PeriodMark>,
    /// Excitation slots of the block's strike windows, in window order.
    strikes: &'a [usize],
    /// Index of the first strike window in `prog.windows`.
    first_strike: usize,
    /// Index of the bow's steps in `prog.forces`, if it acts this block.
    bow_steps: Option<usize>,
    /// Frames before the note starts in this block.
    delay: usize,
    /// Mesh steps recorded so far.
    step: usize,
    /// An excitation was added before this block.
    excited: bool,
}

impl BlockWalk<GpuMesh> for GpuWalk<'_> {
    fn begin(&mut self, _mesh: &mut GpuMesh, excited: bool) {
        self.excited = excited;
    }

    /// Nothing to record: `finish_block` writes the delay's silence.
    fn silence(&mut self, _out: (&mut [f32], &mut [f32]), _from: usize, _to: usize) {}

    /// The silence check needs the output: `finish_block` does it.
    fn period(&mut self, mesh: &mut GpuMesh, frame: usize, mark: PeriodMark) -> bool {
        if let Some(mut u) = mesh.pending.take() {
            u.at = (frame - self.delay) as u32;
            self.prog.updates.push(u);
        }
        self.marks.push(mark);
        false
    }

    fn run(&mut self, run: Run<'_, GpuMesh>) {
        let m = run.plan.oversample as usize;
        for &(tl, tr) in run.taps {
            self.prog.taps.push(TapPair {
                il: tl.i as u32,
                wl: tl.w,
                ir: tr.i as u32,
                wr: tr.w,
            });
            for _ in 0..m {
                for (k, &slot) in self.strikes.iter().enumerate() {
                    if let Some(f) = run.excitations[slot].next_force() {
                        let base = self.prog.windows[self.first_strike + k].force as usize;
                        self.prog.forces[base + self.step] = f;
                    }
                }
                if let (Some(base), Some(b)) = (self.bow_steps, run.bow.next_step()) {
                    let at = base + BOW_FLOATS * self.step;
                    self.prog.forces[at..at + BOW_FLOATS].copy_from_slice(&[b.force, b.vel, b.g]);
                }
                self.step += 1;
            }
            run.mesh.flip ^= m % 2 == 1;
        }
    }
}

/// The GPU window of an excitation (weights, scale) with its forces at `force`.
fn window_of(e: &Excitation, force: u32) -> Window {
    let (origin, nx, ny, wx, wy) = e.window();
    Window {
        origin: origin as u32,
        nx: nx as u32,
        ny: ny as u32,
        force,
        scale: e.scale(),
        pad: [0; 3],
        wx: *wx,
        wy: *wy,
    }
}
