//! The `neirosynth` command line: serve, render, train, inspect, bench.
//!
//! Only the CLI: arguments are parsed and checked here, then handed to the
//! library as explicit options. Errors are reported here, with context
//! (`anyhow`): exit code 2 for bad input ([`Usage`]), 1 for a failure.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Context as _, Result};
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum};
use neirosynth::gpu::{EngineChoice, EngineSpec};
use neirosynth::instrument::format::ExciteShape;
use neirosynth::instrument::lookup::{find_instrument, instruments_dir};
use neirosynth::instrument::Instrument;
use neirosynth::render::{
    render_note_on_engine, NoteOverrides, NoteSpec, OutputLevel, RenderSettings,
};
use neirosynth::server::config::Setting;

#[derive(Parser)]
#[command(
    name = "neirosynth",
    version,
    about = "A real-time audio server in which every sound is physics."
)]
struct Cli {
    /// Log filter (tracing's EnvFilter syntax: `warn`, `debug`,
    /// `neirosynth=trace,wgpu=warn`…); logs go to stderr.
    #[arg(long, global = true, value_name = "FILTER", default_value = "info")]
    log_level: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum AudioArg {
    /// The system's default device (falls back to null when there is none).
    Default,
    /// Silent, clocked at the sample rate (headless machines, tests).
    Null,
    /// cpal's JACK host.
    Jack,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Settings from this TOML file: one key per flag, named as the flag
    /// without `--` (`port = 57130`, `midi-map = "map.json"`, switches
    /// `true`/`false`); flags given here win. `SIGHUP` re-reads it (and
    /// rescans the instruments folder without one) and applies instruments,
    /// midi-map, master-gain and log-level; other changes wait for a restart. `neirosynth config --print` shows
    /// the effective settings.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Master gain at start, linear 0..16 (a restored --state-file's wins).
    #[arg(long, default_value_t = 1.0)]
    master_gain: f32,
    /// Keep the state that survives a restart in this JSON file (written
    /// atomically): instruments loaded or reloaded, master gain, MIDI
    /// program changes. A corrupt file is reported and ignored.
    #[arg(long, value_name = "FILE")]
    state_file: Option<PathBuf>,
    /// Instruments folder (default: ./instruments, then the source tree's).
    #[arg(long)]
    instruments: Option<PathBuf>,
    /// UDP port (0: any free port, printed as `listening udp ADDR:PORT`).
    #[arg(long, default_value_t = neirosynth::server::DEFAULT_PORT)]
    port: u16,
    /// Address to bind (default: loopback only).
    #[arg(long, default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
    /// Audio back-end.
    #[arg(long, value_enum, default_value_t = AudioArg::Default)]
    audio: AudioArg,
    /// Output device name (default: the system default).
    #[arg(long)]
    device: Option<String>,
    /// Record exactly what is output to this WAV (32-bit float stereo).
    #[arg(long)]
    record: Option<PathBuf>,
    /// Engine.
    #[arg(long, value_enum, default_value_t = EngineArg::Auto)]
    engine: EngineArg,
    /// Voice limit (the oldest voice is stolen beyond it).
    #[arg(long, default_value_t = 32)]
    voices: usize,
    /// Block size, frames.
    #[arg(long, default_value_t = 256)]
    block: usize,
    /// Sample rate, Hz (the device's own rate is used if it cannot run this one).
    #[arg(long, default_value_t = 48000)]
    sample_rate: u32,
    /// Engine threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// MIDI input: all ports, none, or the ports whose name contains NAME.
    #[arg(long, default_value = "all")]
    midi: String,
    /// MIDI preset (channel → instrument, bend range, velocity curve, CC targets).
    #[arg(long)]
    midi_map: Option<PathBuf>,
    /// MPE zones for controllers that send no MPE Configuration Message:
    /// `lower` (manager channel 1, members 2–16), `upper` (manager 16,
    /// members 15–1), `both` (7 members each) or `off`. Default: the MIDI
    /// preset's `mpe` key, else none until the controller configures them.
    /// Member notes bend ±48 semitones: raise --bend-headroom for wide up-bends.
    #[arg(long, value_parser = ["lower", "upper", "both", "off"])]
    mpe: Option<String>,
    /// Send every reply to this port (on --reply-host or the sender's address).
    #[arg(long)]
    reply_port: Option<u16>,
    /// Host for --reply-port.
    #[arg(long)]
    reply_host: Option<std::net::IpAddr>,
    /// Run every bundle at once, ignoring timetags.
    #[arg(long)]
    ignore_timetags: bool,
    /// Timetags further ahead than this many seconds run at once (counted late).
    #[arg(long, default_value_t = 10.0)]
    horizon: f64,
    /// Refuse `/quit` from clients.
    #[arg(long)]
    no_remote_quit: bool,
    /// Pitch-bend headroom of every voice, semitones (pitch above note + this is clamped).
    #[arg(long, default_value_t = 2.0)]
    bend_headroom: f64,
    /// SCHED_FIFO priority of the engine threads (the null audio clock gets
    /// 5 more); 0 keeps normal scheduling. Refused priorities only warn.
    #[arg(long, default_value_t = 70, value_parser = clap::value_parser!(u8).range(0..=94))]
    rt_priority: u8,
    /// The master limiter on the output: on (default: a 1.8 ms delay (1.5 ms look-ahead),
    /// 4x-oversampled true-peak limiter, ceiling -0.3 dBFS) or off.
    #[arg(long, value_enum, default_value = "on")]
    limiter: Switch,
    /// Serve the OSCQuery description (every address, its argument types
    /// and ranges, the instruments, the voice parameters) over HTTP on this
    /// port of --bind (0: any free port, printed as `oscquery http
    /// ADDR:PORT` after the `listening udp` line). Off by default.
    #[arg(long, value_name = "N")]
    oscquery_port: Option<u16>,
    /// Advertise over mDNS/DNS-SD: `_osc._udp` (the OSC port) and, with
    /// --oscquery-port, `_oscjson._tcp`. With a loopback --bind (the
    /// default) only on the loopback interface: --bind 0.0.0.0 to be
    /// found on the network. Off by default.
    #[arg(long)]
    advertise: bool,
    /// Folder of presets (/preset/save writes DIR/NAME.json atomically; every
    /// preset there is loaded at start-up, an unreadable one is reported and
    /// skipped). Created if missing. Default: presets live in memory only.
    #[arg(long, value_name = "DIR")]
    preset_dir: Option<PathBuf>,
    /// Testing aid: the GPU engine simulates a device loss after N blocks,
    /// so that the hand-over to the CPU engine can be tried on a sound GPU.
    #[arg(long, value_name = "N")]
    simulate_gpu_failure_after: Option<u64>,
    /// Testing aid: the null back-end runs PPM parts per million fast
    /// (negative: slow) against the system clock, like a sound card's crystal
    /// (-10000..10000), so that the clock tracking (/status clock drift) and
    /// servers kept in step can be tried on one machine (docs/clock.md).
    #[arg(
        long,
        value_name = "PPM",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    null_drift_ppm: f64,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum Switch {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum EngineArg {
    /// A real GPU when there is one, else the CPU engine.
    Auto,
    /// The native CPU engine.
    Cpu,
    /// The GPU engine on any Vulkan adapter (software ones included).
    Gpu,
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

#[derive(Subcommand)]
enum Command {
    /// Run the server: the instrument bank, OSC over UDP, MIDI, audio out.
    Serve(ServeArgs),
    /// Show the settings `serve` would run with (defaults < --config file < flags).
    Config(ConfigArgs),
    /// Render one note of an instrument, or a score of timed OSC commands,
    /// to a 48 kHz stereo WAV (deterministic).
    Render(RenderArgs),
    /// Learn a playable physical instrument from recordings (one WAV per note).
    Train(TrainArgs),
    /// Show an instrument: metadata, certificate per note, first modes; optionally a PNG of its maps.
    Inspect(InspectArgs),
    /// Measure how many voices the engine renders in real time at 48 kHz.
    Bench(BenchArgs),
}

#[derive(clap::Args)]
struct ConfigArgs {
    /// Print the effective settings as a configuration file (TOML).
    #[arg(long, required = true)]
    print: bool,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(clap::Args)]
struct RenderArgs {
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

#[derive(clap::Args)]
struct InspectArgs {
    /// Instrument name in the bank, or a path to an instrument file.
    instrument: String,
    /// Write the maps (stiffness | σ₀ | mask) as a PNG.
    #[arg(long)]
    png: Option<PathBuf>,
    /// Instruments folder.
    #[arg(long)]
    instruments: Option<PathBuf>,
}

#[derive(clap::Args)]
struct BenchArgs {
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

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum ModeArg {
    /// Adam on the stiffness and σ₀ maps (per node), σ₁ and the strike,
    /// with the scheme's exact adjoint gradient.
    Adjoint,
    /// Stochastic perturbation of the scalar controls through the engine.
    Spsa,
    /// SPSA (scalars, pickups) for half the iterations, then adjoint.
    Hybrid,
    /// Adjoint one pyramid level coarser for half the iterations, then at
    /// the played level.
    Progressive,
}

#[derive(clap::Args)]
struct TrainArgs {
    /// Target recordings (WAV, any rate, channels and sample format): one
    /// note each; several files are several notes of one instrument.
    #[arg(required = true)]
    targets: Vec<PathBuf>,
    /// Output instrument file (its name is the file stem); the report goes
    /// to `<out>.report/`.
    #[arg(long)]
    out: PathBuf,
    /// Refinement after the analysis fit.
    #[arg(long, value_enum, default_value_t = ModeArg::Hybrid)]
    mode: ModeArg,
    /// Refinement iterations (each renders every target twice; default 40,
    /// 80 with `--excite bow`, whose refinement is SPSA only).
    #[arg(long)]
    iterations: Option<usize>,
    /// Start from this instrument's body (name in the bank or a file)
    /// instead of choosing among the bank's.
    #[arg(long)]
    from: Option<String>,
    /// Send `/inst/reload <name>` to the server at HOST:PORT after each
    /// improvement (`--out` must be in that server's instruments folder).
    #[arg(long, value_name = "HOST:PORT")]
    live: Option<String>,
    /// Continue from `<out>.report/checkpoint.json`.
    #[arg(long)]
    resume: bool,
    /// Seconds of each target the refinement loss looks at.
    #[arg(long, default_value_t = neirosynth::train::DEFAULT_LOSS_SECONDS)]
    loss_seconds: f64,
    /// Candidate bodies (default: the shipped instruments folder).
    #[arg(long)]
    instruments: Option<PathBuf>,
    /// Excitation of the trained model (`strike`, `pluck`, `noise`, `bow`;
    /// default: the search picks strike or pluck). `bow` fits the bow's
    /// force and velocity with the body (SPSA refinement).
    #[arg(long)]
    excite: Option<String>,
}

fn train(a: TrainArgs) -> Result<()> {
    use neirosynth::train::progress::{ProgressBar, Summary};
    use neirosynth::train::{Mode, TrainOptions};
    let mode = match a.mode {
        ModeArg::Adjoint => Mode::Adjoint,
        ModeArg::Spsa => Mode::Spsa,
        ModeArg::Hybrid => Mode::Hybrid,
        ModeArg::Progressive => Mode::Progressive,
    };
    if !a.loss_seconds.is_finite() || a.loss_seconds < 0.1 {
        return Err(bad("--loss-seconds must be at least 0.1"));
    }
    let from = match &a.from {
        Some(spec) => Some(load_instrument(spec, a.instruments.clone())?),
        None => None,
    };
    let excite = match &a.excite {
        Some(name) => Some(
            neirosynth::types::ExciteShape::from_name(name)
                .ok_or_else(|| bad(format!("--excite {name}: not strike, pluck, noise or bow")))?,
        ),
        None => None,
    };
    let opts = TrainOptions {
        excite,
        targets: a.targets,
        out: a.out,
        mode,
        iterations: a
            .iterations
            .unwrap_or(neirosynth::train::default_iterations(excite)),
        from,
        templates_dir: instruments_dir(a.instruments),
        live: a.live,
        resume: a.resume,
        loss_seconds: a.loss_seconds,
    };
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = stop.clone();
    ctrlc::set_handler(move || s.store(true, std::sync::atomic::Ordering::Relaxed))
        .context("cannot install the signal handler")?;
    let mut progress = ProgressBar::new();
    let result = neirosynth::train::train(&opts, &mut progress, &stop);
    progress.finish();
    // The training error's message already names its cause.
    let outcome = result.map_err(|e| {
        if e.is_usage() {
            bad(e.to_string())
        } else {
            anyhow!("{e}")
        }
    })?;
    let summary = Summary {
        opts: &opts,
        outcome: &outcome,
    };
    eprint!("{summary}");
    Ok(())
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

/// Bad input (exit code 2); any other error exits with 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Usage(String);

/// A [`Usage`] error.
fn bad(msg: impl Into<String>) -> anyhow::Error {
    Usage(msg.into()).into()
}

/// An instrument named on the command line: a file, or a name in the
/// instruments folder (an unknown name or a refused file is bad input).
fn load_instrument(spec: &str, dir: Option<PathBuf>) -> Result<Arc<Instrument>> {
    find_instrument(spec, dir).map_err(|e| bad(e.to_string()))
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

/// `render`: one note, or a score.
fn render(a: RenderArgs) -> Result<()> {
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

/// The command line, with the settings of `serve`'s (or `config`'s)
/// `--config FILE` added where no flag gives them; and the effective
/// settings (empty for the other subcommands).
fn parse_with_config(argv: &[OsString]) -> Result<(Cli, Vec<(String, Setting)>)> {
    let cmd = Cli::command();
    let first = cmd.clone().get_matches_from(argv);
    let (matches, settings) =
        neirosynth::server::config::merge(&cmd, argv, first, &["serve", "config"])
            .map_err(|e| bad(e.to_string()))?;
    Ok((Cli::from_arg_matches(&matches)?, settings))
}

/// `serve`'s `SIGHUP`: parses `argv` again with the file as it is now and
/// applies the log level (`set_filter`); the server applies the rest.
fn reloader(argv: Vec<OsString>, set_filter: SetFilter) -> neirosynth::server::service::Reloader {
    use neirosynth::server::service::Reloaded;
    Box::new(move || {
        let (cli, settings) = parse_with_config(&argv).map_err(|e| format!("{e:#}"))?;
        let Command::Serve(a) = cli.command else {
            return Err("not serve".into());
        };
        check_master_gain(a.master_gain).map_err(|e| e.to_string())?;
        set_filter(&cli.log_level).map_err(|e| format!("{e:#}"))?;
        Ok(Reloaded {
            instruments: instruments_dir(a.instruments),
            midi_map: a.midi_map,
            master_gain: a.master_gain,
            settings,
        })
    })
}

fn check_master_gain(g: f32) -> Result<()> {
    if !g.is_finite() || !(0.0..=16.0).contains(&g) {
        return Err(bad(format!("--master-gain {g} must be 0..16 (linear)")));
    }
    Ok(())
}

/// systemd's interface (read here only): the notify socket and the
/// watchdog interval, when systemd set them for this process.
fn systemd_service() -> (Option<PathBuf>, Option<std::time::Duration>) {
    let socket = std::env::var_os("NOTIFY_SOCKET").map(PathBuf::from);
    let for_us = std::env::var("WATCHDOG_PID")
        .ok()
        .is_none_or(|pid| pid.trim() == std::process::id().to_string());
    let watchdog = std::env::var("WATCHDOG_USEC")
        .ok()
        .and_then(|u| u.trim().parse::<u64>().ok())
        .filter(|&u| u > 0 && for_us)
        .map(std::time::Duration::from_micros);
    (socket, watchdog)
}

/// `serve`: checks the arguments, then runs the server until it is told to stop.
fn serve(a: ServeArgs, service: neirosynth::server::service::ServiceOptions) -> Result<()> {
    use neirosynth::audio::AudioKind;
    use neirosynth::server::{serve, MidiSelect, ServeOptions};
    check_master_gain(a.master_gain)?;
    if !(16..=4096).contains(&a.block) {
        return Err(bad(format!("--block {} must be 16..4096", a.block)));
    }
    if !(1..=4096).contains(&a.voices) {
        return Err(bad(format!("--voices {} must be 1..4096", a.voices)));
    }
    if !(8000..=192000).contains(&a.sample_rate) {
        return Err(bad(format!(
            "--sample-rate {} must be 8000..192000",
            a.sample_rate
        )));
    }
    if !a.horizon.is_finite() || a.horizon <= 0.0 {
        return Err(bad("--horizon must be a positive number of seconds"));
    }
    if !a.null_drift_ppm.is_finite() || a.null_drift_ppm.abs() > 10000.0 {
        return Err(bad("--null-drift-ppm must be -10000..10000"));
    }
    let reply = match (a.reply_port, a.reply_host) {
        (Some(p), h) => Some(std::net::SocketAddr::new(
            h.unwrap_or(std::net::Ipv4Addr::LOCALHOST.into()),
            p,
        )),
        (None, Some(_)) => return Err(bad("--reply-host needs --reply-port")),
        (None, None) => None,
    };
    let opts = ServeOptions {
        instruments: instruments_dir(a.instruments),
        port: a.port,
        bind: a.bind,
        audio: match a.audio {
            AudioArg::Default => AudioKind::Default,
            AudioArg::Null => AudioKind::Null,
            AudioArg::Jack => AudioKind::Jack,
        },
        device: a.device,
        record: a.record,
        voices: a.voices,
        block: a.block,
        sample_rate: a.sample_rate,
        threads: a.threads,
        midi: match a.midi.as_str() {
            "all" => MidiSelect::All,
            "none" => MidiSelect::None,
            n => MidiSelect::Named(n.to_string()),
        },
        midi_map: a.midi_map,
        mpe: a.mpe.as_deref().map(|z| {
            let (lower, upper) = match z {
                "lower" => (15, 0),
                "upper" => (0, 15),
                "both" => (7, 7),
                _ => (0, 0),
            };
            neirosynth::server::mpe::Zones { lower, upper }
        }),
        reply,
        ignore_timetags: a.ignore_timetags,
        horizon: a.horizon,
        allow_quit: !a.no_remote_quit,
        bend_headroom: a.bend_headroom.clamp(0.0, 48.0),
        rt_priority: a.rt_priority,
        engine: open_engine(a.engine)?,
        require_gpu: a.engine == EngineArg::Gpu,
        simulate_gpu_failure_after: a.simulate_gpu_failure_after,
        null_drift_ppm: a.null_drift_ppm,
        limiter: a.limiter == Switch::On,
        oscquery_port: a.oscquery_port,
        advertise: a.advertise,
        preset_dir: a.preset_dir,
        master_gain: a.master_gain,
        state_file: a.state_file,
        service,
    };
    let quit = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let q = quit.clone();
    ctrlc::set_handler(move || q.store(true, std::sync::atomic::Ordering::Relaxed))
        .context("cannot install the signal handler")?;
    // After ctrlc's (which would quit on it): SIGHUP reloads.
    neirosynth::server::service::catch_hangup().context("cannot install the SIGHUP handler")?;
    Ok(serve(opts, quit)?)
}

/// `inspect`: the report, and the maps as a PNG.
fn inspect(a: InspectArgs) -> Result<()> {
    let inst = load_instrument(&a.instrument, a.instruments)?;
    print!("{}", neirosynth::inspect::report(&inst, 48000.0));
    if let Some(p) = a.png {
        // The message names the cause; no chain.
        neirosynth::inspect::write_png(&inst, &p).map_err(|e| anyhow!("{e}"))?;
        println!("maps written to {}", p.display());
    }
    Ok(())
}

/// `bench`: voices in real time on one thread and on all, or (`--adjoint`)
/// one training iteration.
fn bench(a: BenchArgs) -> Result<()> {
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

/// Opens the engine `--engine` asks for (the library logs the choice).
fn open_engine(arg: EngineArg) -> Result<EngineSpec> {
    let choice = match arg {
        EngineArg::Auto => EngineChoice::Auto,
        EngineArg::Cpu => EngineChoice::Cpu,
        EngineArg::Gpu => EngineChoice::Gpu,
    };
    EngineSpec::open(choice).map_err(|e| anyhow!("--engine gpu: {e}"))
}

/// What `main` runs: one subcommand (`argv`, the effective settings and
/// the log filter's setter for `serve`'s `SIGHUP`).
fn run(
    cli: Cli,
    argv: Vec<OsString>,
    settings: Vec<(String, Setting)>,
    set_filter: SetFilter,
) -> Result<()> {
    match cli.command {
        Command::Serve(a) => {
            use neirosynth::server::service::ServiceOptions;
            let (notify_socket, watchdog) = systemd_service();
            // SIGHUP re-reads the command line and the --config file, if any.
            let reload = std::sync::Arc::new(std::sync::Mutex::new(reloader(argv, set_filter)));
            let service = ServiceOptions {
                reload: Some(reload),
                settings,
                notify_socket,
                watchdog,
            };
            serve(a, service)
        }
        Command::Config(_) => {
            print!("{}", neirosynth::server::config::render(&settings));
            Ok(())
        }
        Command::Train(a) => train(a),
        Command::Render(a) => render(a),
        Command::Inspect(a) => inspect(a),
        Command::Bench(a) => bench(a),
    }
}

/// Changes the log filter of a running process.
type SetFilter = Box<dyn Fn(&str) -> Result<()> + Send + Sync>;

/// A `--log-level` filter; one that does not parse is bad input.
fn log_filter(filter: &str) -> Result<tracing_subscriber::EnvFilter> {
    tracing_subscriber::EnvFilter::try_new(filter)
        .map_err(|e| bad(format!("--log-level {filter}: {e}")))
}

/// Logs to stderr under `--log-level`; returns the filter's setter.
fn init_logging(filter: &str) -> Result<SetFilter> {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_env_filter(log_filter(filter)?)
        .with_filter_reloading();
    let handle = builder.reload_handle();
    builder.init();
    Ok(Box::new(move |f: &str| {
        let filter = log_filter(f)?;
        handle.reload(filter).map_err(|e| anyhow!("{e}"))
    }))
}

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let started = parse_with_config(&argv).and_then(|(cli, settings)| {
        let set_filter = init_logging(&cli.log_level)?;
        run(cli, argv, settings, set_filter)
    });
    match started {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("neirosynth: {e:#}");
            ExitCode::from(if e.downcast_ref::<Usage>().is_some() {
                2
            } else {
                1
            })
        }
    }
}
