//! Analysis of a target note: f0, the strongest partials (frequency,
//! level, decay rate), T60 and the loudness envelope.
//!
//! The partial finder is a port of `shared/eval/metrics.py`'s
//! `spectral_peaks` (first 0.5 s after the onset, Blackman-Harris window,
//! zero-padded to 2¹⁸, peaks ≥ 6 dB prominent, ≥ 10 Hz apart, 20 Hz–20 kHz,
//! at most 40 dB below the strongest), so training sees the partials the
//! metric judges. Pitch comes first from here (spectral losses give poor
//! gradients for pitch), with the manifest's or the file name's note as a
//! prior for inharmonic bells and bars.

use realfft::RealFftPlanner;

/// Segment analysed for partials, seconds after the onset (as the metric).
pub const PARTIAL_SEGMENT_SECONDS: f64 = 0.5;
/// FFT size of the partial analysis (as the metric).
pub const PEAK_NFFT: usize = 1 << 18;
/// Minimum peak prominence, dB.
const PROMINENCE_DB: f64 = 6.0;
/// Minimum peak spacing, Hz.
const MIN_SEP_HZ: f64 = 10.0;
/// Frequency range of peaks, Hz.
const FMIN: f64 = 20.0;
const FMAX: f64 = 20_000.0;
/// Peaks this far below the strongest (dB) are dropped.
pub const PEAK_FLOOR_DB: f64 = 40.0;
/// Partials kept by [`analyze`].
pub const PARTIALS: usize = 12;
/// Window over which partial decay rates are fitted, seconds after the onset
/// (the corpus's soundfont loops make later decay synthetic).
pub const DECAY_WINDOW_SECONDS: f64 = 1.0;

/// One spectral peak.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Peak {
    /// Frequency, Hz (parabolic interpolation).
    pub hz: f64,
    /// Level, dB (arbitrary reference).
    pub db: f64,
}

/// One partial of the target.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Partial {
    /// Frequency, Hz.
    pub hz: f64,
    /// Level relative to the strongest partial, dB (≤ 0).
    pub rel_db: f64,
    /// Amplitude decay rate, 1/s (amplitude ∝ e^(−rate·t)); `None` when it could not be fitted.
    pub decay_rate: Option<f64>,
}

/// Everything training needs to know about a target note.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Analysis {
    /// Fundamental frequency, Hz.
    pub f0_hz: f64,
    /// The strongest partials, strongest first.
    pub partials: Vec<Partial>,
    /// T60 of the broadband energy envelope, seconds (as the metric).
    pub t60_s: f64,
    /// Loudness envelope: RMS per 10 ms frame, dBFS.
    pub envelope_db: Vec<f64>,
    /// RMS over the whole note.
    pub rms: f64,
}

/// Analyses a note `x` at `sr` Hz; `prior_hz` is the expected pitch (from a
/// manifest or the file name), if known.
pub fn analyze(x: &[f32], sr: f64, prior_hz: Option<f64>) -> Analysis {
    let peaks = note_peaks(x, sr, PARTIALS);
    let f0_hz = pick_f0(&peaks, prior_hz).unwrap_or(prior_hz.unwrap_or(440.0));
    let top = peaks.first().map_or(0.0, |p| p.db);
    let partials = peaks
        .iter()
        .map(|p| Partial {
            hz: p.hz,
            rel_db: p.db - top,
            decay_rate: decay_rate(x, sr, p.hz),
        })
        .collect();
    let xf: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let frame = (0.01 * sr) as usize;
    let envelope_db = x
        .chunks(frame)
        .map(|c| {
            let e = c.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / c.len() as f64;
            10.0 * (e + 1e-30).log10()
        })
        .collect();
    let rms = (xf.iter().map(|v| v * v).sum::<f64>() / xf.len().max(1) as f64).sqrt();
    Analysis {
        f0_hz,
        partials,
        t60_s: t60(&xf, sr).0,
        envelope_db,
        rms,
    }
}

