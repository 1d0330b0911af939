//! The voice program: one note on one mesh, whatever runs the mesh.
//!
//! # Lifecycle
//! 1. A back-end's `Voice::new` (control side) allocates the slot's mesh
//!    for the largest mesh the engine plays ([`Voice::with_mesh`]).
//! 2. [`Voice::start`] (real-time safe): copies the plan, sets the
//!    coefficients, resets the mesh and applies the excitation.
//! 3. The engine renders block after block through one walk
//!    (`walk`): at each control-period boundary the program's
//!    tick runs the controls (and hands changed coefficients to the mesh),
//!    each sample reads the pickups and finishes through the output chain
//!    (`output`).
//! 4. The voice ends by itself once inaudible, at its release's time limit,
//!    or after `free`'s fade.

use std::sync::Arc;

use super::bow::{Bow, BowControls};
use super::control::{
    velocity_amplitude, Smoothed, VoiceState, CONTROL_PERIOD, FREE_FADE, MAX_EXCITATIONS,
    SMOOTHING_TIME,
};
use super::excitation::Excitation;
use super::mesh::Mesh;
use super::modulation::Modulators;
use super::output::{Gains, Pickups, Tap, VoiceFault};
use crate::instrument::radiation::RadiationFilter;
use crate::instrument::{note_to_hz, Instrument, NotePlan};
use crate::physics::body::Layout;
use crate::physics::certificate::{Certificate, LIMIT};
use crate::physics::scheme::{DampingControl, SchemeParams};
use crate::types::{ExciteShape, NoteRequest, VoiceParam};

/// What a control-period boundary decided (the output side needs it).
#[derive(Clone, Copy, Default)]
pub(crate) struct PeriodMark {
    /// A fading voice reached zero: it ends at this boundary.
    pub(crate) fade_done: bool,
    /// Some excitation still acted at this boundary.
    pub(crate) exciting: bool,
    /// Gain ramps of the period.
    pub(crate) gains: Gains,
}

/// A playing voice as another engine can restart it ([`Voice::restart`]).
pub struct Restart {
    /// Voice id.
    pub id: i32,
    /// Its instrument.
    pub inst: Arc<Instrument>,
    /// Its plan.
    pub plan: NotePlan,
    /// The note request with the voice's current control targets.
    pub req: NoteRequest,
    /// Morph target and amount.
    pub morph: Option<(Arc<Instrument>, f64)>,
    /// Its modulators, as they run.
    pub mods: Modulators,
}

/// A voice slot: the program's state, and the mesh back-end `M`.
pub struct Voice<M> {
    /// Voice id (as clients see it).
    pub id: i32,
    /// Life state.
    pub state: VoiceState,
    /// The note as started (for `/note/off`).
    pub started_note: f64,
    /// Engine frame at which it started (for stealing: oldest first).
    pub started_frame: u64,
    /// Set when the voice ended during the last render (the engine reports it).
    pub just_ended: bool,
    /// Set when its circuit breaker cut it (with `just_ended`; the engine
    /// reports it).
    pub fault: Option<VoiceFault>,
    /// The key it was started with ([`NoteRequest::key`]).
    pub key: u64,
    /// The voice is held by a note-on (cleared by release).
    pub held: bool,
    pub(super) instrument: Option<Arc<Instrument>>,
    pub(super) plan: Option<NotePlan>,
    /// The request it was started with.
    request: NoteRequest,
    layout: Layout,
    pub(super) sample_rate: f64,
    params: SchemeParams,
    pub(super) excitations: [Excitation; MAX_EXCITATIONS],
    /// The friction bow (off unless an excitation of shape `bow` started it).
    pub(super) bow: Bow,
    pub(super) bow_force: Smoothed,
    pub(super) bow_velocity: Smoothed,
    seed: u32,
    pub(super) pitch: Smoothed,
    pub(super) damping: Smoothed,
    release: Smoothed,
    /// Control ticks a released voice may still ring before it is faded out.
    release_ticks_left: u32,
    pub(super) gain: Smoothed,
    pub(super) pan: Smoothed,
    pub(super) pickups: Pickups,
    /// The modulators (LFOs, smoothed noise) on its parameters.
    pub(super) mods: Modulators,
    contact_s: f32,
    pub(super) brightness: f32,
    excite_width: f32,
    pub(super) morph_target: Option<Arc<Instrument>>,
    pub(super) morph: Smoothed,
    /// Per-tick step of a timed (linear) morph; 0 for smoothed morphs.
    pub(super) morph_step: f64,
    loudness: f32,
    /// Gain ramps (start, end) of the period in progress.
    gain_l: (f32, f32),
    gain_r: (f32, f32),
    /// Samples of the control period already rendered.
    pub(super) tick_pos: usize,
    /// Frames of silence before the voice starts.
    pub(super) delay: usize,
    fade: f32,
    fade_step: f32,
    /// The note's radiation filter, at rest (the output chain runs a copy).
    pub(super) radiation: RadiationFilter,
    /// An excitation was added since the output side last looked: its
    /// silence count starts again.
    pub(super) excited: bool,
    /// The mesh back-end.
    pub(super) mesh: M,
    /// Left output of the last render.
    pub out_l: Vec<f32>,
    /// Right output of the last render.
    pub out_r: Vec<f32>,
}

