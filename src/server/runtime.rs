//! The running server: threads, rings and their wiring.
//!
//! ```text
//!  UDP ──► network thread ──(Timed ring)──► engine thread ──(f32 ring)──► audio back-end
//!  MIDI ─► (channel) ──┘  ◄──(event ring)──┘                                 └─► recorder
//! ```
//!
//! - The network thread (the main thread) decodes OSC, routes it
//!   ([`super::router::Router`]), maps timetags to engine frames, and sends
//!   replies. Allocation is fine there.
//! - The engine thread keeps the output ring one block ahead of the audio
//!   back-end, applying commands at their frames; it never allocates, locks,
//!   logs or does I/O (instruments it lets go of go back through the event
//!   ring to be dropped on the network thread). It renders on the CPU
//!   engine or on the GPU engine (`--engine`); when the GPU fails it moves
//!   the playing voices to the CPU engine (built at start-up for this) and
//!   hands the dead GPU engine to the network thread, which reports it.
//! - The audio callback only copies from the ring (see [`crate::audio`]).

use std::collections::VecDeque;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use super::midi_map::MidiMap;
use super::router::{Output, Router, RouterConfig};
use super::stats::SharedStats;
use crate::audio::supervisor::{AudioSupervisor, DeviceRequest};
use crate::audio::{self, recorder::Recorder, AudioKind, DeviceHealth};
use crate::control::osc::{decode_packet, ntp_delta_seconds, ntp_now, Timetag};
use crate::control::reply::{self, EngineKind};
use crate::engine::command::{pop_due, EngineEvent, EventSink, Timed};
use crate::engine::priority::{self, RealtimePriority};
use crate::engine::{Engine, EngineConfig};
use crate::gpu::{EngineSpec, GpuEngine};
use crate::instrument::bank::Bank;
use crate::instrument::Instrument;

/// Default UDP port.
pub const DEFAULT_PORT: u16 = 57130;
/// Commands that can wait in the engine thread for their frame.
const PENDING_CAPACITY: usize = 16384;
/// Capacity of the command and event rings.
const RING_CAPACITY: usize = 8192;

/// MIDI input selection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MidiSelect {
    /// Every input port.
    All,
    /// No MIDI.
    None,
    /// Ports whose name contains this.
    Named(String),
}

/// Everything `serve` is told.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Instruments folder.
    pub instruments: PathBuf,
    /// UDP port (0: any free port).
    pub port: u16,
    /// Address to bind.
    pub bind: std::net::IpAddr,
    /// Audio back-end.
    pub audio: AudioKind,
    /// Output device name.
    pub device: Option<String>,
    /// Record the output here.
    pub record: Option<PathBuf>,
    /// Voice limit.
    pub voices: usize,
    /// Block size, frames.
    pub block: usize,
    /// Requested sample rate.
    pub sample_rate: u32,
    /// Engine worker threads (0: one per core).
    pub threads: usize,
    /// MIDI input.
    pub midi: MidiSelect,
    /// MIDI preset file.
    pub midi_map: Option<PathBuf>,
    /// Fixed reply destination.
    pub reply: Option<SocketAddr>,
    /// Treat every bundle as immediate.
    pub ignore_timetags: bool,
    /// Timetags further ahead than this (seconds) run at once (counted late).
    pub horizon: f64,
    /// Obey `/quit`.
    pub allow_quit: bool,
    /// Pitch-bend headroom of every voice, semitones.
    pub bend_headroom: f64,
    /// `SCHED_FIFO` priority of the engine threads (0: normal scheduling).
    pub rt_priority: u8,
    /// The engine: the CPU engine, or the GPU engine on an opened adapter
    /// (the CPU engine takes over if it fails).
    pub engine: EngineSpec,
    /// `--engine gpu`: a GPU engine that cannot start is an error (with
    /// `auto` the server falls back to the CPU engine).
    pub require_gpu: bool,
}

