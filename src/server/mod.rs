//! `neirosynth serve`: the long-running server (control side). The router
//! turns OSC and MIDI into engine commands; the engine thread renders; an
//! audio back-end plays.
//!
//! One concept per file: [`options`] (what it is told), [`error`] (why it
//! cannot start), `builder` (options → running parts), `engine_thread`
//! (the real-time render loop), `network` (UDP receive, decode, reply),
//! `clock` (timetags → frames), `midi_input` (MIDI ports), [`runtime`]
//! (the control loop), [`router`], [`midi_map`] and [`mpe`] (MPE zones),
//! `oscquery_http` (the OSCQuery HTTP server), `advertise` (mDNS),
//! [`preset`] (a preset and the voice controls it stores) and
//! [`preset_store`] (the presets, in memory and in `--preset-dir`);
//! running as a service: [`config`] (the TOML file), [`service`] (what the
//! binary hands in, `SIGHUP`), [`notify`] (systemd's notify socket and
//! watchdog), [`state`] (the state that survives a restart), `log_limit`
//! (warnings bounded in rate).

mod advertise;
mod builder;
mod clock;
pub mod config;
mod engine_thread;
pub mod error;
mod housekeeping;
mod log_limit;
mod midi_input;
pub mod midi_map;
pub mod mpe;
mod network;
pub mod notify;
pub mod options;
mod oscquery_http;
pub mod preset;
pub mod preset_store;
pub mod router;
pub mod runtime;
pub mod service;
pub mod state;
mod thread_cpu;
mod underrun_report;

pub use error::ServeError;
pub use options::{MidiSelect, ServeOptions, DEFAULT_PORT};
pub use runtime::serve;
