//! `serve` (run the server) and `config --print` (the settings it would
//! run with): their flags, `--config FILE` and `SIGHUP`'s re-reading, and
//! systemd's notify socket and watchdog.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::ValueEnum;
use neirosynth::instrument::lookup::instruments_dir;
use neirosynth::server::config::Setting;

use crate::cli::{bad, open_engine, EngineArg};
use crate::{parse_with_config, Command, SetFilter};

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
pub(crate) struct ServeArgs {
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
    /// First voice id the server picks (`/note/on`, `/voice/new -1`, MIDI);
    /// it counts up from here (below 2^24). Clients that pick their own
    /// `/voice/new` ids keep them below it and never meet the server's:
    /// 1000000 leaves them 1..999999.
    #[arg(long, value_name = "ID", default_value_t = 1)]
    picked_ids_from: i32,
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

#[derive(clap::Args)]
pub(crate) struct ConfigArgs {
    /// Print the effective settings as a configuration file (TOML).
    #[arg(long, required = true)]
    print: bool,
    #[command(flatten)]
    serve: ServeArgs,
}

/// `serve`, as `main` runs it: with systemd's interface and `SIGHUP`
/// re-reading the command line (`argv`) and the `--config` file, if any.
pub(crate) fn run(
    a: ServeArgs,
    argv: Vec<OsString>,
    settings: Vec<(String, Setting)>,
    set_filter: SetFilter,
) -> Result<()> {
    use neirosynth::server::service::ServiceOptions;
    let (notify_socket, watchdog) = systemd_service();
    let reload = std::sync::Arc::new(std::sync::Mutex::new(reloader(argv, set_filter)));
    let service = ServiceOptions {
        reload: Some(reload),
        settings,
        notify_socket,
        watchdog,
    };
    serve(a, service)
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
    let max_first = neirosynth::server::router::MAX_FIRST_PICKED_ID;
    if !(1..=max_first).contains(&a.picked_ids_from) {
        return Err(bad(format!(
            "--picked-ids-from {} must be 1..{max_first}",
            a.picked_ids_from
        )));
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
        picked_ids_from: a.picked_ids_from,
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
