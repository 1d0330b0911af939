//! The scheme against physics: discrete dispersion, energy, stability.

mod common;

use common::{cents, peak_between};
use neirosynth::physics::body::{Body, Boundary, NodeKind};
use neirosynth::physics::certificate::{row_bound, Certificate, LIMIT};
use neirosynth::physics::modes::mode_frequency;
use neirosynth::physics::scheme::*;

const RATE: f64 = 48000.0;

/// A mesh run directly on the scheme (no engine), for physics tests.
struct Sim {
    maps: BodyMaps,
    coef: Coefficients,
    params: SchemeParams,
    cur: Vec<f32>,
    prev: Vec<f32>,
    w: Vec<f32>,
    w_next: Vec<f32>,
}

impl Sim {
    fn new(maps: BodyMaps, params: SchemeParams) -> Self {
        let len = maps.layout.len;
        let mut coef = Coefficients::zeroed(len);
        fill_coefficients(&maps, None, &params, DampingControl::default(), &mut coef);
        Self {
            maps,
            coef,
            params,
            cur: vec![0.0; len],
            prev: vec![0.0; len],
            w: vec![0.0; len],
            w_next: vec![0.0; len],
        }
    }
    /// Sets the state (zero initial velocity when `prev == cur`).
    fn set(&mut self, cur: Vec<f32>, prev: Vec<f32>) {
        self.cur = cur;
        self.prev = prev;
        compute_aux(&self.coef, &self.prev, &self.cur, &mut self.w);
    }
    fn step(&mut self) {
        step(
            &self.maps.layout,
            &self.coef,
            &mut self.prev,
            &self.cur,
            &self.w,
            &mut self.w_next,
        );
        std::mem::swap(&mut self.prev, &mut self.cur);
        std::mem::swap(&mut self.w, &mut self.w_next);
    }
    /// Energy of the last step (between prev = u and cur = u⁺).
    fn energy(&self) -> f64 {
        discrete_energy(&self.maps, &self.params, &self.prev, &self.cur)
    }
    fn max_abs(&self) -> f32 {
        self.cur.iter().fold(0.0, |m, v| m.max(v.abs()))
    }
}

/// Deterministic pseudo-random values in −1..1.
fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn random_state(maps: &BodyMaps, seed: u64) -> Vec<f32> {
    let r = noise(maps.layout.len, seed);
    (0..maps.layout.len)
        .map(|i| if maps.stiffness[i] > 0.0 { r[i] } else { 0.0 })
        .collect()
}

/// An impulse at one node, recorded at another, for `steps` steps.
fn impulse_response(
    maps: BodyMaps,
    a: f64,
    at: (usize, usize),
    pick: (usize, usize),
    steps: usize,
) -> Vec<f32> {
    let p = SchemeParams {
        a,
        b: 0.0,
        kappa_k2: 0.0,
        k: 1.0 / RATE,
    };
    let mut sim = Sim::new(maps, p);
    let mut u = vec![0.0; sim.maps.layout.len];
    u[sim.maps.layout.idx(at.0, at.1)] = 1.0;
    sim.set(u.clone(), u);
    let pi = sim.maps.layout.idx(pick.0, pick.1);
    (0..steps)
        .map(|_| {
            sim.step();
            sim.cur[pi]
        })
        .collect()
}

