//! The engine interface both engines implement (CPU: [`super::Engine`],
//! GPU: [`crate::gpu::GpuEngine`]), so commands, offline rendering, scores
//! and the benchmark run on either.

use std::sync::Arc;

use super::voice::Voice;
use super::{Engine, EngineConfig};
use crate::instrument::{Instrument, NotePlan};
use crate::types::ExciteShape;
use crate::types::NoteRequest;
use crate::voice::{Mesh, Retired, VoiceState};

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

/// What both engines do.
pub trait VoiceEngine {
    /// The engine's voice type.
    type Voice: EngineVoice;
    /// The configuration.
    fn config(&self) -> &EngineConfig;
    /// Frames rendered so far.
    fn frames(&self) -> u64;
    /// Number of sounding voices.
    fn active_voices(&self) -> usize;
    /// A fresh voice id.
    fn allocate_id(&mut self) -> i32;
    /// True when a plan's mesh fits the voice buffers.
    fn fits(&self, inst: &Instrument, plan: &NotePlan) -> bool;
    /// Starts (or restarts) voice `id`.
    fn start_voice(
        &mut self,
        id: i32,
        inst: Arc<Instrument>,
        plan: NotePlan,
        req: &NoteRequest,
    ) -> (Retired, Option<i32>);
    /// The voice with id `id`, if sounding.
    fn voice_mut(&mut self, id: i32) -> Option<&mut Self::Voice>;
    /// All voice slots.
    fn voices(&self) -> &[Self::Voice];
    /// All voice slots, mutable.
    fn voices_mut(&mut self) -> &mut [Self::Voice];
    /// Sets the master gain.
    fn set_master_gain(&mut self, g: f32);
    /// Renders `left.len()` frames (≤ `max_block`).
    fn process(&mut self, left: &mut [f32], right: &mut [f32]);
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

/// Implements [`VoiceEngine`] for an engine by forwarding to its inherent
/// methods (invoked here for the CPU engine and in `crate::gpu` for the GPU one).
macro_rules! voice_engine {
    ($t:ty, $v:ty) => {
        impl $crate::engine::api::VoiceEngine for $t {
            type Voice = $v;
            fn config(&self) -> &$crate::engine::EngineConfig {
                <$t>::config(self)
            }
            fn frames(&self) -> u64 {
                self.stats.frames
            }
            fn active_voices(&self) -> usize {
                <$t>::active_voices(self)
            }
            fn allocate_id(&mut self) -> i32 {
                <$t>::allocate_id(self)
            }
            fn fits(
                &self,
                inst: &$crate::instrument::Instrument,
                plan: &$crate::instrument::NotePlan,
            ) -> bool {
                <$t>::fits(self, inst, plan)
            }
            fn start_voice(
                &mut self,
                id: i32,
                inst: std::sync::Arc<$crate::instrument::Instrument>,
                plan: $crate::instrument::NotePlan,
                req: &$crate::types::NoteRequest,
            ) -> ($crate::voice::Retired, Option<i32>) {
                <$t>::start_voice(self, id, inst, plan, req)
            }
            fn voice_mut(&mut self, id: i32) -> Option<&mut $v> {
                <$t>::voice_mut(self, id)
            }
            fn voices(&self) -> &[$v] {
                <$t>::voices(self)
            }
            fn voices_mut(&mut self) -> &mut [$v] {
                <$t>::voices_mut(self)
            }
            fn set_master_gain(&mut self, g: f32) {
                <$t>::set_master_gain(self, g)
            }
            fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
                <$t>::process(self, left, right)
            }
        }
    };
}

pub(crate) use voice_engine;

voice_engine!(Engine, Voice);
