//! The name of the instruction set the kernel runs with, for reports (the
//! server's start-up line, `neirosynth bench`). Kept beside the kernel so
//! that every layer that reports it can name it without reaching upward.

use super::scheme::{simd_level, SimdLevel};

/// The instruction set the kernel uses on this machine, for the report.
pub fn simd_name() -> &'static str {
    match simd_level() {
        SimdLevel::Avx2 => "avx2 (run-time dispatch)",
        SimdLevel::Baseline => "baseline (sse2)",
    }
}
