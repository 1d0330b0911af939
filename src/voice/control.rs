//! Control timing of a voice: its constants, its life states and the
//! smoothed parameters that move at the control rate.
//!
//! Parameters move at a fixed *control period* of [`CONTROL_PERIOD`]
//! samples counted from the voice's start, independent of the block size,
//! so rendering in blocks of any size gives the same samples. At each tick
//! the smoothed values advance one step (one-pole, [`SMOOTHING_TIME`]);
//! gains, pan and pickup positions then ramp linearly sample by sample over
//! the period, and pitch, damping and morph recompute the coefficients.

/// Samples per control tick.
pub const CONTROL_PERIOD: usize = 32;
/// Time constant of parameter smoothing, seconds.
pub const SMOOTHING_TIME: f64 = 0.015;
/// Output level under which a voice counts as silent (−100 dBFS).
pub const SILENCE: f32 = 1e-5;
/// How long a voice must stay silent before it ends, seconds.
pub const SILENCE_HOLD: f64 = 0.1;
/// Fade time of `free`, seconds.
pub const FREE_FADE: f64 = 0.005;
/// Excitations that can act on one voice at once.
pub const MAX_EXCITATIONS: usize = 4;

/// Where a voice is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoiceState {
    /// Slot unused.
    Idle,
    /// Sounding.
    Playing,
    /// Note released: ringing out with raised damping.
    Released,
    /// Fading out after `free`.
    Fading,
}

/// A parameter moving smoothly toward its target: one-pole, or linearly
/// by `step` per tick while a timed glide runs (`step > 0`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Smoothed {
    pub(crate) current: f64,
    pub(crate) target: f64,
    /// Per-tick step of a linear glide; 0 for one-pole smoothing.
    pub(crate) step: f64,
}

impl Smoothed {
    /// At rest at `v`.
    pub(crate) fn at(v: f64) -> Self {
        Self {
            current: v,
            target: v,
            step: 0.0,
        }
    }
    /// Glides linearly to `target` over `ticks` control ticks (at least one).
    pub(crate) fn glide(&mut self, target: f64, ticks: f64) {
        self.target = target;
        self.step = (target - self.current).abs() / ticks.max(1.0);
    }
    /// Advances one tick; returns true when the value changed.
    pub(crate) fn tick(&mut self, alpha: f64) -> bool {
        if self.current == self.target {
            self.step = 0.0;
            return false;
        }
        if self.step > 0.0 {
            let d = self.target - self.current;
            if d.abs() <= self.step {
                self.current = self.target;
                self.step = 0.0;
            } else {
                self.current += self.step.copysign(d);
            }
            return true;
        }
        self.current += alpha * (self.target - self.current);
        if (self.target - self.current).abs() <= 1e-6 * self.target.abs().max(1e-3) {
            self.current = self.target;
        }
        true
    }
}

/// Excitation amplitude for a velocity 0..1 (a gentle curve: soft notes
/// stay audible).
pub fn velocity_amplitude(v: f32) -> f32 {
    v.clamp(0.0, 1.0).powf(1.5)
}
