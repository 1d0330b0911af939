//! The adjoint gradient against finite differences, checkpointing against
//! the full history, the forward model against the engine's kernel, and the
//! certificate projection.

use neirosynth::engine::excitation::Excitation;
use neirosynth::instrument::format::ExciteShape;
use neirosynth::instrument::PLAN_SAFETY;
use neirosynth::physics::body::{Body, Boundary, Edge, NodeKind};
use neirosynth::physics::certificate::LIMIT;
use neirosynth::physics::scheme::{
    compute_aux, fill_coefficients, step, BodyMaps, Coefficients, DampingControl, SchemeParams,
};
use neirosynth::train::adjoint::{AdjointModel, Bounds, Checkpointing, Params, Real, StrikeParams};

const K: f64 = 1.0 / 48000.0;

/// Small deterministic generator (xorshift64*), uniform in −1..1.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let v = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (v >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

/// A 12×10 membrane with a free right edge and a void notch (so the
/// diagonal weights vary), random maps.
fn membrane() -> Body {
    let mut b = Body::rectangle(
        12,
        10,
        Boundary {
            right: Edge::Free,
            ..Boundary::FIXED
        },
    );
    for (x, y) in [(0, 0), (1, 0), (0, 1), (11, 9)] {
        b.mask[y * 12 + x] = NodeKind::Void;
    }
    b.mask[5 * 12 + 8] = NodeKind::Clamp;
    b
}

fn params<T: Real>(nodes: usize, a: f64, rng: &mut Rng) -> Params<T> {
    Params {
        stiffness: (0..nodes)
            .map(|_| T::from_f64(0.7 + 0.25 * rng.next()))
            .collect(),
        sigma0: (0..nodes)
            .map(|_| T::from_f64(30.0 + 20.0 * rng.next()))
            .collect(),
        a: T::from_f64(a),
        b: T::from_f64(0.01),
        kappa_k2: T::from_f64(2e-4),
        strike: StrikeParams {
            x: T::from_f64(0.41),
            y: T::from_f64(0.53),
            amplitude: T::from_f64(0.6),
            contact_steps: T::from_f64(7.3),
        },
        gain: T::from_f64(1.7),
    }
}

/// Which parameters a random direction moves.
#[derive(Clone, Copy, Debug)]
enum Group {
    Stiffness,
    Sigma0,
    A,
    B,
    Kappa,
    StrikeX,
    StrikeY,
    Amplitude,
    Contact,
    Gain,
    All,
}

fn direction(nodes: usize, g: Group, rng: &mut Rng) -> Params<f64> {
    let mut d = Params::zeros(nodes);
    let all = matches!(g, Group::All);
    if matches!(g, Group::Stiffness) || all {
        d.stiffness = (0..nodes).map(|_| 0.05 * rng.next()).collect();
    }
    if matches!(g, Group::Sigma0) || all {
        d.sigma0 = (0..nodes).map(|_| 5.0 * rng.next()).collect();
    }
    if matches!(g, Group::A) || all {
        d.a = 0.02 * rng.next();
    }
    if matches!(g, Group::B) || all {
        d.b = 0.005 * rng.next();
    }
    if matches!(g, Group::Kappa) || all {
        d.kappa_k2 = 1e-4 * rng.next();
    }
    if matches!(g, Group::StrikeX) || all {
        d.strike.x = 0.05 * rng.next();
    }
    if matches!(g, Group::StrikeY) || all {
        d.strike.y = 0.05 * rng.next();
    }
    if matches!(g, Group::Amplitude) || all {
        d.strike.amplitude = 0.1 * rng.next();
    }
    if matches!(g, Group::Contact) || all {
        d.strike.contact_steps = rng.next();
    }
    if matches!(g, Group::Gain) || all {
        d.gain = 0.3 * rng.next();
    }
    d
}

/// Loss `L = Σ r_t y_t` (so `∂L/∂y = r`).
fn loss(model: &AdjointModel<f64>, p: &Params<f64>, r: &[f64]) -> f64 {
    let y = model.forward(p, r.len()).expect("stable");
    y.iter().zip(r).map(|(a, b)| a * b).sum()
}

