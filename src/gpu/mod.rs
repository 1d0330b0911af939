//! The GPU engine (wgpu, Vulkan): the same voices as the CPU engine, with
//! the meshes resident on the GPU and one submission per block.
//!
//! - `context`: adapter selection (hardware first; software only when
//!   forced), device opening.
//! - `driver_messages`: the driver stack's own stderr lines, into our log.
//! - `layout`: the Rust twins of the WGSL structs, and the shader sources.
//! - `voice`: the GPU mesh back-end of the voice program, and its side of
//!   the block walk (the block's program; finishing after the readback).
//! - `bank`: the resident bank (instruments' maps on the GPU).
//! - `fifo`: the output FIFO (double-buffered readback).
//! - `kernel`: compiled kernels, storage buffers, workgroup size.
//! - `engine`: [`GpuEngine`]: dispatch, readback, failure and hand-over.

mod bank;
pub mod context;
pub mod driver_messages;
pub mod engine;
mod fifo;
mod kernel;
pub mod layout;
pub mod voice;

pub use bank::bank_floats;
pub use context::{AdapterSummary, GpuContext, GpuError};
pub use engine::GpuEngine;

/// Which engine an offline run (render, score, bench) uses.
#[derive(Clone, Default)]
pub enum EngineSpec {
    /// The CPU engine.
    #[default]
    Cpu,
    /// The GPU engine on this device.
    Gpu(Box<GpuContext>),
}

impl std::fmt::Debug for EngineSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cpu => f.write_str("Cpu"),
            Self::Gpu(ctx) => write!(f, "Gpu({})", ctx.adapter),
        }
    }
}

/// The engine a run asks for (`--engine`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineChoice {
    /// A hardware GPU when there is one, else the CPU engine.
    Auto,
    /// The CPU engine.
    Cpu,
    /// The GPU engine on any adapter, software ones included.
    Gpu,
}

impl EngineSpec {
    /// Opens the engine `choice` asks for, logging the choice, the adapter
    /// and any fallback; the error says why `Gpu` found no adapter.
    pub fn open(choice: EngineChoice) -> Result<Self, GpuError> {
        match choice {
            EngineChoice::Cpu => Ok(Self::Cpu),
            EngineChoice::Gpu => {
                let ctx = GpuContext::new(true)?;
                if ctx.adapter.is_software() {
                    tracing::warn!(
                        "engine gpu on a software adapter: {} (correct, far from real time)",
                        ctx.adapter
                    );
                } else {
                    tracing::info!("engine gpu on {}", ctx.adapter);
                }
                Ok(Self::Gpu(Box::new(ctx)))
            }
            EngineChoice::Auto => match GpuContext::new(false) {
                Ok(ctx) => {
                    tracing::info!("engine auto: GPU engine on {}", ctx.adapter);
                    Ok(Self::Gpu(Box::new(ctx)))
                }
                Err(e) => {
                    tracing::info!("engine auto: {e}; using the CPU engine");
                    Ok(Self::Cpu)
                }
            },
        }
    }

    /// `cpu` or `gpu`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Gpu(_) => "gpu",
        }
    }
}
