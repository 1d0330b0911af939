//! The server's clock: OSC timetags → engine frames, through the output
//! device's own frame clock.
//!
//! The audio callback stamps the device's position with the system time
//! ([`crate::audio::position`]); the control thread feeds those stamps to a
//! delay-locked loop ([`dll`]) that estimates the device's real rate and
//! phase against the system clock (NTP-disciplined), and maps timetags
//! through that estimate. A card whose crystal runs 20 ppm off would, with
//! an origin fixed at start-up, play a timetagged note 72 ms off after an
//! hour; tracked, it stays on its timetag, and servers on several machines
//! locked to the same time (chrony, PTP) play in step (`docs/clock.md`).
//!
//! Until the first stamp (the device not started yet) the clock maps from
//! its start-up origin at the nominal rate.

pub mod dll;
#[cfg(test)]
mod tests;

use std::time::{Duration, UNIX_EPOCH};

use crate::audio::position::Observation;
use crate::audio::stats::SharedStats;
use crate::control::osc::{ntp_delta_seconds, ntp_now, system_time_to_ntp, Timetag};
use dll::Dll;

/// Maps OSC timetags to engine frames.
#[derive(Clone, Debug)]
pub struct Clock {
    /// NTP time at start-up: the origin of the loop's times, and where
    /// engine frame 0 is heard until the device is tracked.
    origin_ntp: u64,
    rate: f64,
    /// Frames from an engine frame's rendering to its being heard.
    latency_frames: i64,
    /// The part of `latency_frames` spent in the output ring (the stamps
    /// measure it: the rest comes after the device takes a frame).
    ring_frames: i64,
    horizon: f64,
    ignore: bool,
    dll: Dll,
    /// Underrun silence the device has played (device frames − ring
    /// frames) at the latest stamp.
    silence: i64,
}

impl Clock {
    /// A clock whose frame 0 is heard now, at `rate` Hz, `latency_frames`
    /// after the engine renders it (`ring_frames` of them in the output
    /// ring); timetags more than `horizon` seconds ahead run at once
    /// (late), and `ignore` runs every bundle at once.
    pub fn start(
        rate: f64,
        latency_frames: usize,
        ring_frames: usize,
        horizon: f64,
        ignore: bool,
    ) -> Self {
        Self::start_at(
            ntp_now(),
            rate,
            latency_frames,
            ring_frames,
            horizon,
            ignore,
        )
    }

    /// [`Clock::start`] with the start-up time given (simulated time).
    pub fn start_at(
        origin_ntp: u64,
        rate: f64,
        latency_frames: usize,
        ring_frames: usize,
        horizon: f64,
        ignore: bool,
    ) -> Self {
        Self {
            origin_ntp,
            rate,
            latency_frames: latency_frames as i64,
            ring_frames: ring_frames as i64,
            horizon,
            ignore,
            dll: Dll::new(rate),
            silence: 0,
        }
    }

    /// The output latency changed (the GPU engine's readback lag is gone,
    /// another back-end took over).
    pub fn set_latency_frames(&mut self, frames: usize) {
        self.latency_frames = frames as i64;
    }

    /// Takes the device's latest stamp from the shared figures and
    /// publishes the drift estimate there. Call it often (control thread).
    pub fn update(&mut self, stats: &SharedStats) {
        if let Some(o) = stats.position.latest() {
            let ntp = system_time_to_ntp(UNIX_EPOCH + Duration::from_nanos(o.unix_ns));
            let (was_locked, relocks) = (self.dll.is_locked(), self.dll.relocks());
            self.observe(o, ntp);
            stats.set_clock_drift_ppm(self.drift_ppm() as f32);
            if !was_locked && self.dll.is_locked() {
                let first = stats.position.first_unix_ns();
                tracing::info!(
                    "clock: following the output device (device frame 0 stamped at unix {}.{:09} s)",
                    first / 1_000_000_000,
                    first % 1_000_000_000
                );
            }
            if self.dll.relocks() > relocks {
                tracing::warn!(
                    "clock: the output device's clock jumped (a new device, or a long stall): \
                     following it again from device frame {}",
                    o.device_frames
                );
            }
        }
    }

    /// Takes a stamp whose system time is `ntp`.
    pub fn observe(&mut self, o: Observation, ntp: u64) {
        self.dll
            .observe(o.device_frames, ntp_delta_seconds(ntp, self.origin_ntp));
        self.silence = o.device_frames.saturating_sub(o.ring_frames) as i64;
    }

    /// The output device's estimated rate error, ppm (0 until tracked).
    pub fn drift_ppm(&self) -> f64 {
        if self.dll.is_locked() {
            self.dll.drift_ppm()
        } else {
            0.0
        }
    }

    /// The engine frame heard at NTP time `ntp` (fractional; may be
    /// negative for times before the start).
    pub fn engine_frame_at(&self, ntp: u64) -> f64 {
        let t = ntp_delta_seconds(ntp, self.origin_ntp);
        match self.dll.frame_at(t) {
            // Engine frame f is taken from the ring as ring frame f plus
            // the engine's own lag (in `latency_frames − ring_frames`),
            // played as device frame + silence, heard after the device's
            // buffer (in the same term).
            Some(device) => {
                device - (self.latency_frames - self.ring_frames) as f64 - self.silence as f64
            }
            None => t * self.rate - self.latency_frames as f64,
        }
    }

    /// The engine frame for a timetag: `None` = at once; `late` when it
    /// could not be honoured.
    pub fn frame(&self, tt: Timetag, engine_frame: u64) -> (Option<u64>, bool) {
        self.frame_at(tt, engine_frame, ntp_now())
    }

    /// [`Clock::frame`] at NTP time `now`.
    pub fn frame_at(&self, tt: Timetag, engine_frame: u64, now: u64) -> (Option<u64>, bool) {
        let ntp = match tt {
            Timetag::Immediate => return (None, false),
            _ if self.ignore => return (None, false),
            Timetag::At { ntp } => ntp,
        };
        if ntp_delta_seconds(ntp, now) > self.horizon {
            return (None, true);
        }
        let f = self.engine_frame_at(ntp).round() as i64;
        if f < engine_frame as i64 {
            (None, true)
        } else {
            (Some(f as u64), false)
        }
    }
}