impl<M: Mesh> Voice<M> {
    /// An idle voice on `mesh`, rendering blocks of up to `max_block`
    /// frames (allocates: control side).
    pub fn with_mesh(mesh: M, max_block: usize) -> Self {
        Self {
            id: 0,
            state: VoiceState::Idle,
            started_note: 0.0,
            started_frame: 0,
            just_ended: false,
            fault: None,
            key: 0,
            held: false,
            instrument: None,
            plan: None,
            request: NoteRequest::new(60.0, 0.0),
            layout: Layout::new(1, 1),
            sample_rate: 48000.0,
            params: SchemeParams {
                a: 0.0,
                b: 0.0,
                kappa_k2: 0.0,
                k: 1.0,
            },
            excitations: [Excitation::default(); MAX_EXCITATIONS],
            bow: Bow::default(),
            bow_force: Smoothed::default(),
            bow_velocity: Smoothed::default(),
            seed: 1,
            pitch: Smoothed::default(),
            damping: Smoothed::at(1.0),
            release: Smoothed::default(),
            release_ticks_left: 0,
            gain: Smoothed::at(1.0),
            pan: Smoothed::default(),
            pickups: Pickups::default(),
            mods: Modulators::default(),
            contact_s: 0.002,
            brightness: 0.5,
            excite_width: 0.1,
            morph_target: None,
            morph: Smoothed::default(),
            morph_step: 0.0,
            loudness: 1.0,
            gain_l: (0.0, 0.0),
            gain_r: (0.0, 0.0),
            tick_pos: 0,
            delay: 0,
            fade: 1.0,
            fade_step: 0.0,
            radiation: RadiationFilter::default(),
            excited: false,
            mesh,
            out_l: vec![0.0; max_block],
            out_r: vec![0.0; max_block],
        }
    }

    /// Padded nodes this voice can hold.
    pub fn capacity(&self) -> usize {
        self.mesh.capacity()
    }

    /// True unless idle.
    pub fn is_active(&self) -> bool {
        self.state != VoiceState::Idle
    }

    /// The instrument it plays.
    pub fn instrument(&self) -> Option<&Arc<Instrument>> {
        self.instrument.as_ref()
    }

    /// The morph target, if any.
    pub fn morph_target(&self) -> Option<&Arc<Instrument>> {
        self.morph_target.as_ref()
    }

    /// The plan it runs.
    pub fn plan(&self) -> Option<&NotePlan> {
        self.plan.as_ref()
    }

    /// The mesh layout of the note (valid while active).
    pub(crate) fn layout(&self) -> Layout {
        self.layout
    }

    /// The sample rate the note plays at.
    pub(crate) fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    /// Node updates per output sample (cost).
    pub fn cost(&self) -> usize {
        match &self.plan {
            Some(p) if self.is_active() => {
                self.layout.width * self.layout.height * p.oversample as usize
            }
            _ => 0,
        }
    }

