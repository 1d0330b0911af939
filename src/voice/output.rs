//! The output side of a voice: pickup taps (bilinear reads that glide over
//! a control period), and the chain that turns the raw pickup signal into
//! the voice's samples (DC blocker, radiation filter, gain and pan ramps)
//! and counts silent periods to end the voice, and the voice's circuit
//! breaker: an output that goes non-finite or runs away past
//! [`RUNAWAY_BOUND`] cuts the voice ([`VoiceFault`]).
//!
//! # Real-time safety
//! Fixed-size state only; nothing here allocates.

use super::control::{Smoothed, CONTROL_PERIOD, SILENCE, SILENCE_HOLD};
use crate::instrument::radiation::RadiationFilter;
use crate::physics::body::Layout;

/// Pickup read weights for one sample (bilinear over four nodes).
#[derive(Clone, Copy, Default)]
pub(crate) struct Tap {
    /// Padded index of the top-left node.
    pub(crate) i: usize,
    /// Weights of the four nodes (top-left, top-right, bottom-left, bottom-right).
    pub(crate) w: [f32; 4],
}

impl Tap {
    /// The tap at (x, y), 0..1 across the mesh.
    pub(crate) fn at(layout: &Layout, x: f64, y: f64) -> Self {
        let gx = x.clamp(0.0, 1.0) * (layout.width - 1) as f64;
        let gy = y.clamp(0.0, 1.0) * (layout.height - 1) as f64;
        let (x0, y0) = (
            gx.floor().min((layout.width - 1) as f64),
            gy.floor().min((layout.height - 1) as f64),
        );
        let (fx, fy) = ((gx - x0) as f32, (gy - y0) as f32);
        Self {
            i: layout.idx(x0 as usize, y0 as usize),
            w: [
                (1.0 - fx) * (1.0 - fy),
                fx * (1.0 - fy),
                (1.0 - fx) * fy,
                fx * fy,
            ],
        }
    }
    /// Reads the mesh state `u` (rows `stride` apart).
    #[inline]
    pub(crate) fn read(&self, stride: usize, u: &[f32]) -> f32 {
        let i = self.i;
        self.w[0] * u[i]
            + self.w[1] * u[i + 1]
            + self.w[2] * u[i + stride]
            + self.w[3] * u[i + stride + 1]
    }
}

/// The two pickups `[lx, ly, rx, ry]`: smoothed positions, and where the
/// period in progress started (positions glide linearly over it).
#[derive(Clone, Copy, Default)]
pub(crate) struct Pickups {
    /// Smoothed coordinates.
    pub(crate) at: [Smoothed; 4],
    /// Coordinates (modulation included) at the start of the period in progress.
    pub(crate) from: [f64; 4],
    /// Coordinates (modulation included) at its end.
    pub(crate) to: [f64; 4],
}

impl Pickups {
    /// At rest at `p`.
    pub(crate) fn at(p: [f64; 4]) -> Self {
        Self {
            at: p.map(Smoothed::at),
            from: p,
            to: p,
        }
    }
    /// The control tick: the period's ramp starts where the last one
    /// ended, and ends at the smoothed coordinates plus `offset` (their
    /// modulation), kept within 0..1.
    pub(crate) fn tick(&mut self, alpha: f64, offset: [f64; 4]) {
        for (i, off) in offset.into_iter().enumerate() {
            self.from[i] = self.to[i];
            self.at[i].tick(alpha);
            self.to[i] = if off == 0.0 {
                self.at[i].current
            } else {
                (self.at[i].current + off).clamp(0.0, 1.0)
            };
        }
    }
    /// The taps of sample `pos` (0..[`CONTROL_PERIOD`]) of the period.
    #[inline]
    pub(crate) fn taps(&self, layout: &Layout, pos: usize) -> (Tap, Tap) {
        let t = pos as f64 / CONTROL_PERIOD as f64;
        let lerp = |a: f64, b: f64| a + (b - a) * t;
        let (p, f) = (&self.to, &self.from);
        (
            Tap::at(layout, lerp(f[0], p[0]), lerp(f[1], p[1])),
            Tap::at(layout, lerp(f[2], p[2]), lerp(f[3], p[3])),
        )
    }
}

/// One-pole DC blocker (5 Hz).
#[derive(Clone, Copy, Default)]
pub(crate) struct DcBlocker {
    x1: f32,
    y1: f32,
}

impl DcBlocker {
    /// Filters one sample with pole `r` ([`dc_pole`]).
    #[inline]
    pub(crate) fn run(&mut self, x: f32, r: f32) -> f32 {
        let y = x - self.x1 + r * self.y1;
        self.x1 = x;
        self.y1 = y;
        y
    }
}

/// The DC blocker's pole at `sample_rate`.
pub(crate) fn dc_pole(sample_rate: f64) -> f32 {
    1.0 - (2.0 * std::f64::consts::PI * 5.0 / sample_rate) as f32
}

/// Silent control periods after which a voice ends, at `sample_rate`.
pub(crate) fn silence_hold(sample_rate: f64) -> u32 {
    (SILENCE_HOLD * sample_rate / CONTROL_PERIOD as f64) as u32
}

/// Gain ramps (left, right) of one control period: (start, end).
pub(crate) type Gains = ((f32, f32), (f32, f32));

/// A voice output beyond this (linear, +40 dBFS) is a runaway: the circuit
/// breaker cuts the voice.
pub const RUNAWAY_BOUND: f32 = 100.0;
/// Samples of the fade a faulted voice ends with (5 ms at 48 kHz), from its
/// last good output sample.
pub const FAULT_FADE: u32 = 240;

/// Why a voice's circuit breaker cut it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoiceFault {
    /// Its output went NaN or infinite.
    NonFinite,
    /// Its output ran away past [`RUNAWAY_BOUND`].
    Runaway,
}

