//! The training loss and its gradient with respect to the rendered signal,
//! plus Rust ports of the evaluation metrics used in training reports.
//!
//! The loss is the metric's (`shared/eval/metrics.py`):
//!
//! - **multi-resolution STFT**: for each FFT size (256…4096, hop = size/4,
//!   periodic Hann, centred with reflect padding, `|X| = √max(|X|², 1e-8)`)
//!   spectral convergence `‖|Y|−|X|‖_F / ‖|Y|‖_F` plus log-magnitude L1
//!   `mean |ln|Y| − ln|X||`, averaged over the sizes;
//! - **log-mel L1**: 128 Slaney mel bands of the 2048-point power spectrum
//!   (hop 256), in dB, both floored 80 dB below the target's maximum,
//!   mean absolute difference; weighted by [`LossConfig::mel_weight`].
//!
//! [`SpectralLoss::value_and_grad`] returns the analytic `dL/dy` (the
//! adjoint pass needs it): the chain rule through the magnitudes, the
//! mel bank and the FFT, whose adjoint is an inverse real FFT, then the
//! window, the frame overlap and the reflect padding folded back.
//! [`LossConfig::coarse_to_fine`] gives the schedule: long FFTs first (pitch
//! and envelope), all resolutions last.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use super::analysis;

/// FFT sizes of the multi-resolution STFT (as the metric).
pub const FFT_SIZES: [usize; 5] = [256, 512, 1024, 2048, 4096];
/// Floor of the squared magnitude (as the metric).
pub const STFT_EPS: f64 = 1e-8;
/// Mel bands.
pub const N_MELS: usize = 128;
/// FFT size of the mel spectrogram.
pub const MEL_NFFT: usize = 2048;
/// Hop of the mel spectrogram.
pub const MEL_HOP: usize = 256;
/// Dynamic range of the mel comparison, dB.
pub const TOP_DB: f64 = 80.0;
/// Sample rate of every signal here.
pub const SR: f64 = 48_000.0;

/// Periodic Hann window of `n` points (it lives in [`analysis`]).
pub use super::analysis::hann_periodic;

/// A short-time Fourier transform (torch `center=True`, reflect padding,
/// periodic Hann) and its adjoint.
pub struct Stft {
    n: usize,
    hop: usize,
    window: Vec<f64>,
    fwd: Arc<dyn RealToComplex<f64>>,
    inv: Arc<dyn ComplexToReal<f64>>,
}

impl Stft {
    /// An STFT of size `n` and hop `hop`.
    pub fn new(n: usize, hop: usize) -> Self {
        let mut planner = RealFftPlanner::<f64>::new();
        Self {
            n,
            hop,
            window: hann_periodic(n),
            fwd: planner.plan_fft_forward(n),
            inv: planner.plan_fft_inverse(n),
        }
    }

    /// Frames of a signal of `len` samples.
    pub fn frames(&self, len: usize) -> usize {
        len / self.hop + 1
    }

    /// Bins per frame.
    pub fn bins(&self) -> usize {
        self.n / 2 + 1
    }

    /// The sample of `x` (length `len`) at padded position `j`, if any.
    fn source(&self, len: usize, j: usize) -> Option<usize> {
        let pad = self.n / 2;
        let i = j as isize - pad as isize;
        if len > pad {
            let last = len as isize - 1;
            Some(if i < 0 {
                -i
            } else if i > last {
                2 * last - i
            } else {
                i
            } as usize)
        } else {
            (0..len as isize).contains(&i).then_some(i as usize)
        }
    }

    /// The spectrogram, `frames × bins`, row-major.
    pub fn forward(&self, x: &[f64]) -> Vec<Complex<f64>> {
        let (frames, bins) = (self.frames(x.len()), self.bins());
        let mut out = vec![Complex::new(0.0, 0.0); frames * bins];
        let mut buf = self.fwd.make_input_vec();
        let mut scratch = self.fwd.make_scratch_vec();
        for f in 0..frames {
            for (t, b) in buf.iter_mut().enumerate() {
                *b = self
                    .source(x.len(), f * self.hop + t)
                    .map_or(0.0, |i| x[i] * self.window[t]);
            }
            self.fwd
                .process_with_scratch(&mut buf, &mut out[f * bins..(f + 1) * bins], &mut scratch)
                .expect("fft sizes match");
        }
        out
    }

