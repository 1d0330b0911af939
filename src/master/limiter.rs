//! A true-peak-safe look-ahead limiter for the master output (stereo-linked).
//!
//! Signal path, per frame:
//!
//! 1. **Detector, 4× oversampled.** Each channel's sample and the three
//!    points between it and the next sample (a 128-tap windowed-sinc
//!    interpolator, 32 taps per phase, flat to 0.45 fs) are rectified; the detector is the
//!    largest of those eight values. The required gain of that frame is
//!    `min(1, ceiling / peak)`.
//! 2. **Hold.** The running minimum of the required gain over the last
//!    `attack + hold` frames (a monotonic deque in a fixed ring: O(1)
//!    amortised per frame).
//! 3. **Release.** Downward moves pass at once; upward moves follow a
//!    one-pole in the linear domain (time constant [`RELEASE_TAU_S`]), so the
//!    gain is within 0.1 dB of unity at most `4.47 τ` after the hold ends,
//!    whatever the depth (`(1 − g₀)·e^{−t/τ} ≤ 1 − 10^{−0.1/20}` for `g₀ ≥ 0`).
//! 4. **Attack.** A moving average of `attack` frames ([`LOOKAHEAD_S`]): the
//!    gain ramps down across the look-ahead and is at or below the frame's
//!    required gain when the frame comes out. Every value averaged holds
//!    the frame in its hold window, so the average is ≤ the required gain:
//!    no output sample exceeds the ceiling, and (the gain moving slowly
//!    against the interpolator's span) the oversampled peaks neither.
//! 5. The audio is delayed by the detector's interpolation span plus the
//!    look-ahead ([`Limiter::latency`]) and multiplied by the gain.
//!
//! While the gain is unity for a whole look-ahead window it is exactly
//! `1.0`: the output is the input, delayed, bit for bit. Non-finite input
//! samples are replaced by silence. A final clamp to the ceiling is a
//! backstop against rounding only (the gain already satisfies it).
//!
//! # Real-time safety
//! [`Limiter::new`] allocates every buffer; [`Limiter::process`] does no
//! allocation, lock, log or I/O.

/// The ceiling, linear: −0.3 dBFS (the largest `f32` not above
/// `10^(−0.3/20)`).
pub const CEILING: f32 = 0.966_050_86;
/// The look-ahead (attack ramp) in seconds.
pub const LOOKAHEAD_S: f64 = 0.0015;
/// How long the gain holds after a peak before it releases, seconds (a
/// steady tone down to 25 Hz keeps a constant gain: no pumping).
pub const HOLD_S: f64 = 0.02;
/// The release's time constant (one-pole, linear gain), seconds.
pub const RELEASE_TAU_S: f64 = 0.025;
/// The release time: from any depth back to within 0.1 dB of unity this
/// long after the hold ends (`ln(1 / (1 − 10^{−0.1/20})) · τ`, rounded up).
pub const RELEASE_S: f64 = 0.112;

/// Taps of each phase of the 4× interpolator.
const TAPS: usize = 32;
/// Interpolator span ahead of the frame it interpolates after.
const SPAN: usize = TAPS / 2;
/// The detector aims this much under the ceiling (rounding margin).
const AIM: f32 = CEILING * (1.0 - 1e-6);
/// A released gain this close to unity snaps to exactly 1.
const SNAP: f64 = 1e-9;

/// The look-ahead limiter (stereo-linked).
pub struct Limiter {
    /// Look-ahead (attack) frames.
    attack: usize,
    /// Hold window frames (`attack` + the hold).
    window: usize,
    /// 4× interpolator phases 1/4, 2/4, 3/4.
    phases: [[f32; TAPS]; 3],
    /// Input history per channel (interpolator and delay line), a ring.
    hist: [Vec<f32>; 2],
    /// Ring mask (length a power of two).
    mask: usize,
    /// Frames taken in so far.
    n: u64,
    /// The hold's monotonic deque: frame index and required gain.
    dq_idx: Vec<u64>,
    dq_val: Vec<f32>,
    dq_head: usize,
    dq_len: usize,
    /// The released gain (f64: an f32 one-pole stalls a few ulps under 1).
    released: f64,
    /// The release coefficient per frame.
    release: f64,
    /// The last `attack` released gains, a ring, their sum, and how many of
    /// them are below 1.
    box_buf: Vec<f32>,
    box_pos: usize,
    box_sum: f64,
    box_below: usize,
    /// The gain of the last frame out.
    gain: f32,
    /// The lowest gain since `take_peak_reduction_db`.
    lowest: f32,
}

