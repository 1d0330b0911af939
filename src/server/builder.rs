//! Builds the running server from its options: the bank, the socket, the
//! audio device, the engines and their thread, the rings between them, the
//! router, the clock and the MIDI ports.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringbuf::traits::{Observer, Split};
use ringbuf::{HeapCons, HeapProd};

use super::clock::Clock;
use super::engine_thread::{EngineThread, FailedGpu, RingSink, RING_CAPACITY};
use super::error::ServeError;
use super::midi_input::MidiInput;
use super::midi_map::MidiMap;
use super::network::Network;
use super::options::ServeOptions;
use super::preset_store::PresetStore;
use super::router::{Router, RouterConfig};
use crate::audio::prefault;
use crate::audio::stats::SharedStats;
use crate::audio::supervisor::{AudioSupervisor, DeviceRequest};
use crate::audio::{self, recorder::Recorder, AudioError, AudioKind, DeviceHealth};
use crate::control::reply::EngineKind;
use crate::engine::command::{EngineEvent, Timed};
use crate::engine::priority::{self, RealtimePriority};
use crate::engine::{CpuEngine, EngineConfig};
use crate::gpu::{EngineSpec, GpuContext, GpuEngine, GpuError};
use crate::instrument::bank::Bank;
use crate::master::Limiter;

/// A device opened by cpal, not yet started.
type CpalDevice = (cpal::Device, cpal::StreamConfig, String);

/// Figures of the start-up report.
pub struct StartReport {
    /// The engine's sample rate (the device's).
    pub rate: u32,
    /// Threads of the CPU engine.
    pub threads: usize,
    /// Frames the GPU engine's output lags its input (0 on the CPU engine).
    pub engine_lag: usize,
    /// Frames the device buffers after the ring.
    pub device_buffer: usize,
    /// The audio back-end, in words.
    pub audio: String,
    /// The output latency, ms.
    pub latency_ms: f32,
}

/// The parts of a running server, all threads started.
pub struct Parts {
    /// The UDP socket.
    pub network: Network,
    /// The address it is bound to.
    pub local: SocketAddr,
    /// Shared counters.
    pub stats: Arc<SharedStats>,
    /// The command router.
    pub router: Router,
    /// Timetags → engine frames.
    pub clock: Clock,
    /// MIDI input ports.
    pub midi: MidiInput,
    /// Commands to the engine thread.
    pub commands: HeapProd<Timed>,
    /// Events from the engine thread.
    pub events: HeapCons<EngineEvent>,
    /// A GPU engine that failed, from the engine thread.
    pub failed: crossbeam_channel::Receiver<FailedGpu>,
    /// The audio back-end and its recovery.
    pub supervisor: AudioSupervisor,
    /// The engine thread.
    pub engine_handle: std::thread::JoinHandle<()>,
    /// The recorder (`--record`).
    pub recorder: Option<Recorder>,
    /// Frames the engine keeps in the output ring.
    pub ring_target: usize,
    /// Figures for the start-up report.
    pub report: StartReport,
}

