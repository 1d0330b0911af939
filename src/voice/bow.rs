//! The bow of a voice: where it touches the mesh and the force and
//! velocity of each step, ramped linearly over every control period toward
//! the values the program's tick sets. Both back-ends read the steps
//! ([`Bow::next_step`]) and solve the contact with
//! [`crate::physics::bow::solve`] (the CPU after each step, the GPU in its
//! kernel from the recorded steps).
//!
//! # Scaling
//! `bow_velocity` (0..1) is the bow velocity `v_B` in the friction's
//! velocity unit `V = VELOCITY_UNIT · f / f_ref` (grid units per second;
//! the note's frequency over the instrument's reference keeps the level
//! even across pitch).
//! `bow_force` (0..1) times the excitation's amplitude sets
//! `F·g = FORCE_UNIT·√a·bow_force·amplitude` (so `Q = E_p·F·g`; see
//! [`crate::physics::bow`]): the force relative to the mesh's wave
//! impedance at the node, so a setting plays alike at every pitch.
//!
//! # Real-time safety
//! Fixed-size state only; nothing here allocates.

use crate::physics::body::Layout;

/// Grid units per second of the friction's velocity unit (times the
/// note's frequency over the instrument's reference: the bowed string's
/// displacement goes as `v_B / f`, so the level holds across pitch).
pub const VELOCITY_UNIT: f32 = 30.0;
/// The contact strength `Q` of `bow_force · amplitude = 1` on a mesh with
/// `a = 1`.
pub const FORCE_UNIT: f32 = 10.0;
/// Time the bow takes to lift at note-off, seconds.
pub const LIFT_TIME: f64 = 0.005;

/// One step of the bow: its node, the step's force `F`, bow velocity `v_B`
/// and `g = 1/(2k·V)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BowStep {
    /// Padded index of the bowed node.
    pub node: usize,
    /// Force in displacement units (`k²·F_B`).
    pub force: f32,
    /// Bow velocity in velocity units.
    pub vel: f32,
    /// `1/(2k·V)`: displacement difference over two steps → velocity units.
    pub g: f32,
}

/// The bow of one voice.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bow {
    /// Padded index of the bowed node.
    node: usize,
    active: bool,
    /// Amplitude of the `/excite` that started it (scales the force).
    amp: f32,
    /// Force and velocity at the start of the period, and their steps.
    force: (f32, f32),
    vel: (f32, f32),
    /// Force and velocity the ramps reach at the period's end.
    end: (f32, f32),
    /// No tick has run since the start: the velocity starts at its target.
    fresh: bool,
    g: f32,
    /// Steps done in the period.
    i: u32,
    /// Lift: share of the force still applied (1 while bowing), and its
    /// decrement per control tick once lifting.
    lift: f32,
    lift_step: f32,
}

/// What the program's tick tells the bow: the smoothed controls and the
/// scheme's scalars.
#[derive(Clone, Copy, Debug)]
pub struct BowControls {
    /// `bow_force`, 0..1.
    pub force: f32,
    /// `bow_velocity`, 0..1.
    pub velocity: f32,
    /// The scheme's `a`.
    pub a: f32,
    /// Time step, seconds.
    pub k: f32,
    /// The velocity unit's scale: the note's frequency over the reference note's.
    pub loudness: f32,
    /// Mesh steps per control period.
    pub steps: u32,
}

impl Bow {
    /// Padded index of the bowed node.
    pub fn node(&self) -> usize {
        self.node
    }

    /// True while the bow touches the mesh.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Puts the bow on the body node nearest (x, y) (0..1) with `amplitude`
    /// scaling its force; the force ramps up from 0 over the first control
    /// period. A point off the body leaves the bow off.
    pub fn start(&mut self, layout: &Layout, mask: &[f32], pos: (f32, f32), amplitude: f32) {
        let x = (pos.0.clamp(0.0, 1.0) * (layout.width - 1) as f32).round() as usize;
        let y = (pos.1.clamp(0.0, 1.0) * (layout.height - 1) as f32).round() as usize;
        let node = layout.idx(x, y);
        *self = Self {
            node,
            active: mask[node] > 0.0,
            amp: amplitude.max(0.0),
            lift: 1.0,
            fresh: true,
            ..Self::default()
        };
    }

    /// Lifts the bow: its force falls to 0 over [`LIFT_TIME`], then it is off.
    pub fn lift(&mut self, sample_rate: f64) {
        if self.active && self.lift_step == 0.0 {
            let ticks = (LIFT_TIME * sample_rate / super::CONTROL_PERIOD as f64).ceil();
            self.lift_step = (1.0 / ticks.max(1.0)) as f32;
        }
    }

    /// The control tick: the next period's ramps toward `c`.
    pub fn tick(&mut self, c: &BowControls) {
        if !self.active {
            return;
        }
        let n = c.steps as f32;
        if self.fresh {
            self.end = (0.0, c.velocity);
            self.fresh = false;
        }
        let (f0, v0) = self.end;
        if self.lift_step > 0.0 {
            if self.lift <= 0.0 {
                self.active = false;
                return;
            }
            self.lift = (self.lift - self.lift_step).max(0.0);
        }
        let unit = VELOCITY_UNIT * c.loudness;
        self.g = 1.0 / (2.0 * c.k * unit);
        let f1 = FORCE_UNIT * c.a.max(0.0).sqrt() * c.force * self.amp * self.lift / self.g;
        self.force = (f0, (f1 - f0) / n);
        self.vel = (v0, (c.velocity - v0) / n);
        self.end = (f1, c.velocity);
        self.i = 0;
    }

    /// This step's bow (advancing the ramps), or `None` when it is off.
    #[inline]
    pub fn next_step(&mut self) -> Option<BowStep> {
        if !self.active {
            return None;
        }
        let i = self.i as f32;
        self.i += 1;
        Some(BowStep {
            node: self.node,
            force: self.force.0 + self.force.1 * i,
            vel: self.vel.0 + self.vel.1 * i,
            g: self.g,
        })
    }
}
