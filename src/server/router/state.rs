//! The router's state: its configuration, the voices it started, the
//! registered clients, deferred replies; the helpers every area's handler
//! uses, and the engine's events coming back.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use rosc::OscMessage;

use crate::audio::stats::SharedStats;
use crate::control::command::InstRef;
use crate::control::reply::{self, EngineKind, StatusFigures};
use crate::engine::command::{EngineCommand, EngineEvent, Timed};
use crate::instrument::bank::Bank;
use crate::instrument::{Instrument, NotePlan};
use crate::server::midi_map::{MidiMap, MidiState};
use crate::server::preset::VoiceControls;
use crate::server::preset_store::PresetStore;

use super::error::RouterError;

/// The largest id the server picks (ids are positive and below 2^24).
pub const MAX_PICKED_ID: i32 = (1 << 24) - 1;

/// The largest first id the server may pick from (`--picked-ids-from`):
/// the range it counts through keeps 65,536 ids, far more than voices can
/// sound at once, so a free one is always found.
pub const MAX_FIRST_PICKED_ID: i32 = MAX_PICKED_ID - 65_535;

/// Fixed settings of a router.
#[derive(Clone, Debug)]
pub struct RouterConfig {
    /// Engine sample rate.
    pub sample_rate: f64,
    /// Engine block size.
    pub block: usize,
    /// Voice limit.
    pub voices: usize,
    /// Pitch-bend headroom every voice is planned with, semitones.
    pub bend_headroom: f64,
    /// Whether `/quit` is obeyed.
    pub allow_quit: bool,
    /// Fixed reply destination (`--reply-port` / `--reply-host`).
    pub fixed_reply: Option<SocketAddr>,
    /// Engine kind reported by `/status`.
    pub engine: EngineKind,
    /// Padded nodes each engine voice holds (instruments loaded later must fit).
    pub voice_capacity: usize,
    /// The first id the server picks (`--picked-ids-from`, 1 by default):
    /// it counts up from here to [`MAX_PICKED_ID`] and starts again here,
    /// so clients that pick their own ids below it never meet one of its
    /// (1..=[`MAX_FIRST_PICKED_ID`]).
    pub first_picked_id: i32,
}

/// What the control side knows about a voice it started.
#[derive(Clone, Debug)]
pub(super) struct VoiceInfo {
    pub(super) inst: Arc<Instrument>,
    pub(super) plan: NotePlan,
    pub(super) note: f64,
    /// MIDI channel when started from MIDI.
    pub(super) channel: Option<u8>,
    /// Its controls as last set (what `/preset/save` stores).
    pub(super) controls: VoiceControls,
}

/// A reply held until the engine reaches the frame of the command that
/// caused it (a timetagged bundle's replies belong to the moment it runs).
pub(super) enum Deferred {
    /// A reply ready to send.
    Message(SocketAddr, OscMessage),
    /// `/status.reply`, built when the engine reaches the frame.
    Status(SocketAddr),
}

/// A client's `/notify 1 [port]`: replies to `sender`'s requests, and
/// notifications, go to `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Registration {
    pub(super) sender: SocketAddr,
    pub(super) to: SocketAddr,
    /// The router's packet count when `sender` was last heard from (the
    /// least recently heard registration makes room for a new one).
    pub(super) heard: u64,
}

/// Most clients registered with `/notify` at once. A client that registers
/// when all are taken replaces the one heard from least recently: clients
/// that vanish without `/notify 0` (a crashed patch, a show controller that
/// reconnects from a new port each day) cannot lock newcomers out of a
/// server that runs for months.
pub const MAX_REGISTRATIONS: usize = 256;

/// Everything a routed message produces.
#[derive(Default)]
pub struct Output {
    /// Replies: (destination, message).
    pub replies: Vec<(SocketAddr, OscMessage)>,
    /// Engine commands, in order.
    pub commands: Vec<Timed>,
    /// Set by `/quit`.
    pub quit: bool,
}

/// The command router.
pub struct Router {
    /// The instrument bank (control-side copy).
    pub bank: Bank,
    pub(super) cfg: RouterConfig,
    pub(super) stats: Arc<SharedStats>,
    pub(super) voices: HashMap<i32, VoiceInfo>,
    pub(super) registrations: Vec<Registration>,
    /// Messages routed so far (the clock of [`Registration::heard`]).
    pub(super) messages_seen: u64,
    /// The next id the server picks.
    pub(super) next_id: i32,
    pub(super) midi: MidiState,
    /// Replies waiting for the engine to reach a marker.
    pub(super) deferred: HashMap<u64, Vec<Deferred>>,
    pub(super) next_marker: u64,
    /// The latest frame any routed command was scheduled at.
    pub(super) latest_frame: Option<u64>,
    /// While routing a command of a future bundle: its frame (its replies wait for it).
    pub(super) defer_at: Option<u64>,
    /// The presets (`/preset/*`).
    pub(super) presets: PresetStore,
    /// Uptime and the state that survives a restart.
    pub(super) service: super::service_state::ServiceState,
}