/// Central differences along random directions of every group agree with
/// the adjoint gradient to a relative 1e-3.
fn check_fd(model: &AdjointModel<f64>, p: &Params<f64>, steps: usize, seed: u64) -> f64 {
    let mut rng = Rng(seed);
    let r: Vec<f64> = (0..steps).map(|_| rng.next()).collect();
    let g = model
        .gradient(p, &r, Checkpointing::Auto)
        .expect("gradient");
    let mut worst: f64 = 0.0;
    let string = model.body().height == 1;
    if string {
        assert_eq!(g.grad.strike.y, 0.0, "a string has no y");
    }
    for group in [
        Group::Stiffness,
        Group::Sigma0,
        Group::A,
        Group::B,
        Group::Kappa,
        Group::StrikeX,
        Group::StrikeY,
        Group::Amplitude,
        Group::Contact,
        Group::Gain,
        Group::All,
    ] {
        if string && matches!(group, Group::StrikeY) {
            continue;
        }
        for _ in 0..2 {
            let d = direction(model.nodes(), group, &mut rng);
            let h = 1e-4;
            let (mut plus, mut minus) = (p.clone(), p.clone());
            plus.axpy(h, &d);
            minus.axpy(-h, &d);
            let fd = (loss(model, &plus, &r) - loss(model, &minus, &r)) / (2.0 * h);
            let adj = g.grad.dot(&d);
            let rel = (fd - adj).abs() / fd.abs().max(adj.abs());
            assert!(
                rel < 1e-3 && adj.abs() > 0.0,
                "{group:?}: adjoint {adj:e} vs finite differences {fd:e} (relative {rel:e})"
            );
            eprintln!("  {group:?}: adjoint {adj:.6e} fd {fd:.6e} rel {rel:.1e}");
            worst = worst.max(rel);
        }
    }
    worst
}

#[test]
fn adjoint_matches_finite_differences_on_a_membrane() {
    let model = AdjointModel::<f64>::new(membrane(), K, (0.7, 0.3), 0.35).unwrap();
    let mut rng = Rng(7);
    let p = params(model.nodes(), 0.2, &mut rng);
    assert!(model.certificate(&p).holds());
    let worst = check_fd(&model, &p, 300, 11);
    eprintln!("membrane: worst relative error {worst:.2e}");
}

#[test]
fn adjoint_matches_finite_differences_on_a_disc() {
    let model = AdjointModel::<f64>::new(Body::disc(11), K, (0.35, 0.6), 0.3).unwrap();
    let mut rng = Rng(3);
    let p = params(model.nodes(), 0.25, &mut rng);
    let worst = check_fd(&model, &p, 250, 5);
    eprintln!("disc: worst relative error {worst:.2e}");
}

#[test]
fn adjoint_matches_finite_differences_on_a_string() {
    let body = Body::rectangle(
        40,
        1,
        Boundary {
            right: Edge::Free,
            ..Boundary::FIXED
        },
    );
    let model = AdjointModel::<f64>::new(body, K, (0.77, 0.0), 0.12).unwrap();
    let mut rng = Rng(19);
    let mut p = params(model.nodes(), 0.4, &mut rng);
    p.strike.x = 0.3;
    let worst = check_fd(&model, &p, 400, 23);
    eprintln!("string: worst relative error {worst:.2e}");
}

/// Checkpointed gradients (any segment length, one or two threads) equal the
/// full-history gradient bit for bit, in f32 and f64.
#[test]
fn checkpointed_equals_full_history() {
    fn run<T: Real + PartialEq>() {
        let model = AdjointModel::<T>::new(membrane(), K, (0.6, 0.4), 0.35).unwrap();
        let mut rng = Rng(29);
        let mut p = params::<T>(model.nodes(), 0.2, &mut rng);
        p.strike.contact_steps = T::from_f64(9.6);
        let r: Vec<T> = (0..203).map(|_| T::from_f64(rng.next())).collect();
        let full = model.gradient(&p, &r, Checkpointing::FullHistory).unwrap();
        assert_eq!(full.checkpoints, 0);
        for mode in [
            Checkpointing::Auto,
            Checkpointing::Every(1),
            Checkpointing::Every(4),
            Checkpointing::Every(17),
            Checkpointing::Every(1000),
        ] {
            for threads in [1, 2] {
                let m = model.clone().with_threads(threads);
                let g = m.gradient(&p, &r, mode).unwrap();
                assert_eq!(g.grad, full.grad, "{mode:?}, {threads} threads");
                assert_eq!(g.memory_bytes, m.adjoint_memory(&p, r.len(), mode));
                if matches!(mode, Checkpointing::Auto | Checkpointing::Every(17)) {
                    assert!(g.memory_bytes < full.memory_bytes / 2);
                }
            }
        }
        assert_eq!(
            full.memory_bytes,
            model.adjoint_memory(&p, r.len(), Checkpointing::FullHistory)
        );
    }
    run::<f32>();
    run::<f64>();
}

