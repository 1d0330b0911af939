//! One voice: a mesh of one instrument, excited, read by two pickups.
//!
//! # Lifecycle
//! 1. [`Voice::new`] (control side, allocates every buffer for the largest
//!    mesh the engine will play).
//! 2. [`Voice::start`] (real-time safe): copies the plan, fills the
//!    coefficient maps, clears the state and applies the excitation.
//! 3. [`Voice::render`] (real-time safe), block after block.
//! 4. The voice ends by itself once inaudible, or after `free`'s fade.
//!
//! # Control timing
//! Parameters move at a fixed *control period* of [`CONTROL_PERIOD`]
//! samples counted from the voice's start, independent of the block size,
//! so rendering in blocks of any size gives the same samples. At each tick
//! the smoothed values advance one step (one-pole, [`SMOOTHING_TIME`]);
//! gains, pan and pickup positions then ramp linearly sample by sample over
//! the period, and pitch, damping and morph recompute the coefficient maps.

use std::sync::Arc;

use super::excitation::Excitation;
use crate::instrument::format::ExciteShape;
use crate::instrument::radiation::RadiationFilter;
use crate::instrument::{note_to_hz, Instrument, NotePlan};
use crate::physics::aligned::AlignedF32;
use crate::physics::body::Layout;
use crate::physics::certificate::{Certificate, LIMIT};
use crate::physics::scheme::{
    compute_aux, fill_coefficients, step, step_pair, Coefficients, DampingControl, SchemeParams,
};

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

/// A parameter moving smoothly toward its target.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Smoothed {
    pub(crate) current: f64,
    pub(crate) target: f64,
}

impl Smoothed {
    pub(crate) fn at(v: f64) -> Self {
        Self {
            current: v,
            target: v,
        }
    }
    /// Advances one tick; returns true when the value changed.
    pub(crate) fn tick(&mut self, alpha: f64) -> bool {
        if self.current == self.target {
            return false;
        }
        self.current += alpha * (self.target - self.current);
        if (self.target - self.current).abs() <= 1e-6 * self.target.abs().max(1e-3) {
            self.current = self.target;
        }
        true
    }
}

/// How a note starts.
#[derive(Clone, Copy, Debug)]
pub struct NoteRequest {
    /// MIDI note (fractional allowed).
    pub note: f64,
    /// Velocity 0..1.
    pub velocity: f32,
    /// Voice gain (linear).
    pub gain: f32,
    /// Pan −1..1.
    pub pan: f32,
    /// Excitation override: shape and position; `None` uses the instrument's.
    pub excite: Option<(ExciteShape, f32, f32)>,
    /// Pickup override `[lx, ly, rx, ry]`.
    pub pickups: Option<[f32; 4]>,
    /// Frames of silence before the voice starts (sample-accurate scheduling).
    pub delay_frames: usize,
    /// Damping scale (multiplies σ₀ and σ₁).
    pub damping: f32,
    /// Brightness 0..1: scales the contact time (0.5 = the instrument's).
    pub brightness: f32,
    /// Contact-time scale from the instrument's note shaping (1 = as filed).
    pub contact_scale: f32,
    /// What started the voice (for note-off matching): a caller-chosen key.
    pub key: u64,
}

impl NoteRequest {
    /// A note with the instrument's defaults.
    pub fn new(note: f64, velocity: f32) -> Self {
        Self {
            note,
            velocity,
            gain: 1.0,
            pan: 0.0,
            excite: None,
            pickups: None,
            delay_frames: 0,
            damping: 1.0,
            brightness: 0.5,
            contact_scale: 1.0,
            key: 0,
        }
    }
}

/// Pickup read weights for one sample (bilinear over four nodes).
#[derive(Clone, Copy, Default)]
pub(crate) struct Tap {
    pub(crate) i: usize,
    pub(crate) w: [f32; 4],
}

impl Tap {
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
    #[inline]
    fn read(&self, stride: usize, u: &[f32]) -> f32 {
        let i = self.i;
        self.w[0] * u[i]
            + self.w[1] * u[i + 1]
            + self.w[2] * u[i + stride]
            + self.w[3] * u[i + stride + 1]
    }
}

/// One-pole DC blocker (5 Hz).
#[derive(Clone, Copy, Default)]
pub(crate) struct DcBlocker {
    x1: f32,
    y1: f32,
}

impl DcBlocker {
    #[inline]
    pub(crate) fn run(&mut self, x: f32, r: f32) -> f32 {
        let y = x - self.x1 + r * self.y1;
        self.x1 = x;
        self.y1 = y;
        y
    }
}

