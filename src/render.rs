//! Offline rendering: notes to stereo buffers and WAV files, through the
//! same engine the server runs, as fast as the machine allows.
//! Deterministic: the same request gives the same samples.

use std::path::Path;
use std::sync::Arc;

use crate::engine::api::VoiceEngine;
use crate::engine::voice::NoteRequest;
use crate::engine::{Engine, EngineConfig};
use crate::gpu::{bank_floats, EngineSpec, GpuEngine};
use crate::instrument::Instrument;

/// A rendered stereo signal.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StereoBuffer {
    /// Left channel.
    pub left: Vec<f32>,
    /// Right channel.
    pub right: Vec<f32>,
    /// Sample rate, Hz.
    pub sample_rate: u32,
}

impl StereoBuffer {
    /// Largest absolute sample.
    pub fn peak(&self) -> f32 {
        self.left
            .iter()
            .chain(&self.right)
            .fold(0.0, |m, v| m.max(v.abs()))
    }
    /// Scales both channels so the peak is at `dbfs` (e.g. −1); returns the
    /// gain applied. A silent buffer (peak below 10⁻⁹, or not finite) or a
    /// `dbfs` that is not finite is an error, and the buffer is unchanged.
    pub fn normalize(&mut self, dbfs: f64) -> Result<f64, String> {
        if !dbfs.is_finite() {
            return Err(format!("cannot normalise to {dbfs} dBFS"));
        }
        let peak = self.peak() as f64;
        if !peak.is_finite() || peak < 1e-9 {
            return Err(format!(
                "cannot normalise a silent render (peak {peak:e}) to {dbfs} dBFS"
            ));
        }
        let g = 10f64.powf(dbfs / 20.0) / peak;
        self.scale(g);
        Ok(g)
    }
    /// Root-mean-square level over both channels (0 for an empty buffer).
    pub fn rms(&self) -> f64 {
        let n = self.left.len() + self.right.len();
        let e: f64 = self
            .left
            .iter()
            .chain(&self.right)
            .map(|&v| (v as f64).powi(2))
            .sum();
        (e / n.max(1) as f64).sqrt()
    }

    /// Multiplies both channels by `gain`.
    pub fn scale(&mut self, gain: f64) {
        for v in self.left.iter_mut().chain(self.right.iter_mut()) {
            *v = (*v as f64 * gain) as f32;
        }
    }

    /// Writes a 32-bit float stereo WAV.
    pub fn write_wav(&self, path: &Path) -> Result<(), hound::Error> {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: self.sample_rate,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(path, spec)?;
        for (l, r) in self.left.iter().zip(&self.right) {
            w.write_sample(*l)?;
            w.write_sample(*r)?;
        }
        w.finalize()
    }
    /// Writes a 16-bit integer stereo WAV (clipped at full scale).
    pub fn write_wav_i16(&self, path: &Path) -> Result<(), hound::Error> {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: self.sample_rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec)?;
        for (l, r) in self.left.iter().zip(&self.right) {
            w.write_sample((l.clamp(-1.0, 1.0) * 32767.0).round() as i16)?;
            w.write_sample((r.clamp(-1.0, 1.0) * 32767.0).round() as i16)?;
        }
        w.finalize()
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
pub fn render_note(
    inst: &Arc<Instrument>,
    spec: &NoteSpec,
    settings: RenderSettings,
) -> Result<StereoBuffer, String> {
    render_note_on(inst, spec, settings, &EngineSpec::Cpu)
}

/// Renders one note of `inst` on the engine `engine`.
pub fn render_note_on(
    inst: &Arc<Instrument>,
    spec: &NoteSpec,
    settings: RenderSettings,
    engine: &EngineSpec,
) -> Result<StereoBuffer, String> {
    let plan = inst.plan(spec.request.note, 0.0, settings.sample_rate as f64)?;
    let mut cfg = EngineConfig::new(inst.max_buffer_len());
    cfg.sample_rate = settings.sample_rate as f64;
    cfg.max_block = settings.block;
    cfg.max_voices = 1;
    cfg.threads = settings.threads;
    match engine {
        EngineSpec::Cpu => Ok(render_with(
            &mut Engine::new(cfg),
            inst,
            plan,
            spec,
            settings,
        )),
        EngineSpec::Gpu(ctx) => {
            let mut e = GpuEngine::new((**ctx).clone(), cfg, bank_floats([inst]))
                .map_err(|e| e.to_string())?;
            e.load(inst).map_err(|e| e.to_string())?;
            let out = render_with(&mut e, inst, plan, spec, settings);
            match e.failure() {
                Some(f) => Err(format!("GPU engine failed: {f}")),
                None => Ok(out),
            }
        }
    }
}

fn render_with<E: VoiceEngine>(
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
