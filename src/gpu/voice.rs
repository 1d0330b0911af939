//! The control side of a GPU voice: the same smoothing, note plan, control
//! ticks, excitation envelopes, pickup ramps, DC blocker, gains and end
//! detection as [`crate::engine::voice::Voice`] (line for line), with the
//! mesh itself on the GPU.
//!
//! A block is rendered in two halves: `GpuVoice::plan_block` walks the
//! block's control ticks and records what the GPU must do (coefficient
//! updates, pickup taps per sample, excitation forces per step) into a
//! [`BlockProgram`]; after the GPU ran, `GpuVoice::finish_block` turns
//! the raw pickup signal into the voice's output (DC blocker, gain and pan
//! ramps, silence and fade detection), exactly where the CPU voice would.

use std::sync::Arc;

use super::layout::{CoefUpdate, TapPair, VoiceHeader, Window, MAX_STRIKES};
use crate::engine::excitation::Excitation;
use crate::engine::voice::{
    morph_compatible, velocity_amplitude, DcBlocker, NoteRequest, Smoothed, Tap, VoiceState,
    CONTROL_PERIOD, FREE_FADE, MAX_EXCITATIONS, SILENCE, SILENCE_HOLD, SMOOTHING_TIME,
};
use crate::instrument::format::ExciteShape;
use crate::instrument::radiation::RadiationFilter;
use crate::instrument::{note_to_hz, Instrument, NotePlan};
use crate::physics::body::Layout;
use crate::physics::certificate::{Certificate, LIMIT};
use crate::physics::scheme::SchemeParams;

/// What the GPU does this block, for all voices (preallocated, reused).
#[derive(Default)]
pub struct BlockProgram {
    /// One header per voice in the dispatch.
    pub headers: Vec<VoiceHeader>,
    /// Coefficient updates.
    pub updates: Vec<CoefUpdate>,
    /// Pickup taps, one pair per simulated sample.
    pub taps: Vec<TapPair>,
    /// Pluck and strike windows.
    pub windows: Vec<Window>,
    /// Strike forces, one per step and window.
    pub forces: Vec<f32>,
}

impl BlockProgram {
    /// Empty program with room for `voices` voices of `max_block` frames.
    pub fn with_capacity(voices: usize, max_block: usize, max_oversample: usize) -> Self {
        let updates_per_voice = max_block / CONTROL_PERIOD + 2;
        Self {
            headers: Vec::with_capacity(voices),
            updates: Vec::with_capacity(voices * updates_per_voice),
            taps: Vec::with_capacity(voices * max_block),
            windows: Vec::with_capacity(voices * (MAX_STRIKES + MAX_EXCITATIONS)),
            forces: Vec::with_capacity(voices * MAX_STRIKES * max_block * max_oversample),
        }
    }
    /// Clears it for the next block (keeps the memory).
    pub fn clear(&mut self) {
        self.headers.clear();
        self.updates.clear();
        self.taps.clear();
        self.windows.clear();
        self.forces.clear();
    }
}

/// Per control period of the block: what `finish_block` needs.
#[derive(Clone, Copy, Default)]
pub(crate) struct PeriodMark {
    /// Fading voice reached zero: it ends at this boundary.
    fade_done: bool,
    /// Some excitation still acted at this boundary.
    exciting: bool,
    gain_l: (f32, f32),
    gain_r: (f32, f32),
}

/// Scalars of the coefficient maps in effect (what `fill_coefficients` got).
#[derive(Clone, Copy, Default)]
struct CoefState {
    update: CoefUpdate,
}

/// What `plan_block` recorded for `finish_block`: the block's output side
/// (the GPU engine may plan the next block before this one is finished).
#[derive(Clone, Copy, Default)]
pub(crate) struct Finish {
    /// Incarnation of the voice the block belongs to (a restart makes a new one).
    gen: u64,
    /// Frames of silence before the voice starts in this block.
    delay: usize,
    /// Control-period phase at the block's start.
    tick_pos: usize,
    /// The block's period marks in the caller's mark list.
    marks: (u32, u32),
    /// An excitation was added before this block: the silence count restarts.
    reset_silence: bool,
}

/// The output side of a voice slot: DC blockers, gain ramps in progress,
/// end detection; reset lazily when a block of a new incarnation arrives.
#[derive(Clone, Copy, Default)]
struct OutSide {
    gen: u64,
    dc: [DcBlocker; 2],
    radiation: RadiationFilter,
    peak: f32,
    silent_ticks: u32,
    /// Gain ramps of the period in progress at the end of the last block.
    carry_gains: ((f32, f32), (f32, f32)),
    /// This incarnation has ended (its later blocks are silent).
    ended: bool,
}