/// A voice slot with preallocated buffers.
pub struct Voice {
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
    /// The key it was started with ([`NoteRequest::key`]).
    pub key: u64,
    /// The voice is held by a note-on (cleared by release).
    pub held: bool,
    instrument: Option<Arc<Instrument>>,
    plan: Option<NotePlan>,
    layout: Layout,
    sample_rate: f64,
    /// Four state buffers, each `capacity` long: two displacement buffers
    /// (current and previous/next, swapped every step) and two auxiliary
    /// `w` buffers (current and next).
    state_buf: AlignedF32,
    capacity: usize,
    /// Which of each pair is current.
    flip: bool,
    coef: Coefficients,
    params: SchemeParams,
    excitations: [Excitation; MAX_EXCITATIONS],
    seed: u32,
    pitch: Smoothed,
    damping: Smoothed,
    release: Smoothed,
    /// Control ticks a released voice may still ring before it is faded out.
    release_ticks_left: u32,
    gain: Smoothed,
    pan: Smoothed,
    pickups: [Smoothed; 4],
    contact_s: f32,
    brightness: f32,
    excite_width: f32,
    morph_target: Option<Arc<Instrument>>,
    morph: Smoothed,
    /// Per-tick step of a timed (linear) morph; 0 for smoothed morphs.
    morph_step: f64,
    loudness: f32,
    // Per-tick ramps.
    gain_l: (f32, f32),
    gain_r: (f32, f32),
    pick_from: [f64; 4],
    tick_pos: usize,
    delay: usize,
    fade: f32,
    fade_step: f32,
    silent_ticks: u32,
    peak: f32,
    dc: [DcBlocker; 2],
    /// The instrument's radiation filter (flat when it has none).
    radiation: RadiationFilter,
    /// Run mesh steps in fused pairs where possible (see [`step_pair`]).
    fused_steps: bool,
    /// Left output of the last render.
    pub out_l: Vec<f32>,
    /// Right output of the last render.
    pub out_r: Vec<f32>,
}

impl Voice {
    /// Allocates a voice able to play meshes up to `capacity` padded nodes
    /// in blocks of up to `max_block` frames.
    pub fn new(capacity: usize, max_block: usize) -> Self {
        // Whole lanes, so each of the four state buffers starts 32-byte
        // aligned; and buffers spaced ±1 KiB modulo 4 KiB, so the kernel's
        // loads never alias its recent stores in the low address bits
        // (x86 "4K aliasing" stalls the loads).
        let mut capacity = capacity.next_multiple_of(8);
        while (capacity * 4) % 4096 != 1024 && (capacity * 4) % 4096 != 3072 {
            capacity += 8;
        }
        Self {
            id: 0,
            state: VoiceState::Idle,
            started_note: 0.0,
            started_frame: 0,
            just_ended: false,
            key: 0,
            held: false,
            instrument: None,
            plan: None,
            layout: Layout::new(1, 1),
            sample_rate: 48000.0,
            state_buf: AlignedF32::zeroed(4 * capacity),
            capacity,
            flip: false,
            coef: Coefficients::zeroed(capacity),
            params: SchemeParams {
                a: 0.0,
                b: 0.0,
                kappa_k2: 0.0,
                k: 1.0,
            },
            excitations: [Excitation::default(); MAX_EXCITATIONS],
            seed: 1,
            pitch: Smoothed::default(),
            damping: Smoothed::at(1.0),
            release: Smoothed::default(),
            release_ticks_left: 0,
            gain: Smoothed::at(1.0),
            pan: Smoothed::default(),
            pickups: [Smoothed::default(); 4],
            contact_s: 0.002,
            brightness: 0.5,
            excite_width: 0.1,
            morph_target: None,
            morph: Smoothed::default(),
            morph_step: 0.0,
            loudness: 1.0,
            gain_l: (0.0, 0.0),
            gain_r: (0.0, 0.0),
            pick_from: [0.0; 4],
            tick_pos: 0,
            delay: 0,
            fade: 1.0,
            fade_step: 0.0,
            silent_ticks: 0,
            peak: 0.0,
            dc: [DcBlocker::default(); 2],
            radiation: RadiationFilter::default(),
            fused_steps: fused_steps_default(),
            out_l: vec![0.0; max_block],
            out_r: vec![0.0; max_block],
        }
    }

    /// Chooses fused two-step sweeps (the default) or single steps. Both give
    /// bit-identical output; single steps exist for verification and
    /// benchmarks (`NEIROSYNTH_SINGLE_STEP=1` sets the default).
    pub fn set_fused_steps(&mut self, fused: bool) {
        self.fused_steps = fused;
    }

