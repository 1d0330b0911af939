//! The command router: turns validated OSC commands (and MIDI) into engine
//! commands and replies. Runs on the network thread (or in the score
//! renderer); allocation is fine here, nothing here touches audio.
//!
//! The router keeps the control side's view of the world: the bank, the
//! voices it started (until the engine reports their end), the clients that
//! asked for notifications, and MIDI channel state.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use rosc::OscMessage;

use super::midi_map::{CcParam, InstSel, MidiMap, MidiState};
use crate::audio::stats::SharedStats;
use crate::control::command::{parse_message, Command, InstRef, VoiceParam};
use crate::control::midi::{bend_to_semitones, MidiEvent};
use crate::control::reply::{self, EngineKind, StatusFigures};
use crate::engine::command::{EngineCommand, EngineEvent, Timed, VoiceControl};
use crate::engine::voice::{morph_compatible, NoteRequest};
use crate::instrument::bank::Bank;
use crate::instrument::{Instrument, NotePlan};

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
}

/// What the control side knows about a voice it started.
#[derive(Clone, Debug)]
struct VoiceInfo {
    inst: Arc<Instrument>,
    plan: NotePlan,
    note: f64,
    /// MIDI channel when started from MIDI.
    channel: Option<u8>,
}

/// A reply held until the engine reaches the frame of the command that
/// caused it (a timetagged bundle's replies belong to the moment it runs).
enum Deferred {
    /// A reply ready to send.
    Message(SocketAddr, OscMessage),
    /// `/status.reply`, built when the engine reaches the frame.
    Status(SocketAddr),
}

/// A client's `/notify 1 [port]`: replies to `sender`'s requests, and
/// notifications, go to `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Registration {
    sender: SocketAddr,
    to: SocketAddr,
}

/// Most clients registered with `/notify` at once (more are refused).
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
    cfg: RouterConfig,
    stats: Arc<SharedStats>,
    voices: HashMap<i32, VoiceInfo>,
    registrations: Vec<Registration>,
    next_id: i32,
    midi: MidiState,
    /// Replies waiting for the engine to reach a marker.
    deferred: HashMap<u64, Vec<Deferred>>,
    next_marker: u64,
    /// The latest frame any routed command was scheduled at.
    latest_frame: Option<u64>,
    /// While routing a command of a future bundle: its frame (its replies wait for it).
    defer_at: Option<u64>,
}

/// Key of a voice started by `/note/on` (instrument index and note).
fn note_key(inst: usize, note: f64) -> u64 {
    (1u64 << 63)
        | ((inst as u64 & 0xffff) << 40)
        | ((note * 1024.0).round() as u64 & 0xff_ffff_ffff)
}

/// Key of a voice started by MIDI (channel and note).
fn midi_key(channel: u8, note: u8) -> u64 {
    (1u64 << 62) | ((channel as u64) << 8) | note as u64
}

