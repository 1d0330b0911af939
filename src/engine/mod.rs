//! The real-time engine: a fixed pool of voices rendered in blocks, in
//! parallel over the machine's cores, mixed to stereo.
//!
//! # Lifecycle
//! 1. [`Engine::new`] allocates everything: voice slots sized for the
//!    largest mesh, mix buffers, worker threads.
//! 2. Control code plans notes ([`crate::instrument::Instrument::plan`]:
//!    certificate, level, oversampling) *off* the real-time thread.
//! 3. [`Engine::start_voice`], [`Engine::voice_mut`] and
//!    [`Engine::process`] are real-time safe: no allocation, lock, log or
//!    I/O. Instruments replaced in a voice are handed back to the caller to
//!    be dropped elsewhere.
//!
//! # Voice stealing
//! When `max_voices` voices sound, a new note steals the oldest *released*
//! voice, else the oldest voice overall: the victim fades out over 5 ms in
//! one of [`STEAL_FADE_SLOTS`] spare slots' worth of room while the new
//! voice starts, so stealing does not click. Steals are counted in
//! [`EngineStats::stolen`].

pub mod api;
pub mod command;
pub mod ftz;
pub mod pool;
pub mod priority;
pub mod voice;

/// The excitations, where the engine's users found them (they are the
/// voice program's: [`crate::voice::excitation`]).
pub use crate::voice::excitation;

use std::sync::Arc;

use crate::instrument::{Instrument, NotePlan};
use crate::types::NoteRequest;
use pool::WorkerPool;
use voice::Voice;

/// Extra voice slots where stolen voices fade out (5 ms) without a click.
pub const STEAL_FADE_SLOTS: usize = 4;

/// Engine settings, fixed at construction.
#[derive(Clone, Copy, Debug)]
pub struct EngineConfig {
    /// Sample rate, Hz.
    pub sample_rate: f64,
    /// Largest block [`Engine::process`] renders.
    pub max_block: usize,
    /// Voice slots.
    pub max_voices: usize,
    /// Threads rendering voices (including the caller's).
    pub threads: usize,
    /// Padded nodes each voice can hold (the bank's largest mesh).
    pub voice_capacity: usize,
}

impl EngineConfig {
    /// Defaults for `capacity`-node meshes: 48 kHz, 256-frame blocks, 32
    /// voices, one thread per core.
    pub fn new(voice_capacity: usize) -> Self {
        Self {
            sample_rate: 48000.0,
            max_block: 256,
            max_voices: 32,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            voice_capacity,
        }
    }
}

/// Counters the engine keeps (read by `/status`).
#[derive(Clone, Copy, Debug, Default)]
pub struct EngineStats {
    /// Voices stolen to make room.
    pub stolen: u64,
    /// Frames rendered.
    pub frames: u64,
}

pub use crate::voice::Retired;

/// Raw pointer to the voice array, shared with the pool's workers.
struct VoicesPtr(*mut Voice);
// SAFETY: each worker only touches the voice at an index it claimed.
unsafe impl Sync for VoicesPtr {}

/// The voice engine.
pub struct Engine {
    cfg: EngineConfig,
    voices: Vec<Voice>,
    active: Vec<usize>,
    pool: WorkerPool,
    next_id: i32,
    master_gain: f32,
    master_target: f32,
    /// Counters.
    pub stats: EngineStats,
}

impl Engine {
    /// Builds the engine (allocates; not real-time).
    pub fn new(cfg: EngineConfig) -> Self {
        // Resolve the kernel's instruction set now (it reads the environment).
        let _ = crate::physics::scheme::simd_level();
        // Spare slots let stolen voices fade out while new ones start.
        let voices = (0..cfg.max_voices + STEAL_FADE_SLOTS)
            .map(|_| Voice::new(cfg.voice_capacity, cfg.max_block))
            .collect();
        Self {
            voices,
            active: Vec::with_capacity(cfg.max_voices + STEAL_FADE_SLOTS),
            pool: WorkerPool::new(cfg.threads.saturating_sub(1)),
            next_id: 1,
            master_gain: 1.0,
            master_target: 1.0,
            stats: EngineStats::default(),
            cfg,
        }
    }

    /// Puts the voice worker threads under `SCHED_FIFO` at `priority`;
    /// returns how many there are. (The caller promotes the thread that
    /// runs [`process`](Self::process).)
    pub fn promote_workers(&self, priority: i32) -> Result<usize, String> {
        self.pool.promote(priority)
    }

