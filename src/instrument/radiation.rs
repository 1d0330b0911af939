//! The radiation filter: how the instrument's body and the recording
//! microphone colour what the mesh's pickups hear.
//!
//! A real instrument does not radiate its vibration flatly: a guitar's
//! top plate and air cavity, a marimba's resonator tube, the distance and
//! axis of the microphone all weigh frequency bands differently, the same
//! for every note. Physical-modelling synthesis treats this as a fixed
//! linear filter after the vibrating body (commuted synthesis calls it the
//! body response). Here it is a cascade of peaking filters at fixed centre
//! frequencies (the trainer fits third-octave bands), each with a gain in dB, applied
//! to each voice's output after the DC blocker. It changes no mode's
//! frequency or decay and cannot affect stability. The trainer fits it last
//! (`train::radiation`); hand-made instruments have none.

use serde::{Deserialize, Serialize};

/// Most bands a radiation filter may have.
pub const MAX_BANDS: usize = 32;
/// Largest boost or cut of one band, dB.
pub const MAX_GAIN_DB: f64 = 36.0;
/// Default bandwidth: `Q` of an octave-wide peaking filter.
pub const OCTAVE_Q: f64 = std::f64::consts::SQRT_2;
/// `Q` of a third-octave-wide peaking filter: √(2^⅓) / (2^⅓ − 1).
pub const THIRD_OCTAVE_Q: f64 = 4.318_473_046_963_146;

/// The radiation filter of an instrument file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RadiationSpec {
    /// Centre frequency of each band, Hz, increasing.
    pub bands_hz: Vec<f64>,
    /// Gain of each band, dB (0 = flat).
    pub gains_db: Vec<f64>,
    /// Quality factor of every band.
    #[serde(default = "default_q")]
    pub q: f64,
}

fn default_q() -> f64 {
    OCTAVE_Q
}

impl RadiationSpec {
    /// Flat octave bands from 31.25 Hz to 16 kHz (ten bands).
    pub fn octaves() -> Self {
        let bands_hz: Vec<f64> = (0..10).map(|k| 31.25 * 2f64.powi(k)).collect();
        Self {
            gains_db: vec![0.0; bands_hz.len()],
            bands_hz,
            q: OCTAVE_Q,
        }
    }

    /// Flat third-octave bands from 31.25 Hz to 16 kHz (28 bands, one on
    /// 1 kHz; what the trainer fits).
    pub fn third_octaves() -> Self {
        let bands_hz: Vec<f64> = (-15..=12)
            .map(|k| 1000.0 * 2f64.powf(k as f64 / 3.0))
            .collect();
        Self {
            gains_db: vec![0.0; bands_hz.len()],
            bands_hz,
            q: THIRD_OCTAVE_Q,
        }
    }