/// Key of a voice started by `/note/on` (instrument index and note).
pub(super) fn note_key(inst: usize, note: f64) -> u64 {
    (1u64 << 63)
        | ((inst as u64 & 0xffff) << 40)
        | ((note * 1024.0).round() as u64 & 0xff_ffff_ffff)
}

/// Key of a voice started by MIDI (channel and note).
pub(super) fn midi_key(channel: u8, note: u8) -> u64 {
    (1u64 << 62) | ((channel as u64) << 8) | note as u64
}

impl Router {
    /// A router over `bank`.
    pub fn new(bank: Bank, mut cfg: RouterConfig, stats: Arc<SharedStats>, midi: MidiMap) -> Self {
        // Clamped once here; `allocate_id` wraps round to it.
        cfg.first_picked_id = cfg.first_picked_id.clamp(1, MAX_FIRST_PICKED_ID);
        let next_id = cfg.first_picked_id;
        Self {
            bank,
            cfg,
            stats,
            voices: HashMap::new(),
            registrations: Vec::new(),
            messages_seen: 0,
            next_id,
            midi: MidiState::new(midi),
            deferred: HashMap::new(),
            next_marker: 0,
            latest_frame: None,
            defer_at: None,
            presets: PresetStore::in_memory(),
            service: Default::default(),
        }
    }

    /// The router with `presets` (by default it keeps them in memory only).
    pub fn with_presets(mut self, presets: PresetStore) -> Self {
        self.presets = presets;
        self
    }

    /// Its presets.
    pub fn presets(&self) -> &PresetStore {
        &self.presets
    }

    /// A router with counters of its own, that nothing else reads (offline
    /// scores).
    pub fn standalone(bank: Bank, cfg: RouterConfig, midi: MidiMap) -> Self {
        Self::new(bank, cfg, Arc::new(SharedStats::default()), midi)
    }

    /// The configuration.
    pub fn config(&self) -> &RouterConfig {
        &self.cfg
    }

    /// Where replies to `from`'s requests go: the fixed destination
    /// (`--reply-port`), else the port `from` registered with `/notify 1
    /// <port>`, else `from` itself.
    pub fn reply_to(&self, from: SocketAddr) -> SocketAddr {
        self.cfg.fixed_reply.unwrap_or_else(|| {
            self.registrations
                .iter()
                .find(|r| r.sender == from)
                .map_or(from, |r| r.to)
        })
    }

    /// Counts one message from `from` (its registration, if any, was heard now).
    pub(super) fn heard_from(&mut self, from: SocketAddr) {
        self.messages_seen += 1;
        let now = self.messages_seen;
        if let Some(r) = self.registrations.iter_mut().find(|r| r.sender == from) {
            r.heard = now;
        }
    }

    /// Makes room for one registration: drops the one heard from least
    /// recently (logged).
    pub(super) fn evict_least_recently_heard(&mut self) {
        let Some((i, _)) = self
            .registrations
            .iter()
            .enumerate()
            .min_by_key(|(_, r)| r.heard)
        else {
            return;
        };
        let gone = self.registrations.remove(i);
        tracing::info!(
            "{MAX_REGISTRATIONS} clients registered with /notify: {} (heard from least recently) \
             no longer gets notifications, to make room for a new client",
            gone.sender
        );
    }

    /// Destinations of notifications (each once).
    pub(super) fn notified(&self) -> Vec<SocketAddr> {
        let mut v: Vec<SocketAddr> = Vec::with_capacity(self.registrations.len() + 1);
        for to in self
            .registrations
            .iter()
            .map(|r| r.to)
            .chain(self.cfg.fixed_reply)
        {
            if !v.contains(&to) {
                v.push(to);
            }
        }
        v
    }

    /// Queues a marker at `frame` in the engine; `replies` are sent when
    /// the engine reaches it.
    pub(super) fn defer(&mut self, frame: Option<u64>, replies: Vec<Deferred>, out: &mut Output) {
        let token = self.next_marker;
        self.next_marker = self.next_marker.wrapping_add(1);
        self.deferred.insert(token, replies);
        Self::push(out, frame, EngineCommand::Marker(token));
    }

    pub(super) fn push(out: &mut Output, frame: Option<u64>, command: EngineCommand) {
        out.commands.push(Timed { frame, command });
    }

