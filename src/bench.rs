//! `neirosynth bench`: how many voices the engine renders in real time.
//!
//! Renders a uniform N×N membrane voice (σ₀ and σ₁ non-zero, so every
//! term of the scheme runs) at a note the full mesh plays at one step per
//! sample, in 256-frame blocks through [`crate::engine::CpuEngine`], and
//! reports voices × (audio seconds / wall seconds).

use std::sync::Arc;
use std::time::Instant;

use crate::engine::api::VoiceEngine;
use crate::engine::EngineConfig;
use crate::gpu::EngineSpec;
use crate::instrument::format::*;
use crate::instrument::{Instrument, InstrumentError};
use crate::physics::body::Boundary;
use crate::render::{run_offline, OfflineJob, RenderError};
use crate::types::NoteRequest;

/// Benchmark settings.
#[derive(Clone, Copy, Debug)]
pub struct BenchSettings {
    /// Mesh side.
    pub mesh: usize,
    /// Voices (0: four per thread).
    pub voices: usize,
    /// Audio seconds to render.
    pub seconds: f64,
    /// Threads (0: one per core).
    pub threads: usize,
    /// Block size.
    pub block: usize,
}

/// One measurement.
#[derive(Clone, Copy, Debug)]
pub struct BenchResult {
    /// Threads used.
    pub threads: usize,
    /// Voices rendered.
    pub voices: usize,
    /// Voices in real time (voices × audio time / wall time).
    pub voices_realtime: f64,
    /// Node updates per second.
    pub node_rate: f64,
    /// Median wall time of one block, ms (on the GPU engine: submission,
    /// compute and readback, the block's round trip).
    pub block_ms_p50: f64,
    /// 99th-percentile wall time of one block, ms.
    pub block_ms_p99: f64,
}

/// A uniform square membrane of side `n` for benchmarking.
pub fn bench_instrument(n: usize) -> Result<Arc<Instrument>, InstrumentError> {
    let file = InstrumentFile {
        format: FORMAT_TAG.into(),
        version: FORMAT_VERSION,
        name: format!("bench{n}"),
        description: "uniform square membrane (benchmark)".into(),
        family: "membrane".into(),
        mesh: MeshSpec {
            width: n,
            height: n,
        },
        reference_note: 40.0,
        boundary: Boundary::FIXED,
        physics: PhysicsSpec {
            sigma1: 0.5,
            support_hz: 0.0,
            release_t60: None,
        },
        excitation: ExcitationSpec {
            shape: ExciteShape::Strike,
            x: 0.31,
            y: 0.37,
            width: 0.1,
            contact_ms: 1.0,
            bow_force: None,
            bow_velocity: None,
        },
        pickups: PickupSpec {
            left: [0.3, 0.3],
            right: [0.7, 0.6],
        },
        gain: 1.0,
        ranges: Ranges::default(),
        provenance: Provenance {
            method: "synthetic".into(),
            ..Default::default()
        },
        maps: MapsSpec {
            stiffness: MapData::Constant(1.0),
            sigma0: MapData::Constant(0.5),
            mask: MapData::Constant(1.0),
        },
        kan: None,
        radiation: None,
        level_curve: None,
    };
    Instrument::from_file(file, "bench").map(Arc::new)
}

/// Runs one measurement on the CPU engine.
pub fn run(inst: &Arc<Instrument>, s: BenchSettings) -> BenchResult {
    run_on(inst, s, &EngineSpec::Cpu).expect("the CPU engine does not fail")
}

/// Runs one measurement on the engine `engine` (`threads` is the CPU
/// engine's; the GPU engine renders every voice in one dispatch).
pub fn run_on(
    inst: &Arc<Instrument>,
    s: BenchSettings,
    engine: &EngineSpec,
) -> Result<BenchResult, RenderError> {
    let threads = if s.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        s.threads
    };
    let voices = if s.voices == 0 { 4 * threads } else { s.voices };
    let mut cfg = EngineConfig::new(inst.max_buffer_len());
    cfg.max_voices = voices;
    cfg.threads = threads;
    cfg.max_block = s.block;
    // On the GPU engine as the server runs it: block N's readback
    // overlaps N+1's compute; it renders every voice in one dispatch.
    let job = MeasureJob {
        inst,
        settings: s,
        threads,
        voices,
    };
    run_offline(engine, cfg, std::slice::from_ref(inst), true, job)
}