/// Events from the engine into a ring. A block's events are held (in a
/// preallocated list) until the block's figures are in the shared stats, so
/// that a client told `/voice/started` or `/synced` finds that in
/// `/status`; retired instruments that do not fit the ring wait in a
/// preallocated list (never dropped on the engine thread).
struct RingSink {
    prod: HeapProd<EngineEvent>,
    held: Vec<EngineEvent>,
    overflow: Vec<Arc<Instrument>>,
    stats: Arc<SharedStats>,
}

impl EventSink for RingSink {
    fn emit(&mut self, event: EngineEvent) {
        if self.held.len() < self.held.capacity() {
            self.held.push(event);
        } else {
            self.send(event);
        }
    }
}

impl RingSink {
    /// Sends the held events (after the block's stats are published).
    fn release_held(&mut self) {
        // `drain` on a preallocated Vec does not allocate.
        let mut held = std::mem::take(&mut self.held);
        for ev in held.drain(..) {
            self.send(ev);
        }
        self.held = held;
    }

    fn send(&mut self, event: EngineEvent) {
        if let Err(ev) = self.prod.try_push(event) {
            SharedStats::add(&self.stats.dropped, 1);
            if let EngineEvent::Retired(a) = ev {
                if self.overflow.len() < self.overflow.capacity() {
                    self.overflow.push(a);
                } else {
                    // Never free on the engine thread: leak (counted above).
                    std::mem::forget(a);
                }
            }
        }
    }

    fn flush_overflow(&mut self) {
        while let Some(a) = self.overflow.pop() {
            if let Err(EngineEvent::Retired(a)) = self.prod.try_push(EngineEvent::Retired(a)) {
                self.overflow.push(a);
                break;
            }
        }
    }
}

/// A GPU engine that failed, on its way to the network thread (dropped
/// there), with the number of voices restarted on the CPU engine.
struct FailedGpu {
    engine: Box<GpuEngine>,
    restarted: usize,
}

struct EngineThread {
    /// The CPU engine: it renders when `gpu` is `None` and takes over the
    /// voices when the GPU fails.
    engine: Engine,
    gpu: Option<Box<GpuEngine>>,
    failed: crossbeam_channel::Sender<FailedGpu>,
    commands: HeapCons<Timed>,
    sink: RingSink,
    out: HeapProd<f32>,
    stats: Arc<SharedStats>,
    quit: Arc<AtomicBool>,
    target_frames: usize,
}

impl EngineThread {
    fn frames(&self) -> u64 {
        match &self.gpu {
            Some(g) => g.stats.frames,
            None => self.engine.stats.frames,
        }
    }

    fn run(mut self) {
        let block = self.engine.config().max_block;
        let rate = self.engine.config().sample_rate;
        let period = Duration::from_secs_f64(block as f64 / rate);
        let (mut l, mut r) = (vec![0.0f32; block], vec![0.0f32; block]);
        let mut inter = vec![0.0f32; 2 * block];
        let mut pending: VecDeque<Timed> = VecDeque::with_capacity(PENDING_CAPACITY);
        let mut load = 0.0f32;
        let mut worst = 0.0f32;
        while !self.quit.load(Ordering::Relaxed) {
            if self.out.occupied_len() / 2 >= self.target_frames
                || self.out.vacant_len() < 2 * block
            {
                std::thread::sleep(period / 8);
                continue;
            }
            // Queue new commands in frame order (immediate ones at the current frame).
            let now = self.frames();
            while let Some(mut t) = self.commands.try_pop() {
                // A frame already past runs now, after the commands queued
                // before it (a `/sync` marker must not overtake them).
                let f = t.frame.map_or(now, |f| f.max(now));
                t.frame = Some(f);
                if pending.len() == pending.capacity() {
                    // Full: apply at once rather than allocate.
                    SharedStats::add(&self.stats.late_bundles, 1);
                    t.frame = Some(now);
                }
                let at = pending.partition_point(|p| p.frame.unwrap_or(0) <= f);
                if pending.len() < pending.capacity() {
                    pending.insert(at, t);
                } else {
                    match &mut self.gpu {
                        Some(g) => g.apply(t.command, &mut self.sink),
                        None => self.engine.apply(t.command, &mut self.sink),
                    }
                }
            }
            let t0 = Instant::now();
            let sink = &mut self.sink;
            let due = |limit| pop_due(&mut pending, limit);
            match &mut self.gpu {
                Some(g) => {
                    g.process_scheduled(&mut l, &mut r, sink, due);
                    if g.failure().is_some() {
                        self.fail_over();
                    }
                }
                None => self.engine.process_scheduled(&mut l, &mut r, sink, due),
            }
            let used = t0.elapsed().as_secs_f32() / period.as_secs_f32();
            if used > worst {
                worst = used;
                self.stats.set_worst_block(worst);
            }
            if used > 1.0 {
                SharedStats::add(&self.stats.slow_blocks, 1);
            }
            self.stats.record_block_time(used);
            load = if load == 0.0 {
                used
            } else {
                0.9 * load + 0.1 * used
            };
            for i in 0..block {
                inter[2 * i] = l[i];
                inter[2 * i + 1] = r[i];
            }
            self.out.push_slice(&inter);
            let s = &self.stats;
            s.set_load(load);
            let (active, stolen) = match &self.gpu {
                Some(g) => (g.active_voices(), g.stats.stolen),
                None => (self.engine.active_voices(), self.engine.stats.stolen),
            };
            s.active_voices.store(active as u32, Ordering::Relaxed);
            s.engine_frames.store(self.frames(), Ordering::Relaxed);
            s.stolen.store(stolen, Ordering::Relaxed);
            self.sink.release_held();
            self.sink.flush_overflow();
        }
    }