/// A playing voice as the CPU engine can restart it ([`GpuVoice::restart`]).
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
}

/// A GPU voice slot: control state; the mesh lives in the GPU state buffer.
pub struct GpuVoice {
    /// Voice id (as clients see it).
    pub id: i32,
    /// Life state.
    pub state: VoiceState,
    /// The note as started.
    pub started_note: f64,
    /// Engine frame at which it started.
    pub started_frame: u64,
    /// Set when the voice ended during the last render.
    pub just_ended: bool,
    /// The key it was started with.
    pub key: u64,
    /// The voice is held by a note-on.
    pub held: bool,
    instrument: Option<Arc<Instrument>>,
    plan: Option<NotePlan>,
    /// The request it was started with.
    request: NoteRequest,
    layout: Layout,
    sample_rate: f64,
    capacity: usize,
    flip: bool,
    coef: CoefState,
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
    morph_step: f64,
    loudness: f32,
    gain_l: (f32, f32),
    gain_r: (f32, f32),
    pick_from: [f64; 4],
    tick_pos: usize,
    delay: usize,
    fade: f32,
    fade_step: f32,
    /// Incarnation counter (each start is a new one).
    gen: u64,
    /// The radiation filter of incarnation `gen` (its output side takes it
    /// when its first block is finished).
    radiation: RadiationFilter,
    /// An excitation was added since the last planned block.
    excited: bool,
    out_side: OutSide,
    // GPU program state, consumed by the next block.
    reset: bool,
    pre_update: Option<CoefUpdate>,
    plucks: [Window; MAX_EXCITATIONS],
    n_plucks: usize,
    /// Scratch for [`Excitation::setup`]'s pluck (its result is unused: the
    /// GPU applies the pluck).
    scratch: Vec<f32>,
    /// Left output of the last render.
    pub out_l: Vec<f32>,
    /// Right output of the last render.
    pub out_r: Vec<f32>,
}

impl GpuVoice {
    /// Allocates a voice for meshes up to `capacity` padded nodes and blocks
    /// up to `max_block` frames.
    pub fn new(capacity: usize, max_block: usize) -> Self {
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
            request: NoteRequest::new(60.0, 0.0),
            layout: Layout::new(1, 1),
            sample_rate: 48000.0,
            capacity,
            flip: false,
            coef: CoefState::default(),
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
            gen: 0,
            radiation: RadiationFilter::default(),
            excited: false,
            out_side: OutSide::default(),
            reset: false,
            pre_update: None,
            plucks: [Window::default(); MAX_EXCITATIONS],
            n_plucks: 0,
            scratch: vec![0.0; 2 * capacity],
            out_l: vec![0.0; max_block],
            out_r: vec![0.0; max_block],
        }
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

    /// Node updates per output sample (cost).
    pub fn cost(&self) -> usize {
        match &self.plan {
            Some(p) if self.is_active() => {
                self.layout.width * self.layout.height * p.oversample as usize
            }
            _ => 0,
        }
    }

    /// Starts the voice, as [`crate::engine::voice::Voice::start`].
    ///
    /// # Real-time safety
    /// No allocation; the replaced instrument and morph target are returned.
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
        self.request = *req;
        self.params = plan.params;
        self.reset = true;
        self.pre_update = None;
        self.n_plucks = 0;
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
        self.contact_s = (f.excitation.contact_ms * 1e-3 * 2f64.powf(1.0 - 2.0 * v as f64)) as f32
            * req.contact_scale.clamp(0.25, 4.0);
        self.brightness = req.brightness.clamp(0.0, 1.0);
        self.excite_width = f.excitation.width as f32;
        self.loudness = (note_to_hz(req.note) / note_to_hz(f.reference_note)
            * 0.42f64.powi(plan.level as i32)) as f32;
        self.tick_pos = 0;
        self.delay = req.delay_frames;
        self.fade = 1.0;
        self.fade_step = 0.0;
        // The output side resets when this incarnation's first block is
        // finished (a block of the previous one may still be in flight).
        self.gen += 1;
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
        if let Some(u) = self.update_coefficients() {
            self.pre_update = Some(u);
        }
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
    /// playing (held): the mesh state is on the GPU and cannot be moved,
    /// so the voice restarts with its original excitation.
    ///
    /// # Real-time safety
    /// No allocation (clones `Arc`s).
    pub fn restart(&self) -> Option<Restart> {
        if self.state != VoiceState::Playing {
            return None;
        }
        let (inst, plan) = (self.instrument.clone()?, self.plan?);
        let p = |i: usize| self.pickups[i].target as f32;
        let req = NoteRequest {
            note: self.pitch.target.min(plan.max_note),
            gain: self.gain.target as f32,
            pan: self.pan.target as f32,
            pickups: Some([p(0), p(1), p(2), p(3)]),
            delay_frames: self.delay,
            damping: self.damping.target as f32,
            brightness: self.brightness,
            ..self.request
        };
        Some(Restart {
            id: self.id,
            inst,
            plan,
            req,
            morph: self.morph_target.clone().map(|t| (t, self.morph.target)),
        })
    }

