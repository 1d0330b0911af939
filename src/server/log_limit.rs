//! Rate limits for the control side's warnings: a client that sends
//! thousands of bad packets a second must not fill the journal or the disk.
//! Each kind of message may log [`RateLimit::per_second`] lines a second;
//! the rest are counted, and one line says how many were suppressed.

use std::time::{Duration, Instant};

/// One kind of message's budget.
#[derive(Debug, Clone)]
pub struct RateLimit {
    per_second: u32,
    window: Option<Instant>,
    logged: u32,
    suppressed: u64,
}

/// What to do with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Log it; before it, if non-zero, say that this many similar messages
    /// were suppressed in the last window.
    Log {
        /// Messages suppressed since the last line of this kind.
        suppressed: u64,
    },
    /// Drop it (counted).
    Suppress,
}

impl RateLimit {
    /// A budget of `per_second` lines a second.
    pub const fn new(per_second: u32) -> Self {
        Self {
            per_second,
            window: None,
            logged: 0,
            suppressed: 0,
        }
    }

    /// Whether a message at `now` may be logged.
    pub fn check(&mut self, now: Instant) -> Verdict {
        let fresh = self
            .window
            .is_none_or(|w| now.duration_since(w) >= Duration::from_secs(1));
        if fresh {
            self.window = Some(now);
            self.logged = 0;
        }
        if self.logged < self.per_second {
            self.logged += 1;
            Verdict::Log {
                suppressed: std::mem::take(&mut self.suppressed),
            }
        } else {
            self.suppressed += 1;
            Verdict::Suppress
        }
    }

    /// At `now`, once the window that suppressed messages has passed: how
    /// many it suppressed (reported once; 0 when there is nothing to say).
    pub fn flush(&mut self, now: Instant) -> u64 {
        match self.window {
            Some(w) if self.suppressed > 0 && now.duration_since(w) >= Duration::from_secs(1) => {
                self.window = None;
                std::mem::take(&mut self.suppressed)
            }
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_logs_a_bounded_number_of_lines_and_counts_the_rest() {
        let mut limit = RateLimit::new(5);
        let t0 = Instant::now();
        let mut lines = 0u64;
        let mut reported = 0u64;
        // 10,000 messages over 2 s.
        for k in 0..10_000u64 {
            let now = t0 + Duration::from_micros(k * 200);
            if let Verdict::Log { suppressed } = limit.check(now) {
                lines += 1;
                reported += suppressed;
            }
        }
        reported += limit.flush(t0 + Duration::from_secs(3));
        assert_eq!(lines, 10, "5 a second for 2 s");
        assert_eq!(
            lines + reported,
            10_000,
            "every message is logged or counted"
        );
        assert_eq!(limit.flush(t0 + Duration::from_secs(4)), 0, "reported once");
    }
}
