//! Offline rendering: notes to stereo buffers and WAV files, through the
//! same engine the server runs, as fast as the machine allows.
//! Deterministic: the same request gives the same samples.

use std::path::Path;
use std::sync::Arc;

use crate::engine::api::VoiceEngine;
use crate::engine::voice::NoteRequest;
use crate::engine::{Engine, EngineConfig};
use crate::gpu::{bank_floats, EngineSpec, GpuEngine, GpuError};
use crate::instrument::format::ExciteShape;

/// Why an offline render failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The note cannot be played (out of range, no certified plan).
    #[error("{0}")]
    Plan(String),
    /// The GPU engine cannot start, or cannot hold an instrument.
    #[error(transparent)]
    Gpu(#[from] GpuError),
    /// The GPU engine failed during the render.
    #[error("GPU engine failed: {0}")]
    GpuFailed(String),
    /// The level cannot be applied (a silent render, a level that is not finite).
    #[error("{0}")]
    Level(String),
}
use crate::instrument::Instrument;

/// Sample format of a written WAV.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SampleFormat {
    /// 32-bit float.
    #[default]
    F32,
    /// 16-bit integer (clipped at full scale).
    I16,
}

/// The level of a written file (`render --normalize` / `--gain-db`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OutputLevel {
    /// Scale so the peak is at this many dBFS.
    pub normalize: Option<f64>,
    /// Scale by this many decibels.
    pub gain_db: Option<f64>,
}

impl OutputLevel {
    /// Applies the level to `buf` (a silent buffer cannot be normalised).
    pub fn apply(self, buf: &mut StereoBuffer) -> Result<(), RenderError> {
        if let Some(n) = self.normalize {
            buf.normalize(n)?;
        }
        if let Some(g) = self.gain_db {
            buf.scale(10f64.powf(g / 20.0));
        }
        Ok(())
    }
}

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

/// A job an offline path (a note, a score, a measurement) runs on
/// whichever engine [`run_offline`] builds.
pub trait OfflineJob {
    /// What the job produces.
    type Output;
    /// Runs the job on `engine` (`on_gpu`: the GPU engine).
    fn run<E: VoiceEngine>(self, engine: &mut E, on_gpu: bool) -> Self::Output;
}

/// The offline engine factory: builds the engine `spec` names with `cfg`
/// (the GPU engine with `instruments` resident, pipelined when asked, as
/// the server runs it) and runs `job` on it. A GPU engine that cannot
/// start, or fails during the job, is an error.
pub fn run_offline<J: OfflineJob>(
    spec: &EngineSpec,
    cfg: EngineConfig,
    instruments: &[Arc<Instrument>],
    pipelined: bool,
    job: J,
) -> Result<J::Output, RenderError> {
    match spec {
        EngineSpec::Cpu => Ok(job.run(&mut Engine::new(cfg), false)),
        EngineSpec::Gpu(ctx) => {
            let mut e = GpuEngine::new((**ctx).clone(), cfg, bank_floats(instruments))?;
            for i in instruments {
                e.load(i)?;
            }
            if pipelined {
                e.set_pipelined(true);
            }
            let out = job.run(&mut e, true);
            match e.failure() {
                Some(f) => Err(RenderError::GpuFailed(f.to_string())),
                None => Ok(out),
            }
        }
    }
}

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
    pub fn normalize(&mut self, dbfs: f64) -> Result<f64, RenderError> {
        if !dbfs.is_finite() {
            return Err(RenderError::Level(format!(
                "cannot normalise to {dbfs} dBFS"
            )));
        }
        let peak = self.peak() as f64;
        if !peak.is_finite() || peak < 1e-9 {
            return Err(RenderError::Level(format!(
                "cannot normalise a silent render (peak {peak:e}) to {dbfs} dBFS"
            )));
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

    /// Writes a stereo WAV in `format`.
    pub fn write_wav_as(&self, path: &Path, format: SampleFormat) -> Result<(), hound::Error> {
        match format {
            SampleFormat::F32 => self.write_wav(path),
            SampleFormat::I16 => self.write_wav_i16(path),
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
) -> Result<StereoBuffer, RenderError> {
    render_note_on(inst, spec, settings, &EngineSpec::Cpu)
}

/// Renders one note of `inst` on the engine `engine`.
pub fn render_note_on(
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
        render_with(engine, self.inst, self.plan, self.spec, self.settings)
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