/// One measurement, as an [`OfflineJob`].
struct MeasureJob<'a> {
    inst: &'a Arc<Instrument>,
    settings: BenchSettings,
    threads: usize,
    voices: usize,
}

impl OfflineJob for MeasureJob<'_> {
    type Output = BenchResult;
    fn run<E: VoiceEngine>(self, engine: &mut E, on_gpu: bool) -> BenchResult {
        let (threads, warmup) = if on_gpu { (1, 2) } else { (self.threads, 20) };
        measure(
            engine,
            self.inst,
            self.settings,
            threads,
            self.voices,
            warmup,
        )
    }
}

fn measure<E: VoiceEngine>(
    engine: &mut E,
    inst: &Arc<Instrument>,
    s: BenchSettings,
    threads: usize,
    voices: usize,
    warmup: usize,
) -> BenchResult {
    let plan = inst
        .plan(inst.file.reference_note, 0.0, 48000.0)
        .expect("benchmark note plays");
    assert_eq!(plan.level, 0, "benchmark note must run on the full mesh");
    for v in 0..voices {
        let mut req = NoteRequest::new(inst.file.reference_note, 0.8);
        req.pickups = Some([0.2 + 0.01 * v as f32, 0.3, 0.7, 0.6]);
        let id = engine.allocate_id();
        engine.start_voice(id, inst.clone(), plan, &req);
    }
    let (mut l, mut r) = (vec![0.0; s.block], vec![0.0; s.block]);
    // Warm up, then measure.
    for _ in 0..warmup {
        engine.process(&mut l, &mut r);
    }
    let blocks = (s.seconds * 48000.0 / s.block as f64).ceil() as usize;
    let mut block_ms = Vec::with_capacity(blocks);
    let t = Instant::now();
    for _ in 0..blocks {
        let b = Instant::now();
        engine.process(&mut l, &mut r);
        block_ms.push(b.elapsed().as_secs_f64() * 1e3);
    }
    let wall = t.elapsed().as_secs_f64();
    block_ms.sort_by(f64::total_cmp);
    let quantile = |q: f64| block_ms[((block_ms.len() - 1) as f64 * q).round() as usize];
    assert_eq!(
        engine.active_voices(),
        voices,
        "voices ended during the benchmark"
    );
    let audio = (blocks * s.block) as f64 / 48000.0;
    let nodes = (s.mesh * s.mesh) as f64;
    BenchResult {
        threads,
        voices,
        voices_realtime: voices as f64 * audio / wall,
        node_rate: voices as f64 * nodes * audio * 48000.0 / wall,
        block_ms_p50: quantile(0.5),
        block_ms_p99: quantile(0.99),
    }
}

/// One measured training iteration of the adjoint (see [`run_adjoint`]).
#[derive(Clone, Copy, Debug)]
pub struct AdjointBenchResult {
    /// Steps (audio samples at 48 kHz).
    pub steps: usize,
    /// Threads of the backward pass.
    pub threads: usize,
    /// Taped forward pass, seconds.
    pub forward_s: f64,
    /// Backward (adjoint) pass, seconds.
    pub backward_s: f64,
    /// Bytes the adjoint held (checkpoints, segment buffers, work arrays).
    pub memory_bytes: usize,
    /// CPU seconds of the forward pass (calling thread; `None` off Linux).
    pub forward_cpu_s: Option<f64>,
    /// CPU seconds of the backward pass on the calling thread (the adjoint).
    pub backward_cpu_s: Option<f64>,
    /// Steps per checkpoint segment.
    pub segment: usize,
}

