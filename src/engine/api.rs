//! The engine interface both engines implement (CPU: [`super::Engine`],
//! GPU: [`crate::gpu::GpuEngine`]), so commands, offline rendering, scores
//! and the benchmark run on either.

use std::sync::Arc;

use super::config::{EngineConfig, EngineStats};
use crate::instrument::{Instrument, NotePlan};
use crate::types::ExciteShape;
use crate::types::NoteRequest;
use crate::voice::{Mesh, Retired, Slots, Voice, VoiceState};

/// What a voice of either engine does on command.
///
/// # Real-time safety
/// Every method is real-time safe (no allocation, lock or I/O).
pub trait EngineVoice {
    /// Voice id.
    fn id(&self) -> i32;
    /// True unless idle.
    fn is_active(&self) -> bool;
    /// Held by a note-on.
    fn held(&self) -> bool;
    /// The key it was started with.
    fn key(&self) -> u64;
    /// Ended during the last render.
    fn just_ended(&self) -> bool;
    /// Life state (for the stealing policy).
    fn state(&self) -> VoiceState;
    /// Engine frame it started at (oldest is stolen first).
    fn started_frame(&self) -> u64;
    /// Releases the note.
    fn release(&mut self);
    /// Stops with a short fade.
    fn free(&mut self);
    /// Sets the pitch; true if clamped to the plan.
    fn set_pitch(&mut self, note: f64) -> bool;
    /// Sets the damping scale.
    fn set_damping(&mut self, scale: f64);
    /// Sets the gain.
    fn set_gain(&mut self, gain: f64);
    /// Sets the pan.
    fn set_pan(&mut self, pan: f64);
    /// Sets the brightness of later excitations.
    fn set_brightness(&mut self, b: f32);
    /// Moves one pickup coordinate.
    fn set_pickup_coordinate(&mut self, index: usize, v: f64);
    /// Moves both pickups.
    fn set_pickups(&mut self, p: [f64; 4]);
    /// Morphs toward a target; returns a replaced target to retire.
    fn set_morph(
        &mut self,
        target: Option<Arc<Instrument>>,
        t: f64,
        seconds: Option<f64>,
    ) -> Option<Arc<Instrument>>;
    /// Adds an excitation.
    fn excite(&mut self, shape: ExciteShape, x: f32, y: f32, amplitude: f32, width: f32);
}

/// What both engines do: each holds its voice slots ([`Slots`], the same
/// for both) and renders them its own way.
pub trait VoiceEngine {
    /// The mesh back-end its voices run on.
    type Mesh: Mesh;
    /// The configuration.
    fn config(&self) -> &EngineConfig;
    /// The counters.
    fn stats(&self) -> &EngineStats;
    /// The counters, mutable.
    fn stats_mut(&mut self) -> &mut EngineStats;
    /// The voice slots.
    fn slots(&self) -> &Slots<Self::Mesh>;
    /// The voice slots, mutable.
    fn slots_mut(&mut self) -> &mut Slots<Self::Mesh>;
    /// Renders `left.len()` frames (≤ `max_block`).
    fn process(&mut self, left: &mut [f32], right: &mut [f32]);

    /// Starts (or restarts) voice `id` ([`start_in_slots`]). Returns the
    /// instruments the slot held before, to be dropped off the real-time
    /// thread, and the id of a voice that had to be cut without a fade
    /// (only when every spare slot is still fading).
    ///
    /// # Real-time safety
    /// No allocation, lock or I/O. The plan must fit the voice capacity
    /// (checked by [`fits`](Self::fits)).
    fn start_voice(
        &mut self,
        id: i32,
        inst: Arc<Instrument>,
        plan: NotePlan,
        req: &NoteRequest,
    ) -> (Retired, Option<i32>) {
        start_in_slots(self, id, inst, plan, req)
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
    /// Ids of voices that ended during the last [`process`](Self::process).
    fn ended_voices(&self) -> impl Iterator<Item = i32> + '_ {
        self.slots().ended_voices()
    }
}

/// Starts voice `id` in `engine`'s slots at its current frame, counting a
/// stolen voice (what [`VoiceEngine::start_voice`] does, for engines that
/// do more first).
///
/// # Real-time safety
/// No allocation, lock or I/O.
pub fn start_in_slots<E: VoiceEngine + ?Sized>(
    engine: &mut E,
    id: i32,
    inst: Arc<Instrument>,
    plan: NotePlan,
    req: &NoteRequest,
) -> (Retired, Option<i32>) {
    let (sr, frame) = (engine.config().sample_rate, engine.stats().frames);
    let (old, cut, stolen) = engine
        .slots_mut()
        .start_voice(id, inst, plan, req, sr, frame);
    engine.stats_mut().stolen += stolen as u64;
    (old, cut)
}

/// Every voice is the one voice program on some mesh back-end.
impl<M: Mesh> EngineVoice for crate::voice::Voice<M> {
    fn id(&self) -> i32 {
        self.id
    }
    fn is_active(&self) -> bool {
        Self::is_active(self)
    }
    fn held(&self) -> bool {
        self.held
    }
    fn key(&self) -> u64 {
        self.key
    }
    fn just_ended(&self) -> bool {
        self.just_ended
    }
    fn state(&self) -> VoiceState {
        self.state
    }
    fn started_frame(&self) -> u64 {
        self.started_frame
    }
    fn release(&mut self) {
        Self::release(self)
    }
    fn free(&mut self) {
        Self::free(self)
    }
    fn set_pitch(&mut self, note: f64) -> bool {
        Self::set_pitch(self, note)
    }
    fn set_damping(&mut self, scale: f64) {
        Self::set_damping(self, scale)
    }
    fn set_gain(&mut self, gain: f64) {
        Self::set_gain(self, gain)
    }
    fn set_pan(&mut self, pan: f64) {
        Self::set_pan(self, pan)
    }
    fn set_brightness(&mut self, b: f32) {
        Self::set_brightness(self, b)
    }
    fn set_pickup_coordinate(&mut self, index: usize, v: f64) {
        Self::set_pickup_coordinate(self, index, v)
    }
    fn set_pickups(&mut self, p: [f64; 4]) {
        Self::set_pickups(self, p)
    }
    fn set_morph(
        &mut self,
        target: Option<Arc<Instrument>>,
        t: f64,
        seconds: Option<f64>,
    ) -> Option<Arc<Instrument>> {
        Self::set_morph(self, target, t, seconds)
    }
    fn excite(&mut self, shape: ExciteShape, x: f32, y: f32, amplitude: f32, width: f32) {
        Self::excite(self, shape, x, y, amplitude, width)
    }
}
