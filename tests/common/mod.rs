//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod files;
pub mod server;
pub mod tools;

use std::f64::consts::PI;

/// |DTFT|² of `x` (Blackman–Harris window) at frequency `f` Hz.
pub fn power_at(x: &[f32], rate: f64, f: f64) -> f64 {
    let n = x.len();
    let (mut re, mut im) = (0.0f64, 0.0f64);
    let w = 2.0 * PI * f / rate;
    // Rotate a phasor instead of calling sin/cos per sample.
    let (c, s) = (w.cos(), w.sin());
    let (mut pr, mut pi) = (1.0f64, 0.0f64);
    for (i, &v) in x.iter().enumerate() {
        let t = 2.0 * PI * i as f64 / (n - 1) as f64;
        let win =
            0.35875 - 0.48829 * t.cos() + 0.14128 * (2.0 * t).cos() - 0.01168 * (3.0 * t).cos();
        let v = v as f64 * win;
        re += v * pr;
        im -= v * pi;
        let npr = pr * c - pi * s;
        pi = pr * s + pi * c;
        pr = npr;
        if i % 1024 == 0 {
            let m = (pr * pr + pi * pi).sqrt();
            pr /= m;
            pi /= m;
        }
    }
    re * re + im * im
}

/// The frequency of the spectral peak of `x` within `[lo, hi]` Hz, refined by golden-section search.
pub fn peak_between(x: &[f32], rate: f64, lo: f64, hi: f64) -> f64 {
    // Coarse scan, then golden section around the best point.
    let steps = 60;
    let mut best = (lo, 0.0);
    for i in 0..=steps {
        let f = lo + (hi - lo) * i as f64 / steps as f64;
        let p = power_at(x, rate, f);
        if p > best.1 {
            best = (f, p);
        }
    }
    let d = (hi - lo) / steps as f64;
    let (mut a, mut b) = (best.0 - d, best.0 + d);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..40 {
        let c = b - g * (b - a);
        let e = a + g * (b - a);
        if power_at(x, rate, c) > power_at(x, rate, e) {
            b = e;
        } else {
            a = c;
        }
    }
    0.5 * (a + b)
}

/// Cents between two frequencies.
pub fn cents(f: f64, reference: f64) -> f64 {
    1200.0 * (f / reference).log2()
}
