//! The engine interface both engines implement (CPU: [`super::CpuEngine`],
//! GPU: [`crate::gpu::GpuEngine`]), so commands, offline rendering, scores
//! and the benchmark run on either, and the state they share
//! ([`EngineCore`]). Commands reach them through
//! [`ApplyCommands`](super::command::ApplyCommands).

use std::sync::Arc;

use super::config::{EngineConfig, EngineStats};
use crate::instrument::{Instrument, NotePlan};
use crate::types::NoteRequest;
use crate::voice::{Mesh, Retired, Slots, Voice};

/// What every engine holds, whatever its mesh back-end: the
/// configuration, the counters and the voice slots.
pub struct EngineCore<M: Mesh> {
    /// The configuration.
    pub cfg: EngineConfig,
    /// The counters.
    pub stats: EngineStats,
    /// The voice slots (the one voice program on mesh `M`).
    pub slots: Slots<M>,
}

impl<M: Mesh> EngineCore<M> {
    /// The core of an engine that has rendered nothing yet.
    pub fn new(cfg: EngineConfig, slots: Slots<M>) -> Self {
        Self {
            cfg,
            stats: EngineStats::default(),
            slots,
        }
    }
}

/// What both engines do: each holds an [`EngineCore`] (the same for both)
/// and renders its voices its own way.
pub trait VoiceEngine {
    /// The mesh back-end its voices run on.
    type Mesh: Mesh;
    /// The shared state.
    fn core(&self) -> &EngineCore<Self::Mesh>;
    /// The shared state, mutable.
    fn core_mut(&mut self) -> &mut EngineCore<Self::Mesh>;
    /// Renders `left.len()` frames (≤ `max_block`) into `left` / `right`,
    /// overwriting them.
    ///
    /// # Real-time safety
    /// No allocation, lock, log or I/O.
    fn process(&mut self, left: &mut [f32], right: &mut [f32]);
    /// Readies the engine for a voice of `inst` at `plan` before it starts
    /// (the GPU engine uploads an instrument not resident yet); nothing by
    /// default.
    fn prepare_start(&mut self, _inst: &Arc<Instrument>, _plan: &NotePlan) {}

    /// The configuration.
    fn config(&self) -> &EngineConfig {
        &self.core().cfg
    }
    /// The counters.
    fn stats(&self) -> &EngineStats {
        &self.core().stats
    }
    /// The counters, mutable.
    fn stats_mut(&mut self) -> &mut EngineStats {
        &mut self.core_mut().stats
    }
    /// The voice slots.
    fn slots(&self) -> &Slots<Self::Mesh> {
        &self.core().slots
    }
    /// The voice slots, mutable.
    fn slots_mut(&mut self) -> &mut Slots<Self::Mesh> {
        &mut self.core_mut().slots
    }

    /// Starts (or restarts) voice `id` at the engine's current frame,
    /// counting a stolen voice. Returns the instruments the slot held
    /// before, to be dropped off the real-time thread, and the id of a voice
    /// that had to be cut without a fade (only when every spare slot is
    /// still fading).
    ///
    /// # Real-time safety
    /// No allocation, lock or I/O (on the GPU engine: once its instrument
    /// is resident, see [`prepare_start`](Self::prepare_start)). The plan
    /// must fit the voice capacity (checked by [`fits`](Self::fits)).
    fn start_voice(
        &mut self,
        id: i32,
        inst: Arc<Instrument>,
        plan: NotePlan,
        req: &NoteRequest,
    ) -> (Retired, Option<i32>) {
        self.prepare_start(&inst, &plan);
        let core = self.core_mut();
        let (sr, frame) = (core.cfg.sample_rate, core.stats.frames);
        let (old, cut, stolen) = core.slots.start_voice(id, inst, plan, req, sr, frame);
        core.stats.stolen += stolen as u64;
        (old, cut)
    }

    /// Frames rendered so far.
    fn frames(&self) -> u64 {
        self.stats().frames
    }

    /// Number of sounding voices.
    fn active_voices(&self) -> usize {
        self.slots().active_voices()
    }
    /// A fresh voice id (positive, below 2^24).
    fn allocate_id(&mut self) -> i32 {
        self.slots_mut().allocate_id()
    }
    /// True when a plan's mesh fits the voice buffers.
    fn fits(&self, inst: &Instrument, plan: &NotePlan) -> bool {
        inst.levels[plan.level].maps.layout.len <= self.config().voice_capacity
    }
    /// The voice with id `id`, if sounding.
    fn voice_mut(&mut self, id: i32) -> Option<&mut Voice<Self::Mesh>> {
        self.slots_mut().voice_mut(id)
    }
    /// All voice slots.
    fn voices(&self) -> &[Voice<Self::Mesh>] {
        self.slots().voices()
    }
    /// All voice slots, mutable.
    fn voices_mut(&mut self) -> &mut [Voice<Self::Mesh>] {
        self.slots_mut().voices_mut()
    }
    /// Sets the master gain (linear), ramped over the next block.
    fn set_master_gain(&mut self, g: f32) {
        self.slots_mut().set_master_gain(g)
    }
    /// Moves the master gain (linear) to `g` linearly over `seconds`.
    fn set_master_gain_over(&mut self, g: f32, seconds: f64) {
        let frames = (seconds.max(0.0) * self.config().sample_rate).round() as u64;
        self.slots_mut().set_master_gain_over(g, frames)
    }
    /// Ids of voices that ended during the last [`process`](Self::process).
    fn ended_voices(&self) -> impl Iterator<Item = i32> + '_ {
        self.slots().ended_voices()
    }
}