impl Limiter {
    /// A limiter for `sample_rate` Hz (allocates its buffers).
    pub fn new(sample_rate: f64) -> Self {
        let attack = ((LOOKAHEAD_S * sample_rate).round() as usize).max(1);
        let window = attack + (HOLD_S * sample_rate).round() as usize;
        let len = (attack + TAPS + 2).next_power_of_two();
        let release = (-1.0 / (RELEASE_TAU_S * sample_rate)).exp();
        Self {
            attack,
            window,
            release,
            phases: design_phases(),
            hist: [vec![0.0; len], vec![0.0; len]],
            mask: len - 1,
            n: 0,
            dq_idx: vec![0; window + 1],
            dq_val: vec![0.0; window + 1],
            dq_head: 0,
            dq_len: 0,
            released: 1.0,
            box_buf: vec![1.0; attack],
            box_pos: 0,
            box_sum: attack as f64,
            box_below: 0,
            gain: 1.0,
            lowest: 1.0,
        }
    }

    /// Frames the output lags the input (interpolator span + look-ahead − 1
    /// … i.e. the delay line's length).
    pub fn latency(&self) -> usize {
        SPAN + self.attack - 1
    }

    /// Limits a block in place (`left` and `right` of equal length).
    ///
    /// # Real-time safety
    /// No allocation, lock, log or I/O.
    pub fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        debug_assert_eq!(left.len(), right.len());
        let lat = self.latency() as u64;
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            let t = self.n;
            let at = t as usize & self.mask;
            self.hist[0][at] = if l.is_finite() { *l } else { 0.0 };
            self.hist[1][at] = if r.is_finite() { *r } else { 0.0 };
            // The detector's frame m = t − SPAN (its phases need x[m−SPAN+1..=m+SPAN]).
            let need = self.required_gain(t);
            self.push_hold(t, need);
            let held = f64::from(self.dq_val[self.dq_head]);
            self.released = if held <= self.released {
                held
            } else {
                let g = held - (held - self.released) * self.release;
                if held - g < SNAP {
                    held
                } else {
                    g
                }
            };
            let g = self.attack_average();
            self.gain = g;
            if g < self.lowest {
                self.lowest = g;
            }
            // Out: frame t − latency, times the gain.
            let (ol, or) = if t >= lat {
                let o = (t - lat) as usize & self.mask;
                (self.hist[0][o], self.hist[1][o])
            } else {
                (0.0, 0.0)
            };
            *l = (ol * g).clamp(-CEILING, CEILING);
            *r = (or * g).clamp(-CEILING, CEILING);
            self.n = t + 1;
        }
    }

    /// The gain the detector asks for at frame `t − SPAN` (1 before it).
    fn required_gain(&self, t: u64) -> f32 {
        if t < SPAN as u64 {
            return 1.0;
        }
        let m = t - SPAN as u64;
        let mut peak = 0.0f32;
        for ch in &self.hist {
            peak = peak.max(ch[m as usize & self.mask].abs());
            for ph in &self.phases {
                let mut acc = 0.0f32;
                // Taps over x[m−SPAN+1 ..= m+SPAN]; frames before 0 are silence
                // (the ring starts zeroed and is longer than the span).
                for (k, c) in ph.iter().enumerate() {
                    let idx = (m + k as u64).wrapping_sub(SPAN as u64 - 1) as usize & self.mask;
                    acc += c * ch[idx];
                }
                peak = peak.max(acc.abs());
            }
        }
        if peak > AIM {
            AIM / peak
        } else {
            1.0
        }
    }

    /// Pushes frame `t`'s required gain into the hold's deque and drops
    /// what fell out of its window.
    fn push_hold(&mut self, t: u64, need: f32) {
        let cap = self.dq_idx.len();
        while self.dq_len > 0 {
            let back = (self.dq_head + self.dq_len - 1) % cap;
            if self.dq_val[back] >= need {
                self.dq_len -= 1;
            } else {
                break;
            }
        }
        let at = (self.dq_head + self.dq_len) % cap;
        self.dq_idx[at] = t;
        self.dq_val[at] = need;
        self.dq_len += 1;
        while t - self.dq_idx[self.dq_head] >= self.window as u64 {
            self.dq_head = (self.dq_head + 1) % cap;
            self.dq_len -= 1;
        }
    }

    /// Pushes the released gain into the attack's moving average and
    /// returns the average (exactly 1 when the whole window is 1).
    fn attack_average(&mut self) -> f32 {
        let old = self.box_buf[self.box_pos];
        let new = self.released as f32;
        self.box_buf[self.box_pos] = new;
        self.box_pos = if self.box_pos + 1 == self.attack {
            0
        } else {
            self.box_pos + 1
        };
        self.box_below = self.box_below + usize::from(new < 1.0) - usize::from(old < 1.0);
        if self.box_below == 0 {
            self.box_sum = self.attack as f64;
            return 1.0;
        }
        self.box_sum += new as f64 - old as f64;
        ((self.box_sum / self.attack as f64) as f32).min(1.0)
    }

    /// The gain of the last frame out, linear (1: no reduction).
    pub fn gain(&self) -> f32 {
        self.gain
    }

    /// The gain reduction now, dB (≥ 0).
    pub fn reduction_db(&self) -> f32 {
        to_reduction_db(self.gain)
    }

    /// The largest gain reduction since the last call, dB (≥ 0); starts
    /// the next span.
    pub fn take_peak_reduction_db(&mut self) -> f32 {
        let db = to_reduction_db(self.lowest);
        self.lowest = self.gain;
        db
    }
}