    /// Starts the voice (the plan must come from `inst.plan`).
    ///
    /// # Real-time safety
    /// No allocation (the `Arc` is moved in; the previous instrument and
    /// morph target, if any, are returned so the caller can retire them off
    /// the real-time thread).
    pub fn start(
        &mut self,
        id: i32,
        inst: Arc<Instrument>,
        plan: NotePlan,
        req: &NoteRequest,
        sample_rate: f64,
        frame: u64,
    ) -> (Option<Arc<Instrument>>, Option<Arc<Instrument>>) {
        let level = &inst.levels[plan.level];
        let layout = level.maps.layout;
        assert!(
            layout.len <= self.mesh.capacity(),
            "voice buffers too small for the plan"
        );
        self.id = id;
        self.state = VoiceState::Playing;
        self.started_note = req.note;
        self.started_frame = frame;
        self.just_ended = false;
        self.fault = None;
        self.key = req.key;
        self.held = true;
        self.layout = layout;
        self.sample_rate = sample_rate;
        self.plan = Some(plan);
        self.request = *req;
        self.params = plan.params;
        let f = &inst.file;
        self.pitch = Smoothed::at(req.note);
        self.damping = Smoothed::at(req.damping.max(0.0) as f64);
        self.release = Smoothed::at(0.0);
        self.morph = Smoothed::at(0.0);
        self.morph_step = 0.0;
        self.gain = Smoothed::at(req.gain as f64);
        self.pan = Smoothed::at(req.pan as f64);
        self.bow_force = Smoothed::at(req.bow_force.clamp(0.0, 1.0) as f64);
        self.bow_velocity = Smoothed::at(req.bow_velocity.clamp(0.0, 1.0) as f64);
        self.bow = Bow::default();
        let pk = req.pickups.map(|p| p.map(|v| v as f64)).unwrap_or([
            f.pickups.left[0],
            f.pickups.left[1],
            f.pickups.right[0],
            f.pickups.right[1],
        ]);
        self.pickups = Pickups::at(pk);
        let v = req.velocity.clamp(0.0, 1.0);
        // Harder is brighter: contact time halves at velocity 1, doubles at 0.
        self.contact_s = (f.excitation.contact_ms * 1e-3 * 2f64.powf(1.0 - 2.0 * v as f64)) as f32
            * req.contact_scale.clamp(0.25, 4.0);
        self.brightness = req.brightness.clamp(0.0, 1.0);
        self.excite_width = f.excitation.width as f32;
        // Equal loudness across pitch: a strike's mode amplitude falls as 1/f.
        // Coarser levels respond 2.0–2.7× louder per halving (measured on the bank).
        self.loudness = (note_to_hz(req.note) / note_to_hz(f.reference_note)
            * 0.42f64.powi(plan.level as i32)) as f32;
        self.tick_pos = 0;
        self.delay = req.delay_frames;
        self.fade = 1.0;
        self.fade_step = 0.0;
        self.radiation = RadiationFilter::new(f.radiation.as_ref(), sample_rate);
        self.mesh.reset(&self.radiation);
        self.seed = self.seed.wrapping_mul(1664525).wrapping_add(1013904223) ^ id as u32;
        self.mods.reset(self.seed);
        for e in &mut self.excitations {
            *e = Excitation::default();
        }
        self.gain_l = (0.0, 0.0);
        self.gain_r = (0.0, 0.0);
        let (shape, x, y) = req.excite.unwrap_or((
            f.excitation.shape,
            f.excitation.x as f32,
            f.excitation.y as f32,
        ));
        let old = self.instrument.replace(inst);
        let old_morph = self.morph_target.take();
        self.update_coefficients();
        self.update_gains();
        let amp = velocity_amplitude(v);
        let width = self.excite_width;
        self.excite(shape, x, y, amp, width);
        (old, old_morph)
    }

