//! The engine thread: renders blocks into the output ring, applying the
//! commands the network thread sends at their frames, and hands a failed
//! GPU engine's voices over to the CPU engine.
//!
//! # Real-time safety
//! After construction nothing here allocates, locks, logs or does I/O:
//! commands, events and output go through preallocated lock-free rings;
//! instruments it lets go of go back through the event ring to be dropped
//! on the network thread.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringbuf::traits::{Consumer, Observer, Producer};
use ringbuf::{HeapCons, HeapProd};

use crate::audio::prefault;
use crate::audio::stats::SharedStats;
use crate::engine::command::{pop_due, EngineEvent, EventSink, Timed};
use crate::engine::{ApplyCommands, CpuEngine, VoiceEngine};
use crate::gpu::GpuEngine;
use crate::instrument::Instrument;
use crate::master::Limiter;

use super::thread_cpu::thread_cpu_time;

/// Commands that can wait in the engine thread for their frame.
const PENDING_CAPACITY: usize = 16384;
/// Capacity of the command and event rings.
pub const RING_CAPACITY: usize = 8192;

/// Events from the engine into a ring. A block's events are held (in a
/// preallocated list) until the block's figures are in the shared stats, so
/// that a client told `/voice/started` or `/synced` finds that in
/// `/status`; retired instruments that do not fit the ring wait in a
/// preallocated list (never dropped on the engine thread).
pub struct RingSink {
    prod: HeapProd<EngineEvent>,
    held: Vec<EngineEvent>,
    overflow: Vec<Arc<Instrument>>,
    stats: Arc<SharedStats>,
}

impl EventSink for RingSink {
    fn emit(&mut self, event: EngineEvent) {
        if self.held.len() < self.held.capacity() {
            self.held.push(event);
        } else {
            self.send(event);
        }
    }
}

impl RingSink {
    /// A sink into `prod`, its lists preallocated (held events: a ring's
    /// worth; instruments that do not fit: 1024).
    pub fn new(prod: HeapProd<EngineEvent>, stats: Arc<SharedStats>) -> Self {
        Self {
            prod,
            held: prefault::vec(RING_CAPACITY),
            overflow: prefault::vec(1024),
            stats,
        }
    }

    /// Sends the held events (after the block's stats are published).
    fn release_held(&mut self) {
        // `drain` on a preallocated Vec does not allocate.
        let mut held = std::mem::take(&mut self.held);
        for ev in held.drain(..) {
            self.send(ev);
        }
        self.held = held;
    }

    fn send(&mut self, event: EngineEvent) {
        if let Err(ev) = self.prod.try_push(event) {
            SharedStats::add(&self.stats.dropped, 1);
            if let EngineEvent::Retired(a) = ev {
                if self.overflow.len() < self.overflow.capacity() {
                    self.overflow.push(a);
                } else {
                    // Never free on the engine thread: leak (counted above).
                    std::mem::forget(a);
                }
            }
        }
    }

    fn flush_overflow(&mut self) {
        while let Some(a) = self.overflow.pop() {
            if let Err(EngineEvent::Retired(a)) = self.prod.try_push(EngineEvent::Retired(a)) {
                self.overflow.push(a);
                break;
            }
        }
    }
}

/// A GPU engine that failed, on its way to the network thread (dropped
/// there), with the number of voices restarted on the CPU engine.
pub struct FailedGpu {
    /// The failed engine (its adapter and failure, for the log).
    pub engine: Box<GpuEngine>,
    /// Playing voices restarted on the CPU engine.
    pub restarted: usize,
}

/// The engine thread: keeps the output ring a target ahead of the audio
/// back-end, applying commands at their frames.
pub struct EngineThread {
    /// The CPU engine: it renders when `gpu` is `None` and takes over the
    /// voices when the GPU fails.
    pub engine: CpuEngine,
    /// The GPU engine, when it renders.
    pub gpu: Option<Box<GpuEngine>>,
    /// Where a failed GPU engine goes (capacity 1).
    pub failed: crossbeam_channel::Sender<FailedGpu>,
    /// Commands from the network thread.
    pub commands: HeapCons<Timed>,
    /// Events to the network thread.
    pub sink: RingSink,
    /// Interleaved stereo output to the audio back-end.
    pub out: HeapProd<f32>,
    /// Shared counters.
    pub stats: Arc<SharedStats>,
    /// Set to stop.
    pub quit: Arc<AtomicBool>,
    /// Frames the ring is kept filled to.
    pub target_frames: usize,
    /// The master limiter on the mix (`--limiter off`: none).
    pub limiter: Option<Limiter>,
}

impl EngineThread {
    fn frames(&self) -> u64 {
        match &self.gpu {
            Some(g) => g.stats().frames,
            None => self.engine.stats().frames,
        }
    }