impl VoiceFault {
    /// The reason as `/voice/fault` and the log name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NonFinite => "non-finite",
            Self::Runaway => "runaway",
        }
    }
}

/// A voice's output chain for one note: raw pickup signal in, the voice's
/// stereo samples out, with the silence count that ends the voice.
#[derive(Clone, Copy, Default)]
pub(crate) struct OutputChain {
    dc: [DcBlocker; 2],
    radiation: RadiationFilter,
    peak: f32,
    silent_ticks: u32,
    /// The circuit breaker tripped (the voice ends after the fade).
    fault: Option<VoiceFault>,
    /// The last good output sample (the fade starts from it).
    last: (f32, f32),
    /// Samples of the fault's fade left.
    fade_left: u32,
}

impl OutputChain {
    /// A fresh chain with the note's radiation filter.
    pub(crate) fn new(radiation: RadiationFilter) -> Self {
        Self {
            radiation,
            ..Self::default()
        }
    }

    /// An excitation was added: the silence count starts again.
    pub(crate) fn reset_silence(&mut self) {
        self.silent_ticks = 0;
    }

    /// At a control-period boundary: counts silent periods (none while an
    /// excitation acts); true once more than `hold` ([`silence_hold`])
    /// periods in a row were silent: the voice ends.
    /// A tripped circuit breaker ends the voice once its fade is done.
    pub(crate) fn end_of_period(&mut self, exciting: bool, hold: u32) -> bool {
        if self.fault.is_some() {
            return self.fade_left == 0;
        }
        if self.peak < SILENCE && !exciting {
            self.silent_ticks += 1;
        } else {
            self.silent_ticks = 0;
        }
        self.peak = 0.0;
        self.silent_ticks > hold
    }

    /// One sample: the raw pickup signal (left, right) through the DC
    /// blocker (pole `r`), the radiation filter and the gain ramps at `t`
    /// (0..1 through the period).
    #[inline]
    pub(crate) fn sample(&mut self, raw: (f32, f32), r: f32, gains: Gains, t: f32) -> (f32, f32) {
        let mut l = self.dc[0].run(raw.0, r);
        let mut rr = self.dc[1].run(raw.1, r);
        if self.radiation.is_active() {
            l = self.radiation.run(0, l);
            rr = self.radiation.run(1, rr);
        }
        let (gain_l, gain_r) = gains;
        let gl = gain_l.0 + (gain_l.1 - gain_l.0) * t;
        let gr = gain_r.0 + (gain_r.1 - gain_r.0) * t;
        let (ol, or) = (l * gl, rr * gr);
        // The circuit breaker (a NaN fails the comparison too).
        if self.fault.is_none() && ol.abs() <= RUNAWAY_BOUND && or.abs() <= RUNAWAY_BOUND {
            self.peak = self.peak.max(ol.abs()).max(or.abs());
            self.last = (ol, or);
            return (ol, or);
        }
        self.faulted(ol.is_finite() && or.is_finite())
    }

    /// A faulted sample: the first trips the breaker; each fades the last
    /// good sample linearly to zero over [`FAULT_FADE`] samples (silence
    /// at once when there was none).
    #[cold]
    fn faulted(&mut self, finite: bool) -> (f32, f32) {
        if self.fault.is_none() {
            self.fault = Some(if finite {
                VoiceFault::Runaway
            } else {
                VoiceFault::NonFinite
            });
            // Nothing good to fade from: silence at once.
            self.fade_left = if self.last == (0.0, 0.0) {
                0
            } else {
                FAULT_FADE
            };
        }
        if self.fade_left == 0 {
            return (0.0, 0.0);
        }
        self.fade_left -= 1;
        let k = self.fade_left as f32 / FAULT_FADE as f32;
        (self.last.0 * k, self.last.1 * k)
    }

    /// Why the circuit breaker cut the voice, if it did.
    pub(crate) fn fault(&self) -> Option<VoiceFault> {
        self.fault
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GAINS: Gains = ((1.0, 1.0), (1.0, 1.0));

    /// A runaway output trips the breaker: the chain fades the last good
    /// sample out over [`FAULT_FADE`] samples, then the voice ends.
    #[test]
    fn runaway_trips_the_breaker_with_a_fade() {
        let mut c = OutputChain::default();
        // r = 0: the DC blocker passes differences; feed a ramp so the
        // output grows.
        let mut x = 0.0f32;
        let mut last_good = (0.0, 0.0);
        loop {
            x += 10.0;
            let (l, r) = c.sample((x, x), 1.0, GAINS, 0.0);
            if c.fault().is_some() {
                assert!(l.abs() <= last_good.0 + 1e-6 && r.abs() <= RUNAWAY_BOUND);
                break;
            }
            last_good = (l, r);
        }
        assert_eq!(c.fault(), Some(VoiceFault::Runaway));
        assert!(!c.end_of_period(false, 10), "still fading");
        let mut prev = f32::MAX;
        for _ in 0..FAULT_FADE {
            let (l, _) = c.sample((f32::NAN, f32::NAN), 1.0, GAINS, 0.0);
            assert!(l.is_finite() && l <= prev);
            prev = l;
        }
        assert_eq!(prev, 0.0);
        assert!(c.end_of_period(false, 10), "ends after the fade");
    }

    /// A non-finite first output: silence at once (nothing good to fade).
    #[test]
    fn non_finite_cuts_at_once() {
        let mut c = OutputChain::default();
        let out = c.sample((f32::INFINITY, 0.0), 0.99, GAINS, 0.0);
        assert_eq!(out, (0.0, 0.0));
        assert_eq!(c.fault(), Some(VoiceFault::NonFinite));
    }
}