    /// The GPU failed: the CPU engine continues from the GPU engine's
    /// frame; every playing (held) voice restarts on it with its id and
    /// current controls (the mesh state is lost with the GPU); released and
    /// fading voices end (`/voice/end`). The GPU engine goes to the
    /// network thread, which logs the failure and drops it.
    ///
    /// # Real-time safety
    /// No allocation, lock, log or I/O: the CPU engine was built at
    /// start-up, instruments are `Arc`s, events go through the rings.
    fn fail_over(&mut self) {
        let Some(mut g) = self.gpu.take() else { return };
        let restarted = g.hand_over(&mut self.engine, &mut self.sink);
        SharedStats::add(&self.stats.gpu_failovers, 1);
        if let Err(crossbeam_channel::TrySendError::Full(f)) = self.failed.try_send(FailedGpu {
            engine: g,
            restarted,
        }) {
            // Cannot happen (one GPU engine, one slot): never free here.
            std::mem::forget(f);
        }
    }
}

/// Maps OSC timetags to engine frames.
struct Clock {
    /// NTP time at which engine frame 0 is heard.
    origin_ntp: u64,
    rate: f64,
    latency_frames: i64,
    horizon: f64,
    ignore: bool,
}

impl Clock {
    /// The engine frame for a timetag: `None` = at once; `late` when it could not be honoured.
    fn frame(&self, tt: Timetag, engine_frame: u64) -> (Option<u64>, bool) {
        let ntp = match tt {
            Timetag::Immediate => return (None, false),
            _ if self.ignore => return (None, false),
            Timetag::At { ntp } => ntp,
        };
        let now = ntp_now();
        if ntp_delta_seconds(ntp, now) > self.horizon {
            return (None, true);
        }
        let f = (ntp_delta_seconds(ntp, self.origin_ntp) * self.rate).round() as i64
            - self.latency_frames;
        if f < engine_frame as i64 {
            (None, true)
        } else {
            (Some(f as u64), false)
        }
    }
}