/// One second of a 64×64 membrane at 48 kHz: the adjoint holds < 16 MB
/// (one and two threads), far below the full history.
#[test]
fn adjoint_memory_for_one_second_of_64x64() {
    let body = Body::rectangle(64, 64, Boundary::FIXED);
    let model = AdjointModel::<f32>::new(body, K, (0.3, 0.3), 0.1).unwrap();
    let mut rng = Rng(1);
    let p = params::<f32>(model.nodes(), 0.1, &mut rng);
    for threads in [1, 2] {
        let m = model.clone().with_threads(threads);
        let bytes = m.adjoint_memory(&p, 48000, Checkpointing::Auto);
        let full = m.adjoint_memory(&p, 48000, Checkpointing::FullHistory);
        eprintln!(
            "64×64, 1 s, {threads} thread(s): {:.2} MB (full history {:.0} MB)",
            bytes as f64 / 1e6,
            full as f64 / 1e6
        );
        assert!(bytes < 16_000_000, "{bytes} bytes");
        assert!(full > 50 * bytes);
    }
}

/// The f32 model is the engine's physics: its coefficients equal
/// `fill_coefficients`, and its output equals the engine's kernel
/// (`scheme::step`) driven by the same strike, bit for bit.
#[test]
fn forward_model_is_the_engine_kernel() {
    for body in [
        membrane(),
        Body::rectangle(30, 1, Boundary::FIXED),
        Body::disc(13),
    ] {
        let model = AdjointModel::<f32>::new(body.clone(), K, (0.62, 0.41), 0.3).unwrap();
        let mut rng = Rng(31);
        let p = params::<f32>(model.nodes(), 0.2, &mut rng);
        let maps = BodyMaps::new(body.clone(), &p.stiffness, &p.sigma0);
        let sp = SchemeParams {
            a: p.a as f64,
            b: p.b as f64,
            kappa_k2: p.kappa_k2 as f64,
            k: K,
        };
        let l = maps.layout;
        let mut coef = Coefficients::zeroed(l.len);
        fill_coefficients(&maps, None, &sp, DampingControl::default(), &mut coef);
        let mine = model.coefficients(&p);
        assert_eq!(mine.c[..], coef.c[..]);
        assert_eq!(mine.d[..], coef.d[..]);
        assert_eq!(mine.e[..], coef.e[..]);
        assert_eq!((mine.ab, mine.b), (coef.ab, coef.b));

        let steps = 600;
        let y = model.forward(&p, steps).unwrap();
        let (mut prev, mut cur) = (vec![0.0f32; l.len], vec![0.0f32; l.len]);
        let (mut w, mut w_next) = (vec![0.0f32; l.len], vec![0.0f32; l.len]);
        compute_aux(&coef, &prev, &cur, &mut w);
        // The engine's bilinear pickup (Tap::at).
        let gx = 0.62f64 * (l.width - 1) as f64;
        let gy = 0.41f64 * (l.height - 1) as f64;
        let (x0, y0) = (gx.floor(), gy.floor());
        let (fx, fy) = ((gx - x0) as f32, (gy - y0) as f32);
        let i = l.idx(x0 as usize, y0 as usize);
        let s = l.stride;
        let mut energy = 0.0f64;
        for (t, &yt) in y.iter().enumerate() {
            step(&l, &coef, &mut prev, &cur, &w, &mut w_next);
            let f = model.strike_force(&p, t);
            for (q, &d) in f.iter().enumerate() {
                if d != 0.0 {
                    prev[q] += d;
                    w_next[q] += coef.ab * d;
                }
            }
            let tap = (1.0 - fx) * (1.0 - fy) * prev[i]
                + fx * (1.0 - fy) * prev[i + 1]
                + (1.0 - fx) * fy * prev[i + s]
                + fx * fy * prev[i + s + 1];
            assert_eq!(yt, p.gain * tap, "step {t}");
            energy += (tap as f64).powi(2);
            std::mem::swap(&mut prev, &mut cur);
            std::mem::swap(&mut w, &mut w_next);
        }
        assert!(energy > 0.0);
    }
}