/// A gain as a reduction in dB (≥ 0).
fn to_reduction_db(gain: f32) -> f32 {
    if gain >= 1.0 {
        0.0
    } else {
        -20.0 * gain.max(1e-10).log10()
    }
}

/// The 4× interpolator's three fractional phases: a Kaiser-windowed sinc
/// (β = 5), each phase normalised to unit DC gain: flat within ±0.03 dB to
/// 0.45 fs (21.6 kHz at 48 kHz); −0.7 to −1.6 dB at 0.47 fs.
fn design_phases() -> [[f32; TAPS]; 3] {
    let mut out = [[0.0f32; TAPS]; 3];
    for (p, phase) in out.iter_mut().enumerate() {
        let frac = (p + 1) as f64 / 4.0;
        let mut taps = [0.0f64; TAPS];
        for (k, tap) in taps.iter_mut().enumerate() {
            // Tap k weighs x[m − SPAN + 1 + k]; the point is at m + frac.
            let x = (k as f64 - (SPAN as f64 - 1.0)) - frac;
            let sinc = if x.abs() < 1e-12 {
                1.0
            } else {
                (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
            };
            let half = SPAN as f64;
            let w = kaiser(x / half, 5.0);
            *tap = sinc * w;
        }
        let dc: f64 = taps.iter().sum();
        for (o, t) in phase.iter_mut().zip(taps) {
            *o = (t / dc) as f32;
        }
    }
    out
}

/// Kaiser window at `x` in −1..1.
fn kaiser(x: f64, beta: f64) -> f64 {
    if x.abs() >= 1.0 {
        return 0.0;
    }
    bessel_i0(beta * (1.0 - x * x).sqrt()) / bessel_i0(beta)
}

/// The modified Bessel function I₀ (series).
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    for k in 1..50 {
        term *= (x / (2.0 * k as f64)).powi(2);
        sum += term;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A quiet signal comes out bit for bit, delayed by the latency.
    #[test]
    fn quiet_is_transparent() {
        let mut lim = Limiter::new(48000.0);
        let n = 4096;
        let x: Vec<f32> = (0..n).map(|i| 0.25 * (i as f32 * 0.05).sin()).collect();
        let (mut l, mut r) = (x.clone(), x.clone());
        lim.process(&mut l, &mut r);
        let lat = lim.latency();
        assert_eq!(&l[lat..], &x[..n - lat]);
        assert_eq!(lim.reduction_db(), 0.0);
    }
}
