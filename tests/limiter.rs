//! The master limiter: no output sample above the ceiling (−0.3 dBFS), a
//! 4× oversampled reconstruction of the output within a stated tolerance of
//! it, bit-exact transparency below it, no pumping on a steady tone, and
//! recovery within the stated release time.
//!
//! `cargo test --test limiter -- --nocapture` prints the measured figures.

use neirosynth::master::limiter::{Limiter, CEILING, HOLD_S, LOOKAHEAD_S, RELEASE_S};

const RATE: f64 = 48000.0;
/// Tolerance of the oversampled (true) peak over the ceiling, dB: the
/// detector's interpolator is flat to 0.45 fs; abrupt onsets and ends
/// (broadband) take the rest.
const TRUE_PEAK_TOLERANCE_DB: f64 = 0.2;
/// The tolerance for full-band white noise (a quarter of its power lies
/// above 0.4 fs, where the detector reads low): the method's stated limit.
const FULL_BAND_TOLERANCE_DB: f64 = 0.7;

/// Runs a mono signal through both channels in blocks of 256 frames.
fn run(lim: &mut Limiter, x: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len());
    for chunk in x.chunks(256) {
        let (mut l, mut r) = (chunk.to_vec(), chunk.to_vec());
        lim.process(&mut l, &mut r);
        assert_eq!(l, r, "stereo-linked, same input: same output");
        out.extend_from_slice(&l);
    }
    out
}

/// The 4× oversampled peak of `x` (a 256-tap-per-phase Kaiser-windowed
/// sinc, a reference far finer than the limiter's detector).
fn true_peak(x: &[f32]) -> f64 {
    const HALF: i64 = 128;
    let mut peak = x.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64));
    let i0 = |v: f64| {
        let (mut s, mut t) = (1.0, 1.0);
        for k in 1..60 {
            t *= (v / (2.0 * k as f64)).powi(2);
            s += t;
        }
        s
    };
    let beta = 10.0;
    for frac in [0.25, 0.5, 0.75] {
        let taps: Vec<f64> = (-HALF + 1..=HALF)
            .map(|k| {
                let d = k as f64 - frac;
                let sinc = (std::f64::consts::PI * d).sin() / (std::f64::consts::PI * d);
                let w = d / HALF as f64;
                sinc * i0(beta * (1.0 - w * w).max(0.0).sqrt()) / i0(beta)
            })
            .collect();
        for n in 0..x.len() as i64 {
            let mut acc = 0.0f64;
            for (j, k) in (-HALF + 1..=HALF).enumerate() {
                let idx = n + k;
                if idx >= 0 && (idx as usize) < x.len() {
                    acc += taps[j] * x[idx as usize] as f64;
                }
            }
            peak = peak.max(acc.abs());
        }
    }
    peak
}

fn db(x: f64) -> f64 {
    20.0 * x.log10()
}

fn sine(freq: f64, amp: f64, n: usize, phase: f64) -> Vec<f32> {
    (0..n)
        .map(|i| (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / RATE + phase).sin()) as f32)
        .collect()
}

