//! `render`: one note of an instrument, or a score, to a WAV.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::ValueEnum;
use neirosynth::instrument::format::ExciteShape;
use neirosynth::instrument::lookup::instruments_dir;
use neirosynth::render::{
    render_note_on_engine, NoteOverrides, NoteSpec, OutputLevel, RenderSettings,
};

use crate::cli::{bad, load_instrument, open_engine, EngineArg};

#[derive(clap::Args)]
pub(crate) struct RenderArgs {
    /// Instrument name in the bank, or a path to an instrument file.
    #[arg(long, required_unless_present = "score", conflicts_with = "score")]
    instrument: Option<String>,
    /// MIDI note (fractional allowed), 24..108.
    #[arg(long, required_unless_present = "score", conflicts_with = "score")]
    note: Option<f64>,
    /// A score (JSON, or binary OSC bundles as scsynth's NRT mode reads); see `docs/score-format.md`.
    #[arg(long)]
    score: Option<PathBuf>,
    /// Velocity 0..1.
    #[arg(long, default_value_t = 0.8)]
    velocity: f32,
    /// Length in seconds (note default 3; score default: its own).
    #[arg(long)]
    duration: Option<f64>,
    /// Release the note after this many seconds (default: never).
    #[arg(long)]
    release: Option<f64>,
    /// Output WAV file.
    #[arg(long)]
    out: PathBuf,
    /// Excitation shape (default: the instrument's).
    #[arg(long, value_enum)]
    excite: Option<Shape>,
    /// Excitation position across, 0..1 (default: the instrument's).
    #[arg(long)]
    x: Option<f32>,
    /// Excitation position down, 0..1.
    #[arg(long)]
    y: Option<f32>,
    /// Left pickup "X,Y" in 0..1.
    #[arg(long, value_parser = parse_xy)]
    pickup_left: Option<(f32, f32)>,
    /// Right pickup "X,Y" in 0..1.
    #[arg(long, value_parser = parse_xy)]
    pickup_right: Option<(f32, f32)>,
    /// Sample format of the WAV.
    #[arg(long, value_enum, default_value_t = SampleFormat::F32)]
    format: SampleFormat,
    /// Engine (auto: a hardware GPU when there is one, else the CPU;
    /// gpu: the GPU engine on any adapter, software ones included).
    #[arg(long, value_enum, default_value_t = EngineArg::Cpu)]
    engine: EngineArg,
    /// Instruments folder (default: ./instruments, then the source tree's).
    #[arg(long)]
    instruments: Option<PathBuf>,
    /// Scale the output so its peak is at DBFS (e.g. -1, as the corpus
    /// is normalised; for comparing renders with recordings). A silent
    /// render is refused. Default: the instrument's own level.
    #[arg(long, value_name = "DBFS", allow_negative_numbers = true)]
    normalize: Option<f64>,
    /// Scale the output by DB decibels (e.g. to undo a trained
    /// instrument's play level, `play_level.gain_db` in its report).
    #[arg(
        long,
        value_name = "DB",
        allow_negative_numbers = true,
        conflicts_with = "normalize"
    )]
    gain_db: Option<f64>,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Shape {
    Strike,
    Pluck,
    Noise,
    Bow,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum SampleFormat {
    /// 32-bit float.
    F32,
    /// 16-bit integer (dithered-free, clipped).
    I16,
}

impl From<SampleFormat> for neirosynth::render::SampleFormat {
    fn from(f: SampleFormat) -> Self {
        match f {
            SampleFormat::F32 => Self::F32,
            SampleFormat::I16 => Self::I16,
        }
    }
}

impl From<Shape> for ExciteShape {
    fn from(s: Shape) -> Self {
        match s {
            Shape::Strike => ExciteShape::Strike,
            Shape::Pluck => ExciteShape::Pluck,
            Shape::Noise => ExciteShape::Noise,
            Shape::Bow => ExciteShape::Bow,
        }
    }
}

fn parse_xy(s: &str) -> Result<(f32, f32), String> {
    let (a, b) = s.split_once(',').ok_or("expected X,Y")?;
    let x: f32 = a
        .trim()
        .parse()
        .map_err(|_| format!("`{a}` is not a number"))?;
    let y: f32 = b
        .trim()
        .parse()
        .map_err(|_| format!("`{b}` is not a number"))?;
    if !(0.0..=1.0).contains(&x) || !(0.0..=1.0).contains(&y) {
        return Err("positions are 0..1".into());
    }
    Ok((x, y))
}

/// `render`: one note, or a score.
pub(crate) fn render(a: RenderArgs) -> Result<()> {
    if let Some(n) = a.normalize {
        if !n.is_finite() || !(-200.0..=0.0).contains(&n) {
            return Err(bad(format!("--normalize {n} must be in -200..0 dBFS")));
        }
    }
    if let Some(g) = a.gain_db {
        if !g.is_finite() || !(-120.0..=60.0).contains(&g) {
            return Err(bad(format!("--gain-db {g} must be in -120..60 dB")));
        }
    }
    let level = OutputLevel {
        normalize: a.normalize,
        gain_db: a.gain_db,
    };
    if let Some(d) = a.duration {
        if !d.is_finite() || d <= 0.0 || d > 3600.0 {
            return Err(bad(format!("--duration {d} must be in (0, 3600] seconds")));
        }
    }
    let engine = open_engine(a.engine)?;
    if let Some(path) = &a.score {
        use neirosynth::score::{render_score_file, ScoreFileOptions};
        let dir = instruments_dir(a.instruments.clone());
        let opts = ScoreFileOptions {
            instruments: &dir,
            duration: a.duration,
            level,
            out: &a.out,
            format: a.format.into(),
        };
        let summary = render_score_file(path, &opts, &engine).map_err(|e| {
            if e.is_usage() {
                bad(e.to_string())
            } else {
                e.into()
            }
        })?;
        eprintln!("{summary}");
        return Ok(());
    }
    let instrument = a.instrument.clone().unwrap_or_default();
    let note = a.note.unwrap_or(f64::NAN);
    let duration = a.duration.unwrap_or(3.0);
    let velocity = a.velocity;
    if !note.is_finite() || !(0.0..=127.0).contains(&note) {
        return Err(bad(format!("--note {note} is not a MIDI note (0..127)")));
    }
    if !velocity.is_finite() || !(0.0..=1.0).contains(&velocity) {
        return Err(bad(format!("--velocity {velocity} is outside 0..1")));
    }
    let inst = load_instrument(&instrument, a.instruments)?;
    let overrides = NoteOverrides {
        excite: a.excite.map(Into::into),
        x: a.x,
        y: a.y,
        pickup_left: a.pickup_left,
        pickup_right: a.pickup_right,
    };
    let spec = NoteSpec::played(&inst, note, velocity, &overrides, duration, a.release);
    let mut buf = render_note_on_engine(&inst, &spec, RenderSettings::default(), &engine)
        .map_err(|e| bad(format!("{}: {e}", inst.name())))?;
    level
        .apply(&mut buf)
        .with_context(|| inst.name().to_string())?;
    buf.write_wav_as(&a.out, a.format.into())
        .with_context(|| format!("cannot write {}", a.out.display()))?;
    eprintln!(
        "wrote {} ({} s, peak {:.1} dBFS)",
        a.out.display(),
        duration,
        20.0 * buf.peak().max(1e-12).log10()
    );
    Ok(())
}