/// A uniform square membrane's first 6 distinct modes sit at the discrete
/// dispersion relation `4 sin²(ωk/2) = a·μ_pq`, μ_pq = 4sin²(pπ/2(N+1)) +
/// 4sin²(qπ/2(N+1)), within 0.5 cents (tolerance: peak estimation of a
/// 2 s lossless signal is good to ~0.01 cents; 0.5 cents is the bar).
#[test]
fn square_membrane_modes_match_discrete_dispersion() {
    let n = 32;
    let a = 0.3;
    let maps = BodyMaps::new(
        Body::rectangle(n, n, Boundary::FIXED),
        &vec![1.0; n * n],
        &vec![0.0; n * n],
    );
    let x = impulse_response(maps, a, (7, 12), (22, 5), 96000);
    let s2 = |m: usize| {
        4.0 * (m as f64 * std::f64::consts::PI / (2.0 * (n + 1) as f64))
            .sin()
            .powi(2)
    };
    let mut mus: Vec<f64> = (1..=5)
        .flat_map(|p| (p..=5).map(move |q| (p, q)))
        .map(|(p, q)| s2(p) + s2(q))
        .collect();
    mus.sort_by(|a, b| a.partial_cmp(b).unwrap());
    mus.dedup_by(|a, b| (*a - *b).abs() < 1e-12);
    for (i, mu) in mus.iter().take(6).enumerate() {
        let expect = mode_frequency(*mu, a, 0.0, 1.0 / RATE);
        let got = peak_between(&x, RATE, expect * 0.99, expect * 1.01);
        let err = cents(got, expect);
        assert!(
            err.abs() < 0.5,
            "mode {i}: measured {got:.4} Hz, expected {expect:.4} Hz ({err:.3} cents)"
        );
    }
}

/// A uniform string's first 10 harmonics sit at the discrete dispersion
/// relation with μ_p = 4 sin²(pπ/2(N+1)) (a true 1D Laplacian), within 0.5 cents.
#[test]
fn string_harmonics_match_discrete_dispersion() {
    let n = 100;
    let a = 0.64;
    let maps = BodyMaps::new(
        Body::rectangle(n, 1, Boundary::FIXED),
        &vec![1.0; n],
        &vec![0.0; n],
    );
    let x = impulse_response(maps, a, (13, 0), (71, 0), 96000);
    for p in 1..=10 {
        let mu = 4.0
            * (p as f64 * std::f64::consts::PI / (2.0 * (n + 1) as f64))
                .sin()
                .powi(2);
        let expect = mode_frequency(mu, a, 0.0, 1.0 / RATE);
        let got = peak_between(&x, RATE, expect * 0.995, expect * 1.005);
        let err = cents(got, expect);
        assert!(
            err.abs() < 0.5,
            "harmonic {p}: measured {got:.4} Hz, expected {expect:.4} Hz ({err:.3} cents)"
        );
    }
}

/// A body with a non-uniform stiffness map, a mask, clamps, free and fixed
/// edges and a support spring: every kind of term except loss.
fn rich_body() -> (BodyMaps, Vec<f32>) {
    let (w, h) = (24, 18);
    let mut body = Body::rectangle(
        w,
        h,
        Boundary {
            left: Boundary::FIXED.left,
            right: Boundary::FREE.right,
            top: Boundary::FREE.top,
            bottom: Boundary::FIXED.bottom,
            void: Boundary::FREE.void,
        },
    );
    body.mask[5 * w + 5] = NodeKind::Clamp;
    for i in 0..4 {
        body.mask[10 * w + 12 + i] = NodeKind::Void;
    }
    let s: Vec<f32> = (0..w * h)
        .map(|i| 0.3 + 0.7 * (((i % w) as f32 * 0.37).sin() * 0.5 + 0.5))
        .collect();
    let sigma0: Vec<f32> = (0..w * h)
        .map(|i| 2.0 + 6.0 * ((i / w) as f32 / h as f32))
        .collect();
    let maps = BodyMaps::new(body, &s, &vec![0.0; w * h]);
    (maps, sigma0)
}

