//! The control loop's service duties, between packets: systemd's
//! `READY=1` and watchdog pings (only while the engine makes progress), the
//! state file (restored at start, saved atomically after changes settle),
//! the `SIGHUP` reload, and the underrun report
//! ([`super::underrun_report`]). Control side: never the engine thread.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::builder::Parts;
use super::config::{self, Setting, LIVE_KEYS};
use super::midi_map::MidiMap;
use super::mpe::Zones;
use super::notify::{Notifier, Tick, Watchdog};
use super::options::ServeOptions;
use super::router::Output;
use super::service::{self, Reloader};
use super::state;
use super::underrun_report::UnderrunReport;

/// Changes of the saved state are written once they have settled this long.
const SAVE_DEBOUNCE: Duration = Duration::from_millis(250);

/// The service duties' state.
pub struct Housekeeping {
    watchdog: Option<Watchdog>,
    notify_socket: Option<PathBuf>,
    state_file: Option<PathBuf>,
    saved: u64,
    seen: u64,
    changed_at: Instant,
    reload: Option<Arc<Mutex<Reloader>>>,
    settings: Vec<(String, Setting)>,
    master_gain: f32,
    mpe: Option<Zones>,
    underruns: UnderrunReport,
}

impl Housekeeping {
    /// Sets the configured master gain, restores the saved state, tells
    /// systemd the server is ready.
    pub fn start(opts: &ServeOptions, p: &mut Parts, out: &mut Output) -> Self {
        let router = &mut p.router;
        if opts.master_gain != 1.0 {
            router.set_master_gain(opts.master_gain, out);
        }
        if let Some(path) = &opts.state_file {
            match state::load(path) {
                Ok(Some(saved)) => {
                    let problems = router.restore(&saved, out);
                    tracing::info!(
                        "state restored from {}: {} instrument(s) reloaded, master gain {}, {} MIDI program change(s)",
                        path.display(),
                        saved.instruments.len() - problems.iter().filter(|p| p.starts_with("instrument")).count(),
                        saved.master_gain,
                        saved.midi_programs.len()
                    );
                    for problem in problems {
                        tracing::warn!("state {}: {problem}: skipped", path.display());
                    }
                }
                Ok(None) => tracing::info!(
                    "no state file at {} yet: starting with defaults",
                    path.display()
                ),
                Err(e) => tracing::error!("{e}"),
            }
        }
        let generation = router.state_generation();
        let watchdog = opts.service.notify_socket.as_deref().and_then(|path| {
            let n = Notifier::new(path)
                .and_then(|n| n.send("READY=1\nSTATUS=serving").map(|()| n))
                .map_err(|e| tracing::warn!("systemd notify socket {}: {e}", path.display()))
                .ok()?;
            let frames = p.stats.engine_frames.load(Ordering::Relaxed);
            let interval = opts.service.watchdog?;
            tracing::info!("systemd watchdog: {:.1} s", interval.as_secs_f64());
            Some(Watchdog::new(n, interval, Instant::now(), frames))
        });
        let slack = Duration::from_secs_f64(p.ring_target as f64 / p.report.rate as f64);
        Self {
            underruns: UnderrunReport::new(&p.stats, slack),
            watchdog,
            notify_socket: opts.service.notify_socket.clone(),
            state_file: opts.state_file.clone(),
            saved: generation,
            seen: generation,
            changed_at: Instant::now(),
            reload: opts.service.reload.clone(),
            settings: opts.service.settings.clone(),
            master_gain: opts.master_gain,
            mpe: opts.mpe,
        }
    }

    /// One turn of the control loop.
    pub fn poll(&mut self, p: &mut Parts, out: &mut Output) {
        let now = Instant::now();
        if let Some(w) = &mut self.watchdog {
            let frames = p.stats.engine_frames.load(Ordering::Relaxed);
            if w.tick(now, frames) == Tick::Stalled {
                tracing::error!(
                    "the engine thread is making no progress: watchdog pings stop (systemd restarts a hung server)"
                );
            }
        }
        self.underruns.poll(&p.stats, now);
        let generation = p.router.state_generation();
        if generation != self.seen {
            self.seen = generation;
            self.changed_at = now;
        }
        if generation != self.saved && now.duration_since(self.changed_at) >= SAVE_DEBOUNCE {
            self.save(p);
        }
        if self.reload.is_some() && service::take_hangup() {
            self.reload(p, out);
        }
    }

    /// Tells systemd the server is stopping; saves a change not yet
    /// written.
    pub fn finish(&mut self, p: &Parts) {
        if let Some(path) = &self.notify_socket {
            let _ = Notifier::new(path).and_then(|n| n.send("STOPPING=1"));
        }
        if p.router.state_generation() != self.saved {
            self.save(p);
        }
    }

    fn save(&mut self, p: &Parts) {
        self.saved = p.router.state_generation();
        if let Some(path) = &self.state_file {
            if let Err(e) = state::save(path, &p.router.saved_state()) {
                tracing::error!("{e}");
            }
        }
    }

    /// `SIGHUP`: re-reads the configuration and applies what can change live.
    fn reload(&mut self, p: &mut Parts, out: &mut Output) {
        let Some(reload) = &self.reload else { return };
        let result = match reload.lock() {
            Ok(mut f) => f(),
            Err(_) => Err("the reloader panicked before".into()),
        };
        let r = match result {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(
                    "SIGHUP: configuration not reloaded ({e}): the running settings stay"
                );
                return;
            }
        };
        let router = &mut p.router;
        match router.rescan(&r.instruments) {
            Ok(scan) => {
                tracing::info!(
                    "SIGHUP: instruments folder {} rescanned: {} loaded, {} refused; {} in the bank",
                    r.instruments.display(),
                    scan.loaded,
                    scan.refused.len(),
                    router.bank.instruments.len()
                );
                for why in scan.refused {
                    tracing::warn!("SIGHUP: {why}");
                }
            }
            Err(e) => tracing::error!(
                "SIGHUP: cannot read the instruments folder {} ({e}): the bank stays as it was, the voices play on",
                r.instruments.display()
            ),
        }
        let map = match &r.midi_map {
            Some(path) => MidiMap::load(path),
            None => Ok(MidiMap::default()),
        };
        match map {
            Ok(mut map) => {
                if let Some(zones) = self.mpe {
                    map.mpe.zones = zones;
                }
                router.set_midi_map(map);
                tracing::info!(
                    "SIGHUP: MIDI map {}",
                    r.midi_map
                        .as_ref()
                        .map_or("(default)".into(), |p| p.display().to_string())
                );
            }
            Err(e) => tracing::error!("SIGHUP: {e}: the MIDI map stays as it was"),
        }
        if r.master_gain != self.master_gain {
            router.set_master_gain(r.master_gain, out);
            tracing::info!("SIGHUP: master gain {}", r.master_gain);
            self.master_gain = r.master_gain;
        }
        let restart: Vec<String> = config::changed(&self.settings, &r.settings)
            .into_iter()
            .filter(|k| !LIVE_KEYS.contains(&k.as_str()))
            .collect();
        if !restart.is_empty() {
            tracing::warn!(
                "SIGHUP: changed {}: takes effect at the next start",
                restart.join(", ")
            );
        }
        self.settings = r.settings;
    }
}