/// Where the engine's strike window and the model's smooth one cover the
/// same nodes (centre on a node, integer radius), the model's force is the
/// engine's `Excitation` strike, bit for bit.
#[test]
fn strike_is_the_engines() {
    let body = Body::rectangle(9, 9, Boundary::FIXED);
    let model = AdjointModel::<f32>::new(body.clone(), K, (0.5, 0.5), 4.0 / 9.0).unwrap();
    let mut rng = Rng(2);
    let mut p = params::<f32>(model.nodes(), 0.2, &mut rng);
    p.strike = StrikeParams {
        x: 0.5,
        y: 0.375,
        amplitude: 0.8,
        contact_steps: 12.0,
    };
    let maps = BodyMaps::new(body, &p.stiffness, &p.sigma0);
    let l = maps.layout;
    let mut e = Excitation::default();
    let (mut cur, mut prev) = (vec![0.0f32; l.len], vec![0.0f32; l.len]);
    e.setup(
        ExciteShape::Strike,
        &l,
        &maps.stiffness,
        (0.5, 0.375),
        0.8,
        4.0 / 9.0,
        (12.0 * K) as f32,
        K as f32,
        1.0,
        0,
        &mut cur,
        &mut prev,
    );
    for t in 0..14 {
        let (mut next, mut wn) = (vec![0.0f32; l.len], vec![0.0f32; l.len]);
        e.inject(l.stride, &maps.stiffness, 0.3, &mut next, &mut wn);
        let f = model.strike_force(&p, t);
        assert_eq!(next, f, "step {t}");
        assert_eq!(f.iter().any(|&v| v != 0.0), t < 12);
    }
}

/// Every update through `apply_update` stays certified, even a wild one;
/// `project` certifies any parameters; a small safe update is taken whole.
#[test]
fn updates_keep_the_certificate() {
    let model = AdjointModel::<f32>::new(membrane(), K, (0.7, 0.3), 0.35).unwrap();
    let bounds = Bounds::default();
    let limit = LIMIT * PLAN_SAFETY;
    let mut rng = Rng(41);
    let mut p = params::<f32>(model.nodes(), 0.2, &mut rng);
    let start = model.certificate(&p);
    assert!(start.value < limit);

    // A small update is taken whole.
    let small = direction(model.nodes(), Group::All, &mut rng);
    let small: Params<f32> = to_f32(&small);
    let (alpha, cert) = model.apply_update(&mut p, &small, 0.01, &bounds);
    assert_eq!(alpha, 0.01);
    assert!(cert.value < limit);

    // Wild updates (a and b doubled, stiffness pushed up) are cut back.
    for _ in 0..5 {
        let mut d = to_f32(&direction(model.nodes(), Group::All, &mut rng));
        d.a = p.a * 4.0;
        d.b = 0.5;
        for v in &mut d.stiffness {
            *v += 2.0;
        }
        let (alpha, cert) = model.apply_update(&mut p, &d, 1.0, &bounds);
        assert!(alpha < 1.0, "a wild step must be cut back");
        assert!(cert.holds() && cert.value < limit, "{}", cert.value);
        assert_eq!(model.certificate(&p), cert);
        assert!(model.forward(&p, 50).is_ok());
    }

    // Projection certifies arbitrary parameters.
    let mut bad = params::<f32>(model.nodes(), 3.0, &mut rng);
    bad.b = 0.2;
    bad.sigma0[3] = -5.0;
    bad.stiffness[7] = 4.0;
    bad.strike.contact_steps = 0.1;
    assert!(!model.certificate(&bad).holds());
    assert!(model.forward(&bad, 10).is_err());
    let cert = model.project(&mut bad, &bounds);
    assert!(cert.value < limit, "{}", cert.value);
    assert!(bad.sigma0.iter().all(|&v| v >= 0.0));
    assert!(bad.stiffness.iter().all(|&v| (1e-3..=1.0).contains(&v)));
    assert!(bad.strike.contact_steps >= 1.0);
    let y = model.forward(&bad, 2000).unwrap();
    assert!(y.iter().all(|v| v.is_finite()));
}