/// Without loss the discrete energy is conserved (relative drift < 1e-4
/// over 5,000 steps; the drift is f32 rounding, ~1e-6) on a body with every
/// kind of term, at 95% of the stability limit.
#[test]
fn energy_is_conserved_without_loss() {
    let (maps, _) = rich_body();
    let bound = row_bound(&maps);
    let kappa_k2 = 1e-4;
    let a = (LIMIT * 0.95 - kappa_k2) / bound.value;
    let p = SchemeParams {
        a,
        b: 0.0,
        kappa_k2,
        k: 1.0 / RATE,
    };
    let mut sim = Sim::new(maps, p);
    let u0 = random_state(&sim.maps, 1);
    sim.set(u0.clone(), u0);
    sim.step();
    let e0 = sim.energy();
    assert!(e0 > 0.0);
    for n in 0..5000 {
        sim.step();
        let e = sim.energy();
        assert!(((e - e0) / e0).abs() < 1e-4, "step {n}: energy {e} vs {e0}");
    }
}

/// With loss (σ₀ map and σ₁) the discrete energy decreases at every step
/// and has fallen substantially after 5,000 steps.
#[test]
fn energy_strictly_decreases_with_loss() {
    let (maps0, sigma0) = rich_body();
    let body = maps0.body.clone();
    let s: Vec<f32> = (0..body.width * body.height)
        .map(|i| maps0.stiffness[maps0.layout.idx(i % body.width, i / body.width)])
        .collect();
    let s: Vec<f32> = s
        .iter()
        .zip(&body.mask)
        .map(|(v, k)| if *k == NodeKind::Body { *v } else { 0.5 })
        .collect();
    let maps = BodyMaps::new(body, &s, &sigma0);
    let bound = row_bound(&maps);
    let (kappa_k2, b) = (1e-4, 2.0 * 20.0 / RATE);
    let a = (LIMIT * 0.95 - kappa_k2) / bound.value - 2.0 * b;
    let p = SchemeParams {
        a,
        b,
        kappa_k2,
        k: 1.0 / RATE,
    };
    let mut sim = Sim::new(maps, p);
    let u0 = random_state(&sim.maps, 2);
    sim.set(u0.clone(), u0);
    sim.step();
    let e0 = sim.energy();
    let mut last = e0;
    for n in 0..5000 {
        sim.step();
        let e = sim.energy();
        assert!(e < last, "step {n}: energy rose from {last} to {e}");
        assert!(e >= 0.0);
        last = e;
    }
    assert!(last < 0.5 * e0, "energy fell only from {e0} to {last}");
}

fn run_at_certificate(utilisation: f64, steps: usize) -> f32 {
    let n = 24;
    let maps = BodyMaps::new(
        Body::rectangle(n, n, Boundary::FIXED),
        &vec![1.0; n * n],
        &vec![1.0; n * n],
    );
    let bound = row_bound(&maps);
    let (b, kappa_k2) = (2.0 * 5.0 / RATE, 1e-5);
    let a = (LIMIT * utilisation - kappa_k2) / bound.value - 2.0 * b;
    let p = SchemeParams {
        a,
        b,
        kappa_k2,
        k: 1.0 / RATE,
    };
    let cert = Certificate::new(bound, &p);
    assert!((cert.utilisation() - utilisation).abs() < 1e-9);
    assert_eq!(cert.holds(), utilisation < 1.0);
    let mut sim = Sim::new(maps, p);
    let u0 = random_state(&sim.maps, 3);
    sim.set(u0.clone(), u0);
    let mut peak = 0.0f32;
    for _ in 0..steps {
        sim.step();
        peak = peak.max(sim.max_abs());
        if !peak.is_finite() || peak > 1e6 {
            break;
        }
    }
    peak
}

/// The certificate is tight: 1% under its bound a uniform mesh (σ₁ and κ
/// included) stays bounded for 20,000 steps from a random state; 5% over
/// it blows up.
#[test]
fn certificate_is_tight() {
    let under = run_at_certificate(0.99, 20000);
    assert!(under < 10.0, "1% under the bound grew to {under}");
    let over = run_at_certificate(1.05, 20000);
    assert!(
        !over.is_finite() || over > 1e6,
        "5% over the bound stayed at {over}"
    );
}