    /// The adjoint: given `g = dL/dRe X + i·dL/dIm X` per bin (`frames × bins`),
    /// returns `dL/dx` for a signal of `len` samples.
    pub fn adjoint(&self, g: &[Complex<f64>], len: usize) -> Vec<f64> {
        let bins = self.bins();
        let mut grad = vec![0.0; len];
        let mut spec = self.inv.make_input_vec();
        let mut buf = self.inv.make_output_vec();
        let mut scratch = self.inv.make_scratch_vec();
        for (f, gf) in g.chunks_exact(bins).enumerate() {
            for (k, (s, gk)) in spec.iter_mut().zip(gf).enumerate() {
                *s = if k == 0 || k == bins - 1 {
                    Complex::new(gk.re, 0.0)
                } else {
                    0.5 * gk
                };
            }
            self.inv
                .process_with_scratch(&mut spec, &mut buf, &mut scratch)
                .expect("fft sizes match");
            for (t, v) in buf.iter().enumerate() {
                if let Some(i) = self.source(len, f * self.hop + t) {
                    grad[i] += v * self.window[t];
                }
            }
        }
        grad
    }
}

fn hz_to_mel(f: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let logstep = 6.4f64.ln() / 27.0;
    if f >= min_log_hz {
        min_log_hz / f_sp + (f.max(1e-10) / min_log_hz).ln() / logstep
    } else {
        f / f_sp
    }
}

fn mel_to_hz(m: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if m >= min_log_mel {
        min_log_hz * (logstep * (m - min_log_mel)).exp()
    } else {
        f_sp * m
    }
}

/// A Slaney mel filterbank (librosa's default), stored as sparse rows.
pub struct MelBank {
    /// Per band: first bin and weights.
    rows: Vec<(usize, Vec<f64>)>,
}

impl MelBank {
    /// The metric's bank: 128 bands, 0–24 kHz, for a 2048-point FFT at 48 kHz.
    pub fn new(sr: f64, n_fft: usize, n_mels: usize) -> Self {
        let nb = n_fft / 2 + 1;
        let fft_f: Vec<f64> = (0..nb)
            .map(|i| i as f64 * (sr / 2.0) / (nb - 1) as f64)
            .collect();
        let (m0, m1) = (hz_to_mel(0.0), hz_to_mel(sr / 2.0));
        let mel_f: Vec<f64> = (0..n_mels + 2)
            .map(|i| mel_to_hz(m0 + (m1 - m0) * i as f64 / (n_mels + 1) as f64))
            .collect();
        let rows = (0..n_mels)
            .map(|m| {
                let enorm = 2.0 / (mel_f[m + 2] - mel_f[m]);
                let w: Vec<f64> = fft_f
                    .iter()
                    .map(|&f| {
                        let lower = (f - mel_f[m]) / (mel_f[m + 1] - mel_f[m]);
                        let upper = (mel_f[m + 2] - f) / (mel_f[m + 2] - mel_f[m + 1]);
                        lower.min(upper).max(0.0) * enorm
                    })
                    .collect();
                let first = w.iter().position(|&v| v > 0.0).unwrap_or(0);
                let last = w.iter().rposition(|&v| v > 0.0).unwrap_or(0);
                (first, w[first..=last.max(first)].to_vec())
            })
            .collect();
        Self { rows }
    }

    /// Mel power of one frame's power spectrum.
    fn apply(&self, power: &[f64], out: &mut [f64]) {
        for (o, (first, w)) in out.iter_mut().zip(&self.rows) {
            *o = w.iter().zip(&power[*first..]).map(|(a, b)| a * b).sum();
        }
    }
}

/// Log-mel spectrogram (dB, `frames × 128`) and the complex STFT it came from.
fn logmel(stft: &Stft, bank: &MelBank, x: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<Complex<f64>>) {
    let s = stft.forward(x);
    let bins = stft.bins();
    let frames = s.len() / bins;
    let mut mel = vec![0.0; frames * N_MELS];
    let mut power = vec![0.0; bins];
    for f in 0..frames {
        for (p, c) in power.iter_mut().zip(&s[f * bins..(f + 1) * bins]) {
            *p = c.norm_sqr();
        }
        bank.apply(&power, &mut mel[f * N_MELS..(f + 1) * N_MELS]);
    }
    let db = mel.iter().map(|&m| 10.0 * m.max(1e-20).log10()).collect();
    (db, mel, s)
}

