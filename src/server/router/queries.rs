//! The router's queries and session commands: `/status`, `/version`,
//! `/sync`, `/notify`, `/quit`.

use std::net::SocketAddr;

use super::error::RouterError;
use super::state::{Deferred, Output, Registration, Router, MAX_REGISTRATIONS};
use crate::control::command::Command;
use crate::control::reply;

impl Router {
    /// Handles a query or session command.
    pub(super) fn route_query(
        &mut self,
        cmd: Command,
        from: SocketAddr,
        frame: Option<u64>,
        out: &mut Output,
    ) -> Result<(), RouterError> {
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
                        self.evict_least_recently_heard();
                    }
                    self.registrations.push(Registration {
                        sender: from,
                        to: target,
                        heard: self.messages_seen,
                    });
                }
                // Acknowledged where the client's replies go from now on.
                out.replies
                    .push((self.reply_to(from), reply::done("/notify", None)));
            }
            Command::Quit => {
                if !self.cfg.allow_quit {
                    return Err(RouterError::QuitDisabled);
                }
                out.replies.push((to, reply::done("/quit", None)));
                out.quit = true;
            }
            other => unreachable!("{} is not a query", other.address()),
        }
        Ok(())
    }
}
