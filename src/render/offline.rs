//! The offline engine factory ([`run_offline`]): render, score and bench
//! run their jobs ([`OfflineJob`]) on the engine it builds.

use std::sync::Arc;

use super::error::RenderError;
use crate::engine::api::VoiceEngine;
use crate::engine::{CpuEngine, EngineConfig};
use crate::gpu::{bank_floats, EngineSpec, GpuEngine};
use crate::instrument::Instrument;

/// A job an offline path (a note, a score, a measurement) runs on
/// whichever engine [`run_offline`] builds.
pub trait OfflineJob {
    /// What the job produces.
    type Output;
    /// Runs the job on `engine` (`on_gpu`: the GPU engine).
    fn run<E: VoiceEngine>(self, engine: &mut E, on_gpu: bool) -> Self::Output;
}

/// The offline engine factory: builds the engine `spec` names with `cfg`
/// (the GPU engine with `instruments` resident, pipelined when asked, as
/// the server runs it) and runs `job` on it. A GPU engine that cannot
/// start, or fails during the job, is an error.
pub fn run_offline<J: OfflineJob>(
    spec: &EngineSpec,
    cfg: EngineConfig,
    instruments: &[Arc<Instrument>],
    pipelined: bool,
    job: J,
) -> Result<J::Output, RenderError> {
    match spec {
        EngineSpec::Cpu => Ok(job.run(&mut CpuEngine::new(cfg), false)),
        EngineSpec::Gpu(ctx) => {
            let mut e = GpuEngine::new((**ctx).clone(), cfg, bank_floats(instruments))?;
            for i in instruments {
                e.load(i)?;
            }
            if pipelined {
                e.set_pipelined(true);
            }
            let out = job.run(&mut e, true);
            match e.failure() {
                Some(f) => Err(RenderError::GpuFailed(f.to_string())),
                None => Ok(out),
            }
        }
    }
}