fn to_f32(p: &Params<f64>) -> Params<f32> {
    let f = |v: &[f64]| v.iter().map(|&x| x as f32).collect();
    Params {
        stiffness: f(&p.stiffness),
        sigma0: f(&p.sigma0),
        a: p.a as f32,
        b: p.b as f32,
        kappa_k2: p.kappa_k2 as f32,
        strike: StrikeParams {
            x: p.strike.x as f32,
            y: p.strike.y as f32,
            amplitude: p.strike.amplitude as f32,
            contact_steps: p.strike.contact_steps as f32,
        },
        gain: p.gain as f32,
    }
}

/// The f32 gradient (the one training uses) agrees with the f64 one on a
/// longer run, per parameter group.
#[test]
fn f32_gradient_tracks_f64() {
    let m64 = AdjointModel::<f64>::new(membrane(), K, (0.7, 0.3), 0.35).unwrap();
    let m32 = AdjointModel::<f32>::new(membrane(), K, (0.7, 0.3), 0.35).unwrap();
    let mut rng = Rng(53);
    // Both at the same (f32-representable) point.
    let p32 = to_f32(&params::<f64>(m64.nodes(), 0.2, &mut rng));
    let p64 = to_f64(&p32);
    let r: Vec<f64> = (0..3000).map(|_| rng.next()).collect();
    let r32: Vec<f32> = r.iter().map(|&v| v as f32).collect();
    let g64 = m64.gradient(&p64, &r, Checkpointing::Auto).unwrap().grad;
    let g32 = to_f64(&m32.gradient(&p32, &r32, Checkpointing::Auto).unwrap().grad);
    let mut worst: f64 = 0.0;
    for group in [
        Group::Stiffness,
        Group::Sigma0,
        Group::A,
        Group::B,
        Group::Kappa,
        Group::StrikeX,
        Group::StrikeY,
        Group::Amplitude,
        Group::Contact,
        Group::Gain,
    ] {
        let d = direction(m64.nodes(), group, &mut rng);
        let (a, b) = (g64.dot(&d), g32.dot(&d));
        let rel = (a - b).abs() / a.abs();
        eprintln!("  {group:?}: f64 {a:.6e} f32 {b:.6e} rel {rel:.1e}");
        assert!(rel < 1e-2, "{group:?}: f64 {a:e} vs f32 {b:e}");
        worst = worst.max(rel);
    }
    eprintln!("f32 vs f64 gradient, 3000 steps: worst relative difference {worst:.1e}");
}

/// The benchmark's adjoint iteration runs and reports its figures.
#[test]
fn adjoint_bench_runs() {
    let r = neirosynth::bench::run_adjoint(16, 0.05, 2, 1).unwrap();
    assert_eq!(r.steps, 2400);
    assert_eq!(r.threads, 2);
    assert!(r.forward_s > 0.0 && r.backward_s > 0.0);
    assert!(r.memory_bytes > 0 && r.segment == 49);
}

fn to_f64(p: &Params<f32>) -> Params<f64> {
    let f = |v: &[f32]| v.iter().map(|&x| x as f64).collect();
    Params {
        stiffness: f(&p.stiffness),
        sigma0: f(&p.sigma0),
        a: p.a as f64,
        b: p.b as f64,
        kappa_k2: p.kappa_k2 as f64,
        strike: StrikeParams {
            x: p.strike.x as f64,
            y: p.strike.y as f64,
            amplitude: p.strike.amplitude as f64,
            contact_steps: p.strike.contact_steps as f64,
        },
        gain: p.gain as f64,
    }
}