    /// Checks sizes and ranges; on failure, the field and the reason.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let n = self.bands_hz.len();
        if n == 0 || n > MAX_BANDS {
            return Err((
                "radiation.bands_hz".into(),
                format!("{n} bands, needs 1 to {MAX_BANDS}"),
            ));
        }
        if self.gains_db.len() != n {
            return Err((
                "radiation.gains_db".into(),
                format!("{} values, needs {n} (one per band)", self.gains_db.len()),
            ));
        }
        for (i, &f) in self.bands_hz.iter().enumerate() {
            if !f.is_finite() {
                return Err((format!("radiation.bands_hz[{i}]"), "NaN or infinite".into()));
            }
            if !(10.0..=24_000.0).contains(&f) || (i > 0 && f <= self.bands_hz[i - 1]) {
                return Err((
                    format!("radiation.bands_hz[{i}]"),
                    format!("{f} Hz: bands must increase within 10 Hz..24 kHz"),
                ));
            }
        }
        for (i, &g) in self.gains_db.iter().enumerate() {
            if !g.is_finite() {
                return Err((format!("radiation.gains_db[{i}]"), "NaN or infinite".into()));
            }
            if g.abs() > MAX_GAIN_DB {
                return Err((
                    format!("radiation.gains_db[{i}]"),
                    format!("{g} dB is outside ±{MAX_GAIN_DB} dB"),
                ));
            }
        }
        if !self.q.is_finite() || !(0.2..=10.0).contains(&self.q) {
            return Err((
                "radiation.q".into(),
                format!("{} is outside 0.2..10", self.q),
            ));
        }
        Ok(())
    }

    /// The filter's magnitude response at `hz`, dB, at `sample_rate`.
    pub fn response_db(&self, hz: f64, sample_rate: f64) -> f64 {
        let w = 2.0 * std::f64::consts::PI * hz / sample_rate;
        let z1 = (w.cos(), -w.sin()); // e^{-iw}
        let z2 = ((2.0 * w).cos(), -(2.0 * w).sin());
        let mut db = 0.0;
        for (&f, &g) in self.bands_hz.iter().zip(&self.gains_db) {
            let Some(c) = peaking(f, g, self.q, sample_rate) else {
                continue;
            };
            let num = (c[0] + c[1] * z1.0 + c[2] * z2.0, c[1] * z1.1 + c[2] * z2.1);
            let den = (1.0 + c[3] * z1.0 + c[4] * z2.0, c[3] * z1.1 + c[4] * z2.1);
            let m2 = (num.0 * num.0 + num.1 * num.1) / (den.0 * den.0 + den.1 * den.1);
            db += 10.0 * m2.log10();
        }
        db
    }
}

/// RBJ peaking-filter coefficients `[b0, b1, b2, a1, a2]` (a0 = 1), or
/// `None` for a flat band or one at or above 0.45 × the sample rate.
fn peaking(hz: f64, gain_db: f64, q: f64, sample_rate: f64) -> Option<[f64; 5]> {
    if gain_db.abs() < 1e-3 || hz >= 0.45 * sample_rate {
        return None;
    }
    let a = 10f64.powf(gain_db / 40.0);
    let w = 2.0 * std::f64::consts::PI * hz / sample_rate;
    let alpha = w.sin() / (2.0 * q);
    let a0 = 1.0 + alpha / a;
    Some([
        (1.0 + alpha * a) / a0,
        -2.0 * w.cos() / a0,
        (1.0 - alpha * a) / a0,
        -2.0 * w.cos() / a0,
        (1.0 - alpha / a) / a0,
    ])
}

/// A voice's radiation filter for its two channels: the bands of a
/// [`RadiationSpec`] as biquads (transposed direct form II, f64).
///
/// # Real-time safety
/// Fixed-size, `Copy`: no allocation to build, reset or run.
#[derive(Clone, Copy, Debug, Default)]
pub struct RadiationFilter {
    bands: usize,
    coef: [[f64; 5]; MAX_BANDS],
    state: [[[f64; 2]; MAX_BANDS]; 2],
}

impl RadiationFilter {
    /// The filter of `spec` at `sample_rate` (flat bands dropped); `None`
    /// gives a filter that passes its input unchanged.
    pub fn new(spec: Option<&RadiationSpec>, sample_rate: f64) -> Self {
        let mut f = Self::default();
        if let Some(s) = spec {
            for (&hz, &g) in s.bands_hz.iter().zip(&s.gains_db).take(MAX_BANDS) {
                if let Some(c) = peaking(hz, g, s.q, sample_rate) {
                    f.coef[f.bands] = c;
                    f.bands += 1;
                }
            }
        }
        f
    }

    /// True when the filter changes its input.
    pub fn is_active(&self) -> bool {
        self.bands > 0
    }

    /// Clears the filter's memory (a new note).
    pub fn reset(&mut self) {
        self.state = [[[0.0; 2]; MAX_BANDS]; 2];
    }