/// Times one adjoint iteration (taped forward + backward, `f32`) of a
/// `mesh × mesh` membrane with varied maps for `seconds` of audio at 48 kHz,
/// loss `½Σy²`, backward pass on `threads` (1 or 2) threads. The best of
/// `repeats` runs is reported.
pub fn run_adjoint(
    mesh: usize,
    seconds: f64,
    threads: usize,
    repeats: usize,
) -> Result<AdjointBenchResult, crate::train::adjoint::AdjointError> {
    use crate::physics::body::Body;
    use crate::train::adjoint::{AdjointModel, Checkpointing, Params, StrikeParams};
    let k = 1.0 / 48000.0;
    let model = AdjointModel::<f32>::new(
        Body::rectangle(mesh, mesh, Boundary::FIXED),
        k,
        (0.3, 0.7),
        0.1,
    )?
    .with_threads(threads);
    let nodes = model.nodes();
    let p = Params {
        stiffness: (0..nodes)
            .map(|i| 0.6 + 0.4 * ((i * 7919) % 101) as f32 / 101.0)
            .collect(),
        sigma0: (0..nodes).map(|i| 0.5 + (i % 7) as f32).collect(),
        a: 0.2,
        b: (2.0 * 0.5 * k) as f32,
        kappa_k2: 0.0,
        strike: StrikeParams {
            x: 0.31,
            y: 0.37,
            amplitude: 0.8,
            contact_steps: 48.0,
        },
        gain: 1.0,
    };
    let steps = (seconds * 48000.0).round().max(1.0) as usize;
    let mut best: Option<AdjointBenchResult> = None;
    let delta = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| b - a);
    for _ in 0..repeats.max(1) {
        let c0 = thread_cpu_s();
        let t0 = Instant::now();
        let (y, tape) = model.forward_taped(&p, steps, Checkpointing::Auto)?;
        let t1 = Instant::now();
        let c1 = thread_cpu_s();
        let g = model.backward(&p, &tape, &y)?;
        let t2 = Instant::now();
        let c2 = thread_cpu_s();
        assert!(g.grad.is_finite(), "the gradient is finite");
        let r = AdjointBenchResult {
            steps,
            threads: threads.clamp(1, 2),
            forward_s: (t1 - t0).as_secs_f64(),
            backward_s: (t2 - t1).as_secs_f64(),
            memory_bytes: g.memory_bytes,
            forward_cpu_s: delta(c0, c1),
            backward_cpu_s: delta(c1, c2),
            segment: g.segment,
        };
        let key = |r: &AdjointBenchResult| match (r.forward_cpu_s, r.backward_cpu_s) {
            (Some(f), Some(b)) => f + b,
            _ => r.forward_s + r.backward_s,
        };
        if best.is_none_or(|b| key(&r) < key(&b)) {
            best = Some(r);
        }
    }
    Ok(best.expect("at least one run"))
}

/// CPU time of the calling thread, seconds (Linux: `/proc/thread-self/schedstat`).
pub fn thread_cpu_s() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns * 1e-9)
}

/// `neirosynth bench` on `engine`: measures `inst` and hands each line of
/// the report to `out` as it is known (the last one is the contract's
/// `voices_realtime=<float> mesh=<N> engine=<cpu|gpu>`).
pub fn report(
    inst: &Arc<Instrument>,
    s: BenchSettings,
    engine: &EngineSpec,
    out: &mut dyn FnMut(String),
) -> Result<(), RenderError> {
    if let EngineSpec::Gpu(ctx) = engine {
        return report_gpu(inst, s, ctx, engine, out);
    }
    let mesh = s.mesh;
    out(format!(
        "engine: cpu, kernel: {}, mesh {mesh}×{mesh}, 48 kHz, 256-frame blocks",
        crate::physics::simd::simd_name()
    ));
    let single = run(
        inst,
        BenchSettings {
            threads: 1,
            voices: if s.voices == 0 { 4 } else { s.voices },
            ..s
        },
    );
    out(format!(
        "one thread:  {:.2} voices in real time ({:.2} G node updates/s)",
        single.voices_realtime,
        single.node_rate / 1e9
    ));
    let all = run(inst, s);
    out(format!(
        "{} threads:   {:.2} voices in real time ({:.2} per thread, {} voices rendered)",
        all.threads,
        all.voices_realtime,
        all.voices_realtime / all.threads as f64,
        all.voices
    ));
    out(format!(
        "voices_realtime={:.2} mesh={mesh} engine=cpu",
        all.voices_realtime
    ));
    Ok(())
}

