//! The real-time engine: a fixed pool of voices rendered in blocks, in
//! parallel over the machine's cores, mixed to stereo.
//!
//! # Lifecycle
//! 1. [`CpuEngine::new`] allocates everything: voice slots sized for the
//!    largest mesh, mix buffers, worker threads.
//! 2. Control code plans notes ([`crate::instrument::Instrument::plan`]:
//!    certificate, level, oversampling) *off* the real-time thread.
//! 3. [`VoiceEngine::start_voice`], [`VoiceEngine::voice_mut`] and
//!    [`CpuEngine::process`] are real-time safe: no allocation, lock, log or
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
pub mod config;
pub mod ftz;
pub mod pool;
pub mod priority;
pub mod voice;

/// The excitations, where the engine's users found them (they are the
/// voice program's: [`crate::voice::excitation`]).
pub use crate::voice::excitation;

use crate::voice::{apply_master_ramp, mix_into, Slots};
pub use api::{EngineCore, VoiceEngine};
pub use command::ApplyCommands;
pub use config::{EngineConfig, EngineStats};
use pool::WorkerPool;
use priority::PriorityError;
use voice::{CpuMesh, Voice};

/// Extra voice slots where stolen voices fade out (5 ms) without a click.
pub const STEAL_FADE_SLOTS: usize = 4;

pub use crate::voice::Retired;

/// Raw pointer to the voice array, shared with the pool's workers.
struct VoicesPtr(*mut Voice);
// SAFETY: each worker only touches the voice at an index it claimed.
unsafe impl Sync for VoicesPtr {}

/// The CPU engine: the voice slots rendered in parallel on a worker pool.
pub struct CpuEngine {
    core: EngineCore<CpuMesh>,
    active: Vec<usize>,
    pool: WorkerPool,
}

impl CpuEngine {
    /// Builds the engine (allocates; not real-time).
    pub fn new(cfg: EngineConfig) -> Self {
        // Resolve the kernel's instruction set now (CPU feature detection,
        // once), not on the real-time thread.
        let _ = crate::physics::scheme::simd_level();
        // Spare slots let stolen voices fade out while new ones start.
        let voices = (0..cfg.max_voices + STEAL_FADE_SLOTS)
            .map(|_| Voice::new(cfg.voice_capacity, cfg.max_block))
            .collect();
        let slots = Slots::new(voices, cfg.max_voices);
        Self {
            active: Vec::with_capacity(cfg.max_voices + STEAL_FADE_SLOTS),
            pool: WorkerPool::new(cfg.threads.saturating_sub(1)),
            core: EngineCore::new(cfg, slots),
        }
    }

    /// Puts the voice worker threads under `SCHED_FIFO` at `priority`;
    /// returns how many there are. (The caller promotes the thread that
    /// runs [`process`](Self::process).)
    pub fn promote_workers(&self, priority: i32) -> Result<usize, PriorityError> {
        self.pool.promote(priority)
    }

    /// Pins voice worker `i` to CPU `first + i` (modulo the CPUs present).
    pub fn pin_workers(&self, first: usize) -> Result<(), PriorityError> {
        self.pool.pin(first)
    }
}

impl VoiceEngine for CpuEngine {
    type Mesh = CpuMesh;
    fn core(&self) -> &EngineCore<CpuMesh> {
        &self.core
    }
    fn core_mut(&mut self) -> &mut EngineCore<CpuMesh> {
        &mut self.core
    }
    /// Renders the sounding voices in parallel on the worker pool, then
    /// mixes them in slot order.
    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        let _ftz = ftz::ScopedFtz::new();
        let frames = left.len().min(right.len()).min(self.core.cfg.max_block);
        self.core.slots.begin_block();
        self.active.clear();
        let voices = self.core.slots.voices();
        self.active
            .extend((0..voices.len()).filter(|&i| voices[i].is_active()));
        // Most expensive first, for load balance.
        self.active
            .sort_unstable_by_key(|&i| std::cmp::Reverse(voices[i].cost()));
        let ptr = VoicesPtr(self.core.slots.voices_mut().as_mut_ptr());
        let active = &self.active;
        self.pool.run(active.len(), &|j| {
            let p = &ptr;
            // SAFETY: indices in `active` are distinct and in bounds; each is
            // claimed by exactly one thread.
            unsafe { (*p.0.add(active[j])).render(frames) };
        });
        let (left, right) = (&mut left[..frames], &mut right[..frames]);
        left.iter_mut().for_each(|v| *v = 0.0);
        right.iter_mut().for_each(|v| *v = 0.0);
        // Mix in slot order (deterministic regardless of threading).
        for v in self
            .core
            .slots
            .voices()
            .iter()
            .filter(|v| v.is_active() || v.just_ended)
        {
            mix_into(left, right, &v.out_l[..frames], &v.out_r[..frames]);
        }
        apply_master_ramp(left, right, self.core.slots.next_master_ramp(frames));
        self.core.stats.frames += frames as u64;
    }
}