    /// Padded nodes this voice can hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// True unless idle.
    pub fn is_active(&self) -> bool {
        self.state != VoiceState::Idle
    }

    /// The instrument it plays.
    pub fn instrument(&self) -> Option<&Arc<Instrument>> {
        self.instrument.as_ref()
    }

    /// The plan it runs.
    pub fn plan(&self) -> Option<&NotePlan> {
        self.plan.as_ref()
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
            layout.len <= self.capacity,
            "voice buffers too small for the plan"
        );
        self.id = id;
        self.state = VoiceState::Playing;
        self.started_note = req.note;
        self.started_frame = frame;
        self.just_ended = false;
        self.key = req.key;
        self.held = true;
        self.layout = layout;
        self.sample_rate = sample_rate;
        self.plan = Some(plan);
        self.params = plan.params;
        self.state_buf.iter_mut().for_each(|v| *v = 0.0);
        self.flip = false;
        let f = &inst.file;
        self.pitch = Smoothed::at(req.note);
        self.damping = Smoothed::at(req.damping.max(0.0) as f64);
        self.release = Smoothed::at(0.0);
        self.morph = Smoothed::at(0.0);
        self.morph_step = 0.0;
        self.gain = Smoothed::at(req.gain as f64);
        self.pan = Smoothed::at(req.pan as f64);
        let pk = req.pickups.map(|p| p.map(|v| v as f64)).unwrap_or([
            f.pickups.left[0],
            f.pickups.left[1],
            f.pickups.right[0],
            f.pickups.right[1],
        ]);
        for (s, v) in self.pickups.iter_mut().zip(pk) {
            *s = Smoothed::at(v);
        }
        self.pick_from = pk;
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
        self.silent_ticks = 0;
        self.peak = 0.0;
        self.dc = [DcBlocker::default(); 2];
        self.radiation = RadiationFilter::new(f.radiation.as_ref(), sample_rate);
        self.seed = self.seed.wrapping_mul(1664525).wrapping_add(1013904223) ^ id as u32;
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
        let slot = self
            .excitations
            .iter()
            .position(|e| !e.is_active())
            .unwrap_or(0);
        self.seed = self.seed.wrapping_mul(1664525).wrapping_add(1013904223);
        let (shape_is_pluck, k, loudness, seed) = (
            shape == ExciteShape::Pluck,
            self.params.k as f32,
            self.loudness,
            self.seed,
        );
        let layout = self.layout;
        // Brightness 0..1 scales the contact time by 2^(1 − 2·brightness).
        let contact = self.contact_s * (1.0 - 2.0 * self.brightness).exp2();
        let st = split_state(&mut self.state_buf, self.capacity, self.flip);
        self.excitations[slot].setup(
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
            st.cur,
            st.prev,
        );
        if shape_is_pluck {
            compute_aux(&self.coef, st.prev, st.cur, st.w);
        }
        st.w_next.iter_mut().for_each(|v| *v = 0.0);
        self.silent_ticks = 0;
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

    /// Moves one pickup coordinate (0: lx, 1: ly, 2: rx, 3: ry), smoothly.
    pub fn set_pickup_coordinate(&mut self, index: usize, v: f64) {
        if let Some(p) = self.pickups.get_mut(index) {
            p.target = v.clamp(0.0, 1.0);
        }
    }

    /// Morphs toward `target` by `t` (0..1), linearly over `seconds` (or
    /// smoothly when `None`). `target = None` keeps the current target.
    /// Returns the previous target if it was replaced (to retire it).
    ///
    /// The caller (control side) checks [`morph_compatible`] first; the voice
    /// re-checks the certificate at every step and holds `t` where it would fail.
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

    /// Moves the pickups `[lx, ly, rx, ry]` (0..1), smoothly.
    pub fn set_pickups(&mut self, p: [f64; 4]) {
        for (s, v) in self.pickups.iter_mut().zip(p) {
            s.target = v.clamp(0.0, 1.0);
        }
    }

    fn update_gains(&mut self) {
        let g =
            self.gain.current as f32 * self.instrument.as_ref().map_or(1.0, |i| i.file.gain as f32);
        let theta = (self.pan.current as f32 + 1.0) * std::f32::consts::FRAC_PI_4;
        let (l, r) = (
            std::f32::consts::SQRT_2 * theta.cos(),
            std::f32::consts::SQRT_2 * theta.sin(),
        );
        self.gain_l = (self.gain_l.1, g * l * self.fade);
        self.gain_r = (self.gain_r.1, g * r * self.fade);
    }

