//! The voice's control setters (pitch, damping, gain, pan, brightness,
//! bow force and velocity, pickups, morph): each sets a target that the program's control tick
//! smooths toward ([`super::program`]); timed glides (`set_over`); and the
//! voice's side of its modulators ([`super::modulation`]): setting and
//! clearing them, and the offsets the control tick adds.
//!
//! # Real-time safety
//! No allocation, lock or I/O (a replaced morph target is handed back).

use std::sync::Arc;

use super::control::{Smoothed, CONTROL_PERIOD};
use super::mesh::Mesh;
use super::modulation::{ModRefusal, Modulators};
use super::program::Voice;
use crate::instrument::Instrument;
use crate::types::{ModSpec, VoiceParam};

impl<M: Mesh> Voice<M> {
    /// Sets one voice parameter (the one table of them: [`VoiceParam`]) to
    /// `value`, through its setter below. `x` and `y` place the note's
    /// first excitation only: a running voice ignores them.
    pub fn set(&mut self, param: VoiceParam, value: f64) {
        // A plain set ends a glide in progress (`set_over`).
        if let Some(s) = self.smoothed_mut(param) {
            s.step = 0.0;
        }
        match param {
            VoiceParam::Gain => self.set_gain(value),
            VoiceParam::Pan => self.set_pan(value),
            VoiceParam::Pitch => {
                self.set_pitch(value);
            }
            VoiceParam::Damping => self.set_damping(value),
            VoiceParam::Morph => {
                // Moving along the current target replaces nothing.
                let _ = self.set_morph(None, value, None);
            }
            VoiceParam::Brightness => self.set_brightness(value as f32),
            VoiceParam::BowForce => self.set_bow_force(value),
            VoiceParam::BowVelocity => self.set_bow_velocity(value),
            VoiceParam::PickupLx
            | VoiceParam::PickupLy
            | VoiceParam::PickupRx
            | VoiceParam::PickupRy => {
                let index = param.pickup_index().unwrap_or(0);
                self.set_pickup_coordinate(index, value)
            }
            VoiceParam::X | VoiceParam::Y => {}
        }
    }

    /// Sets one voice parameter like [`Voice::set`], but moving linearly
    /// to it over `seconds` (a preset's interpolated recall). Brightness,
    /// which only shapes later excitations, is set at once; morph moves
    /// along its current target ([`Voice::set_morph`]).
    pub fn set_over(&mut self, param: VoiceParam, value: f64, seconds: f64) {
        if param == VoiceParam::Morph {
            let _ = self.set_morph(None, value, Some(seconds));
            return;
        }
        self.set(param, value);
        let ticks = seconds * self.sample_rate / CONTROL_PERIOD as f64;
        if let Some(s) = self.smoothed_mut(param) {
            let target = s.target;
            s.glide(target, ticks);
        }
    }

    /// The smoothed control behind `param`, if it has one.
    fn smoothed_mut(&mut self, param: VoiceParam) -> Option<&mut Smoothed> {
        Some(match param {
            VoiceParam::Gain => &mut self.gain,
            VoiceParam::Pan => &mut self.pan,
            VoiceParam::Pitch => &mut self.pitch,
            VoiceParam::Damping => &mut self.damping,
            VoiceParam::BowForce => &mut self.bow_force,
            VoiceParam::BowVelocity => &mut self.bow_velocity,
            VoiceParam::PickupLx
            | VoiceParam::PickupLy
            | VoiceParam::PickupRx
            | VoiceParam::PickupRy => &mut self.pickups.at[param.pickup_index()?],
            VoiceParam::Morph | VoiceParam::X | VoiceParam::Y | VoiceParam::Brightness => {
                return None
            }
        })
    }

    /// Sets the pitch (MIDI note), clamped to what the plan certifies; returns true if clamped.
    pub fn set_pitch(&mut self, note: f64) -> bool {
        let max = self.plan.map_or(note, |p| p.max_note);
        let lo = crate::instrument::LOWEST_NOTE - 12.0;
        let n = note.clamp(lo, max);
        self.pitch.target = n;
        n != note
    }
    /// Sets the damping scale (multiplies σ₀ and σ₁).
    pub fn set_damping(&mut self, scale: f64) {
        self.damping.target = scale.max(0.0);
    }
    /// Sets the voice gain (linear).
    pub fn set_gain(&mut self, gain: f64) {
        self.gain.target = gain.max(0.0);
    }
    /// Sets the pan, −1..1.
    pub fn set_pan(&mut self, pan: f64) {
        self.pan.target = pan.clamp(-1.0, 1.0);
    }
    /// Sets the brightness 0..1 of later excitations (contact-time scale).
    pub fn set_brightness(&mut self, b: f32) {
        self.brightness = b.clamp(0.0, 1.0);
    }

