//! Per-voice modulators: LFOs (sine, triangle, saw, square) and smoothed
//! random noise on any voice parameter that acts on a running voice.
//!
//! A voice holds a fixed set of [`MOD_SLOTS`] modulators (no allocation).
//! At each control tick every running modulator advances its phase and
//! yields `level × depth × wave(phase)`, an offset in the parameter's own
//! units that the program adds to the parameter's (smoothed) value and
//! clamps to the parameter's range. Gains, pan and pickups then ramp
//! linearly sample by sample over the control period, so their modulation
//! is piecewise linear at the sample rate (no zipper steps); pitch,
//! damping and morph recompute the coefficients at every tick, as their
//! smoothing does.
//!
//! Edges that would click are given a slope: square and saw switch over a
//! linear edge of [`EDGE_TIME`] (a quarter cycle at most, above 50 Hz). A
//! new modulator fades in, and a removed one fades out, over
//! [`FADE_TIME`]; replacing a modulator with another shape (or a new start
//! phase) cross-fades the two, so setting and clearing never jump either.
//!
//! The voice's side (setting, clearing, the tick's offsets) is in
//! `setters`.
//!
//! # Real-time safety
//! Nothing here allocates, locks or does I/O.

use super::control::SMOOTHING_TIME;
use crate::types::{ModShape, ModSpec, VoiceParam, MAX_MODULATORS};

/// Modulator slots per voice: the [`MAX_MODULATORS`] running ones and as
/// many fading out after a replacement or removal.
pub const MOD_SLOTS: usize = 2 * MAX_MODULATORS;
/// Duration of a square or saw wave's edge, seconds.
pub const EDGE_TIME: f64 = 0.005;
/// Fade-in of a new modulator and fade-out of a removed one, seconds.
pub const FADE_TIME: f64 = SMOOTHING_TIME;

/// Why a voice refuses a modulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModRefusal {
    /// [`MAX_MODULATORS`] other parameters are modulated already.
    Full,
    /// The parameter does not act on a running voice (`x`, `y`).
    NotModulatable,
}

/// One modulator slot.
#[derive(Clone, Copy, Debug)]
struct Slot {
    spec: ModSpec,
    /// Running (fading in, steady or fading out).
    active: bool,
    /// Fading out (removed or replaced): ends at level 0.
    leaving: bool,
    /// Fade level 0..1.
    level: f64,
    /// Depth as it is now (a replacement's new depth is smoothed in).
    depth: f64,
    /// Phase in cycles, 0..1.
    phase: f64,
    /// Smoothed noise: the value it leaves and the one it glides to.
    noise: [f64; 2],
    /// Its offset at the last tick.
    value: f64,
}

impl Slot {
    const IDLE: Slot = Slot {
        spec: ModSpec {
            param: VoiceParam::Gain,
            shape: ModShape::Sine,
            rate: 0.0,
            depth: 0.0,
            phase: None,
        },
        active: false,
        leaving: false,
        level: 0.0,
        depth: 0.0,
        phase: 0.0,
        noise: [0.0; 2],
        value: 0.0,
    };

    fn is_running(&self, param: VoiceParam) -> bool {
        self.active && !self.leaving && self.spec.param == param
    }
}

/// The value of `shape` at `phase` (cycles, 0..1), every shape within
/// −1..1; `edge` is the share of the cycle a square or saw edge takes and
/// `noise` the smoothed noise's two targets.
pub fn wave(shape: ModShape, phase: f64, edge: f64, noise: [f64; 2]) -> f64 {
    let p = phase.rem_euclid(1.0);
    match shape {
        ModShape::Sine => (std::f64::consts::TAU * p).sin(),
        ModShape::Triangle => {
            if p < 0.25 {
                4.0 * p
            } else if p < 0.75 {
                2.0 - 4.0 * p
            } else {
                4.0 * p - 4.0
            }
        }
        ModShape::Saw => {
            if p < 1.0 - edge {
                -1.0 + 2.0 * p / (1.0 - edge)
            } else {
                1.0 - 2.0 * (p - (1.0 - edge)) / edge
            }
        }
        ModShape::Square => {
            let h = 0.5 * edge;
            // The rising edge is centred on phase 0, the falling one on 0.5.
            let q = if p > 0.5 { p - 1.0 } else { p };
            if q.abs() < h {
                q / h
            } else if (p - 0.5).abs() < h {
                -(p - 0.5) / h
            } else if p < 0.5 {
                1.0
            } else {
                -1.0
            }
        }
        ModShape::Noise => {
            let s = 0.5 - 0.5 * (std::f64::consts::PI * p).cos();
            noise[0] + (noise[1] - noise[0]) * s
        }
    }
}

