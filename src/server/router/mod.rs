//! The command router: turns validated OSC commands (and MIDI) into engine
//! commands and replies. Runs on the network thread (or in the score
//! renderer); allocation is fine here, nothing here touches audio.
//!
//! The router keeps the control side's view of the world: the bank, the
//! voices it started (until the engine reports their end), the clients that
//! asked for notifications, and MIDI channel state. One area per file:
//! `state` (the router and its helpers, engine events), `dispatch`
//! (message → command → area), `queries`, `instruments`, `voices`, `midi`,
//! `presets` (modulators, presets, the controls tracked for them),
//! `error` (why a command is refused), `service_state` (uptime, the state that
//! survives a restart) and `persist` (saving, restoring, what `SIGHUP`
//! applies).

mod dispatch;
mod error;
mod instruments;
mod midi;
mod persist;
mod presets;
mod queries;
mod service_state;
mod state;
mod voices;

pub use error::RouterError;
pub use persist::Rescan;
pub use state::{
    Output, Router, RouterConfig, MAX_FIRST_PICKED_ID, MAX_PICKED_ID, MAX_REGISTRATIONS,
};
