//! Commands the control side sends to the engine, and events it sends back.
//!
//! Commands are moved through a bounded lock-free ring (no allocation on
//! either side of it); each carries the engine frame it applies at, so a
//! timetagged bundle starts sample-accurately: [`ApplyCommands::process_scheduled`]
//! splits the block at that frame (block rendering equals single-sample
//! rendering, so the split does not change the sound).

use std::sync::Arc;

use super::api::VoiceEngine;
use crate::instrument::{Instrument, NotePlan};
use crate::types::NoteRequest;
use crate::types::{ExciteShape, ModSpec, VoiceParam};
use crate::voice::output::VoiceFault;
use crate::voice::Retired;

/// One change to the engine.
pub enum EngineCommand {
    /// Start (or restart) voice `id`.
    Start {
        /// Voice id.
        id: i32,
        /// The instrument.
        inst: Arc<Instrument>,
        /// Its plan (made on the control side).
        plan: NotePlan,
        /// Note, velocity and overrides.
        req: NoteRequest,
    },
    /// Release every held voice started with `key`.
    NoteOff {
        /// The key of [`NoteRequest::key`].
        key: u64,
    },
    /// Release voice `id`.
    Release(i32),
    /// Stop voice `id` with a short fade.
    Free(i32),
    /// Stop every voice.
    FreeAll,
    /// Set one parameter of voice `id`.
    Set {
        /// Voice id.
        id: i32,
        /// Which parameter.
        param: VoiceParam,
        /// Its value.
        value: f64,
    },
    /// Move one parameter of voice `id` linearly to `value` over `seconds`
    /// (a preset's interpolated recall).
    SetOver {
        /// Voice id.
        id: i32,
        /// Which parameter.
        param: VoiceParam,
        /// Its value.
        value: f64,
        /// Duration of the glide.
        seconds: f64,
    },
    /// Set (or replace) the modulator of `spec.param` on voice `id`.
    Modulate {
        /// Voice id.
        id: i32,
        /// The modulator.
        spec: ModSpec,
    },
    /// Remove the modulator of `param` (all of them: `None`) from voice `id`.
    Unmodulate {
        /// Voice id.
        id: i32,
        /// The parameter, or every one.
        param: Option<VoiceParam>,
    },
    /// Excite voice `id`.
    Excite {
        /// Voice id.
        id: i32,
        /// Shape.
        shape: ExciteShape,
        /// Position 0..1.
        x: f32,
        /// Position 0..1.
        y: f32,
        /// Amplitude 0..1.
        amplitude: f32,
        /// Window width (share of the mesh).
        width: f32,
    },
    /// Move all four pickup coordinates of voice `id`.
    Pickups {
        /// Voice id.
        id: i32,
        /// `[lx, ly, rx, ry]`.
        pos: [f64; 4],
    },
    /// Morph voice `id` toward `target` by `t`.
    Morph {
        /// Voice id.
        id: i32,
        /// Target instrument (`None`: keep the current one).
        target: Option<Arc<Instrument>>,
        /// Morph amount 0..1.
        t: f64,
        /// Linear over this many seconds, or smoothed.
        seconds: Option<f64>,
    },
    /// Master gain, linear.
    MasterGain(f32),
    /// Master gain, linear, reached linearly over `seconds`.
    MasterGainOver {
        /// Linear gain.
        gain: f32,
        /// Duration of the glide.
        seconds: f64,
    },
    /// Report [`EngineEvent::MarkerReached`] with this token when applied
    /// (`/sync`, and the replies of timetagged commands, wait for it).
    Marker(u64),
}

/// A command with the engine frame it applies at (`None`: at once).
pub struct Timed {
    /// Engine frame, or `None` for the start of the next block.
    pub frame: Option<u64>,
    /// The command.
    pub command: EngineCommand,
}

/// Pops the front of a frame-ordered queue if it is due before `limit`
/// (the `next` argument of [`ApplyCommands::process_scheduled`]).
///
/// # Real-time safety
/// No allocation.
pub fn pop_due(pending: &mut std::collections::VecDeque<Timed>, limit: u64) -> Option<Timed> {
    if pending
        .front()
        .is_some_and(|p| p.frame.unwrap_or(0) < limit)
    {
        pending.pop_front()
    } else {
        None
    }
}

/// What the engine reports back to the control side.
pub enum EngineEvent {
    /// Every command before [`EngineCommand::Marker`] with this token is applied.
    MarkerReached(u64),
    /// A voice started sounding (its `Start` was applied).
    VoiceStarted(i32),
    /// A voice ended (inaudible, freed or stolen).
    VoiceEnded(i32),
    /// A voice's circuit breaker cut it (sent just before its `VoiceEnded`).
    VoiceFault(i32, VoiceFault),
    /// Instruments let go of by the engine, to be dropped off the real-time thread.
    Retired(Arc<Instrument>),
    /// A command named a voice that does not exist (any more).
    UnknownVoice(i32),
}

/// Where the engine puts its events.
pub trait EventSink {
    /// Takes one event; must not block or allocate on the real-time thread.
    fn emit(&mut self, event: EngineEvent);
}

impl EventSink for Vec<EngineEvent> {
    fn emit(&mut self, event: EngineEvent) {
        self.push(event);
    }
}

fn retire(sink: &mut impl EventSink, r: Retired) {
    if let Some(a) = r.0 {
        sink.emit(EngineEvent::Retired(a));
    }
    if let Some(a) = r.1 {
        sink.emit(EngineEvent::Retired(a));
    }
}

/// Commands, applied now or at their frames, on either engine.
pub trait ApplyCommands: VoiceEngine + Sized {
    /// Applies one command now.
    ///
    /// # Real-time safety
    /// No allocation, lock or I/O; instruments let go of are emitted as
    /// [`EngineEvent::Retired`].
    fn apply(&mut self, cmd: EngineCommand, sink: &mut impl EventSink) {
        apply(self, cmd, sink)
    }