fn start_midi(
    sel: &MidiSelect,
    tx: crossbeam_channel::Sender<Vec<u8>>,
) -> Vec<midir::MidiInputConnection<()>> {
    let mut conns = Vec::new();
    if *sel == MidiSelect::None {
        return conns;
    }
    let probe = match midir::MidiInput::new("neirosynth") {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!("MIDI: no MIDI system ({e}); continuing without MIDI");
            return conns;
        }
    };
    let ports = probe.ports();
    for port in ports {
        let name = probe.port_name(&port).unwrap_or_default();
        if let MidiSelect::Named(want) = sel {
            if !name.contains(want.as_str()) {
                continue;
            }
        }
        let Ok(input) = midir::MidiInput::new("neirosynth") else {
            continue;
        };
        let tx = tx.clone();
        match input.connect(
            &port,
            "neirosynth-in",
            move |_t, bytes, _| drop(tx.try_send(bytes.to_vec())),
            (),
        ) {
            Ok(c) => {
                tracing::info!("MIDI: listening on `{name}`");
                conns.push(c);
            }
            Err(e) => tracing::warn!("MIDI: cannot open `{name}`: {e}"),
        }
    }
    if conns.is_empty() {
        match sel {
            MidiSelect::Named(n) => tracing::warn!("MIDI: no input port matches `{n}`"),
            _ => tracing::info!("MIDI: no input ports"),
        }
    }
    conns
}