    /// How to start this voice again elsewhere (the CPU engine, when the
    /// GPU fails): its id, instrument, plan and a request carrying the
    /// current targets of pitch, gain, pan, pickups, damping and
    /// brightness, with its morph target and amount. `None` unless it is
    /// playing (held): the mesh state cannot be moved, so the voice
    /// restarts with its original excitation.
    ///
    /// # Real-time safety
    /// No allocation (clones `Arc`s).
    pub fn restart(&self) -> Option<Restart> {
        if self.state != VoiceState::Playing {
            return None;
        }
        let (inst, plan) = (self.instrument.clone()?, self.plan?);
        let p = |i: usize| self.pickups.at[i].target as f32;
        let req = NoteRequest {
            note: self.pitch.target.min(plan.max_note),
            gain: self.gain.target as f32,
            pan: self.pan.target as f32,
            pickups: Some([p(0), p(1), p(2), p(3)]),
            delay_frames: self.delay,
            damping: self.damping.target as f32,
            brightness: self.brightness,
            bow_force: self.bow_force.target as f32,
            bow_velocity: self.bow_velocity.target as f32,
            ..self.request
        };
        Some(Restart {
            id: self.id,
            inst,
            plan,
            req,
            morph: self.morph_target.clone().map(|t| (t, self.morph.target)),
            mods: self.mods,
        })
    }

    /// Adds an excitation at (x, y) with amplitude 0..1 and window width.
    ///
    /// # Real-time safety
    /// No allocation; with all slots busy the oldest excitation is replaced.
    pub fn excite(&mut self, shape: ExciteShape, x: f32, y: f32, amplitude: f32, width: f32) {
        let Some(inst) = self.instrument.as_ref() else {
            return;
        };
        let Some(plan) = self.plan else { return };
        let maps = &inst.levels[plan.level].maps;
        if shape == ExciteShape::Bow {
            // The bow is the voice's own: a second bow moves it.
            self.bow
                .start(&self.layout, &maps.stiffness, (x, y), amplitude);
            self.excited = true;
            return;
        }
        let slot = self
            .excitations
            .iter()
            .position(|e| !e.is_active())
            .unwrap_or(0);
        self.seed = self.seed.wrapping_mul(1664525).wrapping_add(1013904223);
        let (k, loudness, seed) = (self.params.k as f32, self.loudness, self.seed);
        let layout = self.layout;
        // Brightness 0..1 scales the contact time by 2^(1 − 2·brightness).
        let brightness = self.modulated(VoiceParam::Brightness, self.brightness as f64) as f32;
        let contact = self.contact_s * (1.0 - 2.0 * brightness).exp2();
        let (cur, prev) = self.mesh.excitation_state();
        let e = &mut self.excitations[slot];
        e.setup(
            shape,
            &layout,
            &maps.stiffness,
            (x, y),
            amplitude,
            width,
            contact,
            k,
            loudness,
            seed,
            cur,
            prev,
        );
        self.mesh.excited(e, shape);
        self.excited = true;
    }

    /// Releases the note: damping rises to the instrument's release T60
    /// ([`crate::instrument::ReleaseSpec`]; 1 s where the file states none),
    /// and a voice still sounding at the release's time limit fades out.
    pub fn release(&mut self) {
        if self.state != VoiceState::Playing {
            return;
        }
        self.state = VoiceState::Released;
        self.held = false;
        self.bow.lift(self.sample_rate);
        if let Some(spec) = self.instrument.as_ref().map(|i| i.release()) {
            self.release.target = spec.sigma0();
            self.release_ticks_left =
                (spec.limit * self.sample_rate / CONTROL_PERIOD as f64) as u32;
        }
    }

    /// Stops the voice with a short fade.
    pub fn free(&mut self) {
        if self.is_active() && self.state != VoiceState::Fading {
            self.state = VoiceState::Fading;
            self.fade_step =
                (CONTROL_PERIOD as f64 / (FREE_FADE * self.sample_rate)).min(1.0) as f32;
        }
    }

    fn update_gains(&mut self) {
        let gain = self.modulated(VoiceParam::Gain, self.gain.current);
        let pan = self.modulated(VoiceParam::Pan, self.pan.current);
        let g = gain as f32 * self.instrument.as_ref().map_or(1.0, |i| i.file.gain as f32);
        let theta = (pan as f32 + 1.0) * std::f32::consts::FRAC_PI_4;
        let (l, r) = (
            std::f32::consts::SQRT_2 * theta.cos(),
            std::f32::consts::SQRT_2 * theta.sin(),
        );
        self.gain_l = (self.gain_l.1, g * l * self.fade);
        self.gain_r = (self.gain_r.1, g * r * self.fade);
    }

