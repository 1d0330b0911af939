//! `inspect`: an instrument's report, and its maps as a PNG.

use std::path::PathBuf;

use anyhow::{anyhow, Result};

use crate::cli::load_instrument;

#[derive(clap::Args)]
pub(crate) struct InspectArgs {
    /// Instrument name in the bank, or a path to an instrument file.
    instrument: String,
    /// Write the maps (stiffness | σ₀ | mask) as a PNG.
    #[arg(long)]
    png: Option<PathBuf>,
    /// Instruments folder.
    #[arg(long)]
    instruments: Option<PathBuf>,
}

/// `inspect`: the report, and the maps as a PNG.
pub(crate) fn inspect(a: InspectArgs) -> Result<()> {
    let inst = load_instrument(&a.instrument, a.instruments)?;
    print!("{}", neirosynth::inspect::report(&inst, 48000.0));
    if let Some(p) = a.png {
        // The message names the cause; no chain.
        neirosynth::inspect::write_png(&inst, &p).map_err(|e| anyhow!("{e}"))?;
        println!("maps written to {}", p.display());
    }
    Ok(())
}