/// The metric's log-mel spectrogram of `x` (dB): `(frames, frames × 128 values)`.
pub fn logmel_db(x: &[f64]) -> (usize, Vec<f64>) {
    let st = Stft::new(MEL_NFFT, MEL_HOP);
    let (db, _, _) = logmel(&st, &MelBank::new(SR, MEL_NFFT, N_MELS), x);
    (db.len() / N_MELS, db)
}

/// Weights and resolutions of the loss.
#[derive(Clone, Debug, PartialEq)]
pub struct LossConfig {
    /// FFT sizes of the multi-resolution STFT term.
    pub fft_sizes: Vec<usize>,
    /// Weight of the log-mel term (in dB) against the MR-STFT term.
    pub mel_weight: f64,
}

impl Default for LossConfig {
    /// The metric's five resolutions; log-mel dB weighted 0.3 (the metric the
    /// corpus is judged by; both terms then weigh about the same).
    fn default() -> Self {
        Self {
            fft_sizes: FFT_SIZES.to_vec(),
            mel_weight: 0.3,
        }
    }
}

impl LossConfig {
    /// Coarse-to-fine schedule: stage 0 uses the two longest FFTs (pitch and
    /// the spectral envelope), stage 1 adds 1024, stage 2 and later all sizes.
    pub fn coarse_to_fine(stage: usize) -> Self {
        let keep = match stage {
            0 => 2,
            1 => 3,
            _ => FFT_SIZES.len(),
        };
        Self {
            fft_sizes: FFT_SIZES[FFT_SIZES.len() - keep..].to_vec(),
            ..Self::default()
        }
    }
}

/// The loss of one rendering, by term.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct LossValue {
    /// `mrstft + mel_weight · logmel_db`.
    pub total: f64,
    /// Multi-resolution STFT distance (mean over the configured sizes).
    pub mrstft: f64,
    /// Log-mel L1, dB.
    pub logmel_db: f64,
}

/// The spectral distance to one target, with cached target spectra.
pub struct SpectralLoss {
    cfg: LossConfig,
    len: usize,
    res: Vec<(Stft, Vec<f64>, f64)>,
    mel_stft: Stft,
    mel_bank: MelBank,
    mel_target: Vec<f64>,
    mel_floor: f64,
}

impl SpectralLoss {
    /// The loss against `target` (48 kHz mono); candidates are cut or
    /// zero-padded to its length.
    pub fn new(target: &[f64], cfg: LossConfig) -> Self {
        let res = cfg
            .fft_sizes
            .iter()
            .map(|&n| {
                let st = Stft::new(n, n / 4);
                let mag: Vec<f64> = st
                    .forward(target)
                    .iter()
                    .map(|c| c.norm_sqr().max(STFT_EPS).sqrt())
                    .collect();
                let norm = mag.iter().map(|v| v * v).sum::<f64>().sqrt();
                (st, mag, norm)
            })
            .collect();
        let mel_stft = Stft::new(MEL_NFFT, MEL_HOP);
        let mel_bank = MelBank::new(SR, MEL_NFFT, N_MELS);
        let (db, _, _) = logmel(&mel_stft, &mel_bank, target);
        let max = db.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let mel_floor = max - TOP_DB;
        let mel_target = db.iter().map(|&v| v.max(mel_floor)).collect();
        Self {
            cfg,
            len: target.len(),
            res,
            mel_stft,
            mel_bank,
            mel_target,
            mel_floor,
        }
    }

    /// Target length in samples.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for an empty target.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The loss of candidate `y`.
    pub fn value(&self, y: &[f64]) -> LossValue {
        self.eval(y, false).0
    }

    /// The loss of `y` and its gradient `dL/dy` (same length as `y`; zero
    /// beyond the target's length).
    pub fn value_and_grad(&self, y: &[f64]) -> (LossValue, Vec<f64>) {
        let (v, g) = self.eval(y, true);
        let mut g = g.expect("gradient requested");
        g.resize(y.len(), 0.0);
        (v, g)
    }

