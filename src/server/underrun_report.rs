//! Tells the operator why audio went missing: once a second, when the
//! underrun count has grown, one log line with the count and what the
//! engine thread saw since the previous check — the most CPU time it spent
//! on one block (the engine too slow for its voices; CPU time, so a block
//! the machine interrupted does not count as slow) and its longest gap
//! between two turns of its loop (the machine not running it: another
//! process at real-time priority, a hypervisor, power management). Control side: reads the
//! shared counters, never touches the engine.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::audio::stats::SharedStats;

/// How often the counters are checked (and so at most one line per this).
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// What the engine thread's window says about a set of underruns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StallCause {
    /// A block took longer to render than it lasts: too many voices (or
    /// too large) for this machine and thread count.
    EngineTooSlow,
    /// Every block rendered in time, but the engine thread went longer
    /// than the ring's slack without running.
    ThreadNotScheduled,
    /// Neither: the audio side itself (the device's or the null clock's
    /// thread) ran late.
    AudioThreadLate,
}

/// Decides the cause from the window's largest block CPU time (blocks of real time),
/// the engine thread's longest gap and the ring's slack.
pub fn classify(worst_block: f32, longest_gap: Duration, slack: Duration) -> StallCause {
    if worst_block > 1.0 {
        StallCause::EngineTooSlow
    } else if longest_gap >= slack {
        StallCause::ThreadNotScheduled
    } else {
        StallCause::AudioThreadLate
    }
}

/// The once-a-second underrun check.
pub struct UnderrunReport {
    seen: u64,
    next_check: Instant,
    /// How long the output ring lasts without the engine.
    slack: Duration,
}

impl UnderrunReport {
    /// Starts counting from the underruns already counted; `slack` is the
    /// audio the output ring holds ahead of the device.
    pub fn new(stats: &SharedStats, slack: Duration) -> Self {
        Self {
            seen: stats.underruns.load(Ordering::Relaxed),
            next_check: Instant::now() + CHECK_EVERY,
            slack,
        }
    }

    /// Checks the counters when a second has passed; logs a warning with
    /// the cause when there were underruns since the last check.
    pub fn poll(&mut self, stats: &SharedStats, now: Instant) {
        if now < self.next_check {
            return;
        }
        self.next_check = now + CHECK_EVERY;
        let (worst_block, gap_us) = stats.take_stall_window();
        let total = stats.underruns.load(Ordering::Relaxed);
        let new = total.saturating_sub(self.seen);
        self.seen = total;
        if new == 0 {
            return;
        }
        let gap = Duration::from_micros(gap_us);
        let why = match classify(worst_block, gap, self.slack) {
            StallCause::EngineTooSlow => {
                "the engine was too slow: play fewer or smaller voices, or give it more --threads"
            }
            StallCause::ThreadNotScheduled => {
                "every block rendered in time, but the machine did not run the engine thread for longer \
                 than the output buffer lasts: a larger --block, --rt-priority, or a quieter machine"
            }
            StallCause::AudioThreadLate => {
                "the engine kept up: the audio device's thread ran late (a larger --block or the device's buffer)"
            }
        };
        tracing::warn!(
            "{new} underrun(s) in the last second ({total} in all): largest block CPU time {:.2} of real time, \
             longest engine-thread gap {:.1} ms against {:.1} ms of buffer; {why}",
            worst_block,
            gap.as_secs_f64() * 1e3,
            self.slack.as_secs_f64() * 1e3
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLACK: Duration = Duration::from_millis(9);

    #[test]
    fn a_slow_block_is_the_engine() {
        assert_eq!(
            classify(1.4, Duration::from_millis(20), SLACK),
            StallCause::EngineTooSlow
        );
    }

    #[test]
    fn a_long_gap_with_fast_blocks_is_the_machine() {
        assert_eq!(
            classify(0.3, Duration::from_millis(40), SLACK),
            StallCause::ThreadNotScheduled
        );
    }

    #[test]
    fn neither_is_the_audio_thread() {
        assert_eq!(
            classify(0.3, Duration::from_millis(2), SLACK),
            StallCause::AudioThreadLate
        );
    }

    #[test]
    fn the_window_empties_once_read() {
        let stats = SharedStats::default();
        stats.record_turn(0.4, 0);
        stats.record_turn(0.0, 12_000);
        stats.record_turn(0.2, 3_000);
        assert_eq!(stats.take_stall_window(), (0.4, 12_000));
        assert_eq!(stats.take_stall_window(), (0.0, 0));
    }
}
