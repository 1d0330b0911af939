//! The server's clock: OSC timetags → engine frames.

use crate::control::osc::{ntp_delta_seconds, ntp_now, Timetag};

/// Maps OSC timetags to engine frames.
#[derive(Clone, Debug)]
pub struct Clock {
    /// NTP time at which engine frame 0 is heard.
    origin_ntp: u64,
    rate: f64,
    latency_frames: i64,
    horizon: f64,
    ignore: bool,
}

impl Clock {
    /// A clock whose frame 0 is heard now, at `rate` Hz, `latency_frames`
    /// after the engine renders it; timetags more than `horizon` seconds
    /// ahead run at once (late), and `ignore` runs every bundle at once.
    pub fn start(rate: f64, latency_frames: usize, horizon: f64, ignore: bool) -> Self {
        Self {
            origin_ntp: ntp_now(),
            rate,
            latency_frames: latency_frames as i64,
            horizon,
            ignore,
        }
    }

    /// The output latency changed (the GPU engine's readback lag is gone).
    pub fn set_latency_frames(&mut self, frames: usize) {
        self.latency_frames = frames as i64;
    }

    /// The engine frame for a timetag: `None` = at once; `late` when it
    /// could not be honoured.
    pub fn frame(&self, tt: Timetag, engine_frame: u64) -> (Option<u64>, bool) {
        let ntp = match tt {
            Timetag::Immediate => return (None, false),
            _ if self.ignore => return (None, false),
            Timetag::At { ntp } => ntp,
        };
        let now = ntp_now();
        if ntp_delta_seconds(ntp, now) > self.horizon {
            return (None, true);
        }
        let f = (ntp_delta_seconds(ntp, self.origin_ntp) * self.rate).round() as i64
            - self.latency_frames;
        if f < engine_frame as i64 {
            (None, true)
        } else {
            (Some(f as u64), false)
        }
    }
}