    /// Sets the bow force, 0..1 (normalised; smoothed).
    pub fn set_bow_force(&mut self, f: f64) {
        self.bow_force.target = f.clamp(0.0, 1.0);
    }
    /// Sets the bow velocity, 0..1 (normalised; smoothed).
    pub fn set_bow_velocity(&mut self, v: f64) {
        self.bow_velocity.target = v.clamp(0.0, 1.0);
    }

    /// Moves one pickup coordinate (0: lx, 1: ly, 2: rx, 3: ry), smoothly.
    pub fn set_pickup_coordinate(&mut self, index: usize, v: f64) {
        if let Some(p) = self.pickups.at.get_mut(index) {
            p.target = v.clamp(0.0, 1.0);
        }
    }

    /// Moves the pickups `[lx, ly, rx, ry]` (0..1), smoothly.
    pub fn set_pickups(&mut self, p: [f64; 4]) {
        for (s, v) in self.pickups.at.iter_mut().zip(p) {
            s.target = v.clamp(0.0, 1.0);
            s.step = 0.0;
        }
    }

    /// Morphs toward `target` by `t` (0..1), linearly over `seconds` (or
    /// smoothly when `None`). `target = None` keeps the current target.
    /// Returns the previous target if it was replaced (to retire it).
    ///
    /// The caller (control side) checks [`super::morph_compatible`] first; the voice
    /// re-checks the certificate at every step and holds `t` where it would
    /// fail. On the GPU engine the target's maps must be resident.
    pub fn set_morph(
        &mut self,
        target: Option<Arc<Instrument>>,
        t: f64,
        seconds: Option<f64>,
    ) -> Option<Arc<Instrument>> {
        let mut old = None;
        if let Some(tg) = target {
            let same = self
                .morph_target
                .as_ref()
                .is_some_and(|o| Arc::ptr_eq(o, &tg));
            if !same {
                old = self.morph_target.replace(tg);
                self.morph = Smoothed::at(0.0);
            }
        }
        if self.morph_target.is_none() {
            return old;
        }
        self.morph.target = t.clamp(0.0, 1.0);
        self.morph_step = match seconds {
            Some(s) if s > 0.0 => {
                let ticks = s * self.sample_rate / CONTROL_PERIOD as f64;
                (self.morph.target - self.morph.current).abs() / ticks.max(1.0)
            }
            _ => 0.0,
        };
        old
    }
}

impl<M: Mesh> Voice<M> {
    /// Sets (or replaces) the modulator of `spec.param` (see
    /// [`Modulators::set`]).
    pub fn modulate(&mut self, spec: ModSpec) -> Result<(), ModRefusal> {
        self.mods.set(spec)
    }

    /// Removes the modulator of `param`, or all of them, with a fade.
    pub fn unmodulate(&mut self, param: Option<VoiceParam>) {
        self.mods.clear(param);
    }

    /// The voice's modulators.
    pub fn modulators(&self) -> &Modulators {
        &self.mods
    }

    /// Replaces the voice's modulators (a restart elsewhere: [`super::Restart`]).
    pub fn set_modulators(&mut self, mods: Modulators) {
        self.mods = mods;
    }

    /// Advances the modulators one control tick; true when pitch, damping
    /// or morph move (the coefficients must be recomputed).
    pub(super) fn tick_modulators(&mut self, alpha: f64) -> bool {
        if self.mods.is_empty() {
            return false;
        }
        let coefficients = |m: &Modulators| {
            [VoiceParam::Pitch, VoiceParam::Damping, VoiceParam::Morph]
                .into_iter()
                .any(|p| m.moves(p))
        };
        // One that just ended still needs its last (zero) offset applied.
        let before = coefficients(&self.mods);
        self.mods
            .tick(CONTROL_PERIOD as f64 / self.sample_rate, alpha);
        before || coefficients(&self.mods)
    }

    /// `base` with `param`'s modulation added, clamped to the parameter's
    /// range (exactly `base` when nothing modulates it).
    pub(super) fn modulated(&self, param: VoiceParam, base: f64) -> f64 {
        let off = self.mods.offset(param);
        if off == 0.0 {
            return base;
        }
        let r = param.range();
        (base + off).clamp(*r.start() as f64, *r.end() as f64)
    }
}