    /// Renders `left.len()` frames, applying the commands `next` yields at
    /// their frames (splitting the block there). `next(limit)` must return
    /// the next command due before engine frame `limit`, or `None`.
    /// Commands due earlier than the block (late) apply at its start.
    ///
    /// # Real-time safety
    /// No allocation, lock or I/O (given a sink and a `next` that don't).
    fn process_scheduled(
        &mut self,
        left: &mut [f32],
        right: &mut [f32],
        sink: &mut impl EventSink,
        next: impl FnMut(u64) -> Option<Timed>,
    ) {
        process_scheduled(self, left, right, sink, next)
    }
}

impl<E: VoiceEngine> ApplyCommands for E {}

/// Applies one command to either engine now (see [`ApplyCommands::apply`]).
pub fn apply<E: VoiceEngine>(engine: &mut E, cmd: EngineCommand, sink: &mut impl EventSink) {
    let this = engine;
    {
        match cmd {
            EngineCommand::Start {
                id,
                inst,
                plan,
                req,
            } => {
                if !this.fits(&inst, &plan) {
                    sink.emit(EngineEvent::Retired(inst));
                    return;
                }
                let (old, cut) = this.start_voice(id, inst, plan, &req);
                if let Some(c) = cut {
                    sink.emit(EngineEvent::VoiceEnded(c));
                }
                sink.emit(EngineEvent::VoiceStarted(id));
                retire(sink, old);
            }
            EngineCommand::NoteOff { key } => {
                for v in this
                    .voices_mut()
                    .iter_mut()
                    .filter(|v| v.is_active() && v.held && v.key == key)
                {
                    v.release();
                }
            }
            EngineCommand::FreeAll => {
                for v in this.voices_mut().iter_mut().filter(|v| v.is_active()) {
                    v.free();
                }
            }
            EngineCommand::MasterGain(g) => this.set_master_gain(g),
            EngineCommand::MasterGainOver { gain, seconds } => {
                this.set_master_gain_over(gain, seconds)
            }
            EngineCommand::Marker(token) => sink.emit(EngineEvent::MarkerReached(token)),
            EngineCommand::Release(id) => with_voice(this, id, sink, |v| v.release()),
            EngineCommand::Free(id) => with_voice(this, id, sink, |v| v.free()),
            EngineCommand::Set { id, param, value } => {
                with_voice(this, id, sink, |v| v.set(param, value))
            }
            EngineCommand::SetOver {
                id,
                param,
                value,
                seconds,
            } => with_voice(this, id, sink, |v| v.set_over(param, value, seconds)),
            // The router refuses what a voice would (a fifth parameter, `x`).
            EngineCommand::Modulate { id, spec } => with_voice(this, id, sink, |v| {
                let _ = v.modulate(spec);
            }),
            EngineCommand::Unmodulate { id, param } => {
                with_voice(this, id, sink, |v| v.unmodulate(param))
            }
            EngineCommand::Excite {
                id,
                shape,
                x,
                y,
                amplitude,
                width,
            } => with_voice(this, id, sink, |v| v.excite(shape, x, y, amplitude, width)),
            EngineCommand::Pickups { id, pos } => {
                with_voice(this, id, sink, |v| v.set_pickups(pos))
            }
            EngineCommand::Morph {
                id,
                target,
                t,
                seconds,
            } => {
                let mut old = None;
                let mut target = target;
                match this.voice_mut(id) {
                    Some(v) => old = v.set_morph(target.take(), t, seconds),
                    None => sink.emit(EngineEvent::UnknownVoice(id)),
                }
                retire(sink, (old, target));
            }
        }
    }
}

fn with_voice<E: VoiceEngine>(
    engine: &mut E,
    id: i32,
    sink: &mut impl EventSink,
    f: impl FnOnce(&mut crate::voice::Voice<E::Mesh>),
) {
    match engine.voice_mut(id) {
        Some(v) => f(v),
        None => sink.emit(EngineEvent::UnknownVoice(id)),
    }
}

/// Renders with scheduled commands on either engine (see
/// [`ApplyCommands::process_scheduled`]).
pub fn process_scheduled<E: VoiceEngine>(
    engine: &mut E,
    left: &mut [f32],
    right: &mut [f32],
    sink: &mut impl EventSink,
    mut next: impl FnMut(u64) -> Option<Timed>,
) {
    let frames = left.len().min(right.len());
    let block_end = engine.frames() + frames as u64;
    let mut done = 0;
    while let Some(t) = next(block_end) {
        let now = engine.frames();
        let at = t.frame.unwrap_or(now).clamp(now, block_end);
        if at > now {
            let n = (at - now) as usize;
            render_span(
                engine,
                &mut left[done..done + n],
                &mut right[done..done + n],
                sink,
            );
            done += n;
        }
        apply(engine, t.command, sink);
    }
    if done < frames {
        render_span(
            engine,
            &mut left[done..frames],
            &mut right[done..frames],
            sink,
        );
    }
}

fn render_span<E: VoiceEngine>(
    engine: &mut E,
    left: &mut [f32],
    right: &mut [f32],
    sink: &mut impl EventSink,
) {
    let n = left.len();
    let mut off = 0;
    while off < n {
        let m = (n - off).min(engine.config().max_block);
        engine.process(&mut left[off..off + m], &mut right[off..off + m]);
        for v in engine.voices().iter().filter(|v| v.just_ended) {
            if let Some(fault) = v.fault {
                sink.emit(EngineEvent::VoiceFault(v.id, fault));
            }
            sink.emit(EngineEvent::VoiceEnded(v.id));
        }
        off += m;
    }
}