    pub(super) fn instrument(&self, r: &InstRef) -> Result<(usize, Arc<Instrument>), RouterError> {
        let idx = match r {
            InstRef::Name(n) => self
                .bank
                .index_of(n)
                .ok_or_else(|| RouterError::UnknownInstrument(n.clone()))?,
            InstRef::Index(i) => {
                let i = *i as usize;
                if i >= self.bank.instruments.len() {
                    return Err(RouterError::NoInstrumentAt {
                        index: i,
                        count: self.bank.instruments.len(),
                    });
                }
                i
            }
        };
        Ok((idx, self.bank.instruments[idx].clone()))
    }

    pub(super) fn known_voice(&self, id: i32) -> Result<&VoiceInfo, RouterError> {
        self.voices.get(&id).ok_or(RouterError::UnknownVoice(id))
    }

    /// An id for a voice the server picks (`/voice/new -1`, `/note/on`,
    /// MIDI): counting up from the first picked id (1 by default) to
    /// [`MAX_PICKED_ID`] and round again, skipping ids in use (scores rely
    /// on the order).
    pub(super) fn allocate_id(&mut self) -> i32 {
        loop {
            let id = self.next_id;
            self.next_id = if id >= MAX_PICKED_ID {
                self.cfg.first_picked_id
            } else {
                id + 1
            };
            // The range holds far more ids than voices can be known at once.
            if !self.voices.contains_key(&id) {
                return id;
            }
        }
    }

    /// `/status.reply` with the figures of now.
    pub(super) fn status_reply(&self) -> OscMessage {
        let s = &self.stats;
        let figures = StatusFigures {
            active_voices: s.active_voices.load(Ordering::Relaxed),
            voice_limit: self.cfg.voices as u32,
            instruments_loaded: self.bank.instruments.len() as u32,
            // After a GPU failure the CPU engine renders.
            engine: if s.gpu_failovers.load(Ordering::Relaxed) > 0 {
                EngineKind::Cpu
            } else {
                self.cfg.engine
            },
            load: s.load(),
            underruns: s.underruns.load(Ordering::Relaxed),
            late_bundles: s.late_bundles.load(Ordering::Relaxed),
            dropped_messages: s.dropped.load(Ordering::Relaxed),
            clamped_values: s.clamped.load(Ordering::Relaxed),
            sample_rate: self.cfg.sample_rate as f32,
            block_size: self.cfg.block as u32,
            output_latency_ms: s.latency_ms(),
            gpu_failovers: s.gpu_failovers.load(Ordering::Relaxed),
            gpu_adapter: s.gpu_adapter.get().cloned().unwrap_or_default(),
            limiter_reduction_db: s.limiter_reduction_db(),
            limiter_peak_reduction_db: s.take_limiter_peak_db(),
            voice_faults: s.voice_faults.load(Ordering::Relaxed),
            uptime_s: self.service.uptime().as_secs(),
            clock_drift_ppm: s.clock_drift_ppm(),
        };
        reply::status_reply(&figures)
    }

    /// A command never reached the engine (its queue was full: counted as
    /// dropped): the replies waiting for its marker, if it was one, are
    /// forgotten rather than kept for ever.
    pub fn command_dropped(&mut self, command: &EngineCommand) {
        if let EngineCommand::Marker(token) = command {
            self.deferred.remove(token);
        }
    }

    /// Takes an event from the engine.
    pub fn on_event(&mut self, ev: EngineEvent, out: &mut Output) {
        match ev {
            EngineEvent::MarkerReached(token) => {
                for d in self.deferred.remove(&token).unwrap_or_default() {
                    let r = match d {
                        Deferred::Message(to, m) => (to, m),
                        Deferred::Status(to) => (to, self.status_reply()),
                    };
                    out.replies.push(r);
                }
            }
            EngineEvent::VoiceStarted(id) => {
                if self.voices.contains_key(&id) {
                    for n in self.notified() {
                        out.replies.push((n, reply::voice_started(id)));
                    }
                }
            }
            EngineEvent::VoiceEnded(id) => {
                if self.voices.remove(&id).is_some() {
                    for n in self.notified() {
                        out.replies.push((n, reply::voice_end(id)));
                    }
                }
            }
            EngineEvent::VoiceFault(id, fault) => {
                // Logged here, on the control side (never on the engine thread).
                SharedStats::add(&self.stats.voice_faults, 1);
                tracing::warn!(
                    "voice {id}: circuit breaker tripped ({} output): the voice is cut, the rest plays on",
                    fault.as_str()
                );
                if self.voices.contains_key(&id) {
                    for n in self.notified() {
                        out.replies
                            .push((n, reply::voice_fault(id, fault.as_str())));
                    }
                }
            }
            EngineEvent::Retired(inst) => drop(inst),
            EngineEvent::UnknownVoice(_) => {}
        }
    }
}
