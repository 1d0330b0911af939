//! The router's instrument commands: `/inst/list`, `/inst/info`,
//! `/inst/load`, `/inst/reload`.

use std::net::SocketAddr;

use super::error::RouterError;
use super::state::{Output, Router};
use crate::control::command::{Command, VoiceParam};
use crate::control::reply;

impl Router {
    /// Handles an instrument command; replies go to `to`.
    pub(super) fn route_instrument(
        &mut self,
        cmd: Command,
        to: SocketAddr,
        out: &mut Output,
    ) -> Result<(), RouterError> {
        match cmd {
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
                let n = self.load_named(&name)?;
                self.service.loaded(&n);
                let addr = if reload { "/inst/reload" } else { "/inst/load" };
                out.replies.push((to, reply::done(addr, Some(&n))));
            }
            other => unreachable!("{} is not an instrument command", other.address()),
        }
        Ok(())
    }
}
