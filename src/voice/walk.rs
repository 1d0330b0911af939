//! One block of a voice, walked once for every mesh back-end: the delay
//! before the note starts, the control-period boundaries (the program's
//! tick, the end of the voice) and the runs of samples between them, with
//! the pickup taps of each sample. A back-end says what happens at each
//! point (`BlockWalk`): the CPU engine steps the mesh and finishes the
//! samples at once; the GPU engine records the block's program and
//! finishes the samples after the dispatch.
//!
//! # Real-time safety
//! No allocation, lock or I/O.

use super::bow::Bow;
use super::control::{CONTROL_PERIOD, MAX_EXCITATIONS};
use super::excitation::Excitation;
use super::mesh::Mesh;
use super::output::{Gains, Tap};
use super::program::{PeriodMark, Voice};
use crate::instrument::NotePlan;
use crate::physics::body::Layout;

/// A run of samples inside one control period, with what the back-end
/// needs to render it.
pub(crate) struct Run<'a, M> {
    /// The mesh.
    pub(crate) mesh: &'a mut M,
    /// The excitations (their forces are injected step by step).
    pub(crate) excitations: &'a mut [Excitation; MAX_EXCITATIONS],
    /// The bow (its force is solved step by step).
    pub(crate) bow: &'a mut Bow,
    /// The voice's outputs, left and right (the whole block).
    pub(crate) out: (&'a mut [f32], &'a mut [f32]),
    /// The body mask at the plan's level (its stiffness map).
    pub(crate) mask: &'a [f32],
    /// The plan.
    pub(crate) plan: NotePlan,
    /// The mesh layout of the note.
    pub(crate) layout: Layout,
    /// The sample rate the note plays at.
    pub(crate) sample_rate: f64,
    /// Gain ramps of the period.
    pub(crate) gains: Gains,
    /// Pickup taps of each sample of the run (its length is the run's).
    pub(crate) taps: &'a [(Tap, Tap)],
    /// Frame of the block the run starts at.
    pub(crate) start: usize,
    /// Sample of the control period the run starts at.
    pub(crate) tick_pos: usize,
}

/// What a back-end does at each point of a block's walk
/// ([`Voice::walk_block`]).
pub(crate) trait BlockWalk<M> {
    /// The walk starts; `excited`: an excitation was added since the last
    /// block (the silence count starts again).
    fn begin(&mut self, mesh: &mut M, excited: bool);
    /// Frames `from..to` of the outputs are silent (before the note's
    /// delay ends, or after the voice ended).
    fn silence(&mut self, out: (&mut [f32], &mut [f32]), from: usize, to: usize);
    /// A control-period boundary at frame `frame`, after the program's
    /// tick (`mark`). Returns true when the voice ends here.
    fn period(&mut self, mesh: &mut M, frame: usize, mark: PeriodMark) -> bool;
    /// Renders (or records) a run of samples.
    fn run(&mut self, run: Run<'_, M>);
}

impl<M: Mesh> Voice<M> {
    /// Walks a block of `frames` frames, with `back` doing the mesh work:
    /// the delay, each control-period boundary (the tick; the voice ends
    /// where `back` says), the runs of samples between them.
    ///
    /// # Real-time safety
    /// No allocation, lock or I/O.
    #[inline]
    pub(crate) fn walk_block(&mut self, frames: usize, back: &mut impl BlockWalk<M>) {
        back.begin(&mut self.mesh, std::mem::take(&mut self.excited));
        let mut f = 0;
        while f < frames {
            if !self.is_active() {
                back.silence((&mut self.out_l, &mut self.out_r), f, frames);
                return;
            }
            if self.delay > 0 {
                let n = self.delay.min(frames - f);
                back.silence((&mut self.out_l, &mut self.out_r), f, f + n);
                self.delay -= n;
                f += n;
                continue;
            }
            if self.tick_pos == 0 {
                let mark = self.period_start();
                if back.period(&mut self.mesh, f, mark) {
                    self.finish();
                    continue;
                }
            }
            let n = (frames - f).min(CONTROL_PERIOD - self.tick_pos);
            self.run(f, n, back);
            f += n;
            self.tick_pos = (self.tick_pos + n) % CONTROL_PERIOD;
        }
    }

    /// Hands `back` the run of `n` samples from frame `start`.
    #[inline]
    fn run(&mut self, start: usize, n: usize, back: &mut impl BlockWalk<M>) {
        let tick_pos = self.tick_pos;
        // Pickup taps of each sample of this run (positions glide over the period).
        let mut taps = [(Tap::default(), Tap::default()); CONTROL_PERIOD];
        for (j, t) in taps[..n].iter_mut().enumerate() {
            *t = self.taps(tick_pos + j);
        }
        let (layout, sample_rate, gains) = (self.layout(), self.sample_rate(), self.gains());
        let (Some(plan), Some(inst)) = (self.plan, self.instrument.as_ref()) else {
            return;
        };
        back.run(Run {
            mesh: &mut self.mesh,
            excitations: &mut self.excitations,
            bow: &mut self.bow,
            out: (&mut self.out_l, &mut self.out_r),
            mask: &inst.levels[plan.level].maps.stiffness,
            plan,
            layout,
            sample_rate,
            gains,
            taps: &taps[..n],
            start,
            tick_pos,
        });
    }
}