    fn update_coefficients(&mut self) {
        let (Some(inst), Some(plan)) = (self.instrument.as_ref(), self.plan) else {
            return;
        };
        let note = self.pitch.current.min(plan.max_note);
        let mut params = inst.params(plan.level, plan.oversample, note, self.sample_rate);
        let level = &inst.levels[plan.level];
        let mut bound = level.bound;
        // Morph: blend the maps and the scalars toward the target at the same level.
        let mut morph = None;
        if let Some(target) = self.morph_target.as_ref() {
            let t = self.morph.current;
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
        let mut scale = self.damping.current;
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
        fill_coefficients(&level.maps, morph, &params, damping, &mut self.coef);
        params.b *= scale;
        debug_assert!(Certificate::new(bound, &params).holds());
        self.params = params;
        // The auxiliary field depends on a and b: rebuild it from the state.
        let st = split_state(&mut self.state_buf, self.capacity, self.flip);
        compute_aux(&self.coef, st.prev, st.cur, st.w);
    }

    /// The control tick: smoothing, coefficient and gain updates, end detection.
    fn control_tick(&mut self) {
        let alpha = 1.0 - (-(CONTROL_PERIOD as f64) / (SMOOTHING_TIME * self.sample_rate)).exp();
        let mut recompute = self.pitch.tick(alpha);
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
        for i in 0..4 {
            self.pick_from[i] = self.pickups[i].current;
            self.pickups[i].tick(alpha);
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

    /// Renders `frames` samples into `out_l` / `out_r`.
    ///
    /// # Real-time safety
    /// No allocation, lock or I/O.
    pub fn render(&mut self, frames: usize) {
        let mut f = 0;
        while f < frames {
            if !self.is_active() {
                self.out_l[f..frames].iter_mut().for_each(|v| *v = 0.0);
                self.out_r[f..frames].iter_mut().for_each(|v| *v = 0.0);
                return;
            }
            if self.delay > 0 {
                let n = self.delay.min(frames - f);
                self.out_l[f..f + n].iter_mut().for_each(|v| *v = 0.0);
                self.out_r[f..f + n].iter_mut().for_each(|v| *v = 0.0);
                self.delay -= n;
                f += n;
                continue;
            }
            if self.tick_pos == 0 {
                self.end_of_period();
                if !self.is_active() {
                    continue;
                }
                self.control_tick();
            }
            let n = (frames - f).min(CONTROL_PERIOD - self.tick_pos);
            self.run_samples(f, n);
            f += n;
            self.tick_pos = (self.tick_pos + n) % CONTROL_PERIOD;
        }
    }

    /// Silence detection and fade completion, at each period boundary.
    fn end_of_period(&mut self) {
        if self.state == VoiceState::Fading && self.fade <= 0.0 {
            self.finish();
            return;
        }
        let exciting = self.excitations.iter().any(|e| e.is_active());
        if self.peak < SILENCE && !exciting {
            self.silent_ticks += 1;
        } else {
            self.silent_ticks = 0;
        }
        self.peak = 0.0;
        let hold = (SILENCE_HOLD * self.sample_rate / CONTROL_PERIOD as f64) as u32;
        if self.silent_ticks > hold {
            self.finish();
        }
    }

    fn finish(&mut self) {
        self.state = VoiceState::Idle;
        self.just_ended = true;
    }

    /// Renders `n` samples of the current control period into the outputs
    /// from `start`. While no excitation is injecting, mesh steps run in
    /// fused pairs ([`step_pair`], bit-identical to single steps).
    fn run_samples(&mut self, start: usize, n: usize) {
        let Some(plan) = self.plan else { return };
        let Some(inst) = self.instrument.as_ref() else {
            return;
        };
        let mask = &inst.levels[plan.level].maps.stiffness;
        let layout = self.layout;
        let cap = self.capacity;
        let m = plan.oversample as usize;
        let inv_m = 1.0 / m as f32;
        let r = 1.0 - (2.0 * std::f64::consts::PI * 5.0 / self.sample_rate) as f32;
        let period = CONTROL_PERIOD as f32;
        let ab = self.coef.ab;
        let (u, w) = self.state_buf.split_at_mut(2 * cap);
        let (u0, u1) = u.split_at_mut(cap);
        let (w0, w1) = w.split_at_mut(cap);
        // Pickup taps of sample `j` of this run (positions glide over the period).
        let taps = |j: usize| {
            let t = (self.tick_pos + j) as f64 / period as f64;
            let lerp = |a: f64, b: f64| a + (b - a) * t;
            let (p, f) = (&self.pickups, &self.pick_from);
            (
                Tap::at(&layout, lerp(f[0], p[0].current), lerp(f[1], p[1].current)),
                Tap::at(&layout, lerp(f[2], p[2].current), lerp(f[3], p[3].current)),
            )
        };
        // Sample `j` of the run, step `sub` of its `m`, the pickups' sums so
        // far, and this sample's taps.
        let (mut j, mut sub) = (0usize, 0usize);
        let mut acc = (0.0f32, 0.0f32);
        let mut tap = taps(0);
        // Reads one mesh state into the current sample; after `m` states,
        // finishes the sample (DC blocker, gains) and moves to the next.
        let mut emit = |state: &[f32],
                        j: &mut usize,
                        sub: &mut usize,
                        acc: &mut (f32, f32),
                        tap: &mut (Tap, Tap)| {
            acc.0 += tap.0.read(layout.stride, state);
            acc.1 += tap.1.read(layout.stride, state);
            *sub += 1;
            if *sub < m {
                return;
            }
            let t = (self.tick_pos + *j) as f32 / period;
            let mut l = self.dc[0].run(acc.0 * inv_m, r);
            let mut rr = self.dc[1].run(acc.1 * inv_m, r);
            if self.radiation.is_active() {
                l = self.radiation.run(0, l);
                rr = self.radiation.run(1, rr);
            }
            let gl = self.gain_l.0 + (self.gain_l.1 - self.gain_l.0) * t;
            let gr = self.gain_r.0 + (self.gain_r.1 - self.gain_r.0) * t;
            let (ol, or) = (l * gl, rr * gr);
            self.peak = self.peak.max(ol.abs()).max(or.abs());
            self.out_l[start + *j] = ol;
            self.out_r[start + *j] = or;
            *acc = (0.0, 0.0);
            *sub = 0;
            *j += 1;
            if *j < n {
                *tap = taps(*j);
            }
        };
        while j < n {
            let remaining = (n - j) * m - sub;
            let exciting = self.excitations.iter().any(|e| e.is_active());
            let (cur, next, wc, wn): (&mut [f32], &mut [f32], &mut [f32], &mut [f32]) = if self.flip
            {
                (&mut *u1, &mut *u0, &mut *w1, &mut *w0)
            } else {
                (&mut *u0, &mut *u1, &mut *w0, &mut *w1)
            };
            if self.fused_steps && remaining >= 2 && !exciting {
                // `next` ← the first step, `cur` ← the second; roles unchanged.
                step_pair(&layout, &self.coef, next, cur, wc, wn);
                emit(next, &mut j, &mut sub, &mut acc, &mut tap);
                emit(cur, &mut j, &mut sub, &mut acc, &mut tap);
            } else {
                step(&layout, &self.coef, next, cur, wc, wn);
                for e in &mut self.excitations {
                    e.inject(layout.stride, mask, ab, next, wn);
                }
                emit(next, &mut j, &mut sub, &mut acc, &mut tap);
                self.flip = !self.flip;
            }
        }
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

/// The state buffers in their roles for the next step.
struct StateSlices<'a> {
    cur: &'a mut [f32],
    prev: &'a mut [f32],
    w: &'a mut [f32],
    w_next: &'a mut [f32],
}

/// Splits the four state buffers (each `cap` long) into their current roles.
fn split_state(buf: &mut [f32], cap: usize, flip: bool) -> StateSlices<'_> {
    let (u, w) = buf.split_at_mut(2 * cap);
    let (u0, u1) = u.split_at_mut(cap);
    let (w0, w1) = w.split_at_mut(cap);
    if flip {
        StateSlices {
            cur: u1,
            prev: u0,
            w: w1,
            w_next: w0,
        }
    } else {
        StateSlices {
            cur: u0,
            prev: u1,
            w: w0,
            w_next: w1,
        }
    }
}

/// Whether new voices fuse step pairs: yes unless `NEIROSYNTH_SINGLE_STEP`
/// is set (read once).
fn fused_steps_default() -> bool {
    use std::sync::OnceLock;
    static FUSED: OnceLock<bool> = OnceLock::new();
    *FUSED.get_or_init(|| std::env::var_os("NEIROSYNTH_SINGLE_STEP").is_none())
}

/// Excitation amplitude for a velocity 0..1 (a gentle curve: soft notes
/// stay audible).
pub fn velocity_amplitude(v: f32) -> f32 {
    v.clamp(0.0, 1.0).powf(1.5)
}