    /// Hands the mesh the coefficients for the current pitch, damping,
    /// release and morph, keeping the certificate.
    fn update_coefficients(&mut self) {
        let (Some(inst), Some(plan)) = (self.instrument.as_ref(), self.plan) else {
            return;
        };
        let note = match self.mods.offset(VoiceParam::Pitch) {
            0.0 => self.pitch.current.min(plan.max_note),
            off => (self.pitch.current + off)
                .clamp(crate::instrument::LOWEST_NOTE - 12.0, plan.max_note),
        };
        let mut params = inst.params(plan.level, plan.oversample, note, self.sample_rate);
        let level = &inst.levels[plan.level];
        let mut bound = level.bound;
        // Morph: blend the maps and the scalars toward the target at the same level.
        let mut morph = None;
        if let Some(target) = self.morph_target.as_ref() {
            let t = self.modulated(VoiceParam::Morph, self.morph.current);
            if t > 0.0 && morph_compatible(inst, target, &plan) {
                let tl = &target.levels[plan.level];
                let tp = target.params(plan.level, plan.oversample, note, self.sample_rate);
                let mut blended = params;
                blended.a += t * (tp.a - params.a);
                blended.b += t * (tp.b - params.b);
                blended.kappa_k2 += t * (tp.kappa_k2 - params.kappa_k2);
                let mut bnd = bound;
                bnd.value = bound.value.max(tl.bound.value);
                if Certificate::new(bnd, &blended).value < LIMIT * crate::instrument::PLAN_SAFETY {
                    params = blended;
                    bound = bnd;
                    morph = Some((&tl.maps, t as f32));
                } else {
                    // Hold the morph where the certificate still holds.
                    self.morph.target = self.morph.current;
                }
            }
        }
        // Keep the certificate: raise damping only as far as it holds.
        let mut scale = self.modulated(VoiceParam::Damping, self.damping.current);
        if scale > 1.0 {
            let max_b =
                (LIMIT * crate::instrument::PLAN_SAFETY - params.kappa_k2) / bound.value - params.a;
            if params.b > 0.0 && 2.0 * params.b * scale > max_b {
                scale = (max_b / (2.0 * params.b)).max(1.0);
            }
        }
        let damping = DampingControl {
            scale,
            extra_sigma0: self.release.current,
        };
        self.mesh
            .set_coefficients(&level.maps, morph, &params, damping);
        params.b *= scale;
        debug_assert!(Certificate::new(bound, &params).holds());
        self.params = params;
    }

    /// The control tick: smoothing, coefficient and gain updates, the
    /// release's time limit and the fade.
    fn control_tick(&mut self) {
        let alpha = 1.0 - (-(CONTROL_PERIOD as f64) / (SMOOTHING_TIME * self.sample_rate)).exp();
        let mut recompute = self.tick_modulators(alpha);
        recompute |= self.pitch.tick(alpha);
        recompute |= self.damping.tick(alpha);
        recompute |= self.release.tick(alpha);
        if self.morph_step > 0.0 {
            let (c, t) = (self.morph.current, self.morph.target);
            if c != t {
                self.morph.current = if c < t {
                    (c + self.morph_step).min(t)
                } else {
                    (c - self.morph_step).max(t)
                };
                recompute = true;
            }
        } else {
            recompute |= self.morph.tick(alpha);
        }
        if recompute {
            self.update_coefficients();
        }
        self.gain.tick(alpha);
        self.pan.tick(alpha);
        let off = [
            VoiceParam::PickupLx,
            VoiceParam::PickupLy,
            VoiceParam::PickupRx,
            VoiceParam::PickupRy,
        ]
        .map(|p| self.mods.offset(p));
        self.pickups.tick(alpha, off);
        self.bow_force.tick(alpha);
        self.bow_velocity.tick(alpha);
        if let Some(plan) = self.plan {
            self.bow.tick(&BowControls {
                force: self.modulated(VoiceParam::BowForce, self.bow_force.current) as f32,
                velocity: self.modulated(VoiceParam::BowVelocity, self.bow_velocity.current) as f32,
                a: self.params.a as f32,
                k: self.params.k as f32,
                // The strikes' pitch scale, without their per-level correction.
                loudness: self.loudness / 0.42f32.powi(plan.level as i32),
                steps: (CONTROL_PERIOD * plan.oversample as usize) as u32,
            });
        }
        if self.state == VoiceState::Released {
            // The release's time limit: fade out what still sounds.
            match self.release_ticks_left.checked_sub(1) {
                Some(left) => self.release_ticks_left = left,
                None => self.free(),
            }
        }
        if self.state == VoiceState::Fading {
            self.fade = (self.fade - self.fade_step).max(0.0);
        }
        self.update_gains();
    }