/// A voice's modulators.
#[derive(Clone, Copy, Debug)]
pub struct Modulators {
    slots: [Slot; MOD_SLOTS],
    /// xorshift32 state of the smoothed noise.
    rng: u32,
}

impl Default for Modulators {
    fn default() -> Self {
        Self {
            slots: [Slot::IDLE; MOD_SLOTS],
            rng: 0x9E37_79B9,
        }
    }
}

impl Modulators {
    /// None running; the noise seeded with `seed`.
    pub fn reset(&mut self, seed: u32) {
        self.slots = [Slot::IDLE; MOD_SLOTS];
        self.rng = seed | 1;
    }

    /// True when no modulator runs.
    pub fn is_empty(&self) -> bool {
        !self.slots.iter().any(|s| s.active)
    }

    /// The settings of the running modulators (not those fading out).
    pub fn specs(&self) -> impl Iterator<Item = ModSpec> + '_ {
        self.slots
            .iter()
            .filter(|s| s.active && !s.leaving)
            .map(|s| s.spec)
    }

    fn random(&mut self) -> f64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x as f64 / u32::MAX as f64 * 2.0 - 1.0
    }

    /// Sets (or replaces) the modulator of `spec.param`. The same shape
    /// without a new phase is changed in place (its depth smoothed, its
    /// phase running on); otherwise the old one fades out while the new
    /// one fades in.
    pub fn set(&mut self, spec: ModSpec) -> Result<(), ModRefusal> {
        if !spec.param.acts_on_running_voice() {
            return Err(ModRefusal::NotModulatable);
        }
        let r = ModSpec::depth_range(spec.param);
        let spec = ModSpec {
            rate: spec.rate.clamp(0.0, *crate::types::MOD_RATE_RANGE.end()),
            depth: spec.depth.clamp(*r.start(), *r.end()),
            ..spec
        };
        let current = self.slots.iter().position(|s| s.is_running(spec.param));
        let mut phase = 0.0;
        if let Some(i) = current {
            let s = &mut self.slots[i];
            if s.spec.shape == spec.shape && spec.phase.is_none() {
                s.spec = spec;
                return Ok(());
            }
            phase = s.phase;
            s.leaving = true;
        } else if self.specs().count() >= MAX_MODULATORS {
            return Err(ModRefusal::Full);
        }
        // A free slot, else the quietest one fading out.
        let i = self
            .slots
            .iter()
            .position(|s| !s.active)
            .unwrap_or_else(|| {
                (0..MOD_SLOTS)
                    .filter(|&i| self.slots[i].leaving)
                    .min_by(|&a, &b| self.slots[a].level.total_cmp(&self.slots[b].level))
                    .unwrap_or(0)
            });
        let noise = [self.random(), self.random()];
        self.slots[i] = Slot {
            spec,
            active: true,
            leaving: false,
            level: 0.0,
            depth: spec.depth as f64,
            phase: spec.phase.map_or(phase, |p| p as f64),
            noise,
            value: 0.0,
        };
        Ok(())
    }

    /// Removes the modulator of `param` (every modulator when `None`):
    /// it fades out over [`FADE_TIME`].
    pub fn clear(&mut self, param: Option<VoiceParam>) {
        for s in self.slots.iter_mut().filter(|s| s.active) {
            if param.is_none_or(|p| p == s.spec.param) {
                s.leaving = true;
            }
        }
    }

    /// One control tick of `dt` seconds: fades, depths, phases and values.
    pub fn tick(&mut self, dt: f64, alpha: f64) {
        let fade = dt / FADE_TIME;
        let mut rng = self.rng;
        for s in self.slots.iter_mut().filter(|s| s.active) {
            s.level = if s.leaving {
                (s.level - fade).max(0.0)
            } else {
                (s.level + fade).min(1.0)
            };
            s.depth += alpha * (s.spec.depth as f64 - s.depth);
            let edge = (EDGE_TIME * s.spec.rate as f64).min(0.25);
            s.value = s.level * s.depth * wave(s.spec.shape, s.phase, edge, s.noise);
            s.phase += s.spec.rate as f64 * dt;
            if s.phase >= 1.0 {
                s.phase -= s.phase.floor();
                rng ^= rng << 13;
                rng ^= rng >> 17;
                rng ^= rng << 5;
                s.noise = [s.noise[1], rng as f64 / u32::MAX as f64 * 2.0 - 1.0];
            }
            // Faded out: its last offset was 0, and it ends.
            if s.leaving && s.level <= 0.0 {
                *s = Slot::IDLE;
            }
        }
        self.rng = rng;
    }

    /// The summed offset on `param` at the last tick (0 when unmodulated).
    pub fn offset(&self, param: VoiceParam) -> f64 {
        self.slots
            .iter()
            .filter(|s| s.active && s.spec.param == param)
            .map(|s| s.value)
            .sum()
    }

    /// True when a modulator (running or fading) moves `param`.
    pub fn moves(&self, param: VoiceParam) -> bool {
        self.slots.iter().any(|s| s.active && s.spec.param == param)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voice::control::CONTROL_PERIOD;

    fn spec(param: VoiceParam, shape: ModShape, rate: f32, depth: f32) -> ModSpec {
        ModSpec {
            param,
            shape,
            rate,
            depth,
            phase: None,
        }
    }

    const DT: f64 = CONTROL_PERIOD as f64 / 48000.0;

    /// After its fade-in a sine modulator is depth·sin(2π·rate·t).
    #[test]
    fn sine_follows_its_rate_and_depth() {
        let mut m = Modulators::default();
        m.set(spec(VoiceParam::Pan, ModShape::Sine, 2.0, 0.5))
            .unwrap();
        for k in 0..3000 {
            let t = k as f64 * DT;
            m.tick(DT, 1.0);
            if t > FADE_TIME + DT {
                let want = 0.5 * (std::f64::consts::TAU * 2.0 * t).sin();
                assert!((m.offset(VoiceParam::Pan) - want).abs() < 1e-9, "tick {k}");
            }
        }
        assert_eq!(m.offset(VoiceParam::Gain), 0.0);
    }

    /// Square and saw edges take EDGE_TIME: the largest step between ticks
    /// is 2·depth·DT/EDGE_TIME (a jump would be 2·depth).
    #[test]
    fn square_and_saw_edges_are_sloped() {
        for shape in [ModShape::Square, ModShape::Saw] {
            let mut m = Modulators::default();
            m.set(spec(VoiceParam::Gain, shape, 5.0, 1.0)).unwrap();
            let mut last = 0.0;
            let mut largest = 0.0f64;
            for _ in 0..3000 {
                m.tick(DT, 1.0);
                let v = m.offset(VoiceParam::Gain);
                largest = largest.max((v - last).abs());
                last = v;
            }
            let bound = 2.0 * DT / EDGE_TIME + 1e-9;
            assert!(largest <= bound, "{shape:?}: step {largest} > {bound}");
            assert!(largest > 0.5 * bound, "{shape:?}: the edge is there");
        }
    }

    /// Smoothed noise stays within ±depth and moves by small steps.
    #[test]
    fn noise_is_bounded_and_smooth() {
        let mut m = Modulators::default();
        m.set(spec(VoiceParam::Pitch, ModShape::Noise, 10.0, 2.0))
            .unwrap();
        let (mut last, mut lo, mut hi) = (0.0, 0.0f64, 0.0f64);
        for _ in 0..30000 {
            m.tick(DT, 1.0);
            let v = m.offset(VoiceParam::Pitch);
            // Steepest glide: 2 units of depth over half a cycle, ×π/2.
            assert!((v - last).abs() <= 2.0 * 2.0 * 10.0 * DT * std::f64::consts::FRAC_PI_2 + 0.03);
            last = v;
            lo = lo.min(v);
            hi = hi.max(v);
        }
        assert!(lo >= -2.0 && hi <= 2.0);
        assert!(hi - lo > 2.0, "it wanders: {lo}..{hi}");
    }

    /// Cleared modulators fade out and end; a fifth parameter is refused;
    /// `x` cannot be modulated.
    #[test]
    fn clear_full_and_refused() {
        let mut m = Modulators::default();
        for p in [
            VoiceParam::Gain,
            VoiceParam::Pan,
            VoiceParam::Pitch,
            VoiceParam::Damping,
        ] {
            m.set(spec(p, ModShape::Triangle, 3.0, 0.1)).unwrap();
        }
        assert_eq!(
            m.set(spec(VoiceParam::Morph, ModShape::Sine, 1.0, 0.1)),
            Err(ModRefusal::Full)
        );
        assert_eq!(
            m.set(spec(VoiceParam::X, ModShape::Sine, 1.0, 0.1)),
            Err(ModRefusal::NotModulatable)
        );
        // Replacing one in use is always allowed.
        m.set(spec(VoiceParam::Gain, ModShape::Square, 3.0, 0.1))
            .unwrap();
        m.clear(None);
        for _ in 0..((FADE_TIME / DT) as usize + 2) {
            m.tick(DT, 1.0);
        }
        assert!(m.is_empty());
        assert_eq!(m.offset(VoiceParam::Gain), 0.0);
    }
}
