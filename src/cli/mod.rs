//! The `neirosynth` binary's subcommands, one file each: their arguments
//! (clap), the checks that make bad input exit 2, and the hand-over to the
//! library. Declared by `main.rs`; not part of the library.

pub(crate) mod bench;
pub(crate) mod inspect;
pub(crate) mod render;
pub(crate) mod serve;
pub(crate) mod train;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use clap::ValueEnum;
use neirosynth::gpu::{EngineChoice, EngineSpec};
use neirosynth::instrument::lookup::find_instrument;
use neirosynth::instrument::Instrument;

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub(crate) enum EngineArg {
    /// A real GPU when there is one, else the CPU engine.
    Auto,
    /// The native CPU engine.
    Cpu,
    /// The GPU engine on any Vulkan adapter (software ones included).
    Gpu,
}

/// Bad input (exit code 2); any other error exits with 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Usage(String);

/// A [`Usage`] error.
pub(crate) fn bad(msg: impl Into<String>) -> anyhow::Error {
    Usage(msg.into()).into()
}

/// An instrument named on the command line: a file, or a name in the
/// instruments folder (an unknown name or a refused file is bad input).
pub(crate) fn load_instrument(spec: &str, dir: Option<PathBuf>) -> Result<Arc<Instrument>> {
    find_instrument(spec, dir).map_err(|e| bad(e.to_string()))
}

/// Opens the engine `--engine` asks for (the library logs the choice).
pub(crate) fn open_engine(arg: EngineArg) -> Result<EngineSpec> {
    let choice = match arg {
        EngineArg::Auto => EngineChoice::Auto,
        EngineArg::Cpu => EngineChoice::Cpu,
        EngineArg::Gpu => EngineChoice::Gpu,
    };
    EngineSpec::open(choice).map_err(|e| anyhow!("--engine gpu: {e}"))
}