    /// A control-period boundary (`tick_pos == 0`): whether a fade is
    /// complete (then nothing ticks: the voice ends here) and whether an
    /// excitation still acts; otherwise the control tick runs (changed
    /// coefficients go to the mesh). The silence check is the output
    /// side's ([`super::output::OutputChain::end_of_period`]).
    pub(super) fn period_start(&mut self) -> PeriodMark {
        let exciting = self.exciting();
        let fade_done = self.state == VoiceState::Fading && self.fade <= 0.0;
        if !fade_done {
            self.control_tick();
        }
        PeriodMark {
            fade_done,
            exciting,
            gains: (self.gain_l, self.gain_r),
        }
    }

    /// The gain ramps of the period in progress.
    pub(super) fn gains(&self) -> Gains {
        (self.gain_l, self.gain_r)
    }

    /// The mesh back-end.
    pub(crate) fn mesh(&self) -> &M {
        &self.mesh
    }

    /// The mesh back-end, mutable.
    pub(crate) fn mesh_mut(&mut self) -> &mut M {
        &mut self.mesh
    }

    /// The mesh back-end, the excitations and the bow at once.
    pub(crate) fn mesh_and_excitations(
        &mut self,
    ) -> (&mut M, &[Excitation; MAX_EXCITATIONS], &Bow) {
        (&mut self.mesh, &self.excitations, &self.bow)
    }

    /// The mesh back-end and the outputs (left, right) at once.
    pub(crate) fn mesh_and_outputs(&mut self) -> (&mut M, &mut [f32], &mut [f32]) {
        (&mut self.mesh, &mut self.out_l, &mut self.out_r)
    }

    /// Frames of silence left before the voice starts.
    pub(crate) fn delay(&self) -> usize {
        self.delay
    }

    /// Samples of the control period already rendered.
    pub(crate) fn tick_pos(&self) -> usize {
        self.tick_pos
    }

    /// The note's radiation filter, at rest.
    pub(crate) fn radiation(&self) -> &RadiationFilter {
        &self.radiation
    }

    /// True while an excitation acts.
    pub(crate) fn exciting(&self) -> bool {
        self.excitations.iter().any(|e| e.is_active()) || self.bow.is_active()
    }

    /// The pickup taps of sample `pos` of the control period.
    #[inline]
    pub(super) fn taps(&self, pos: usize) -> (Tap, Tap) {
        self.pickups.taps(&self.layout, pos)
    }

    /// The voice ended: its slot is free, and the engine reports it.
    pub(crate) fn finish(&mut self) {
        self.state = VoiceState::Idle;
        self.just_ended = true;
        self.fault = self.mesh.fault();
    }

    /// Testing aid: writes NaN into the voice's mesh state (where an
    /// excitation's setup writes: the CPU mesh's state), so that its
    /// circuit breaker can be tested.
    #[doc(hidden)]
    pub fn simulate_fault(&mut self) {
        let (cur, _) = self.mesh.excitation_state();
        cur.iter_mut().for_each(|v| *v = f32::NAN);
    }
}

/// True when `target` can be morphed into a voice of `inst` playing `plan`:
/// the same mesh layout at the plan's level.
pub fn morph_compatible(inst: &Instrument, target: &Instrument, plan: &NotePlan) -> bool {
    target
        .levels
        .get(plan.level)
        .is_some_and(|l| l.maps.layout == inst.levels[plan.level].maps.layout)
}
