//! Routing: one decoded message → a typed command → the handler of its
//! area (queries, instruments, voices, MIDI), its replies sent at once or
//! deferred to the frame the engine runs it at.

use std::net::SocketAddr;

use rosc::OscMessage;

use super::error::RouterError;
use super::state::{Deferred, Output, Router};
use crate::audio::stats::SharedStats;
use crate::control::command::{parse_message, Command};
use crate::control::reply;

impl Router {
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
        self.heard_from(from);
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
        self.heard_from(from);
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

    fn dispatch(
        &mut self,
        msg: &OscMessage,
        from: SocketAddr,
        frame: Option<u64>,
        out: &mut Output,
    ) {
        let first_command = out.commands.len();
        self.dispatch_message(msg, from, frame, out);
        for t in &out.commands[first_command..] {
            self.track(&t.command);
        }
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
                out.replies.push((to, f.to_reply()));
                return;
            }
        };
        let address = parsed.command.address();
        match self.route(parsed.command, from, frame, out) {
            Ok(()) => SharedStats::add(&self.stats.clamped, parsed.clamped as u64),
            Err(e) => out.replies.push((to, reply::fail(address, &e.to_string()))),
        }
    }

    /// Routes one command to the handler of its area.
    fn route(
        &mut self,
        cmd: Command,
        from: SocketAddr,
        frame: Option<u64>,
        out: &mut Output,
    ) -> Result<(), RouterError> {
        match cmd {
            Command::Status
            | Command::Version
            | Command::Sync { .. }
            | Command::Notify { .. }
            | Command::Quit => self.route_query(cmd, from, frame, out),
            Command::InstList
            | Command::InstInfo { .. }
            | Command::InstLoad { .. }
            | Command::InstReload { .. } => {
                let to = self.reply_to(from);
                self.route_instrument(cmd, to, out)
            }
            Command::VoiceMod { .. } | Command::VoiceModClear { .. } => {
                self.route_modulation(cmd, frame, out)
            }
            Command::PresetSave { .. }
            | Command::PresetRecall { .. }
            | Command::PresetList
            | Command::PresetDelete { .. } => {
                let to = self.reply_to(from);
                self.route_preset(cmd, to, frame, out)
            }
            Command::Midi(bytes) => {
                let ev = bytes.parse()?;
                self.midi_event(ev, frame, out)
            }
            _ => self.route_voice(cmd, frame, out),
        }
    }
}