impl Router {
    /// A router over `bank`.
    pub fn new(bank: Bank, cfg: RouterConfig, stats: Arc<SharedStats>, midi: MidiMap) -> Self {
        Self {
            bank,
            cfg,
            stats,
            voices: HashMap::new(),
            registrations: Vec::new(),
            next_id: 1,
            midi: MidiState::new(midi),
            deferred: HashMap::new(),
            next_marker: 0,
            latest_frame: None,
            defer_at: None,
        }
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

    /// Destinations of notifications (each once).
    fn notified(&self) -> Vec<SocketAddr> {
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

    /// Routes one decoded message from `from`, applying at engine `frame`
    /// (`None`: at once); its replies go to `out` at once (offline scores).
    pub fn handle(
        &mut self,
        msg: &OscMessage,
        from: SocketAddr,
        frame: Option<u64>,
        out: &mut Output,
    ) {
        self.defer_at = None;
        self.dispatch(msg, from, frame, out);
    }

    /// Routes one decoded message as [`Router::handle`], but the replies of
    /// a command scheduled at a future `frame` (a timetagged bundle) wait
    /// until the engine reaches that frame: they come back through
    /// [`Router::on_event`] then (the server).
    pub fn handle_timed(
        &mut self,
        msg: &OscMessage,
        from: SocketAddr,
        frame: Option<u64>,
        out: &mut Output,
    ) {
        self.defer_at = frame;
        let first = out.replies.len();
        self.dispatch(msg, from, frame, out);
        self.defer_at = None;
        if frame.is_some() && out.replies.len() > first {
            let held = out
                .replies
                .drain(first..)
                .map(|(to, m)| Deferred::Message(to, m))
                .collect();
            self.defer(frame, held, out);
        }
    }

    /// Queues a marker at `frame` in the engine; `replies` are sent when
    /// the engine reaches it.
    fn defer(&mut self, frame: Option<u64>, replies: Vec<Deferred>, out: &mut Output) {
        let token = self.next_marker;
        self.next_marker = self.next_marker.wrapping_add(1);
        self.deferred.insert(token, replies);
        Self::push(out, frame, EngineCommand::Marker(token));
    }

    fn dispatch(
        &mut self,
        msg: &OscMessage,
        from: SocketAddr,
        frame: Option<u64>,
        out: &mut Output,
    ) {
        let first_command = out.commands.len();
        self.dispatch_message(msg, from, frame, out);
        if let Some(f) = out.commands[first_command..]
            .iter()
            .filter_map(|t| t.frame)
            .max()
        {
            self.latest_frame = Some(self.latest_frame.map_or(f, |l| l.max(f)));
        }
    }

    fn dispatch_message(
        &mut self,
        msg: &OscMessage,
        from: SocketAddr,
        frame: Option<u64>,
        out: &mut Output,
    ) {
        let to = self.reply_to(from);
        let parsed = match parse_message(msg) {
            Ok(p) => p,
            Err(f) => {
                out.replies.push((to, reply::fail(&f.address, &f.reason)));
                return;
            }
        };
        let address = parsed.command.address();
        match self.route(parsed.command, from, frame, out) {
            Ok(()) => SharedStats::add(&self.stats.clamped, parsed.clamped as u64),
            Err(reason) => out.replies.push((to, reply::fail(address, &reason))),
        }
    }

    fn push(out: &mut Output, frame: Option<u64>, command: EngineCommand) {
        out.commands.push(Timed { frame, command });
    }

    fn instrument(&self, r: &InstRef) -> Result<(usize, Arc<Instrument>), String> {
        let idx = match r {
            InstRef::Name(n) => self
                .bank
                .index_of(n)
                .ok_or_else(|| format!("unknown instrument `{n}`"))?,
            InstRef::Index(i) => {
                let i = *i as usize;
                if i >= self.bank.instruments.len() {
                    return Err(format!(
                        "no instrument at index {i} (the bank has {})",
                        self.bank.instruments.len()
                    ));
                }
                i
            }
        };
        Ok((idx, self.bank.instruments[idx].clone()))
    }

    fn known_voice(&self, id: i32) -> Result<&VoiceInfo, String> {
        self.voices
            .get(&id)
            .ok_or_else(|| format!("unknown voice {id}"))
    }

    fn allocate_id(&mut self) -> i32 {
        loop {
            let id = self.next_id;
            self.next_id = if id >= (1 << 24) - 1 { 1 } else { id + 1 };
            if !self.voices.contains_key(&id) {
                return id;
            }
        }
    }

    /// Plans and queues a voice start; returns its id.
    #[allow(clippy::too_many_arguments)]
    fn start_voice(
        &mut self,
        id: Option<i32>,
        inst: Arc<Instrument>,
        req: NoteRequest,
        channel: Option<u8>,
        frame: Option<u64>,
        out: &mut Output,
    ) -> Result<i32, String> {
        let plan = inst
            .plan(req.note, self.cfg.bend_headroom, self.cfg.sample_rate)
            .map_err(|e| format!("{}: {e}", inst.name()))?;
        let id = id.unwrap_or_else(|| self.allocate_id());
        self.voices.insert(
            id,
            VoiceInfo {
                inst: inst.clone(),
                plan,
                note: req.note,
                channel,
            },
        );
        Self::push(
            out,
            frame,
            EngineCommand::Start {
                id,
                inst,
                plan,
                req,
            },
        );
        // `/voice/started` is sent when the engine starts it (`on_event`).
        Ok(id)
    }

    fn voice_params(
        &self,
        id: i32,
        params: &[(VoiceParam, f32)],
        frame: Option<u64>,
        out: &mut Output,
    ) -> Result<(), String> {
        let info = self.known_voice(id)?;
        for &(p, v) in params {
            let v = v as f64;
            let (param, value) = match p {
                VoiceParam::Gain => (VoiceControl::Gain, v),
                VoiceParam::Pan => (VoiceControl::Pan, v),
                VoiceParam::Pitch => {
                    if v > info.plan.max_note {
                        SharedStats::add(&self.stats.clamped, 1);
                    }
                    (VoiceControl::Pitch, v.min(info.plan.max_note))
                }
                VoiceParam::Damping => (VoiceControl::Damping, v),
                VoiceParam::Morph => (VoiceControl::Morph, v),
                VoiceParam::Brightness => (VoiceControl::Brightness, v),
                VoiceParam::PickupLx => (VoiceControl::Pickup(0), v),
                VoiceParam::PickupLy => (VoiceControl::Pickup(1), v),
                VoiceParam::PickupRx => (VoiceControl::Pickup(2), v),
                VoiceParam::PickupRy => (VoiceControl::Pickup(3), v),
                // Strike position of a running voice: the next /excite names its own.
                VoiceParam::X | VoiceParam::Y => continue,
            };
            Self::push(out, frame, EngineCommand::Set { id, param, value });
        }
        Ok(())
    }

    /// `/status.reply` with the figures of now.
    fn status_reply(&self) -> OscMessage {
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
        };
        reply::status_reply(&figures)
    }

    fn route(
        &mut self,
        cmd: Command,
        from: SocketAddr,
        frame: Option<u64>,
        out: &mut Output,
    ) -> Result<(), String> {
        let to = self.reply_to(from);
        match cmd {
            Command::Status => match self.defer_at {
                Some(f) => self.defer(Some(f), vec![Deferred::Status(to)], out),
                None => out.replies.push((to, self.status_reply())),
            },
            Command::Version => out.replies.push((
                to,
                reply::version_reply("neirosynth", env!("CARGO_PKG_VERSION")),
            )),
            Command::Sync { id } => {
                // After every command received before it, timetagged ones included.
                let at = match (frame, self.latest_frame) {
                    (Some(f), Some(l)) => Some(f.max(l)),
                    (f, l) => f.or(l),
                };
                self.defer(at, vec![Deferred::Message(to, reply::synced(id))], out);
            }
            Command::Notify { on, port } => {
                let target = port.map_or(from, |p| SocketAddr::new(from.ip(), p));
                self.registrations.retain(|r| r.sender != from);
                if on {
                    if self.registrations.len() >= MAX_REGISTRATIONS {
                        return Err(format!(
                            "{MAX_REGISTRATIONS} clients are registered already; send /notify 0 from one of them"
                        ));
                    }
                    self.registrations.push(Registration {
                        sender: from,
                        to: target,
                    });
                }
                // Acknowledged where the client's replies go from now on.
                out.replies
                    .push((self.reply_to(from), reply::done("/notify", None)));
            }
            Command::Quit => {
                if !self.cfg.allow_quit {
                    return Err("remote quit is disabled (--no-remote-quit)".into());
                }
                out.replies.push((to, reply::done("/quit", None)));
                out.quit = true;
            }
            Command::InstList => {
                out.replies.push((
                    to,
                    reply::inst_list_reply(
                        self.bank.instruments.iter().map(|i| i.name().to_string()),
                    ),
                ));
            }
            Command::InstInfo { inst } => {
                let (i, inst) = self.instrument(&inst)?;
                let f = &inst.file;
                out.replies.push((
                    to,
                    reply::inst_info_reply(
                        inst.name(),
                        i as u32,
                        (f.mesh.width as u32, f.mesh.height as u32),
                        f.reference_note as f32,
                        &VoiceParam::ALL,
                        inst.release().limit as f32,
                    ),
                ));
            }
            Command::InstLoad { name } | Command::InstReload { name } => {
                let reload = self.bank.index_of(&name).is_some();
                let path = self.bank.path_for(&name)?;
                let inst = Bank::load_file(&path).map_err(|e| e.to_string())?;
                if inst.max_buffer_len() > self.cfg.voice_capacity {
                    return Err(format!(
                        "{}: mesh larger than the voice buffers of this server",
                        inst.name()
                    ));
                }
                let n = inst.name().to_string();
                self.bank.upsert(Arc::new(inst));
                let addr = if reload { "/inst/reload" } else { "/inst/load" };
                out.replies.push((to, reply::done(addr, Some(&n))));
            }
            Command::NoteOn {
                inst,
                note,
                velocity,
            } => {
                let (i, inst) = self.instrument(&inst)?;
                let mut req = inst.note_request(note as f64, velocity);
                req.key = note_key(i, note as f64);
                self.start_voice(None, inst, req, None, frame, out)?;
            }
            Command::NoteOff { inst, note } => {
                let (i, _) = self.instrument(&inst)?;
                Self::push(
                    out,
                    frame,
                    EngineCommand::NoteOff {
                        key: note_key(i, note as f64),
                    },
                );
            }
            Command::VoiceNew {
                id,
                inst,
                note,
                velocity,
                params,
            } => {
                let (_, inst) = self.instrument(&inst)?;
                let mut req = inst.note_request(note as f64, velocity);
                let f = &inst.file;
                let mut pick = [
                    f.pickups.left[0] as f32,
                    f.pickups.left[1] as f32,
                    f.pickups.right[0] as f32,
                    f.pickups.right[1] as f32,
                ];
                let (mut x, mut y) = (f.excitation.x as f32, f.excitation.y as f32);
                let mut morph = None;
                for &(p, v) in &params {
                    match p {
                        VoiceParam::Gain => req.gain = v,
                        VoiceParam::Pan => req.pan = v,
                        VoiceParam::Pitch => req.note = v as f64,
                        VoiceParam::Damping => req.damping = v,
                        VoiceParam::Brightness => req.brightness = v,
                        VoiceParam::X => x = v,
                        VoiceParam::Y => y = v,
                        VoiceParam::PickupLx => pick[0] = v,
                        VoiceParam::PickupLy => pick[1] = v,
                        VoiceParam::PickupRx => pick[2] = v,
                        VoiceParam::PickupRy => pick[3] = v,
                        VoiceParam::Morph => morph = Some(v),
                    }
                }
                req.excite = Some((f.excitation.shape, x, y));
                req.pickups = Some(pick);
                let id = self.start_voice(id, inst, req, None, frame, out)?;
                if let Some(t) = morph {
                    Self::push(
                        out,
                        frame,
                        EngineCommand::Set {
                            id,
                            param: VoiceControl::Morph,
                            value: t as f64,
                        },
                    );
                }
            }
            Command::VoiceSet { id, params } => self.voice_params(id, &params, frame, out)?,
            Command::VoiceRelease { id } => {
                self.known_voice(id)?;
                Self::push(out, frame, EngineCommand::Release(id));
            }
            Command::VoiceFree { id } => {
                self.known_voice(id)?;
                Self::push(out, frame, EngineCommand::Free(id));
            }
            Command::VoiceFreeAll => Self::push(out, frame, EngineCommand::FreeAll),
            Command::Excite {
                id,
                x,
                y,
                amplitude,
                width,
                shape,
            } => {
                let info = self.known_voice(id)?;
                let width = width
                    .unwrap_or(info.inst.file.excitation.width as f32)
                    .max(0.005);
                Self::push(
                    out,
                    frame,
                    EngineCommand::Excite {
                        id,
                        shape,
                        x,
                        y,
                        amplitude,
                        width,
                    },
                );
            }
            Command::Pickup { id, lx, ly, rx, ry } => {
                self.known_voice(id)?;
                let pos = [lx as f64, ly as f64, rx as f64, ry as f64];
                Self::push(out, frame, EngineCommand::Pickups { id, pos });
            }
            Command::Morph {
                id,
                inst,
                t,
                seconds,
            } => {
                let info = self.known_voice(id)?.clone();
                let (_, target) = self.instrument(&inst)?;
                self.check_morph(&info, &target)?;
                Self::push(
                    out,
                    frame,
                    EngineCommand::Morph {
                        id,
                        target: Some(target),
                        t: t as f64,
                        seconds: seconds.map(|s| s as f64),
                    },
                );
            }
            Command::MasterGain { gain } => Self::push(out, frame, EngineCommand::MasterGain(gain)),
            Command::Midi(bytes) => {
                let ev = bytes.parse().map_err(|e| e.to_string())?;
                self.midi_event(ev, frame, out)?;
            }
        }
        Ok(())
    }

    /// Refuses a morph the engine could not run: different mesh at the
    /// voice's level, or a certificate that fails at the target's end.
    fn check_morph(&self, info: &VoiceInfo, target: &Instrument) -> Result<(), String> {
        let (inst, plan) = (&info.inst, &info.plan);
        if !morph_compatible(inst, target, plan) {
            return Err(format!(
                "cannot morph {} into {}: their meshes differ ({}×{} vs {}×{}); morph needs the same mesh size",
                inst.name(),
                target.name(),
                inst.file.mesh.width,
                inst.file.mesh.height,
                target.file.mesh.width,
                target.file.mesh.height
            ));
        }
        let tp = target.params(
            plan.level,
            plan.oversample,
            plan.max_note,
            self.cfg.sample_rate,
        );
        let mut bound = inst.levels[plan.level].bound;
        bound.value = bound.value.max(target.levels[plan.level].bound.value);
        let a = plan
            .certificate
            .value
            .max(crate::physics::certificate::Certificate::new(bound, &tp).value);
        if a >= crate::physics::certificate::LIMIT * crate::instrument::PLAN_SAFETY {
            return Err(format!(
                "morphing {} into {} at note {} would break the stability certificate",
                inst.name(),
                target.name(),
                info.note
            ));
        }
        Ok(())
    }

    /// Handles a MIDI event (from a port or `/midi`).
    pub fn midi_event(
        &mut self,
        ev: MidiEvent,
        frame: Option<u64>,
        out: &mut Output,
    ) -> Result<(), String> {
        match ev {
            MidiEvent::NoteOn {
                channel,
                note,
                velocity,
            } if velocity > 0 => {
                let bank = &self.bank;
                let idx = self.midi.instrument_for(channel, |n| bank.index_of(n));
                let inst = self.bank.instruments.get(idx).cloned().ok_or_else(|| {
                    format!("channel {}: no instrument at index {idx}", channel + 1)
                })?;
                let vel = self.midi.map.velocity_curve(channel).apply(velocity);
                let mut req = inst.note_request(note as f64 + self.midi.bend(channel), vel);
                req.key = midi_key(channel, note);
                let (sx, sy) = self.midi.strike(channel);
                if sx.is_some() || sy.is_some() {
                    let e = &inst.file.excitation;
                    req.excite =
                        Some((e.shape, sx.unwrap_or(e.x as f32), sy.unwrap_or(e.y as f32)));
                }
                self.midi.note_on(channel, note);
                let id = self.start_voice(None, inst, req, Some(channel), frame, out)?;
                if let (Some(t), Some(target)) = (
                    self.midi.morph_amount(channel),
                    self.midi_morph_target(channel),
                ) {
                    self.morph_if_certified(id, &target, t, frame, out);
                }
            }
            MidiEvent::NoteOn { channel, note, .. } | MidiEvent::NoteOff { channel, note, .. } => {
                if self.midi.note_off(channel, note) {
                    Self::push(
                        out,
                        frame,
                        EngineCommand::NoteOff {
                            key: midi_key(channel, note),
                        },
                    );
                }
            }
            MidiEvent::PitchBend { channel, value } => {
                let semis = bend_to_semitones(value, self.midi.map.bend_range(channel)) as f64;
                self.midi.set_bend(channel, semis);
                for (&id, v) in self
                    .voices
                    .iter()
                    .filter(|(_, v)| v.channel == Some(channel))
                {
                    let value = (v.note + semis).min(v.plan.max_note);
                    Self::push(
                        out,
                        frame,
                        EngineCommand::Set {
                            id,
                            param: VoiceControl::Pitch,
                            value,
                        },
                    );
                }
            }
            MidiEvent::ControlChange {
                channel,
                controller,
                value,
            } => {
                let Some(cc) = self.midi.map.controller(controller).cloned() else {
                    return Ok(());
                };
                let v = cc.min + (cc.max - cc.min) * value as f64 / 127.0;
                let channel_voices: Vec<i32> = self
                    .voices
                    .iter()
                    .filter(|(_, vi)| vi.channel == Some(channel))
                    .map(|(&id, _)| id)
                    .collect();
                match cc.param {
                    CcParam::Sustain => {
                        for note in self.midi.set_sustain(channel, value >= cc.threshold) {
                            Self::push(
                                out,
                                frame,
                                EngineCommand::NoteOff {
                                    key: midi_key(channel, note),
                                },
                            );
                        }
                    }
                    CcParam::Morph => {
                        self.midi.set_morph_amount(channel, v);
                        if let Some(target) = self.midi_morph_target(channel) {
                            for id in channel_voices {
                                self.morph_if_certified(id, &target, v, frame, out);
                            }
                        }
                    }
                    CcParam::StrikeX => self.midi.set_strike_x(channel, v as f32),
                    CcParam::StrikeY => self.midi.set_strike_y(channel, v as f32),
                    CcParam::Voice(param) => {
                        for id in channel_voices {
                            let value = if param == VoiceControl::Pitch {
                                v.min(self.voices[&id].plan.max_note)
                            } else {
                                v
                            };
                            Self::push(out, frame, EngineCommand::Set { id, param, value });
                        }
                    }
                }
            }
            MidiEvent::ChannelPressure { channel, pressure } => {
                // Pressure swells the voices of the channel: gain 1..2.
                let g = 1.0 + pressure as f64 / 127.0;
                for (&id, _) in self
                    .voices
                    .iter()
                    .filter(|(_, v)| v.channel == Some(channel))
                {
                    Self::push(
                        out,
                        frame,
                        EngineCommand::Set {
                            id,
                            param: VoiceControl::Gain,
                            value: g,
                        },
                    );
                }
            }
            MidiEvent::ProgramChange { channel, program } => {
                if (program as usize) < self.bank.instruments.len() {
                    self.midi.set_program(channel, program as usize);
                } else {
                    return Err(format!(
                        "program {program}: the bank has {} instruments",
                        self.bank.instruments.len()
                    ));
                }
            }
            // Clock, transport, active sensing, SysEx …: nothing to play.
            MidiEvent::PolyPressure { .. } | MidiEvent::System { .. } => {}
        }
        Ok(())
    }

    /// Queues a morph of voice `id` toward `target` when the certificate allows it.
    fn morph_if_certified(
        &self,
        id: i32,
        target: &Arc<Instrument>,
        t: f64,
        frame: Option<u64>,
        out: &mut Output,
    ) {
        let Some(info) = self.voices.get(&id) else {
            return;
        };
        if self.check_morph(info, target).is_ok() {
            Self::push(
                out,
                frame,
                EngineCommand::Morph {
                    id,
                    target: Some(target.clone()),
                    t,
                    seconds: None,
                },
            );
        }
    }

    fn midi_morph_target(&self, channel: u8) -> Option<Arc<Instrument>> {
        match self.midi.map.morph_target(channel)? {
            InstSel::Index(i) => self.bank.instruments.get(*i).cloned(),
            InstSel::Name(n) => self.bank.get(n).cloned(),
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
            EngineEvent::Retired(inst) => drop(inst),
            EngineEvent::UnknownVoice(_) => {}
        }
    }
}