/// Runs the server until `/quit`, SIGINT or SIGTERM. Returns an error
/// message for failures that stop it from starting.
pub fn serve(opts: ServeOptions, quit: Arc<AtomicBool>) -> Result<(), String> {
    // This thread opens (and retries) the audio device and the MIDI ports:
    // ALSA's own diagnostics go to the log, not in raw lines to stderr.
    #[cfg(target_os = "linux")]
    crate::audio::alsa_messages::route_to_log();
    let (mut bank, errors) = Bank::load_dir(&opts.instruments)
        .map_err(|e| format!("cannot read {}: {e}", opts.instruments.display()))?;
    for e in &errors {
        tracing::warn!("instrument refused: {e}");
    }
    if bank.instruments.is_empty() {
        tracing::warn!("no instruments loaded from {}", opts.instruments.display());
    }
    bank.dir = opts.instruments.clone();
    let socket = UdpSocket::bind((opts.bind, opts.port))
        .map_err(|e| format!("cannot bind udp {}:{}: {e}", opts.bind, opts.port))?;
    socket
        .set_read_timeout(Some(Duration::from_millis(2)))
        .map_err(|e| e.to_string())?;
    let local = socket.local_addr().map_err(|e| e.to_string())?;

    // Audio device first: the engine runs at its rate.
    let stats = Arc::new(SharedStats::default());
    let health = Arc::new(DeviceHealth::default());
    let (home, returns) = crossbeam_channel::bounded::<audio::Returned>(1);
    let mut cpal_dev = None;
    let kind = opts.audio;
    if kind != AudioKind::Null {
        match audio::open_cpal(kind, opts.device.as_deref(), opts.sample_rate, opts.block) {
            Ok(d) => cpal_dev = Some(d),
            Err(e) if kind == AudioKind::Default => {
                tracing::warn!("audio: {e}; falling back to the null back-end (silent)");
            }
            Err(e) => return Err(e),
        }
    }
    let rate = cpal_dev
        .as_ref()
        .map_or(opts.sample_rate, |(_, c, _)| c.sample_rate);
    if rate != opts.sample_rate {
        tracing::info!("the device runs at {rate} Hz: the engine runs at {rate} Hz too");
    }

    let capacity = bank
        .max_buffer_len()
        .max(crate::physics::body::Layout::new(64, 64).len);
    let mut ecfg = EngineConfig::new(capacity);
    ecfg.sample_rate = rate as f64;
    ecfg.max_block = opts.block;
    ecfg.max_voices = opts.voices;
    if opts.threads > 0 {
        ecfg.threads = opts.threads;
    }
    let engine = Engine::new(ecfg);
    let threads = ecfg.threads;
    let gpu = match &opts.engine {
        EngineSpec::Cpu => None,
        EngineSpec::Gpu(ctx) => match start_gpu(ctx, ecfg, &bank) {
            Ok(g) => Some(g),
            Err(e) if !opts.require_gpu => {
                tracing::warn!(
                    "engine auto: the GPU engine cannot start on {} ({e}); using the CPU engine",
                    ctx.adapter
                );
                None
            }
            Err(e) => return Err(format!("--engine gpu on {}: {e}", ctx.adapter)),
        },
    };
    // The GPU engine's output lags its input by this many frames
    // (double-buffered readback); 0 on the CPU engine.
    let engine_lag = gpu.as_ref().map_or(0, |g| g.latency_frames());
    if let Some(g) = &gpu {
        let _ = stats.gpu_adapter.set(g.adapter().name.clone());
    }
    let (failed_tx, failed_rx) = crossbeam_channel::bounded::<FailedGpu>(1);

    let (cmd_prod, cmd_cons) = HeapRb::<Timed>::new(RING_CAPACITY).split();
    let (ev_prod, mut ev_cons) = HeapRb::<EngineEvent>::new(RING_CAPACITY).split();
    let (out_prod, out_cons) = HeapRb::<f32>::new(2 * opts.block * 8).split();
    let mut cmd_prod = cmd_prod;

    let (recorder, tap) = match &opts.record {
        Some(p) => {
            let (r, t) = Recorder::start(p.clone(), rate, 4.0)?;
            (Some(r), Some(t))
        }
        None => (None, None),
    };

    // The engine refills the ring whenever it holds less than the target.
    // The block it renders must be done before the ring runs dry: the slack
    // is the target minus one device period. Latency is target + period, so
    // for the null back-end (whose period is ours to choose) a quarter-block
    // period and a 1.75-block target give 1.5 blocks of slack at 2 blocks of
    // latency; a device's own period comes on top of 1.5 blocks.
    let null_period = audio::null_period(opts.block);
    let ring_target = if cpal_dev.is_some() {
        opts.block + opts.block / 2
    } else {
        2 * opts.block - null_period
    };
    let engine_thread = EngineThread {
        engine,
        gpu,
        failed: failed_tx,
        commands: cmd_cons,
        sink: RingSink {
            prod: ev_prod,
            held: Vec::with_capacity(RING_CAPACITY),
            overflow: Vec::with_capacity(1024),
            stats: stats.clone(),
        },
        out: out_prod,
        stats: stats.clone(),
        quit: quit.clone(),
        target_frames: ring_target,
    };
    let rt = (opts.rt_priority > 0).then(|| RealtimePriority::new(opts.rt_priority as i32));
    // Real-time render threads get a core each (the engine thread CPU 0,
    // workers after it): same-priority FIFO threads must not share one.
    // Threads left at normal priority stay free to migrate.
    let rt_workers = rt.map(|p| {
        let r = engine_thread.engine.promote_workers(p.engine);
        if r.is_ok() {
            let _ = engine_thread.engine.pin_workers(1);
        }
        r
    });
    let engine_handle = std::thread::Builder::new()
        .name("neirosynth-engine".into())
        .spawn(move || engine_thread.run())
        .map_err(|e| e.to_string())?;
    let rt_engine = rt.map(|p| {
        let r = priority::promote(&engine_handle, p.engine);
        if r.is_ok() {
            let _ = priority::pin(&engine_handle, 0);
        }
        r
    });

    let audio = match cpal_dev {
        Some((dev, cfg, name)) => {
            // Prime the ring so the first callback finds a block.
            let t = Instant::now();
            while out_cons.occupied_len() < 2 * opts.block && t.elapsed() < Duration::from_secs(2) {
                std::thread::sleep(Duration::from_micros(200));
            }
            audio::start_cpal(
                dev,
                cfg,
                name,
                (out_cons, tap),
                home.clone(),
                opts.block,
                stats.clone(),
                health.clone(),
            )?
        }
        None => audio::open_null(
            (out_cons, tap),
            home.clone(),
            null_period,
            rate,
            stats.clone(),
            quit.clone(),
        ),
    };
    let rt_audio = rt.map(|p| audio.promote(p.audio));
    match (rt, rt_engine, rt_workers, rt_audio) {
        (Some(p), Some(Ok(())), Some(Ok(workers)), Some(Ok(clock))) => tracing::info!(
            "real-time scheduling: engine thread and {workers} voice worker(s) at SCHED_FIFO {}{}",
            p.engine,
            if clock {
                format!(", null audio clock at {}", p.audio)
            } else {
                String::new()
            }
        ),
        (Some(_), e, w, a) => {
            let why = [
                e.and_then(|r| r.err()),
                w.and_then(|r| r.err()),
                a.and_then(|r| r.err()),
            ]
            .into_iter()
            .flatten()
            .next()
            .unwrap_or_default();
            tracing::warn!(
                "real-time scheduling refused ({why}): the engine runs at normal priority and may \
                 underrun on a busy machine (grant CAP_SYS_NICE or an rtprio limit, or pass --rt-priority 0)"
            )
        }
        _ => tracing::info!("real-time scheduling off (--rt-priority 0)"),
    }
    let audio_description = audio.description.clone();
    let device_buffer = audio.device_buffer;
    let mut supervisor = AudioSupervisor::new(
        DeviceRequest {
            kind,
            name: opts.device.clone(),
            sample_rate: rate,
            block: opts.block,
        },
        audio,
        home,
        returns,
        stats.clone(),
        health,
        quit.clone(),
        ring_target + engine_lag,
    );
    supervisor.set_null_priority(rt.map(|p| p.audio));
    let latency_frames = supervisor.latency_frames();
    let latency_ms = 1000.0 * latency_frames as f32 / rate as f32;

    let router_cfg = RouterConfig {
        sample_rate: rate as f64,
        block: opts.block,
        voices: opts.voices,
        bend_headroom: opts.bend_headroom,
        allow_quit: opts.allow_quit,
        fixed_reply: opts.reply,
        engine: if stats.gpu_adapter.get().is_some() {
            EngineKind::Gpu
        } else {
            EngineKind::Cpu
        },
        voice_capacity: capacity,
    };
    let midi_map = match &opts.midi_map {
        Some(p) => MidiMap::load(p)?,
        None => MidiMap::default(),
    };
    let mut router = Router::new(bank, router_cfg, stats.clone(), midi_map);
    let (midi_tx, midi_rx) = crossbeam_channel::bounded::<Vec<u8>>(1024);
    let _midi = start_midi(&opts.midi, midi_tx);
    let mut clock = Clock {
        origin_ntp: ntp_now(),
        rate: rate as f64,
        latency_frames: latency_frames as i64,
        horizon: opts.horizon,
        ignore: opts.ignore_timetags,
    };

    tracing::info!(
        "neirosynth {}: {} instruments ({})",
        env!("CARGO_PKG_VERSION"),
        router.bank.instruments.len(),
        router
            .bank
            .instruments
            .iter()
            .map(|i| i.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    match stats.gpu_adapter.get() {
        Some(adapter) => tracing::info!(
            "engine: gpu on {adapter} (CPU engine standing by: {} kernel, {threads} threads), \
             {} voices, {}-frame blocks at {rate} Hz",
            crate::bench::simd_name(),
            opts.voices,
            opts.block
        ),
        None => tracing::info!(
            "engine: cpu ({} kernel, {threads} threads), {} voices, {}-frame blocks at {rate} Hz",
            crate::bench::simd_name(),
            opts.voices,
            opts.block
        ),
    }
    tracing::info!("audio: {audio_description}");
    tracing::info!(
        "output latency: {latency_ms:.1} ms ({} frames ring + {engine_lag} frames GPU readback + {} frames device)",
        ring_target,
        device_buffer
    );
    println!("listening udp {local}");
    use std::io::Write as _;
    let _ = std::io::stdout().flush();

    let mut buf = vec![0u8; 65536];
    let mut out = Output::default();
    while !quit.load(Ordering::Relaxed) {
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => handle_packet(&buf[..n], from, &mut router, &clock, &stats, &mut out),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) => {}
            Err(e) => tracing::warn!("udp receive: {e}"),
        }
        while let Ok(bytes) = midi_rx.try_recv() {
            // System messages, clock and sysex are ignored.
            if let Ok(ev) = crate::control::midi::parse(&bytes) {
                if let Err(e) = router.midi_event(ev, None, &mut out) {
                    tracing::warn!("MIDI: {e}");
                }
            }
        }
        while let Some(ev) = ev_cons.try_pop() {
            router.on_event(ev, &mut out);
        }
        for t in out.commands.drain(..) {
            if cmd_prod.try_push(t).is_err() {
                SharedStats::add(&stats.dropped, 1);
            }
        }
        for (to, msg) in out.replies.drain(..) {
            let _ = socket.send_to(&reply::encode(msg), to);
        }
        if out.quit {
            quit.store(true, Ordering::Relaxed);
        }
        supervisor.poll();
        if let Ok(f) = failed_rx.try_recv() {
            tracing::error!(
                "GPU engine failed on {}: {}; continuing on the CPU engine ({} playing voice(s) restarted there)",
                f.engine.adapter(),
                f.engine.failure().unwrap_or("unknown failure"),
                f.restarted
            );
            // The CPU engine has no readback lag.
            supervisor.set_ring_frames(ring_target);
            clock.latency_frames = supervisor.latency_frames() as i64;
            drop(f);
        }
    }
    tracing::info!("shutting down");
    let _ = engine_handle.join();
    supervisor.close();
    if let Some(r) = recorder {
        match r.finish() {
            Ok(frames) => tracing::info!(
                "recorded {frames} frames to {}",
                opts.record.as_ref().unwrap().display()
            ),
            Err(e) => tracing::error!("recording failed: {e}"),
        }
    }
    tracing::info!(
        "stopped: {} underruns, {} late bundles, {} dropped messages, {} clamped values; \
         block render times (blocks of real time) p50 < {:.1}, p99 < {:.1}, max {:.2}; \
         {} blocks slower than real time",
        stats.underruns.load(Ordering::Relaxed),
        stats.late_bundles.load(Ordering::Relaxed),
        stats.dropped.load(Ordering::Relaxed),
        stats.clamped.load(Ordering::Relaxed),
        stats.block_time_quantile(0.5),
        stats.block_time_quantile(0.99),
        stats.worst_block(),
        stats.slow_blocks.load(Ordering::Relaxed)
    );
    Ok(())
}

