//! Counters shared between the server's threads (atomics: no locks): the
//! engine thread, the audio back-ends and the network thread update them,
//! `/status` reads them. They live here, below the server, so that the
//! back-ends need not name the server.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::OnceLock;

/// Figures every thread updates and `/status` reads.
#[derive(Debug, Default)]
pub struct SharedStats {
    /// Sounding voices (engine thread).
    pub active_voices: AtomicU32,
    /// Engine frames rendered (engine thread).
    pub engine_frames: AtomicU64,
    /// Audio callbacks or null-sink periods that found too little audio.
    pub underruns: AtomicU64,
    /// Bundles that arrived late or beyond the horizon.
    pub late_bundles: AtomicU64,
    /// Messages dropped (undecodable packets, full queues).
    pub dropped: AtomicU64,
    /// Values clamped into range.
    pub clamped: AtomicU64,
    /// Voices stolen.
    pub stolen: AtomicU64,
    /// Engine load (share of the real-time budget), f32 bits.
    load_bits: AtomicU32,
    /// Output latency in milliseconds, f32 bits.
    latency_bits: AtomicU32,
    /// Longest block render so far, in blocks of real time (f32 bits).
    worst_block_bits: AtomicU32,
    /// Blocks that took longer than their own duration to render.
    pub slow_blocks: AtomicU64,
    /// Largest CPU time the engine thread spent on one block since the
    /// last [`SharedStats::take_stall_window`], in blocks of real time (f32
    /// bits; non-negative floats order like their bits).
    window_block_bits: AtomicU32,
    /// Longest time the engine thread went between two turns of its loop
    /// since the last [`SharedStats::take_stall_window`], µs: a turn is at
    /// most a short sleep plus a block, so a long gap is the machine not
    /// running the thread.
    window_gap_us: AtomicU64,
    /// Times the GPU engine failed and the server moved to the CPU engine.
    pub gpu_failovers: AtomicU64,
    /// The GPU adapter the server started on (unset: the CPU engine).
    pub gpu_adapter: OnceLock<String>,
    /// The master limiter's gain reduction now, dB (f32 bits).
    limiter_now_bits: AtomicU32,
    /// The limiter's largest gain reduction since the last `/status`, dB
    /// (f32 bits; non-negative floats order like their bits).
    limiter_peak_bits: AtomicU32,
    /// Voices cut by their circuit breaker (non-finite or runaway output).
    pub voice_faults: AtomicU64,
    /// Where the output device is, and when (the audio callback stamps it;
    /// the server's clock follows it).
    pub position: super::position::DevicePosition,
    /// The output device's rate against the system clock, ppm (f32 bits;
    /// the server's clock publishes it).
    clock_drift_bits: AtomicU32,
    /// Histogram of block render times in tenths of a block (last bucket: ≥ 3).
    block_times: [AtomicU64; BLOCK_TIME_BUCKETS],
}

/// Buckets of the block-time histogram (tenths of a block, 0 to 3 blocks).
pub const BLOCK_TIME_BUCKETS: usize = 31;

impl SharedStats {
    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
    /// Engine load, 0..1 (more when overloaded).
    pub fn load(&self) -> f32 {
        f32::from_bits(self.load_bits.load(Ordering::Relaxed))
    }
    /// Publishes the engine load.
    pub fn set_load(&self, v: f32) {
        self.load_bits.store(v.to_bits(), Ordering::Relaxed);
    }
    /// Counts one block that took `blocks` of real time to render.
    pub fn record_block_time(&self, blocks: f32) {
        let i = ((blocks * 10.0) as usize).min(BLOCK_TIME_BUCKETS - 1);
        self.block_times[i].fetch_add(1, Ordering::Relaxed);
    }
    /// The block time (in blocks of real time, to a tenth) under which a
    /// share `q` (0..1) of the blocks rendered.
    pub fn block_time_quantile(&self, q: f64) -> f32 {
        let counts: Vec<u64> = self
            .block_times
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen as f64 >= q * total as f64 {
                return (i + 1) as f32 / 10.0;
            }
        }
        BLOCK_TIME_BUCKETS as f32 / 10.0
    }
    /// Longest block render so far, in blocks of real time.
    pub fn worst_block(&self) -> f32 {
        f32::from_bits(self.worst_block_bits.load(Ordering::Relaxed))
    }
    /// Publishes the longest block render.
    pub fn set_worst_block(&self, v: f32) {
        self.worst_block_bits.store(v.to_bits(), Ordering::Relaxed);
    }
    /// Records one block's CPU time (blocks of real time) and the time
    /// since the engine thread's previous turn (µs) for the stall window.
    pub fn record_turn(&self, block: f32, gap_us: u64) {
        self.window_block_bits
            .fetch_max(block.max(0.0).to_bits(), Ordering::Relaxed);
        self.window_gap_us.fetch_max(gap_us, Ordering::Relaxed);
    }
    /// The largest block CPU time (blocks of real time) and the engine
    /// thread's longest gap between turns (µs) since the last call; the
    /// next window starts empty.
    pub fn take_stall_window(&self) -> (f32, u64) {
        (
            f32::from_bits(self.window_block_bits.swap(0, Ordering::Relaxed)),
            self.window_gap_us.swap(0, Ordering::Relaxed),
        )
    }
    /// Publishes the limiter's gain reduction now and the block's largest
    /// (dB, ≥ 0).
    pub fn record_limiter(&self, now_db: f32, block_peak_db: f32) {
        self.limiter_now_bits
            .store(now_db.max(0.0).to_bits(), Ordering::Relaxed);
        self.limiter_peak_bits
            .fetch_max(block_peak_db.max(0.0).to_bits(), Ordering::Relaxed);
    }
    /// The limiter's gain reduction now, dB.
    pub fn limiter_reduction_db(&self) -> f32 {
        f32::from_bits(self.limiter_now_bits.load(Ordering::Relaxed))
    }
    /// The limiter's largest gain reduction since the last call, dB (the
    /// next span starts at 0).
    pub fn take_limiter_peak_db(&self) -> f32 {
        f32::from_bits(self.limiter_peak_bits.swap(0, Ordering::Relaxed))
    }
    /// The output device's estimated rate error against the system clock,
    /// ppm (positive: the device runs fast).
    pub fn clock_drift_ppm(&self) -> f32 {
        f32::from_bits(self.clock_drift_bits.load(Ordering::Relaxed))
    }
    /// Publishes the estimated rate error.
    pub fn set_clock_drift_ppm(&self, ppm: f32) {
        self.clock_drift_bits
            .store(ppm.to_bits(), Ordering::Relaxed);
    }
    /// Output latency, ms.
    pub fn latency_ms(&self) -> f32 {
        f32::from_bits(self.latency_bits.load(Ordering::Relaxed))
    }
    /// Publishes the output latency.
    pub fn set_latency_ms(&self, v: f32) {
        self.latency_bits.store(v.to_bits(), Ordering::Relaxed);
    }
}
