//! One note: what to play ([`NoteSpec`], [`NoteOverrides`]), the engine
//! settings ([`RenderSettings`]) and its render on either engine.

use std::sync::Arc;

use super::buffer::StereoBuffer;
use super::error::RenderError;
use super::offline::{run_offline, OfflineJob};
use crate::engine::api::VoiceEngine;
use crate::engine::voice::NoteRequest;
use crate::engine::EngineConfig;
use crate::gpu::EngineSpec;
use crate::instrument::format::ExciteShape;
use crate::instrument::Instrument;

/// Overrides of an instrument's excitation and pickups for one note
/// (`render --excite --x --y --pickup-left --pickup-right`); what is not
/// given stays the instrument's.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct NoteOverrides {
    /// Excitation shape.
    pub excite: Option<ExciteShape>,
    /// Excitation position across, 0..1.
    pub x: Option<f32>,
    /// Excitation position down, 0..1.
    pub y: Option<f32>,
    /// Left pickup (x, y) in 0..1.
    pub pickup_left: Option<(f32, f32)>,
    /// Right pickup (x, y) in 0..1.
    pub pickup_right: Option<(f32, f32)>,
}

impl NoteOverrides {
    /// Writes the overrides into `req`, a note request of `inst`.
    pub fn apply(&self, inst: &Instrument, req: &mut NoteRequest) {
        let f = &inst.file;
        if self.excite.is_some() || self.x.is_some() || self.y.is_some() {
            let shape = self.excite.unwrap_or(f.excitation.shape);
            let xx = self.x.unwrap_or(f.excitation.x as f32).clamp(0.0, 1.0);
            let yy = self.y.unwrap_or(f.excitation.y as f32).clamp(0.0, 1.0);
            req.excite = Some((shape, xx, yy));
        }
        if self.pickup_left.is_some() || self.pickup_right.is_some() {
            let l = self
                .pickup_left
                .unwrap_or((f.pickups.left[0] as f32, f.pickups.left[1] as f32));
            let r = self
                .pickup_right
                .unwrap_or((f.pickups.right[0] as f32, f.pickups.right[1] as f32));
            req.pickups = Some([l.0, l.1, r.0, r.1]);
        }
    }
}

/// Engine settings of an offline render.
#[derive(Clone, Copy, Debug)]
pub struct RenderSettings {
    /// Sample rate, Hz.
    pub sample_rate: u32,
    /// Block size, frames.
    pub block: usize,
    /// Threads.
    pub threads: usize,
}

impl Default for RenderSettings {
    fn default() -> Self {
        Self {
            sample_rate: 48000,
            block: 256,
            threads: 1,
        }
    }
}

/// One note to render.
#[derive(Clone, Copy, Debug)]
pub struct NoteSpec {
    /// The note request (note, velocity, overrides).
    pub request: NoteRequest,
    /// Total length, seconds.
    pub duration: f64,
    /// When to release the note, seconds (None: never).
    pub release_at: Option<f64>,
}

/// Renders one note of `inst` on the CPU engine. The error says why the
/// note cannot be played.
pub fn render_note_cpu(
    inst: &Arc<Instrument>,
    spec: &NoteSpec,
    settings: RenderSettings,
) -> Result<StereoBuffer, RenderError> {
    render_note_on_engine(inst, spec, settings, &EngineSpec::Cpu)
}

/// Renders one note of `inst` on the engine `engine` (built for the note,
/// as `neirosynth render` does).
pub fn render_note_on_engine(
    inst: &Arc<Instrument>,
    spec: &NoteSpec,
    settings: RenderSettings,
    engine: &EngineSpec,
) -> Result<StereoBuffer, RenderError> {
    let plan = inst
        .plan(spec.request.note, 0.0, settings.sample_rate as f64)
        .map_err(RenderError::Plan)?;
    let mut cfg = EngineConfig::new(inst.max_buffer_len());
    cfg.sample_rate = settings.sample_rate as f64;
    cfg.max_block = settings.block;
    cfg.max_voices = 1;
    cfg.threads = settings.threads;
    let job = NoteJob {
        inst,
        plan,
        spec,
        settings,
    };
    run_offline(engine, cfg, std::slice::from_ref(inst), false, job)
}

/// One note, as an [`OfflineJob`].
struct NoteJob<'a> {
    inst: &'a Arc<Instrument>,
    plan: crate::instrument::NotePlan,
    spec: &'a NoteSpec,
    settings: RenderSettings,
}

impl OfflineJob for NoteJob<'_> {
    type Output = StereoBuffer;
    fn run<E: VoiceEngine>(self, engine: &mut E, _on_gpu: bool) -> StereoBuffer {
        play_note_blocks(engine, self.inst, self.plan, self.spec, self.settings)
    }
}

/// Plays the note on an engine already built: starts the voice, renders
/// `spec.duration` block by block, releases it at `spec.release_at`.
fn play_note_blocks<E: VoiceEngine>(
    engine: &mut E,
    inst: &Arc<Instrument>,
    plan: crate::instrument::NotePlan,
    spec: &NoteSpec,
    settings: RenderSettings,
) -> StereoBuffer {
    let id = engine.allocate_id();
    engine.start_voice(id, inst.clone(), plan, &spec.request);
    let total = (spec.duration * settings.sample_rate as f64).round() as usize;
    let release = spec
        .release_at
        .map(|t| (t * settings.sample_rate as f64).round() as usize);
    let mut out = StereoBuffer {
        left: vec![0.0; total],
        right: vec![0.0; total],
        sample_rate: settings.sample_rate,
    };
    let mut pos = 0;
    while pos < total {
        let mut n = settings.block.min(total - pos);
        if let Some(r) = release {
            if pos < r && pos + n > r {
                n = r - pos;
            }
            if pos == r {
                if let Some(v) = engine.voice_mut(id) {
                    v.release();
                }
            }
        }
        let (l, r) = (&mut out.left[pos..pos + n], &mut out.right[pos..pos + n]);
        engine.process(l, r);
        pos += n;
    }
    out
}

impl NoteSpec {
    /// The note `neirosynth render` plays: `inst`'s shaped request at
    /// `note` and `velocity` with `overrides` applied, `duration` seconds
    /// long, released at `release_at` (never when `None`).
    pub fn played(
        inst: &Instrument,
        note: f64,
        velocity: f32,
        overrides: &NoteOverrides,
        duration: f64,
        release_at: Option<f64>,
    ) -> Self {
        let mut request = inst.note_request(note, velocity);
        overrides.apply(inst, &mut request);
        Self {
            request,
            duration,
            release_at,
        }
    }
}
