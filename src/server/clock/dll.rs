//! A delay-locked loop that follows the output device's frame clock
//! against the system clock (as JACK's and scsynth's do): from stamps
//! (device frame, system time) taken in the audio callback it estimates
//! the device's real period and a smoothed phase, so that callback jitter
//! does not move notes.
//!
//! A callback runs late, never early (the scheduler wakes it up after the
//! device asks): of the stamps in each [`WINDOW_S`], the loop takes the
//! earliest against its prediction (a minimum filter), which is close to
//! the device's real time and rejects spikes. The loop is second order (it
//! tracks a rate error with no lasting phase error), its bandwidth
//! narrowing from [`BANDWIDTH_START`] to [`BANDWIDTH`] in the first seconds:
//! fast lock, then strong smoothing; each update is scaled by the time it
//! spans. A window whose best stamp is still far off the estimate
//! ([`JUMP_S`]) is ignored, unless that persists ([`JUMP_PERSIST_S`]): then
//! the device restarted or was replaced, and the loop locks again from that
//! stamp (keeping its rate). The drift it reports is the loop's rate
//! averaged over [`DRIFT_AVERAGE_S`].

/// Final loop bandwidth, Hz.
pub const BANDWIDTH: f64 = 0.05;
/// Loop bandwidth at the first stamp, Hz.
pub const BANDWIDTH_START: f64 = 0.5;
/// Time constant of the bandwidth's narrowing, seconds.
const NARROWING_S: f64 = 4.0;
/// Stamps are taken in windows this long (the earliest of each counts).
pub const WINDOW_S: f64 = 0.1;
/// A window's best stamp further than this from the estimate is an
/// outlier, seconds.
pub const JUMP_S: f64 = 0.02;
/// Outliers that persist this long lock the loop again, seconds.
pub const JUMP_PERSIST_S: f64 = 0.5;
/// Time constant of the reported drift's average, seconds.
pub const DRIFT_AVERAGE_S: f64 = 30.0;
/// The rate estimate stays within this share of the nominal rate.
const MAX_RATE_ERROR: f64 = 0.05;

/// The loop's state. Times are seconds from any fixed origin (keep them
/// small: f64), frames are the device's count.
#[derive(Clone, Debug)]
pub struct Dll {
    nominal_period: f64,
    /// Estimated seconds per device frame.
    period: f64,
    /// A device frame and its smoothed time (from the first stamp; the
    /// loop maps once `locked`, after its first window).
    anchor: Option<(u64, f64)>,
    locked: bool,
    /// Times the loop locked again after a jump.
    relocks: u64,
    /// Time of the first stamp (the bandwidth narrows from it).
    locked_at: f64,
    /// Since when stamps have been outliers.
    outlier_since: Option<f64>,
    /// The window's earliest stamp against the prediction: (frame, time,
    /// error), and when the window opened.
    best: Option<(u64, f64, f64)>,
    window_start: f64,
    /// The period averaged for the drift report.
    average_period: f64,
}

impl Dll {
    /// A loop for a device nominally at `rate` Hz, before its first stamp.
    pub fn new(rate: f64) -> Self {
        Self {
            nominal_period: 1.0 / rate,
            period: 1.0 / rate,
            anchor: None,
            locked: false,
            relocks: 0,
            locked_at: 0.0,
            outlier_since: None,
            best: None,
            window_start: 0.0,
            average_period: 1.0 / rate,
        }
    }

    /// Whether the loop has locked (after the first window of stamps;
    /// before, it maps nothing).
    pub fn is_locked(&self) -> bool {
        self.locked
    }

    /// Times the loop locked again after the device's clock jumped.
    pub fn relocks(&self) -> u64 {
        self.relocks
    }

    /// The device's rate error against the system clock, ppm (positive:
    /// the device runs fast).
    pub fn drift_ppm(&self) -> f64 {
        (self.nominal_period / self.average_period - 1.0) * 1e6
    }

    /// Takes a stamp: the device started `frame` at system time `time`.
    /// Stamps at or before the anchor's frame (the same stamp read again)
    /// are ignored.
    pub fn observe(&mut self, frame: u64, time: f64) {
        let Some((f0, t0)) = self.anchor else {
            self.anchor = Some((frame, time));
            self.window_start = time;
            return;
        };
        if frame <= f0 || self.best.is_some_and(|(f, _, _)| frame <= f) {
            return;
        }
        let err = time - (t0 + (frame - f0) as f64 * self.period);
        if self.best.is_none_or(|(_, _, e)| err < e) {
            self.best = Some((frame, time, err));
        }
        if time - self.window_start >= WINDOW_S {
            if let Some((f, t, _)) = self.best.take() {
                if self.locked {
                    self.update(f, t);
                } else {
                    // The first window's earliest stamp, at the nominal rate.
                    self.lock(f, t);
                }
            }
            self.window_start = time;
        }
    }

    /// Locks (again) at a stamp, from the wide bandwidth.
    fn lock(&mut self, frame: u64, time: f64) {
        self.anchor = Some((frame, time));
        self.locked = true;
        self.locked_at = time;
        self.window_start = time;
        self.best = None;
        self.outlier_since = None;
    }

    /// One step of the loop with a window's best stamp.
    fn update(&mut self, frame: u64, time: f64) {
        let Some((f0, t0)) = self.anchor else { return };
        let span = (frame - f0) as f64 * self.period;
        let predicted = t0 + span;
        let err = time - predicted;
        if err.abs() > JUMP_S {
            let since = *self.outlier_since.get_or_insert(time);
            if time - since >= JUMP_PERSIST_S {
                self.lock(frame, time);
                self.relocks += 1;
            }
            return;
        }
        self.outlier_since = None;
        let age = (time - self.locked_at).max(0.0);
        let bandwidth = BANDWIDTH.max(BANDWIDTH_START * (-age / NARROWING_S).exp());
        let w = (2.0 * std::f64::consts::PI * bandwidth * span).min(0.5);
        let (b, c) = (std::f64::consts::SQRT_2 * w, w * w);
        self.anchor = Some((frame, predicted + b * err));
        let lo = self.nominal_period * (1.0 - MAX_RATE_ERROR);
        let hi = self.nominal_period * (1.0 + MAX_RATE_ERROR);
        self.period = (self.period + c * err / (frame - f0) as f64).clamp(lo, hi);
        let a = (span / DRIFT_AVERAGE_S.min(age.max(span))).min(1.0);
        self.average_period += a * (self.period - self.average_period);
    }

    /// The (fractional) device frame that starts at system time `time`
    /// (`None` before the first stamp).
    pub fn frame_at(&self, time: f64) -> Option<f64> {
        let (f0, t0) = self.anchor.filter(|_| self.locked)?;
        Some(f0 as f64 + (time - t0) / self.period)
    }
}