/// Loud signals of every kind: no sample over the ceiling, and the
/// oversampled peak within the tolerance.
#[test]
fn nothing_passes_the_ceiling() {
    let n = 24000;
    let plus12 = 10f64.powf(12.0 / 20.0);
    let mut cases: Vec<(String, Vec<f32>)> = Vec::new();
    for f in [50.0, 440.0, 3000.0, 11000.0, 0.99 * RATE / 4.0, 19000.0] {
        cases.push((format!("+12 dBFS sine {f:.0} Hz"), sine(f, plus12, n, 0.3)));
    }
    // fs/4 at 45°: every sample at 0.707 of the peak (the classic
    // inter-sample peak).
    cases.push((
        "fs/4 sine at 45°, peak +6 dBFS".into(),
        sine(RATE / 4.0, 2.0, n, std::f64::consts::FRAC_PI_4),
    ));
    let square = |period: usize| -> Vec<f32> {
        (0..n)
            .map(|i| {
                if (i / (period / 2)).is_multiple_of(2) {
                    1.0
                } else {
                    -1.0
                }
            })
            .collect()
    };
    cases.push(("full-scale square 100 Hz".into(), square(480)));
    cases.push(("full-scale square 2.4 kHz".into(), square(20)));
    let mut imp = vec![0.0f32; n];
    for i in (1000..n).step_by(3001) {
        imp[i] = if i % 2 == 0 { 4.0 } else { -4.0 };
    }
    cases.push(("impulses ±4".into(), imp));
    let mut burst = vec![0.0f32; n];
    burst[5000..5100].copy_from_slice(&sine(1000.0, 8.0, 100, 0.0));
    cases.push(("100-sample burst +18 dBFS".into(), burst));
    let mut lcg = 12345u32;
    let noise: Vec<f32> = (0..n)
        .map(|_| {
            lcg = lcg.wrapping_mul(1664525).wrapping_add(1013904223);
            3.0 * ((lcg >> 8) as f32 / (1u32 << 24) as f32 - 0.5)
        })
        .collect();
    cases.push(("white noise ±1.5".into(), noise));
    let mut failures = Vec::new();
    let mut worst_sample = 0.0f64;
    let mut worst_tp = 0.0f64;
    for (name, x) in &mut cases {
        // Flushed with silence, so the output's end is heard too.
        x.extend(std::iter::repeat_n(0.0, 2048));
        let mut lim = Limiter::new(RATE);
        let y = run(&mut lim, x);
        let sp = y.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64));
        let tp = true_peak(&y);
        println!(
            "{name:32} max sample {sp:.5} ({:+.3} dBFS), 4x true peak {tp:.5} ({:+.3} dBFS)",
            db(sp),
            db(tp)
        );
        assert!(y.iter().all(|v| v.is_finite()));
        if sp > CEILING as f64 {
            failures.push(format!("{name}: sample peak {sp}"));
        }
        let tol = if name.starts_with("white noise") {
            FULL_BAND_TOLERANCE_DB
        } else {
            TRUE_PEAK_TOLERANCE_DB
        };
        if db(tp) > db(CEILING as f64) + tol {
            failures.push(format!("{name}: true peak {:.3} dBFS", db(tp)));
        }
        worst_sample = worst_sample.max(sp);
        worst_tp = worst_tp.max(tp);
    }
    println!(
        "worst: sample {worst_sample:.5} ({:+.3} dBFS), true peak {:+.3} dBFS (ceiling {:+.3}, tolerance {TRUE_PEAK_TOLERANCE_DB} dB)",
        db(worst_sample),
        db(worst_tp),
        db(CEILING as f64)
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A −12 dBFS signal passes bit for bit, delayed by the latency (and the
/// latency is the stated look-ahead, 1.5–2 ms).
#[test]
fn quiet_signal_is_bit_exact() {
    let mut lim = Limiter::new(RATE);
    let lat = lim.latency();
    assert!((lat as f64) >= LOOKAHEAD_S * RATE && (lat as f64) <= 0.002 * RATE);
    let amp = 10f64.powf(-12.0 / 20.0);
    let mut x = sine(997.0, amp, 48000, 0.1);
    // Plus a −12 dBFS spike.
    x[20000] = amp as f32;
    let y = run(&mut lim, &x);
    assert!(y[..lat].iter().all(|v| *v == 0.0));
    assert_eq!(&y[lat..], &x[..x.len() - lat]);
    assert_eq!(lim.gain(), 1.0);
    assert_eq!(lim.take_peak_reduction_db(), 0.0);
    println!(
        "latency {lat} frames = {:.3} ms",
        lat as f64 / RATE * 1000.0
    );
}

/// The gain on a steady loud tone, after settling, ripples less than 0.1 dB
/// (no pumping), at low and high pitches.
#[test]
fn steady_tone_does_not_pump() {
    for f in [30.0, 55.0, 110.0, 440.0, 3000.0] {
        let mut lim = Limiter::new(RATE);
        let x = sine(f, 2.0, 96000, 0.0);
        let mut gains = Vec::new();
        for chunk in x.chunks(64) {
            let (mut l, mut r) = (chunk.to_vec(), chunk.to_vec());
            lim.process(&mut l, &mut r);
            gains.push(lim.gain());
        }
        let settled = &gains[gains.len() / 4..];
        let lo = settled.iter().fold(f32::MAX, |m, g| m.min(*g)) as f64;
        let hi = settled.iter().fold(0.0f32, |m, g| m.max(*g)) as f64;
        let ripple = db(hi) - db(lo);
        println!(
            "{f:6.0} Hz at +6 dBFS: gain {:.3} dB, ripple {ripple:.5} dB",
            db(lo)
        );
        assert!(ripple < 0.1, "{f} Hz: ripple {ripple} dB");
    }
}

/// After a loud passage the gain is back within 0.1 dB of unity within the
/// stated hold + release time, from any depth.
#[test]
fn release_recovers_in_time() {
    for level_db in [3.0, 12.0, 30.0] {
        let mut lim = Limiter::new(RATE);
        let amp = 10f64.powf(level_db / 20.0);
        let mut x = sine(1000.0, amp, 24000, 0.0);
        let loud_end = x.len();
        x.extend(sine(1000.0, 0.1, 48000, 0.0));
        let lat = lim.latency();
        let mut gains = Vec::with_capacity(x.len());
        for v in &x {
            let (mut l, mut r) = ([*v], [*v]);
            lim.process(&mut l, &mut r);
            gains.push(lim.gain() as f64);
        }
        // The last loud frame comes out at loud_end − 1 + lat.
        let last_out = loud_end - 1 + lat;
        let within = gains
            .iter()
            .enumerate()
            .skip(last_out)
            .find(|(_, g)| db(**g) > -0.1)
            .map(|(i, _)| i - last_out)
            .expect("recovers");
        let t = within as f64 / RATE;
        let unity = gains
            .iter()
            .enumerate()
            .skip(last_out)
            .find(|(_, g)| **g == 1.0)
            .map(|(i, _)| (i - last_out) as f64 / RATE);
        println!(
            "from {level_db:+} dBFS: within 0.1 dB after {:.1} ms (stated ≤ {:.1} ms), exactly 1 after {:.1} ms",
            t * 1000.0,
            (HOLD_S + RELEASE_S) * 1000.0,
            unity.unwrap_or(f64::NAN) * 1000.0
        );
        assert!(t <= HOLD_S + RELEASE_S, "{level_db} dB: {t} s");
        assert!(unity.is_some(), "back to exactly unity");
    }
}

/// Non-finite input comes out as silence, never as NaN.
#[test]
fn non_finite_input_is_silenced() {
    let mut lim = Limiter::new(RATE);
    let mut x = vec![0.5f32; 1000];
    x[100] = f32::NAN;
    x[200] = f32::INFINITY;
    let y = run(&mut lim, &x);
    assert!(y.iter().all(|v| v.is_finite() && v.abs() <= CEILING));
}

/// The cost of a 256-frame block (printed; checked only loosely).
#[test]
fn cost_per_block() {
    let mut lim = Limiter::new(RATE);
    let x = sine(440.0, 2.0, 256, 0.0);
    let (mut l, mut r) = (x.clone(), x.clone());
    let blocks = 2000;
    let t0 = std::time::Instant::now();
    for _ in 0..blocks {
        l.copy_from_slice(&x);
        r.copy_from_slice(&x);
        lim.process(&mut l, &mut r);
    }
    let per = t0.elapsed().as_secs_f64() / blocks as f64;
    println!(
        "{:.1} µs per 256-frame stereo block ({:.2}% of its 5.33 ms)",
        per * 1e6,
        per / (256.0 / RATE) * 100.0
    );
}