    /// Filters one sample of channel `ch` (0 left, 1 right).
    #[inline]
    pub fn run(&mut self, ch: usize, x: f32) -> f32 {
        let mut v = x as f64;
        for (c, s) in self.coef[..self.bands]
            .iter()
            .zip(self.state[ch][..self.bands].iter_mut())
        {
            let y = c[0] * v + s[0];
            s[0] = c[1] * v - c[3] * y + s[1];
            s[1] = c[2] * v - c[4] * y;
            v = y;
        }
        v as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine_gain_db(spec: &RadiationSpec, hz: f64) -> f64 {
        let sr = 48_000.0;
        let mut f = RadiationFilter::new(Some(spec), sr);
        let n = 48_000;
        let (mut e_in, mut e_out) = (0.0, 0.0);
        for i in 0..n {
            let x = (2.0 * std::f64::consts::PI * hz * i as f64 / sr).sin() as f32;
            let y = f.run(0, x);
            if i >= n / 2 {
                e_in += (x as f64).powi(2);
                e_out += (y as f64).powi(2);
            }
        }
        10.0 * (e_out / e_in).log10()
    }

    /// A sine through the filter changes level by the analytic response,
    /// and a band's gain is reached at its centre.
    #[test]
    fn sines_follow_the_response() {
        let mut s = RadiationSpec::octaves();
        s.gains_db[5] = 9.0; // 1 kHz
        s.gains_db[8] = -12.0; // 8 kHz
        for hz in [100.0, 700.0, 1000.0, 3000.0, 8000.0] {
            let measured = sine_gain_db(&s, hz);
            let analytic = s.response_db(hz, 48_000.0);
            assert!(
                (measured - analytic).abs() < 0.05,
                "{hz} Hz: measured {measured:.3} dB, analytic {analytic:.3} dB"
            );
        }
        assert!((s.response_db(1000.0, 48_000.0) - 9.0).abs() < 0.6);
        assert!((s.response_db(8000.0, 48_000.0) + 12.0).abs() < 0.8);
        assert!(s.response_db(100.0, 48_000.0).abs() < 0.3);
    }

    /// Third-octave bands: 28 from 31.25 Hz to 16 kHz, valid, and a
    /// sine at a band's centre gets about that band's gain while its
    /// neighbours a third away are barely touched.
    #[test]
    fn third_octaves_are_narrow() {
        let mut s = RadiationSpec::third_octaves();
        assert_eq!(s.bands_hz.len(), 28);
        assert!((s.bands_hz[0] - 31.25).abs() < 1e-9 && (s.bands_hz[27] - 16_000.0).abs() < 1e-6);
        assert!(s.validate().is_ok());
        let k = s
            .bands_hz
            .iter()
            .position(|&f| (f - 1000.0).abs() < 1e-6)
            .unwrap();
        s.gains_db[k] = 12.0;
        let at = |hz: f64| sine_gain_db(&s, hz);
        assert!((at(1000.0) - 12.0).abs() < 0.5, "{}", at(1000.0));
        assert!(at(1000.0 * 2f64.powf(2.0 / 3.0)) < 3.0);
        assert!(at(1000.0 / 2f64.powf(2.0 / 3.0)) < 3.0);
    }

    /// Flat bands make no filter at all: output equals input bit for bit.
    #[test]
    fn flat_is_identity() {
        let mut f = RadiationFilter::new(Some(&RadiationSpec::octaves()), 48_000.0);
        assert!(!f.is_active());
        for i in 0..100 {
            let x = (i as f32 * 0.37).sin();
            assert_eq!(f.run(1, x), x);
        }
    }

    /// Bad specs are refused naming the field.
    #[test]
    fn validation_names_the_field() {
        let mut s = RadiationSpec::octaves();
        s.gains_db[3] = f64::NAN;
        assert_eq!(s.validate().unwrap_err().0, "radiation.gains_db[3]");
        let mut s = RadiationSpec::octaves();
        s.gains_db.pop();
        assert_eq!(s.validate().unwrap_err().0, "radiation.gains_db");
        let mut s = RadiationSpec::octaves();
        s.bands_hz[2] = 10.0;
        assert_eq!(s.validate().unwrap_err().0, "radiation.bands_hz[2]");
        let mut s = RadiationSpec::octaves();
        s.gains_db[0] = 60.0;
        assert!(s.validate().unwrap_err().1.contains("±36"));
        assert!(RadiationSpec::octaves().validate().is_ok());
    }
}
