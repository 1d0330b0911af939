//! `neirosynth bench`: how many voices the engine renders in real time.
//!
//! Renders a uniform N×N membrane voice (σ₀ and σ₁ non-zero, so every
//! term of the scheme runs) at a note the full mesh plays at one step per
//! sample, in 256-frame blocks through [`crate::engine::Engine`], and
//! reports voices × (audio seconds / wall seconds).

use std::sync::Arc;
use std::time::Instant;

use crate::engine::api::VoiceEngine;
use crate::engine::voice::NoteRequest;
use crate::engine::{Engine, EngineConfig};
use crate::gpu::{bank_floats, EngineSpec, GpuEngine};
use crate::instrument::format::*;
use crate::instrument::Instrument;
use crate::physics::body::Boundary;
use crate::physics::scheme::simd_level;

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
}

/// A uniform square membrane of side `n` for benchmarking.
pub fn bench_instrument(n: usize) -> Result<Arc<Instrument>, String> {
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
    };
    Instrument::from_file(file, "bench")
        .map(Arc::new)
        .map_err(|e| e.to_string())
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
) -> Result<BenchResult, String> {
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
    match engine {
        EngineSpec::Cpu => Ok(measure(&mut Engine::new(cfg), inst, s, threads, voices, 20)),
        EngineSpec::Gpu(ctx) => {
            let mut e = GpuEngine::new((**ctx).clone(), cfg, bank_floats([inst]))
                .map_err(|e| e.to_string())?;
            e.load(inst).map_err(|e| e.to_string())?;
            let r = measure(&mut e, inst, s, 1, voices, 2);
            match e.failure() {
                Some(f) => Err(format!("GPU engine failed: {f}")),
                None => Ok(r),
            }
        }
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
    let t = Instant::now();
    for _ in 0..blocks {
        engine.process(&mut l, &mut r);
    }
    let wall = t.elapsed().as_secs_f64();
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
    }
}

/// The instruction set the kernel uses, for the report.
pub fn simd_name() -> &'static str {
    match simd_level() {
        crate::physics::scheme::SimdLevel::Avx2 => "avx2 (run-time dispatch)",
        crate::physics::scheme::SimdLevel::Baseline => "baseline (sse2)",
    }
}
