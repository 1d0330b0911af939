//! The `neirosynth` command line: render, inspect, bench.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use neirosynth::engine::voice::NoteRequest;
use neirosynth::instrument::format::ExciteShape;
use neirosynth::instrument::Instrument;
use neirosynth::render::{render_note, NoteSpec, RenderSettings};

#[derive(Parser)]
#[command(
    name = "neirosynth",
    version,
    about = "A real-time audio server in which every sound is physics."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum EngineKind {
    /// The native CPU engine.
    Cpu,
    /// The GPU engine (not built yet).
    Gpu,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Shape {
    Strike,
    Pluck,
    Noise,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum SampleFormat {
    /// 32-bit float.
    F32,
    /// 16-bit integer (dithered-free, clipped).
    I16,
}

#[derive(Subcommand)]
enum Command {
    /// Render one note of an instrument to a 48 kHz stereo WAV (deterministic).
    Render {
        /// Instrument name in the bank, or a path to an instrument file.
        #[arg(long)]
        instrument: String,
        /// MIDI note (fractional allowed), 24..108.
        #[arg(long)]
        note: f64,
        /// Velocity 0..1.
        #[arg(long, default_value_t = 0.8)]
        velocity: f32,
        /// Length in seconds.
        #[arg(long, default_value_t = 3.0)]
        duration: f64,
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
        /// Engine.
        #[arg(long, value_enum, default_value_t = EngineKind::Cpu)]
        engine: EngineKind,
        /// Instruments folder (default: ./instruments, then the source tree's).
        #[arg(long)]
        instruments: Option<PathBuf>,
    },
    /// Show an instrument: metadata, certificate per note, first modes; optionally a PNG of its maps.
    Inspect {
        /// Instrument name in the bank, or a path to an instrument file.
        instrument: String,
        /// Write the maps (stiffness | σ₀ | mask) as a PNG.
        #[arg(long)]
        png: Option<PathBuf>,
        /// Instruments folder.
        #[arg(long)]
        instruments: Option<PathBuf>,
    },
    /// Measure how many voices the engine renders in real time at 48 kHz.
    Bench {
        /// Engine.
        #[arg(long, value_enum, default_value_t = EngineKind::Cpu)]
        engine: EngineKind,
        /// Mesh side (N×N uniform membrane).
        #[arg(long, default_value_t = 64)]
        mesh: usize,
        /// Voices (default: four per thread).
        #[arg(long, default_value_t = 0)]
        voices: usize,
        /// Audio seconds rendered per measurement.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// Threads (default: one per core).
        #[arg(long, default_value_t = 0)]
        threads: usize,
    },
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

/// A failure: exit code 2 for bad input, 1 for runtime failure.
struct Failure(u8, String);

fn bad(msg: impl Into<String>) -> Failure {
    Failure(2, msg.into())
}

fn instruments_dir(arg: Option<PathBuf>) -> PathBuf {
    if let Some(d) = arg {
        return d;
    }
    if let Some(d) = std::env::var_os("NEIROSYNTH_INSTRUMENTS") {
        return d.into();
    }
    let local = PathBuf::from("instruments");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("instruments")
}

fn load_instrument(spec: &str, dir: Option<PathBuf>) -> Result<Arc<Instrument>, Failure> {
    let as_path = Path::new(spec);
    let path = if spec.ends_with(".json") || spec.contains('/') || as_path.is_file() {
        as_path.to_path_buf()
    } else {
        let dir = instruments_dir(dir);
        let p = dir.join(format!("{spec}.json"));
        if !p.is_file() {
            let mut names: Vec<String> = std::fs::read_dir(&dir)
                .map(|r| {
                    r.filter_map(|e| e.ok())
                        .filter_map(|e| {
                            e.path()
                                .file_stem()
                                .map(|s| s.to_string_lossy().into_owned())
                        })
                        .collect()
                })
                .unwrap_or_default();
            names.sort();
            return Err(bad(format!(
                "unknown instrument `{spec}` (not in {}; available: {})",
                dir.display(),
                names.join(", ")
            )));
        }
        p
    };
    Instrument::load(&path)
        .map(Arc::new)
        .map_err(|e| bad(e.to_string()))
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Render {
            instrument,
            note,
            velocity,
            duration,
            release,
            out,
            excite,
            x,
            y,
            pickup_left,
            pickup_right,
            format,
            engine,
            instruments,
        } => {
            if engine == EngineKind::Gpu {
                return Err(bad(
                    "the GPU engine is not part of this build yet; use --engine cpu",
                ));
            }
            if !note.is_finite() || !(0.0..=127.0).contains(&note) {
                return Err(bad(format!("--note {note} is not a MIDI note (0..127)")));
            }
            if !velocity.is_finite() || !(0.0..=1.0).contains(&velocity) {
                return Err(bad(format!("--velocity {velocity} is outside 0..1")));
            }
            if !duration.is_finite() || duration <= 0.0 || duration > 3600.0 {
                return Err(bad(format!(
                    "--duration {duration} must be in (0, 3600] seconds"
                )));
            }
            let inst = load_instrument(&instrument, instruments)?;
            let mut req = NoteRequest::new(note, velocity);
            let f = &inst.file;
            if excite.is_some() || x.is_some() || y.is_some() {
                let shape = match excite {
                    Some(Shape::Strike) => ExciteShape::Strike,
                    Some(Shape::Pluck) => ExciteShape::Pluck,
                    Some(Shape::Noise) => ExciteShape::Noise,
                    None => f.excitation.shape,
                };
                let xx = x.unwrap_or(f.excitation.x as f32).clamp(0.0, 1.0);
                let yy = y.unwrap_or(f.excitation.y as f32).clamp(0.0, 1.0);
                req.excite = Some((shape, xx, yy));
            }
            if pickup_left.is_some() || pickup_right.is_some() {
                let l = pickup_left.unwrap_or((f.pickups.left[0] as f32, f.pickups.left[1] as f32));
                let r =
                    pickup_right.unwrap_or((f.pickups.right[0] as f32, f.pickups.right[1] as f32));
                req.pickups = Some([l.0, l.1, r.0, r.1]);
            }
            let spec = NoteSpec {
                request: req,
                duration,
                release_at: release,
            };
            let buf = render_note(&inst, &spec, RenderSettings::default())
                .map_err(|e| bad(format!("{}: {e}", inst.name())))?;
            let written = match format {
                SampleFormat::F32 => buf.write_wav(&out),
                SampleFormat::I16 => buf.write_wav_i16(&out),
            };
            written.map_err(|e| Failure(1, format!("cannot write {}: {e}", out.display())))?;
            eprintln!(
                "wrote {} ({} s, peak {:.1} dBFS)",
                out.display(),
                duration,
                20.0 * buf.peak().max(1e-12).log10()
            );
            Ok(())
        }
        Command::Inspect {
            instrument,
            png,
            instruments,
        } => {
            let inst = load_instrument(&instrument, instruments)?;
            print!("{}", neirosynth::inspect::report(&inst, 48000.0));
            if let Some(p) = png {
                neirosynth::inspect::write_png(&inst, &p).map_err(|e| Failure(1, e))?;
                println!("maps written to {}", p.display());
            }
            Ok(())
        }
        Command::Bench {
            engine,
            mesh,
            voices,
            seconds,
            threads,
        } => {
            if engine == EngineKind::Gpu {
                return Err(bad(
                    "the GPU engine is not part of this build yet; use --engine cpu",
                ));
            }
            if !(8..=256).contains(&mesh) {
                return Err(bad(format!("--mesh {mesh} must be 8..256")));
            }
            if !seconds.is_finite() || seconds <= 0.0 {
                return Err(bad("--seconds must be positive"));
            }
            let inst = neirosynth::bench::bench_instrument(mesh).map_err(|e| Failure(1, e))?;
            let settings = neirosynth::bench::BenchSettings {
                mesh,
                voices,
                seconds,
                threads,
                block: 256,
            };
            println!(
                "engine: cpu, kernel: {}, mesh {mesh}×{mesh}, 48 kHz, 256-frame blocks",
                neirosynth::bench::simd_name()
            );
            let single = neirosynth::bench::run(
                &inst,
                neirosynth::bench::BenchSettings {
                    threads: 1,
                    voices: if voices == 0 { 4 } else { voices },
                    ..settings
                },
            );
            println!(
                "one thread:  {:.2} voices in real time ({:.2} G node updates/s)",
                single.voices_realtime,
                single.node_rate / 1e9
            );
            let all = neirosynth::bench::run(&inst, settings);
            println!(
                "{} threads:   {:.2} voices in real time ({:.2} per thread, {} voices rendered)",
                all.threads,
                all.voices_realtime,
                all.voices_realtime / all.threads as f64,
                all.voices
            );
            println!(
                "voices_realtime={:.2} mesh={mesh} engine=cpu",
                all.voices_realtime
            );
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, msg)) => {
            eprintln!("neirosynth: {msg}");
            ExitCode::from(code)
        }
    }
}