/// Builds the GPU engine with the whole bank resident, and the test hook
/// `NEIROSYNTH_GPU_FAIL_AFTER_BLOCKS=N` (a simulated device loss after N
/// blocks).
fn start_gpu(
    ctx: &crate::gpu::GpuContext,
    cfg: EngineConfig,
    bank: &Bank,
) -> Result<Box<GpuEngine>, crate::gpu::GpuError> {
    // Room to load or reload every instrument once more at run time.
    let floats = crate::gpu::bank_floats(&bank.instruments);
    let mut g = Box::new(GpuEngine::new(ctx.clone(), cfg, floats)?);
    for i in &bank.instruments {
        g.load(i)?;
    }
    // Block N's readback overlaps block N+1's compute: one block of lag.
    g.set_pipelined(true);
    if let Some(n) = std::env::var("NEIROSYNTH_GPU_FAIL_AFTER_BLOCKS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        tracing::warn!("NEIROSYNTH_GPU_FAIL_AFTER_BLOCKS={n}: the GPU engine will fail after {n} blocks (test hook)");
        g.simulate_failure_after(n);
    }
    Ok(g)
}

/// Decodes and routes one UDP packet.
fn handle_packet(
    bytes: &[u8],
    from: SocketAddr,
    router: &mut Router,
    clock: &Clock,
    stats: &SharedStats,
    out: &mut Output,
) {
    match decode_packet(bytes) {
        Ok(msgs) => {
            let mut last_late: Option<Timetag> = None;
            let engine_frame = stats.engine_frames.load(Ordering::Relaxed);
            for m in msgs {
                let (frame, late) = clock.frame(m.timetag, engine_frame);
                if late && last_late != Some(m.timetag) {
                    SharedStats::add(&stats.late_bundles, 1);
                    last_late = Some(m.timetag);
                }
                router.handle_timed(&m.message, from, frame, out);
            }
        }
        Err(e) => match e.address() {
            Some(addr) => {
                let to = router.reply_to(from);
                out.replies.push((to, reply::fail(addr, &e.to_string())));
            }
            None => SharedStats::add(&stats.dropped, 1),
        },
    }
}