/// [`report`] on the GPU engine (`ctx` is `engine`'s device).
fn report_gpu(
    inst: &Arc<Instrument>,
    s: BenchSettings,
    ctx: &crate::gpu::GpuContext,
    engine: &EngineSpec,
    out: &mut dyn FnMut(String),
) -> Result<(), RenderError> {
    let mesh = s.mesh;
    let s = BenchSettings {
        voices: if s.voices == 0 { 4 } else { s.voices },
        ..s
    };
    out(format!(
        "engine: gpu on {}, mesh {mesh}×{mesh}, 48 kHz, 256-frame blocks",
        ctx.adapter
    ));
    if ctx.adapter.is_software() {
        out("(software adapter: a correctness run, not a GPU measurement)".into());
    }
    let r = run_on(inst, s, engine)?;
    out(format!(
        "{:.2} voices in real time ({:.3} G node updates/s, {} voices rendered)",
        r.voices_realtime,
        r.node_rate / 1e9,
        r.voices
    ));
    out(format!(
        "block round trip: median {:.3} ms, p99 {:.3} ms (a 256-frame block is {:.3} ms of audio)",
        r.block_ms_p50,
        r.block_ms_p99,
        256.0 / 48.0
    ));
    out(format!(
        "voices_realtime={:.2} mesh={mesh} engine=gpu block_ms_p50={:.3} block_ms_p99={:.3}",
        r.voices_realtime, r.block_ms_p50, r.block_ms_p99
    ));
    Ok(())
}

/// `neirosynth bench --adjoint`: times one taped forward and adjoint
/// backward pass ([`run_adjoint`], best of 3; `threads` 0 means 2, at most
/// 2) and hands each line of the report to `out`.
pub fn report_adjoint(
    mesh: usize,
    seconds: f64,
    threads: usize,
    out: &mut dyn FnMut(String),
) -> Result<(), crate::train::adjoint::AdjointError> {
    let threads = if threads == 0 { 2 } else { threads.min(2) };
    let r = run_adjoint(mesh, seconds, threads, 3)?;
    out(format!(
        "adjoint: mesh {mesh}×{mesh}, {seconds} s at 48 kHz ({} steps, f32, kernel {}), backward on {} thread(s), checkpoints every {} steps",
        r.steps,
        crate::physics::simd::simd_name(),
        r.threads,
        r.segment
    ));
    out(format!(
        "forward {:.3} s, backward {:.3} s, total {:.3} s per iteration; adjoint memory {:.2} MB",
        r.forward_s,
        r.backward_s,
        r.forward_s + r.backward_s,
        r.memory_bytes as f64 / 1e6
    ));
    if let (Some(f), Some(b)) = (r.forward_cpu_s, r.backward_cpu_s) {
        // With two threads the recompute thread repeats the forward
        // pass alongside the adjoint thread (about `f` of CPU).
        let idle = if r.threads >= 2 { f + b.max(f) } else { f + b };
        out(format!(
            "CPU time on the calling thread: forward {f:.3} s, backward {b:.3} s; on {} idle core(s) an iteration would take about {idle:.3} s",
            r.threads
        ));
    }
    out(format!(
        "adjoint_iteration_s={:.3} memory_mb={:.2} mesh={mesh} seconds={seconds} threads={}",
        r.forward_s + r.backward_s,
        r.memory_bytes as f64 / 1e6,
        r.threads
    ));
    Ok(())
}