/// The `n` strongest peaks of the first 0.5 s after the onset of `x`
/// (the metric's analysis; 40 dB floor).
pub fn note_peaks(x: &[f32], sr: f64, n: usize) -> Vec<Peak> {
    let t0 = onset_index(x, -40.0);
    let len = ((PARTIAL_SEGMENT_SECONDS * sr) as usize).min(x.len() - t0.min(x.len()));
    let seg: Vec<f64> = x[t0..t0 + len].iter().map(|&v| v as f64).collect();
    spectral_peaks(&seg, sr, n, Some(PEAK_FLOOR_DB))
}

/// Estimates f0 of a note; with a prior, the peak nearest it (within a
/// semitone and 40 dB of the strongest), else the best harmonic-sieve
/// candidate among the strongest peaks.
pub fn estimate_f0(x: &[f32], sr: f64, prior_hz: Option<f64>) -> Option<f64> {
    pick_f0(&note_peaks(x, sr, 16), prior_hz)
}

fn pick_f0(peaks: &[Peak], prior_hz: Option<f64>) -> Option<f64> {
    if peaks.is_empty() {
        return prior_hz;
    }
    if let Some(prior) = prior_hz {
        let near = peaks
            .iter()
            .map(|p| (p, (1200.0 * (p.hz / prior).log2()).abs()))
            .filter(|(_, c)| *c <= 100.0)
            .min_by(|a, b| a.1.total_cmp(&b.1));
        return Some(near.map_or(prior, |(p, _)| p.hz));
    }
    // Harmonic sieve: each candidate (a peak) scores the amplitude of the
    // peaks that sit within 3% of one of its first 16 harmonics.
    let top = peaks[0].db;
    let amp = |p: &Peak| 10f64.powf((p.db - top) / 20.0);
    let score = |f0: f64| -> f64 {
        peaks
            .iter()
            .filter(|p| {
                let h = (p.hz / f0).round();
                (1.0..=16.0).contains(&h) && (p.hz / (h * f0) - 1.0).abs() < 0.03
            })
            .map(amp)
            .sum()
    };
    peaks
        .iter()
        .map(|p| (p.hz, score(p.hz)))
        // Prefer the lower candidate unless a higher one scores clearly more.
        .fold(None, |best: Option<(f64, f64)>, (f, s)| match best {
            Some((bf, bs)) if s <= bs * 1.05 || (s <= bs * 1.2 && f > bf) => Some((bf, bs)),
            _ => Some((f, s)),
        })
        .map(|(f, _)| f)
}

/// Symmetric 4-term Blackman-Harris window of `n` points (scipy's `blackmanharris`).
pub fn blackman_harris(n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![1.0];
    }
    let (a0, a1, a2, a3) = (0.35875, 0.48829, 0.14128, 0.01168);
    (0..n)
        .map(|i| {
            let t = 2.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64;
            a0 - a1 * t.cos() + a2 * (2.0 * t).cos() - a3 * (3.0 * t).cos()
        })
        .collect()
}

/// The `n` strongest spectral peaks of `seg` (frequency, level), strongest
/// first: a port of the metric's `spectral_peaks`; `floor_db` drops peaks
/// more than that below the strongest.
pub fn spectral_peaks(seg: &[f64], sr: f64, n: usize, floor_db: Option<f64>) -> Vec<Peak> {
    if seg.len() < 16 || seg.iter().all(|&v| v == 0.0) {
        return Vec::new();
    }
    let nfft = PEAK_NFFT.max(seg.len().next_power_of_two());
    let w = blackman_harris(seg.len());
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(nfft);
    let mut buf = fft.make_input_vec();
    for (b, (s, w)) in buf.iter_mut().zip(seg.iter().zip(&w)) {
        *b = s * w;
    }
    let mut spec = fft.make_output_vec();
    fft.process(&mut buf, &mut spec).expect("fft sizes match");
    let db: Vec<f64> = spec
        .iter()
        .map(|c| 20.0 * (c.norm() + 1e-300).log10())
        .collect();
    let df = sr / nfft as f64;
    let lo = (FMIN / df).ceil() as usize;
    let hi = ((FMAX / df) as usize).min(db.len() - 2);
    let region = &db[lo..=hi];
    let distance = ((MIN_SEP_HZ / df) as usize).max(1);
    let mut pk: Vec<usize> = find_peaks(region, distance, PROMINENCE_DB)
        .into_iter()
        .map(|i| i + lo)
        .collect();
    if pk.is_empty() {
        return Vec::new();
    }
    pk.sort_by(|a, b| db[*b].total_cmp(&db[*a]));
    pk.truncate(n);
    if let Some(f) = floor_db {
        let top = db[pk[0]];
        pk.retain(|&i| db[i] >= top - f);
    }
    pk.iter()
        .map(|&i| {
            let (a, b, c) = (db[i - 1], db[i], db[i + 1]);
            let den = a - 2.0 * b + c;
            let p = if den != 0.0 { 0.5 * (a - c) / den } else { 0.0 };
            Peak {
                hz: (i as f64 + p) * df,
                db: b - 0.25 * (a - c) * p,
            }
        })
        .collect()
}

