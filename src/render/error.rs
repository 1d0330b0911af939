//! Why an offline render fails: [`RenderError`].

use crate::gpu::GpuError;
use crate::instrument::PlanError;

/// Why an offline render failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The note cannot be played (out of range, no certified plan).
    #[error("{0}")]
    Plan(PlanError),
    /// The GPU engine cannot start, or cannot hold an instrument.
    #[error(transparent)]
    Gpu(#[from] GpuError),
    /// The GPU engine failed during the render.
    #[error("GPU engine failed: {0}")]
    GpuFailed(String),
    /// The level cannot be applied (a silent render, a level that is not finite).
    #[error("{0}")]
    Level(String),
}
