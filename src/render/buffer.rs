//! A rendered stereo signal ([`StereoBuffer`]), its level
//! ([`OutputLevel`]) and its WAV output ([`SampleFormat`]).

use std::path::Path;

use super::error::RenderError;

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