    fn eval(&self, y: &[f64], want_grad: bool) -> (LossValue, Option<Vec<f64>>) {
        let mut x = y[..y.len().min(self.len)].to_vec();
        x.resize(self.len, 0.0);
        let mut grad = want_grad.then(|| vec![0.0; self.len]);
        let nres = self.res.len() as f64;
        let mut mr = 0.0;
        for (st, ymag, ynorm) in &self.res {
            let s = st.forward(&x);
            let xmag: Vec<f64> = s
                .iter()
                .map(|c| c.norm_sqr().max(STFT_EPS).sqrt())
                .collect();
            let diff = ymag
                .iter()
                .zip(&xmag)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                .sqrt();
            let sc = diff / ynorm;
            let count = xmag.len() as f64;
            let lm = ymag
                .iter()
                .zip(&xmag)
                .map(|(a, b)| (a.ln() - b.ln()).abs())
                .sum::<f64>()
                / count;
            mr += (sc + lm) / nres;
            if let Some(g) = grad.as_mut() {
                // dL/d|X| per bin, then through |X| = √max(P, eps).
                let gs: Vec<Complex<f64>> = s
                    .iter()
                    .zip(ymag.iter().zip(&xmag))
                    .map(|(c, (&ym, &xm))| {
                        if c.norm_sqr() <= STFT_EPS {
                            return Complex::new(0.0, 0.0);
                        }
                        let d_sc = if diff > 0.0 {
                            (xm - ym) / (diff * ynorm)
                        } else {
                            0.0
                        };
                        let d_lm = sign(xm.ln() - ym.ln()) / (count * xm);
                        let d_mag = (d_sc + d_lm) / nres;
                        *c * (d_mag / xm)
                    })
                    .collect();
                for (a, b) in g.iter_mut().zip(st.adjoint(&gs, self.len)) {
                    *a += b;
                }
            }
        }
        let (db, mel, s) = logmel(&self.mel_stft, &self.mel_bank, &x);
        let count = db.len() as f64;
        let mut mel_l1 = 0.0;
        let mut d_mel = want_grad.then(|| vec![0.0; mel.len()]);
        for (i, (&c, &t)) in db.iter().zip(&self.mel_target).enumerate() {
            let cc = c.max(self.mel_floor);
            mel_l1 += (t - cc).abs();
            if let Some(dm) = d_mel.as_mut() {
                if c > self.mel_floor && mel[i] > 1e-20 {
                    dm[i] = self.cfg.mel_weight * sign(cc - t) / count * 10.0
                        / (std::f64::consts::LN_10 * mel[i]);
                }
            }
        }
        mel_l1 /= count;
        if let (Some(g), Some(dm)) = (grad.as_mut(), d_mel) {
            let bins = self.mel_stft.bins();
            let mut gs = vec![Complex::new(0.0, 0.0); s.len()];
            let mut dpow = vec![0.0; bins];
            for (f, dmf) in dm.chunks_exact(N_MELS).enumerate() {
                dpow.iter_mut().for_each(|v| *v = 0.0);
                for (&d, (first, w)) in dmf.iter().zip(&self.mel_bank.rows) {
                    if d != 0.0 {
                        for (p, wk) in dpow[*first..].iter_mut().zip(w) {
                            *p += d * wk;
                        }
                    }
                }
                for k in 0..bins {
                    gs[f * bins + k] = s[f * bins + k] * (2.0 * dpow[k]);
                }
            }
            for (a, b) in g.iter_mut().zip(self.mel_stft.adjoint(&gs, self.len)) {
                *a += b;
            }
        }
        let v = LossValue {
            total: mr + self.cfg.mel_weight * mel_l1,
            mrstft: mr,
            logmel_db: mel_l1,
        };
        (v, grad)
    }
}

fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Metrics of a candidate against a target, as `shared/eval/metrics.py`
/// computes them (see [`compare`] for the differences).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Metrics {
    /// Onset shift applied to the candidate, ms (positive: it was late).
    pub align_shift_ms: f64,
    /// Candidate energy over target energy, dB.
    pub level_diff_db: f64,
    /// Multi-resolution STFT distance (all five sizes).
    pub mrstft: f64,
    /// Its spectral-convergence part.
    pub mrstft_sc: f64,
    /// Its log-magnitude part.
    pub mrstft_logmag: f64,
    /// Log-mel L1, dB.
    pub logmel_l1_db: f64,
    /// Median cents error of the target's 8 strongest partials.
    pub partials_cents: Option<f64>,
    /// Share of them within 50 cents.
    pub partials_match_frac: Option<f64>,
    /// How many target partials were found.
    pub partials_n: usize,
    /// Target T60, s.
    pub t60_target_s: f64,
    /// Candidate T60, s.
    pub t60_candidate_s: f64,
    /// Candidate / target T60.
    pub t60_ratio: f64,
}