    /// Renders until `quit` is set.
    pub fn run(mut self) {
        let block = self.engine.config().max_block;
        let rate = self.engine.config().sample_rate;
        let period = Duration::from_secs_f64(block as f64 / rate);
        let (mut l, mut r) = (vec![0.0f32; block], vec![0.0f32; block]);
        let mut inter = vec![0.0f32; 2 * block];
        let mut pending: VecDeque<Timed> = prefault::deque(PENDING_CAPACITY);
        let mut load = 0.0f32;
        let mut worst = 0.0f32;
        let mut last_turn = Instant::now();
        while !self.quit.load(Ordering::Relaxed) {
            // The gap since the previous turn: a short sleep or a block
            // normally; longer when the machine did not run this thread.
            let turn = Instant::now();
            let gap_us = turn.duration_since(last_turn).as_micros() as u64;
            last_turn = turn;
            self.stats.record_turn(0.0, gap_us);
            if self.out.occupied_len() / 2 >= self.target_frames
                || self.out.vacant_len() < 2 * block
            {
                std::thread::sleep(period / 8);
                continue;
            }
            // Queue new commands in frame order (immediate ones at the current frame).
            let now = self.frames();
            while let Some(mut t) = self.commands.try_pop() {
                // A frame already past runs now, after the commands queued
                // before it (a `/sync` marker must not overtake them).
                let f = t.frame.map_or(now, |f| f.max(now));
                t.frame = Some(f);
                if pending.len() == pending.capacity() {
                    // Full: apply at once rather than allocate.
                    SharedStats::add(&self.stats.late_bundles, 1);
                    t.frame = Some(now);
                }
                let at = pending.partition_point(|p| p.frame.unwrap_or(0) <= f);
                if pending.len() < pending.capacity() {
                    pending.insert(at, t);
                } else {
                    match &mut self.gpu {
                        Some(g) => g.apply(t.command, &mut self.sink),
                        None => self.engine.apply(t.command, &mut self.sink),
                    }
                }
            }
            let t0 = Instant::now();
            let cpu0 = thread_cpu_time();
            let sink = &mut self.sink;
            let due = |limit| pop_due(&mut pending, limit);
            match &mut self.gpu {
                Some(g) => {
                    g.process_scheduled(&mut l, &mut r, sink, due);
                    if g.failure().is_some() {
                        self.fail_over();
                    }
                }
                None => self.engine.process_scheduled(&mut l, &mut r, sink, due),
            }
            let used = t0.elapsed().as_secs_f32() / period.as_secs_f32();
            if used > worst {
                worst = used;
                self.stats.set_worst_block(worst);
            }
            if used > 1.0 {
                SharedStats::add(&self.stats.slow_blocks, 1);
            }
            self.stats.record_block_time(used);
            // The block's own CPU time: a block the machine interrupted
            // looks slow on the wall clock, not on this one.
            let used_cpu = (thread_cpu_time() - cpu0).as_secs_f32() / period.as_secs_f32();
            self.stats.record_turn(used_cpu, 0);
            load = if load == 0.0 {
                used
            } else {
                0.9 * load + 0.1 * used
            };
            if let Some(lim) = &mut self.limiter {
                lim.process(&mut l, &mut r);
                let peak = lim.take_peak_reduction_db();
                self.stats.record_limiter(lim.reduction_db(), peak);
            }
            for i in 0..block {
                inter[2 * i] = l[i];
                inter[2 * i + 1] = r[i];
            }
            self.out.push_slice(&inter);
            let s = &self.stats;
            s.set_load(load);
            let (active, stolen) = match &self.gpu {
                Some(g) => (g.active_voices(), g.stats().stolen),
                None => (self.engine.active_voices(), self.engine.stats().stolen),
            };
            s.active_voices.store(active as u32, Ordering::Relaxed);
            s.engine_frames.store(self.frames(), Ordering::Relaxed);
            s.stolen.store(stolen, Ordering::Relaxed);
            self.sink.release_held();
            self.sink.flush_overflow();
        }
    }

    /// The GPU failed: the CPU engine continues from the GPU engine's
    /// frame; every playing (held) voice restarts on it with its id and
    /// current controls (the mesh state is lost with the GPU); released and
    /// fading voices end (`/voice/end`). The GPU engine goes to the
    /// network thread, which logs the failure and drops it.
    ///
    /// # Real-time safety
    /// No allocation, lock, log or I/O: the CPU engine was built at
    /// start-up, instruments are `Arc`s, events go through the rings.
    fn fail_over(&mut self) {
        let Some(mut g) = self.gpu.take() else { return };
        let restarted = g.hand_over(&mut self.engine, &mut self.sink);
        SharedStats::add(&self.stats.gpu_failovers, 1);
        if let Err(crossbeam_channel::TrySendError::Full(f)) = self.failed.try_send(FailedGpu {
            engine: g,
            restarted,
        }) {
            // Cannot happen (one GPU engine, one slot): never free here.
            std::mem::forget(f);
        }
    }
}