    /// Adds an excitation, as [`crate::engine::voice::Voice::excite`].
    ///
    /// # Real-time safety
    /// No allocation.
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
        let (k, loudness, seed) = (self.params.k as f32, self.loudness, self.seed);
        let layout = self.layout;
        let contact = self.contact_s * (1.0 - 2.0 * self.brightness).exp2();
        let (cur, prev) = self.scratch.split_at_mut(self.capacity);
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
        if shape == ExciteShape::Pluck && self.n_plucks < MAX_EXCITATIONS {
            let (origin, nx, ny, _, _) = e.window();
            // A window over no body node does nothing (setup returned early).
            if nx > 0 && ny > 0 {
                self.plucks[self.n_plucks] = window_of(e, 0);
                self.plucks[self.n_plucks].origin = origin as u32;
                self.n_plucks += 1;
            }
        }
        self.excited = true;
    }

    /// Releases the note (as the CPU voice: the instrument's release T60
    /// and time limit).
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

    /// Sets the pitch (MIDI note), clamped to the plan; true if clamped.
    pub fn set_pitch(&mut self, note: f64) -> bool {
        let max = self.plan.map_or(note, |p| p.max_note);
        let lo = crate::instrument::LOWEST_NOTE - 12.0;
        let n = note.clamp(lo, max);
        self.pitch.target = n;
        n != note
    }
    /// Sets the damping scale.
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
    /// Sets the brightness of later excitations.
    pub fn set_brightness(&mut self, b: f32) {
        self.brightness = b.clamp(0.0, 1.0);
    }
    /// Moves one pickup coordinate (0: lx, 1: ly, 2: rx, 3: ry), smoothly.
    pub fn set_pickup_coordinate(&mut self, index: usize, v: f64) {
        if let Some(p) = self.pickups.get_mut(index) {
            p.target = v.clamp(0.0, 1.0);
        }
    }
    /// Moves the pickups `[lx, ly, rx, ry]`, smoothly.
    pub fn set_pickups(&mut self, p: [f64; 4]) {
        for (s, v) in self.pickups.iter_mut().zip(p) {
            s.target = v.clamp(0.0, 1.0);
        }
    }

    /// Morphs toward `target`, as [`crate::engine::voice::Voice::set_morph`].
    /// The target's maps must be resident in the GPU bank.
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

    /// The scalars of `fill_coefficients` for the current control values
    /// (the CPU voice's `update_coefficients` without the map work).
    fn update_coefficients(&mut self) -> Option<CoefUpdate> {
        let (Some(inst), Some(plan)) = (self.instrument.as_ref(), self.plan) else {
            return None;
        };
        let note = self.pitch.current.min(plan.max_note);
        let mut params = inst.params(plan.level, plan.oversample, note, self.sample_rate);
        let level = &inst.levels[plan.level];
        let mut bound = level.bound;
        let mut morph_t = None;
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
                    morph_t = Some(t as f32);
                } else {
                    self.morph.target = self.morph.current;
                }
            }
        }
        let mut scale = self.damping.current;
        if scale > 1.0 {
            let max_b =
                (LIMIT * crate::instrument::PLAN_SAFETY - params.kappa_k2) / bound.value - params.a;
            if params.b > 0.0 && 2.0 * params.b * scale > max_b {
                scale = (max_b / (2.0 * params.b)).max(1.0);
            }
        }
        // As fill_coefficients computes them.
        let (a, b) = (params.a as f32, (params.b * scale) as f32);
        let u = CoefUpdate {
            at: 0,
            morph: morph_t.is_some() as u32,
            a,
            b,
            kk: params.kappa_k2 as f32,
            k: params.k as f32,
            scale: scale as f32,
            extra: self.release.current as f32,
            t: morph_t.unwrap_or(0.0),
            ab: a + b,
            pad0: 0,
            pad1: 0,
        };
        params.b *= scale;
        self.params = params;
        self.coef.update = u;
        Some(u)
    }

    /// The control tick; returns the coefficient update it made, if any.
    fn control_tick(&mut self) -> Option<CoefUpdate> {
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
        let update = if recompute {
            self.update_coefficients()
        } else {
            None
        };
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
        update
    }

    /// Records this block's GPU work for `frames` frames into `prog`
    /// (header last: the caller fills the offsets it owns) and its period
    /// marks into `marks`. Returns the header and what
    /// [`finish_block`](Self::finish_block) needs, or `None` for an idle voice.
    ///
    /// # Real-time safety
    /// No allocation (`prog` and `marks` were sized at construction).
    pub(crate) fn plan_block(
        &mut self,
        frames: usize,
        prog: &mut BlockProgram,
        marks: &mut Vec<PeriodMark>,
    ) -> Option<(VoiceHeader, Finish)> {
        if !self.is_active() {
            return None;
        }
        let first_mark = marks.len() as u32;
        let plan = self.plan?;
        let layout = self.layout;
        let m = plan.oversample as usize;
        let mut h = VoiceHeader {
            width: layout.width as u32,
            height: layout.height as u32,
            stride: layout.stride as u32,
            len: layout.len as u32,
            cap: self.capacity as u32,
            oversample: plan.oversample,
            flip: self.flip as u32,
            reset: self.reset as u32,
            first_update: prog.updates.len() as u32,
            first_window: prog.windows.len() as u32,
            first_tap: prog.taps.len() as u32,
            ab: self.coef.update.ab,
            b: self.coef.update.b,
            ..Default::default()
        };
        self.reset = false;
        if let Some(u) = self.pre_update.take() {
            prog.updates.push(u);
            h.n_pre = 1;
        }
        // Plucks apply with the coefficients in effect now.
        h.ab = self.coef.update.ab;
        h.b = self.coef.update.b;
        for p in &self.plucks[..self.n_plucks] {
            prog.windows.push(*p);
        }
        h.n_plucks = self.n_plucks as u32;
        self.n_plucks = 0;
        // Strike windows of the excitations active at the block's start
        // (no new excitation can start inside a block).
        let delay = self.delay.min(frames);
        let samples = frames - delay;
        let steps = samples * m;
        let mut strike_slots = [usize::MAX; MAX_STRIKES];
        let mut n_strikes = 0;
        for (slot, e) in self.excitations.iter().enumerate() {
            if e.is_active() && n_strikes < MAX_STRIKES {
                let mut w = window_of(e, prog.forces.len() as u32);
                w.origin = e.window().0 as u32;
                prog.windows.push(w);
                prog.forces.extend(std::iter::repeat_n(0.0, steps));
                strike_slots[n_strikes] = slot;
                n_strikes += 1;
            }
        }
        h.n_strikes = n_strikes as u32;
        let first_strike = (h.first_window + h.n_plucks) as usize;
        // Walk the block as Voice::render does.
        let fin_delay = delay;
        self.delay -= delay;
        let fin_tick_pos = self.tick_pos;
        let mut fade_done = false;
        let mut step = 0usize;
        for s in 0..samples {
            if self.tick_pos == 0 {
                let exciting = self.excitations.iter().any(|e| e.is_active());
                // Voice::end_of_period's fade check; the silence check needs
                // the output and is done by finish_block.
                if self.state == VoiceState::Fading && self.fade <= 0.0 {
                    fade_done = true;
                }
                let mut mark = PeriodMark {
                    fade_done,
                    exciting,
                    ..Default::default()
                };
                if !fade_done {
                    if let Some(mut u) = self.control_tick() {
                        u.at = s as u32;
                        prog.updates.push(u);
                    }
                }
                mark.gain_l = self.gain_l;
                mark.gain_r = self.gain_r;
                marks.push(mark);
            }
            let t = self.tick_pos as f32 / CONTROL_PERIOD as f32;
            let lerp = |a: f64, b: f64| a + (b - a) * t as f64;
            let tl = Tap::at(
                &layout,
                lerp(self.pick_from[0], self.pickups[0].current),
                lerp(self.pick_from[1], self.pickups[1].current),
            );
            let tr = Tap::at(
                &layout,
                lerp(self.pick_from[2], self.pickups[2].current),
                lerp(self.pick_from[3], self.pickups[3].current),
            );
            prog.taps.push(TapPair {
                il: tl.i as u32,
                wl: tl.w,
                ir: tr.i as u32,
                wr: tr.w,
            });
            for _ in 0..m {
                for (k, &slot) in strike_slots[..n_strikes].iter().enumerate() {
                    if let Some(f) = self.excitations[slot].next_force() {
                        let base = prog.windows[first_strike + k].force as usize;
                        prog.forces[base + step] = f;
                    }
                }
                step += 1;
            }
            self.flip ^= m % 2 == 1;
            self.tick_pos = (self.tick_pos + 1) % CONTROL_PERIOD;
        }
        h.samples = samples as u32;
        h.n_updates = prog.updates.len() as u32 - h.first_update;
        let fin = Finish {
            gen: self.gen,
            delay: fin_delay,
            tick_pos: fin_tick_pos,
            marks: (first_mark, marks.len() as u32),
            reset_silence: std::mem::take(&mut self.excited),
        };
        Some((h, fin))
    }

    /// Turns the raw pickup signal of a planned block (`raw`: left, right
    /// interleaved, one pair per simulated sample; `fin` and `marks` as
    /// `plan_block` recorded them) into `out_l`/`out_r`. Blocks are
    /// finished in the order they were planned, possibly after the next
    /// one was planned: the output side follows the block's incarnation,
    /// and only the current incarnation's end makes the voice idle.
    /// Returns false when the block has no output (its incarnation had
    /// already ended).
    ///
    /// # Real-time safety
    /// No allocation.
    pub(crate) fn finish_block(
        &mut self,
        frames: usize,
        raw: &[f32],
        fin: &Finish,
        marks: &[PeriodMark],
    ) -> bool {
        if self.out_side.gen != fin.gen {
            self.out_side = OutSide {
                gen: fin.gen,
                radiation: if fin.gen == self.gen {
                    self.radiation
                } else {
                    RadiationFilter::default()
                },
                ..OutSide::default()
            };
        }
        if self.out_side.ended {
            return false;
        }
        if fin.reset_silence {
            self.out_side.silent_ticks = 0;
        }
        let marks = &marks[fin.marks.0 as usize..fin.marks.1 as usize];
        let delay = fin.delay;
        self.out_l[..delay].iter_mut().for_each(|v| *v = 0.0);
        self.out_r[..delay].iter_mut().for_each(|v| *v = 0.0);
        let r = 1.0 - (2.0 * std::f64::consts::PI * 5.0 / self.sample_rate) as f32;
        let period = CONTROL_PERIOD as f32;
        let hold = (SILENCE_HOLD * self.sample_rate / CONTROL_PERIOD as f64) as u32;
        let mut tick_pos = fin.tick_pos;
        let mut mark = 0usize;
        let o = &mut self.out_side;
        // Ramps of the period in progress at the block's start.
        let (mut gain_l, mut gain_r) = o.carry_gains;
        for f in delay..frames {
            let s = f - delay;
            if tick_pos == 0 {
                let pm = marks[mark];
                mark += 1;
                if pm.fade_done {
                    o.ended = true;
                } else {
                    if o.peak < SILENCE && !pm.exciting {
                        o.silent_ticks += 1;
                    } else {
                        o.silent_ticks = 0;
                    }
                    o.peak = 0.0;
                    if o.silent_ticks > hold {
                        o.ended = true;
                    }
                }
                if o.ended {
                    self.out_l[f..frames].iter_mut().for_each(|v| *v = 0.0);
                    self.out_r[f..frames].iter_mut().for_each(|v| *v = 0.0);
                    if self.gen == fin.gen {
                        self.state = VoiceState::Idle;
                        self.just_ended = true;
                    }
                    return true;
                }
                gain_l = pm.gain_l;
                gain_r = pm.gain_r;
            }
            let t = tick_pos as f32 / period;
            let mut l = o.dc[0].run(raw[2 * s], r);
            let mut rr = o.dc[1].run(raw[2 * s + 1], r);
            if o.radiation.is_active() {
                l = o.radiation.run(0, l);
                rr = o.radiation.run(1, rr);
            }
            let gl = gain_l.0 + (gain_l.1 - gain_l.0) * t;
            let gr = gain_r.0 + (gain_r.1 - gain_r.0) * t;
            let (ol, or) = (l * gl, rr * gr);
            o.peak = o.peak.max(ol.abs()).max(or.abs());
            self.out_l[f] = ol;
            self.out_r[f] = or;
            tick_pos = (tick_pos + 1) % CONTROL_PERIOD;
        }
        o.carry_gains = (gain_l, gain_r);
        true
    }
}

/// The GPU window of an excitation (weights, scale) with its forces at `force`.
fn window_of(e: &Excitation, force: u32) -> Window {
    let (origin, nx, ny, wx, wy) = e.window();
    Window {
        origin: origin as u32,
        nx: nx as u32,
        ny: ny as u32,
        force,
        scale: e.scale(),
        pad: [0; 3],
        wx: *wx,
        wy: *wy,
    }
}