/// Builds and starts everything `opts` asks for. `quit` stops the threads.
pub fn build(opts: &ServeOptions, quit: &Arc<AtomicBool>) -> Result<Parts, ServeError> {
    let bank = load_bank(opts)?;
    let socket = UdpSocket::bind((opts.bind, opts.port)).map_err(|source| ServeError::Bind {
        addr: format!("{}:{}", opts.bind, opts.port),
        source,
    })?;
    socket.set_read_timeout(Some(Duration::from_millis(2)))?;
    let local = socket.local_addr()?;

    // Audio device first: the engine runs at its rate.
    let stats = Arc::new(SharedStats::default());
    let health = Arc::new(DeviceHealth::default());
    let (home, returns) = crossbeam_channel::bounded::<audio::Returned>(1);
    let cpal_dev = open_device(opts)?;
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
    let engine = CpuEngine::new(ecfg);
    let gpu = match &opts.engine {
        EngineSpec::Cpu => None,
        EngineSpec::Gpu(ctx) => {
            match start_gpu(ctx, ecfg, &bank, opts.simulate_gpu_failure_after) {
                Ok(g) => Some(g),
                Err(e) if !opts.require_gpu => {
                    tracing::warn!(
                    "engine auto: the GPU engine cannot start on {} ({e}); using the CPU engine",
                    ctx.adapter
                );
                    None
                }
                Err(source) => {
                    return Err(ServeError::Gpu {
                        adapter: ctx.adapter.to_string(),
                        source,
                    })
                }
            }
        }
    };
    // The GPU engine's output lags its input by this many frames
    // (double-buffered readback); 0 on the CPU engine.
    let engine_lag = gpu.as_ref().map_or(0, |g| g.latency_frames());
    // The master limiter delays the output by its look-ahead.
    let limiter = opts.limiter.then(|| Limiter::new(rate as f64));
    let master_lag = limiter.as_ref().map_or(0, Limiter::latency);
    if let Some(g) = &gpu {
        let _ = stats.gpu_adapter.set(g.adapter().name.clone());
    }
    let (failed_tx, failed_rx) = crossbeam_channel::bounded::<FailedGpu>(1);

    let (cmd_prod, cmd_cons) = prefault::ring::<Timed>(RING_CAPACITY).split();
    let (ev_prod, ev_cons) = prefault::ring::<EngineEvent>(RING_CAPACITY).split();
    let (out_prod, out_cons) = prefault::ring::<f32>(2 * opts.block * 8).split();

    let (recorder, tap) = match &opts.record {
        Some(p) => {
            let (r, t) = Recorder::start(p.clone(), rate, 4.0).map_err(ServeError::Recorder)?;
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
        sink: RingSink::new(ev_prod, stats.clone()),
        out: out_prod,
        stats: stats.clone(),
        quit: quit.clone(),
        target_frames: ring_target,
        limiter,
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
        .spawn(move || engine_thread.run())?;
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
            )
            .map_err(ServeError::Audio)?
        }
        None => audio::open_null(
            (out_cons, tap),
            home.clone(),
            null_period,
            rate,
            opts.null_drift_ppm,
            stats.clone(),
            quit.clone(),
        ),
    };
    let rt_audio = rt.map(|p| audio.promote(p.audio));
    log_priorities(rt, rt_engine, rt_workers, rt_audio);
    let report = StartReport {
        rate,
        threads: ecfg.threads,
        engine_lag,
        device_buffer: audio.device_buffer,
        audio: audio.description.clone(),
        latency_ms: 0.0,
    };
    let mut supervisor = AudioSupervisor::new(
        DeviceRequest {
            kind: opts.audio,
            name: opts.device.clone(),
            sample_rate: rate,
            block: opts.block,
            null_drift_ppm: opts.null_drift_ppm,
        },
        audio,
        home,
        returns,
        stats.clone(),
        health,
        quit.clone(),
        ring_target + engine_lag + master_lag,
    );
    supervisor.set_null_priority(rt.map(|p| p.audio));
    let latency_frames = supervisor.latency_frames();
    let report = StartReport {
        latency_ms: 1000.0 * latency_frames as f32 / rate as f32,
        ..report
    };

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
        first_picked_id: opts.picked_ids_from,
    };
    let mut midi_map = match &opts.midi_map {
        Some(p) => MidiMap::load(p).map_err(ServeError::MidiMap)?,
        None => MidiMap::default(),
    };
    if let Some(zones) = opts.mpe {
        midi_map.mpe.zones = zones;
    }
    let presets = match &opts.preset_dir {
        Some(dir) => {
            let (store, skipped) = PresetStore::open(dir).map_err(ServeError::Presets)?;
            for e in skipped {
                tracing::warn!("preset skipped: {e}");
            }
            tracing::info!("presets: {} in {}", store.names().count(), dir.display());
            store
        }
        None => PresetStore::in_memory(),
    };
    let router = Router::new(bank, router_cfg, stats.clone(), midi_map).with_presets(presets);
    let midi = MidiInput::start(&opts.midi);
    let clock = Clock::start(
        rate as f64,
        latency_frames,
        ring_target,
        opts.horizon,
        opts.ignore_timetags,
    );
    Ok(Parts {
        network: Network::new(socket),
        local,
        stats,
        router,
        clock,
        midi,
        commands: cmd_prod,
        events: ev_cons,
        failed: failed_rx,
        supervisor,
        engine_handle,
        recorder,
        ring_target,
        report,
    })
}

/// Loads the instruments folder; refused instruments only warn.
fn load_bank(opts: &ServeOptions) -> Result<Bank, ServeError> {
    let (mut bank, errors) =
        Bank::load_dir(&opts.instruments).map_err(|source| ServeError::Instruments {
            path: opts.instruments.clone(),
            source,
        })?;
    for e in &errors {
        tracing::warn!("instrument refused: {e}");
    }
    if bank.instruments.is_empty() {
        tracing::warn!("no instruments loaded from {}", opts.instruments.display());
    }
    bank.dir = opts.instruments.clone();
    Ok(bank)
}

/// Opens the audio device (`None`: the null back-end; the default device
/// falls back to it when there is none).
fn open_device(opts: &ServeOptions) -> Result<Option<CpalDevice>, ServeError> {
    let kind = opts.audio;
    if kind == AudioKind::Null {
        return Ok(None);
    }
    match audio::open_cpal(kind, opts.device.as_deref(), opts.sample_rate, opts.block) {
        Ok(d) => Ok(Some(d)),
        Err(e) if kind == AudioKind::Default => {
            tracing::warn!("audio: {e}; falling back to the null back-end (silent)");
            Ok(None)
        }
        Err(e) => Err(ServeError::Audio(e)),
    }
}

/// Builds the GPU engine with the whole bank resident; `fail_after`
/// (`--simulate-gpu-failure-after N`) makes it simulate a device loss
/// after N blocks.
fn start_gpu(
    ctx: &GpuContext,
    cfg: EngineConfig,
    bank: &Bank,
    fail_after: Option<u64>,
) -> Result<Box<GpuEngine>, GpuError> {
    // Room to load or reload every instrument once more at run time.
    let floats = crate::gpu::bank_floats(&bank.instruments);
    let mut g = Box::new(GpuEngine::new(ctx.clone(), cfg, floats)?);
    for i in &bank.instruments {
        g.load(i)?;
    }
    // Block N's readback overlaps block N+1's compute: one block of lag.
    g.set_pipelined(true);
    if let Some(n) = fail_after {
        tracing::warn!(
            "--simulate-gpu-failure-after {n}: the GPU engine will fail after {n} blocks (testing aid)"
        );
        g.simulate_failure_after(n);
    }
    Ok(g)
}

/// Logs what real-time scheduling the threads got (each refusal is the
/// reason its promotion gave).
fn log_priorities(
    rt: Option<RealtimePriority>,
    engine: Option<Result<(), impl std::fmt::Display>>,
    workers: Option<Result<usize, impl std::fmt::Display>>,
    audio: Option<Result<bool, AudioError>>,
) {
    match (rt, engine, workers, audio) {
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
                e.and_then(|r| r.err()).map(|e| e.to_string()),
                w.and_then(|r| r.err()).map(|e| e.to_string()),
                a.and_then(|r| r.err()).map(|e| e.to_string()),
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
}