/// scipy.signal.find_peaks(x, distance, prominence) for a 1D signal:
/// local maxima (plateaus at their middle), thinned to `distance` samples
/// (higher peaks first), then kept when their prominence is at least `prominence`.
pub fn find_peaks(x: &[f64], distance: usize, prominence: f64) -> Vec<usize> {
    let n = x.len();
    let mut peaks = Vec::new();
    let mut i = 1;
    while i + 1 < n {
        if x[i - 1] < x[i] {
            let mut ahead = i + 1;
            while ahead + 1 < n && x[ahead] == x[i] {
                ahead += 1;
            }
            if x[ahead] < x[i] {
                let left = i;
                let right = ahead - 1;
                peaks.push((left + right) / 2);
                i = ahead;
            }
        }
        i += 1;
    }
    // Distance: keep higher peaks, drop lower ones closer than `distance`.
    let mut keep = vec![true; peaks.len()];
    let mut order: Vec<usize> = (0..peaks.len()).collect();
    order.sort_by(|&a, &b| x[peaks[a]].total_cmp(&x[peaks[b]]));
    for &j in order.iter().rev() {
        if !keep[j] {
            continue;
        }
        let mut k = j;
        while k > 0 && peaks[j] - peaks[k - 1] < distance {
            keep[k - 1] = false;
            k -= 1;
        }
        let mut k = j + 1;
        while k < peaks.len() && peaks[k] - peaks[j] < distance {
            keep[k] = false;
            k += 1;
        }
    }
    peaks
        .into_iter()
        .zip(keep)
        .filter(|&(_, k)| k)
        .map(|(p, _)| p)
        .filter(|&p| {
            let h = x[p];
            let mut lmin = h;
            let mut i = p;
            while i > 0 && x[i - 1] <= h {
                i -= 1;
                lmin = lmin.min(x[i]);
            }
            let mut rmin = h;
            let mut i = p;
            while i + 1 < n && x[i + 1] <= h {
                i += 1;
                rmin = rmin.min(x[i]);
            }
            h - lmin.max(rmin) >= prominence
        })
        .collect()
}

/// Amplitude decay rate (1/s) of the partial near `hz`: a line through its
/// dB level in 4096-point frames (hop 1024) over the first second after the
/// onset, from its loudest frame until it falls 50 dB.
pub fn decay_rate(x: &[f32], sr: f64, hz: f64) -> Option<f64> {
    let n = 4096;
    let hop = 1024;
    let t0 = onset_index(x, -40.0);
    let end = (t0 + (DECAY_WINDOW_SECONDS * sr) as usize).min(x.len());
    if end < t0 + n + 3 * hop {
        return None;
    }
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(n);
    let w = hann_periodic(n);
    let bin = hz * n as f64 / sr;
    let (b0, b1) = (
        (bin - 2.0).floor().max(0.0) as usize,
        ((bin + 2.0).ceil() as usize).min(n / 2),
    );
    let mut buf = fft.make_input_vec();
    let mut spec = fft.make_output_vec();
    let mut levels = Vec::new();
    let mut pos = t0;
    while pos + n <= end {
        for (b, (s, w)) in buf.iter_mut().zip(x[pos..pos + n].iter().zip(&w)) {
            *b = *s as f64 * w;
        }
        fft.process(&mut buf, &mut spec).expect("fft sizes match");
        let m = spec[b0..=b1].iter().map(|c| c.norm()).fold(0.0, f64::max);
        levels.push(((pos + n / 2 - t0) as f64 / sr, 20.0 * (m + 1e-30).log10()));
        pos += hop;
    }
    let (kpk, &(_, lpk)) = levels
        .iter()
        .enumerate()
        .max_by(|a, b| a.1 .1.total_cmp(&b.1 .1))?;
    let pts: Vec<(f64, f64)> = levels[kpk..]
        .iter()
        .copied()
        .take_while(|&(_, l)| l > lpk - 50.0)
        .collect();
    if pts.len() < 4 {
        return None;
    }
    let slope = line_slope(&pts);
    Some((-slope * std::f64::consts::LN_10 / 20.0).max(0.0))
}

