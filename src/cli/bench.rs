//! `bench`: voices in real time, or one training iteration.

use anyhow::Result;
use clap::ValueEnum;

use crate::cli::{bad, open_engine, EngineArg};

#[derive(clap::Args)]
pub(crate) struct BenchArgs {
    /// Engine (auto: a hardware GPU when there is one, else the CPU;
    /// gpu: the GPU engine on any adapter, software ones included).
    #[arg(long, value_enum, default_value_t = EngineArg::Cpu)]
    engine: EngineArg,
    /// Mesh side (N×N uniform membrane).
    #[arg(long, default_value_t = 64)]
    mesh: usize,
    /// Voices (default: four per thread).
    #[arg(long, default_value_t = 0)]
    voices: usize,
    /// Audio seconds rendered per measurement (default 3; 1 with --adjoint).
    #[arg(long)]
    seconds: Option<f64>,
    /// Threads (default: one per core; 2 with --adjoint).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Time one training iteration instead (taped forward + adjoint
    /// backward pass of an N×N membrane) and report its memory.
    #[arg(long)]
    adjoint: bool,
    /// Kernel instruction set: auto (the best the CPU has: AVX2 where
    /// present) or baseline (the portable SSE2 path, same bits), to
    /// compare SIMD against scalar.
    #[arg(long, value_enum, default_value_t = SimdArg::Auto)]
    simd: SimdArg,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum SimdArg {
    /// The best instruction set the CPU has (AVX2 where present).
    Auto,
    /// The build's portable baseline path (SSE2 on x86-64).
    Baseline,
}

/// `bench`: voices in real time on one thread and on all, or (`--adjoint`)
/// one training iteration.
pub(crate) fn bench(a: BenchArgs) -> Result<()> {
    let mesh = a.mesh;
    let seconds = a.seconds.unwrap_or(if a.adjoint { 1.0 } else { 3.0 });
    if !(8..=256).contains(&mesh) {
        return Err(bad(format!("--mesh {mesh} must be 8..256")));
    }
    if !seconds.is_finite() || seconds <= 0.0 {
        return Err(bad("--seconds must be positive"));
    }
    if a.simd == SimdArg::Baseline {
        use neirosynth::physics::kernel::{limit_simd, SimdLevel};
        limit_simd(SimdLevel::Baseline);
    }
    let mut print = |line: String| println!("{line}");
    if a.adjoint {
        return Ok(neirosynth::bench::report_adjoint(
            mesh, seconds, a.threads, &mut print,
        )?);
    }
    let inst = neirosynth::bench::bench_instrument(mesh)?;
    let settings = neirosynth::bench::BenchSettings {
        mesh,
        voices: a.voices,
        seconds,
        threads: a.threads,
        block: 256,
    };
    let engine = open_engine(a.engine)?;
    Ok(neirosynth::bench::report(
        &inst, settings, &engine, &mut print,
    )?)
}
