//! The running server: threads, rings and their wiring.
//!
//! ```text
//!  UDP ──► network thread ──(Timed ring)──► engine thread ──(f32 ring)──► audio back-end
//!  MIDI ─► (channel) ──┘  ◄──(event ring)──┘                                 └─► recorder
//! ```
//!
//! - `builder` builds the parts from [`ServeOptions`].
//! - The network thread (the thread that calls [`serve`]) decodes OSC,
//!   routes it ([`super::router::Router`]), maps timetags to engine frames
//!   (`clock`), plays MIDI input (`midi_input`) and sends
//!   replies (`network`). Allocation is fine there.
//! - The engine thread (`engine_thread`) keeps the output ring one
//!   block ahead of the audio back-end, applying commands at their frames;
//!   it never allocates, locks, logs or does I/O. It renders on the CPU
//!   engine or on the GPU engine (`--engine`); when the GPU fails it moves
//!   the playing voices to the CPU engine (built at start-up for this) and
//!   hands the dead GPU engine to the network thread, which reports it.
//! - The audio callback only copies from the ring (see [`crate::audio`]).
//! - With `--oscquery-port`, an HTTP thread (`oscquery_http`) serves the
//!   OSCQuery tree; the network thread rebuilds it when the bank changes.
//!   `--advertise` registers the services over mDNS (`advertise`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ringbuf::traits::{Consumer, Producer};

use super::advertise::Advertiser;
use super::builder::{build, Parts};
use super::error::ServeError;
use super::housekeeping::Housekeeping;
use super::options::ServeOptions;
use super::oscquery_http::OscQueryHttp;
use super::router::Output;
use crate::audio::stats::SharedStats;

/// Runs the server until `/quit`, SIGINT or SIGTERM. Returns an error for
/// failures that stop it from starting.
pub fn serve(opts: ServeOptions, quit: Arc<AtomicBool>) -> Result<(), ServeError> {
    // This thread opens (and retries) the audio device and the MIDI ports:
    // ALSA's own diagnostics go to the log, not in raw lines to stderr.
    #[cfg(target_os = "linux")]
    crate::audio::alsa_messages::route_to_log();
    let listener = opts
        .oscquery_port
        .map(|port| OscQueryHttp::bind(opts.bind, port))
        .transpose()?;
    let mut parts = build(&opts, &quit)?;
    let mut http = match listener {
        Some(l) => Some(OscQueryHttp::start(l, parts.local, &parts.router.bank)?),
        None => None,
    };
    log_start(&opts, &parts);
    println!("listening udp {}", parts.local);
    if let Some(h) = &http {
        println!("oscquery http {}", h.local_addr());
    }
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let advertiser = opts
        .advertise
        .then(|| advertise(&opts, parts.local, http.as_ref()))
        .flatten();
    let mut out = Output::default();
    let mut house = Housekeeping::start(&opts, &mut parts, &mut out);
    control_loop(&mut parts, &quit, &mut house, &mut http, out);
    house.finish(&parts);
    if let Some(a) = advertiser {
        a.close();
    }
    if let Some(h) = http {
        h.close();
    }
    shut_down(parts, &opts);
    Ok(())
}

/// `--advertise`: registers the services over mDNS; a failure only warns.
fn advertise(
    opts: &ServeOptions,
    osc: SocketAddr,
    http: Option<&OscQueryHttp>,
) -> Option<Advertiser> {
    let http = http.map(|h| h.local_addr());
    match Advertiser::start(opts.bind, osc, http) {
        Ok(a) => {
            let scope = match opts.bind.is_loopback() {
                true => " on the loopback interface only (this machine; --bind 0.0.0.0 to be found on the network)",
                false => "",
            };
            tracing::info!("advertising {}{scope}", a.names().join(", "));
            Some(a)
        }
        Err(e) => {
            tracing::warn!("--advertise: cannot advertise over mDNS ({e}); running without it");
            None
        }
    }
}

/// The network thread's loop: packets, MIDI, engine events, commands,
/// replies, the audio device's health and a failed GPU, until `quit`.
fn control_loop(
    p: &mut Parts,
    quit: &AtomicBool,
    house: &mut Housekeeping,
    http: &mut Option<OscQueryHttp>,
    mut out: Output,
) {
    while !quit.load(Ordering::Relaxed) {
        house.poll(p, &mut out);
        // The device's latest stamp: timetags follow its own clock.
        p.clock.set_latency_frames(p.supervisor.latency_frames());
        p.clock.update(&p.stats);
        p.network
            .receive(&mut p.router, &p.clock, &p.stats, &mut out);
        p.midi.drain(&mut p.router, &mut out);
        while let Some(ev) = p.events.try_pop() {
            p.router.on_event(ev, &mut out);
        }
        for t in out.commands.drain(..) {
            if let Err(t) = p.commands.try_push(t) {
                SharedStats::add(&p.stats.dropped, 1);
                p.router.command_dropped(&t.command);
            }
        }
        // Before the replies: a client that heard `/done /inst/load` finds
        // the instrument in the OSCQuery tree.
        if let Some(h) = http {
            h.refresh(&p.router.bank);
        }
        p.network.send_replies(&mut out);
        if out.quit {
            quit.store(true, Ordering::Relaxed);
        }
        p.supervisor.poll();
        if let Ok(f) = p.failed.try_recv() {
            tracing::error!(
                "GPU engine failed on {}: {}; continuing on the CPU engine ({} playing voice(s) restarted there)",
                f.engine.adapter(),
                f.engine.failure().unwrap_or("unknown failure"),
                f.restarted
            );
            // The CPU engine has no readback lag.
            p.supervisor.set_ring_frames(p.ring_target);
            drop(f);
        }
    }
}

/// The start-up report: bank, engine, audio back-end, latency.
fn log_start(opts: &ServeOptions, p: &Parts) {
    let r = &p.report;
    let (rate, threads) = (r.rate, r.threads);
    tracing::info!(
        "neirosynth {}: {} instruments ({})",
        env!("CARGO_PKG_VERSION"),
        p.router.bank.instruments.len(),
        p.router
            .bank
            .instruments
            .iter()
            .map(|i| i.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    match p.stats.gpu_adapter.get() {
        Some(adapter) => tracing::info!(
            "engine: gpu on {adapter} (CPU engine standing by: {} kernel, {threads} threads), \
             {} voices, {}-frame blocks at {rate} Hz",
            crate::physics::simd::simd_name(),
            opts.voices,
            opts.block
        ),
        None => tracing::info!(
            "engine: cpu ({} kernel, {threads} threads), {} voices, {}-frame blocks at {rate} Hz",
            crate::physics::simd::simd_name(),
            opts.voices,
            opts.block
        ),
    }
    tracing::info!("audio: {}", r.audio);
    tracing::info!(
        "output latency: {:.1} ms ({} frames ring + {} frames GPU readback + {} frames device)",
        r.latency_ms,
        p.ring_target,
        r.engine_lag,
        r.device_buffer
    );
}

/// Stops the threads, finishes the recording and logs the run's figures.
fn shut_down(p: Parts, opts: &ServeOptions) {
    tracing::info!("shutting down");
    let _ = p.engine_handle.join();
    p.supervisor.close();
    if let Some(r) = p.recorder {
        match r.finish() {
            Ok(frames) => tracing::info!(
                "recorded {frames} frames to {}",
                opts.record.as_ref().unwrap().display()
            ),
            Err(e) => tracing::error!("recording failed: {e}"),
        }
    }
    let stats = &p.stats;
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
}