/// Least-squares slope of points (t, y).
pub(crate) fn line_slope(pts: &[(f64, f64)]) -> f64 {
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx > 0.0 {
        sxy / sxx
    } else {
        0.0
    }
}

/// Cap on T60, seconds (as the metric).
pub const T60_CAP_SECONDS: f64 = 100.0;

/// T60 of the broadband energy envelope and the dB range fitted: a port of
/// the metric's `t60` (20 ms frames, 10 ms hop, 90 ms smoothing, fit from
/// 5 dB to 35 dB below the peak or to the end).
pub fn t60(x: &[f64], sr: f64) -> (f64, f64) {
    let (f, h, smooth) = ((0.020 * sr) as usize, (0.010 * sr) as usize, 9usize);
    if x.len() < f + 3 * h || x.iter().all(|&v| v == 0.0) {
        return (f64::NAN, 0.0);
    }
    let frames = (x.len() - f) / h + 1;
    let e: Vec<f64> = (0..frames)
        .map(|i| x[i * h..i * h + f].iter().map(|v| v * v).sum::<f64>() / f as f64)
        .collect();
    // np.convolve(E, ones(9)/9, mode="same")
    let half = smooth / 2;
    let ls: Vec<f64> = (0..frames)
        .map(|i| {
            let lo = i.saturating_sub(half);
            let hi = (i + half).min(frames - 1);
            let s: f64 = e[lo..=hi].iter().sum::<f64>() / smooth as f64;
            10.0 * (s + 1e-30).log10()
        })
        .collect();
    let emax = e.iter().cloned().fold(0.0, f64::max);
    let last_active = e.iter().rposition(|&v| v > emax * 1e-10).unwrap_or(0) as isize;
    let n_use =
        (frames as isize - (0.050f64 / 0.010).ceil() as isize).min(last_active - half as isize + 1);
    if n_use < 4 {
        return (f64::NAN, 0.0);
    }
    let n_use = n_use as usize;
    let kpk = (0..n_use)
        .max_by(|&a, &b| ls[a].total_cmp(&ls[b]))
        .unwrap_or(0);
    let lp = ls[kpk];
    let after = &ls[kpk..n_use];
    let start0 = kpk + after.iter().position(|&v| v <= lp - 5.0).unwrap_or(0);
    let end = after
        .iter()
        .position(|&v| v <= lp - 35.0)
        .map_or(n_use - 1, |p| kpk + p);
    let mut start = start0;
    if end < start + 3 {
        start = kpk;
    }
    if end < start + 3 {
        return (T60_CAP_SECONDS, 0.0);
    }
    let pts: Vec<(f64, f64)> = (start..=end).map(|i| (i as f64 * 0.010, ls[i])).collect();
    let slope = line_slope(&pts);
    let range = ls[start] - ls[end];
    if slope >= -60.0 / T60_CAP_SECONDS {
        return (T60_CAP_SECONDS, range);
    }
    (-60.0 / slope, range)
}

/// Index of the first sample at or above `rel_db` dB re the peak (0 for silence).
pub fn onset_index(x: &[f32], rel_db: f64) -> usize {
    let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if peak <= 0.0 {
        return 0;
    }
    let thr = peak * 10f32.powf(rel_db as f32 / 20.0);
    x.iter().position(|v| v.abs() >= thr).unwrap_or(0)
}

/// Periodic Hann window of `n` points.
pub fn hann_periodic(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos())
        .collect()
}
