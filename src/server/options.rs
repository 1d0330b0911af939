//! What `neirosynth serve` is told: every setting of the server, explicit
//! (nothing is read from the environment).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use crate::audio::AudioKind;
use crate::gpu::EngineSpec;

/// Default UDP port.
pub const DEFAULT_PORT: u16 = 57130;

/// MIDI input selection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MidiSelect {
    /// Every input port.
    All,
    /// No MIDI.
    None,
    /// Ports whose name contains this.
    Named(String),
}

/// Everything `serve` is told.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Instruments folder.
    pub instruments: PathBuf,
    /// UDP port (0: any free port).
    pub port: u16,
    /// Address to bind.
    pub bind: IpAddr,
    /// Audio back-end.
    pub audio: AudioKind,
    /// Output device name.
    pub device: Option<String>,
    /// Record the output here.
    pub record: Option<PathBuf>,
    /// Voice limit.
    pub voices: usize,
    /// Block size, frames.
    pub block: usize,
    /// Requested sample rate.
    pub sample_rate: u32,
    /// Engine worker threads (0: one per core).
    pub threads: usize,
    /// MIDI input.
    pub midi: MidiSelect,
    /// MIDI preset file.
    pub midi_map: Option<PathBuf>,
    /// `--mpe`: MPE zones in force from the start (overrides the preset's
    /// `mpe.lower`/`mpe.upper`); `None` keeps the preset's.
    pub mpe: Option<crate::server::mpe::Zones>,
    /// Fixed reply destination.
    pub reply: Option<SocketAddr>,
    /// Treat every bundle as immediate.
    pub ignore_timetags: bool,
    /// Timetags further ahead than this (seconds) run at once (counted late).
    pub horizon: f64,
    /// Obey `/quit`.
    pub allow_quit: bool,
    /// Pitch-bend headroom of every voice, semitones.
    pub bend_headroom: f64,
    /// `--picked-ids-from`: the first voice id the server picks (1 by
    /// default; at most [`crate::server::router::MAX_FIRST_PICKED_ID`]).
    pub picked_ids_from: i32,
    /// `SCHED_FIFO` priority of the engine threads (0: normal scheduling).
    pub rt_priority: u8,
    /// The engine: the CPU engine, or the GPU engine on an opened adapter
    /// (the CPU engine takes over if it fails).
    pub engine: EngineSpec,
    /// `--engine gpu`: a GPU engine that cannot start is an error (with
    /// `auto` the server falls back to the CPU engine).
    pub require_gpu: bool,
    /// The master limiter (−0.3 dBFS true-peak ceiling) on the output
    /// (`--limiter on`, the default).
    pub limiter: bool,
    /// `--oscquery-port`: serve the OSCQuery description over HTTP on this
    /// port of `bind` (0: any free port, printed as `oscquery http
    /// ADDR:PORT`); `None`: off.
    pub oscquery_port: Option<u16>,
    /// `--advertise`: register `_osc._udp` (and `_oscjson._tcp`) over mDNS.
    pub advertise: bool,
    /// `--preset-dir`: the folder presets are saved to and loaded from at
    /// start-up; `None` keeps them in memory only.
    pub preset_dir: Option<PathBuf>,
    /// Testing aid (`--simulate-gpu-failure-after N`): the GPU engine
    /// simulates a device loss after this many blocks, so that the
    /// hand-over to the CPU engine can be tested without a faulty GPU.
    pub simulate_gpu_failure_after: Option<u64>,
    /// The master gain at start, linear (`--master-gain`; a restored state's wins).
    pub master_gain: f32,
    /// Where the state that survives a restart is kept (`--state-file`).
    pub state_file: Option<PathBuf>,
    /// Running as a service: the `SIGHUP` reload, systemd's notify socket.
    pub service: crate::server::service::ServiceOptions,
    /// Testing aid (`--null-drift-ppm N`): the null back-end runs N ppm
    /// fast (negative: slow) against the system clock, like a sound card's
    /// crystal, so that clock tracking can be tried on one machine.
    pub null_drift_ppm: f64,
}