/// Median cents error of the target's 8 strongest partials against the
/// candidate's 16 strongest (first 0.5 s after the target's onset, 40 dB
/// floors), and the share within 50 cents; `None` when the target has no partial.
pub fn partials_cents(target: &[f64], cand: &[f64]) -> (Option<f64>, Option<f64>, usize) {
    let tf: Vec<f32> = target.iter().map(|&v| v as f32).collect();
    let t0 = analysis::onset_index(&tf, -40.0);
    let n = (analysis::PARTIAL_SEGMENT_SECONDS * SR) as usize;
    let seg = |x: &[f64]| x[t0.min(x.len())..(t0 + n).min(x.len())].to_vec();
    let ft = analysis::spectral_peaks(&seg(target), SR, 8, Some(analysis::PEAK_FLOOR_DB));
    let fc = analysis::spectral_peaks(&seg(cand), SR, 16, Some(analysis::PEAK_FLOOR_DB));
    if ft.is_empty() {
        return (None, None, 0);
    }
    let mut errs: Vec<f64> = ft
        .iter()
        .map(|t| {
            fc.iter()
                .map(|c| (1200.0 * (c.hz / t.hz).log2()).abs())
                .fold(4800.0, f64::min)
        })
        .collect();
    let within = errs.iter().filter(|&&e| e <= 50.0).count() as f64 / errs.len() as f64;
    errs.sort_by(f64::total_cmp);
    let m = errs.len();
    let median = if m % 2 == 1 {
        errs[m / 2]
    } else {
        0.5 * (errs[m / 2 - 1] + errs[m / 2])
    };
    (Some(median), Some(within), m)
}

/// All report metrics of `cand` against `target` (48 kHz mono). As the
/// metric: the candidate's onset is moved onto the target's, it is cut or
/// zero-padded to the target's length and rounded to the 16-bit grid; no
/// gain is applied. Unlike the metric, there is no ±20 ms cross-correlation
/// refinement of the alignment (renders start at a known onset).
pub fn compare(target: &[f64], cand: &[f64]) -> Metrics {
    let on = |x: &[f64]| {
        let f: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        analysis::onset_index(&f, -40.0) as isize
    };
    let shift = on(cand) - on(target);
    let c: Vec<f64> = (0..target.len() as isize)
        .map(|i| {
            let j = i + shift;
            if j >= 0 && (j as usize) < cand.len() {
                (cand[j as usize] * 32768.0).round() / 32768.0
            } else {
                0.0
            }
        })
        .collect();
    let et: f64 = target.iter().map(|v| v * v).sum();
    let ec: f64 = c.iter().map(|v| v * v).sum();
    let level_diff_db = if et > 0.0 && ec > 0.0 {
        10.0 * (ec / et).log10()
    } else {
        f64::NEG_INFINITY
    };
    let loss = SpectralLoss::new(target, LossConfig::default());
    let v = loss.value(&c);
    // The SC and log-magnitude parts, separately.
    let (mut sc, mut lm) = (0.0, 0.0);
    for (st, ymag, ynorm) in &loss.res {
        let xmag: Vec<f64> = st
            .forward(&c)
            .iter()
            .map(|z| z.norm_sqr().max(STFT_EPS).sqrt())
            .collect();
        let d = ymag
            .iter()
            .zip(&xmag)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            .sqrt();
        sc += d / ynorm / loss.res.len() as f64;
        lm += ymag
            .iter()
            .zip(&xmag)
            .map(|(a, b)| (a.ln() - b.ln()).abs())
            .sum::<f64>()
            / xmag.len() as f64
            / loss.res.len() as f64;
    }
    let (pc, pm, pn) = partials_cents(target, &c);
    let (tt, _) = analysis::t60(target, SR);
    let (tc, _) = analysis::t60(&c, SR);
    Metrics {
        align_shift_ms: 1000.0 * shift as f64 / SR,
        level_diff_db,
        mrstft: v.mrstft,
        mrstft_sc: sc,
        mrstft_logmag: lm,
        logmel_l1_db: v.logmel_db,
        partials_cents: pc,
        partials_match_frac: pm,
        partials_n: pn,
        t60_target_s: tt,
        t60_candidate_s: tc,
        t60_ratio: if tt > 0.0 { tc / tt } else { f64::NAN },
    }
}