    /// Pins voice worker `i` to CPU `first + i` (modulo the CPUs present).
    pub fn pin_workers(&self, first: usize) -> Result<(), String> {
        self.pool.pin(first)
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// Number of sounding voices.
    pub fn active_voices(&self) -> usize {
        self.voices.iter().filter(|v| v.is_active()).count()
    }

    /// The voice with id `id`, if sounding.
    pub fn voice_mut(&mut self, id: i32) -> Option<&mut Voice> {
        self.voices.iter_mut().find(|v| v.is_active() && v.id == id)
    }

    /// All voice slots.
    pub fn voices(&self) -> &[Voice] {
        &self.voices
    }

    /// All voice slots, mutable.
    pub fn voices_mut(&mut self) -> &mut [Voice] {
        &mut self.voices
    }

    /// Sets the master gain (linear), ramped over the next block.
    pub fn set_master_gain(&mut self, g: f32) {
        self.master_target = g.max(0.0);
    }

    /// A fresh voice id (positive, below 2^24).
    pub fn allocate_id(&mut self) -> i32 {
        loop {
            let id = self.next_id;
            self.next_id = if self.next_id >= (1 << 24) - 1 {
                1
            } else {
                self.next_id + 1
            };
            if !self.voices.iter().any(|v| v.is_active() && v.id == id) {
                return id;
            }
        }
    }

    /// Starts a voice with id `id` (an existing voice with that id is
    /// restarted). Returns the instruments the slot held before, to be
    /// dropped off the real-time thread, and the id of a voice that had to be
    /// cut without a fade (only when every spare slot is still fading).
    ///
    /// # Real-time safety
    /// No allocation, lock or I/O. The plan must fit the voice capacity
    /// (checked by [`Engine::fits`]).
    pub fn start_voice(
        &mut self,
        id: i32,
        inst: Arc<Instrument>,
        plan: NotePlan,
        req: &NoteRequest,
    ) -> (Retired, Option<i32>) {
        let (slot, stolen, cut) = self.pick_slot(id);
        if stolen {
            self.stats.stolen += 1;
        }
        let frame = self.stats.frames;
        let old = self.voices[slot].start(id, inst, plan, req, self.cfg.sample_rate, frame);
        (old, cut.filter(|&c| c != id))
    }

    /// True when a plan's mesh fits the voice buffers.
    pub fn fits(&self, inst: &Instrument, plan: &NotePlan) -> bool {
        inst.levels[plan.level].maps.layout.len <= self.cfg.voice_capacity
    }

    /// Chooses the slot for voice `id`: its own slot if it sounds (restart),
    /// else a free slot while fewer than `max_voices` voices sound. At the
    /// limit the victim (oldest released, else oldest) fades out over 5 ms
    /// in its slot and the new voice takes one of the spare slots, so stealing
    /// does not click. Returns (slot, stolen, id of a voice cut without a
    /// fade — only when every spare slot is still fading).
    pub(crate) fn pick_slot(&mut self, id: i32) -> (usize, bool, Option<i32>) {
        crate::voice::pick_slot(&mut self.voices, self.cfg.max_voices, id)
    }

    /// Renders `left.len()` frames (≤ `max_block`) into `left` / `right`,
    /// overwriting them.
    ///
    /// # Real-time safety
    /// No allocation, lock, log or I/O.
    pub fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        let _ftz = ftz::ScopedFtz::new();
        let frames = left.len().min(right.len()).min(self.cfg.max_block);
        self.active.clear();
        for (i, v) in self.voices.iter_mut().enumerate() {
            v.just_ended = false;
            if v.is_active() {
                self.active.push(i);
            }
        }
        // Most expensive first, for load balance.
        let voices = &self.voices;
        self.active
            .sort_unstable_by_key(|&i| std::cmp::Reverse(voices[i].cost()));
        let ptr = VoicesPtr(self.voices.as_mut_ptr());
        let active = &self.active;
        self.pool.run(active.len(), &|j| {
            let p = &ptr;
            // SAFETY: indices in `active` are distinct and in bounds; each is
            // claimed by exactly one thread.
            unsafe { (*p.0.add(active[j])).render(frames) };
        });
        left[..frames].iter_mut().for_each(|v| *v = 0.0);
        right[..frames].iter_mut().for_each(|v| *v = 0.0);
        // Mix in slot order (deterministic regardless of threading).
        for v in self.voices.iter().filter(|v| v.is_active() || v.just_ended) {
            for (o, s) in left[..frames].iter_mut().zip(&v.out_l[..frames]) {
                *o += s;
            }
            for (o, s) in right[..frames].iter_mut().zip(&v.out_r[..frames]) {
                *o += s;
            }
        }
        let (g0, g1) = (self.master_gain, self.master_target);
        let inv = 1.0 / frames.max(1) as f32;
        for (j, (l, r)) in left[..frames]
            .iter_mut()
            .zip(right[..frames].iter_mut())
            .enumerate()
        {
            let g = g0 + (g1 - g0) * (j + 1) as f32 * inv;
            *l *= g;
            *r *= g;
        }
        self.master_gain = g1;
        self.stats.frames += frames as u64;
    }

    /// Ids of voices that ended during the last [`process`](Self::process).
    pub fn ended_voices(&self) -> impl Iterator<Item = i32> + '_ {
        self.voices.iter().filter(|v| v.just_ended).map(|v| v.id)
    }
}
