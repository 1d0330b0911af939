//! Offline scores: timed OSC commands rendered to a buffer through the very
//! same router and engine as the live server, faster than real time and
//! deterministic.
//!
//! # JSON score format
//!
//! ```json
//! {
//!   "duration": 4.0,
//!   "events": [
//!     {"time": 0.0, "msg": ["/note/on", "drum", 45, 0.8]},
//!     {"time": 0.5, "msg": ["/voice/new", 7, "marimba", 60, 0.7, "x", 0.3]},
//!     {"time": 1.0, "msg": ["/voice/set", 7, "pitch", 62.0]}
//!   ]
//! }
//! ```
//!
//! `time` is in seconds from the start; `msg` is an OSC address followed by
//! its arguments (JSON integers become `i`, other numbers `f`, strings `s`,
//! booleans `T`/`F`). Events run in time order (ties in file order), each at
//! frame `round(time × rate)`. `duration` (optional) defaults to the last
//! event plus 2 s; `--duration` overrides it.
//!
//! # Binary score format
//!
//! scsynth's NRT format: a sequence of OSC bundles, each preceded by its
//! length as a big-endian int32; a bundle's timetag is its time in seconds
//! (NTP format: seconds since 0, not since 1900).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use rosc::{OscMessage, OscPacket, OscType};
use serde::Deserialize;
use thiserror::Error;

use crate::control::reply::EngineKind;
use crate::engine::api::VoiceEngine;
use crate::engine::command::{pop_due, EngineEvent, Timed};
use crate::engine::EngineConfig;
use crate::gpu::EngineSpec;
use crate::instrument::bank::Bank;
use crate::render::{
    run_offline, OfflineJob, OutputLevel, RenderError, SampleFormat, StereoBuffer,
};
use crate::server::midi_map::MidiMap;
use crate::server::router::{Output, Router, RouterConfig};

/// Why a score file is refused; the messages name the event (its index
/// in the file) or the byte offset.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ScoreError {
    /// A JSON score that does not parse (or has unknown fields).
    #[error("not a valid score: {0}")]
    Json(#[source] serde_json::Error),
    /// `duration` is not a positive number of seconds.
    #[error("duration {0} must be a positive number of seconds")]
    Duration(f64),
    /// An event's time is negative or not finite.
    #[error("event {event}: time {time} must be ≥ 0")]
    Time {
        /// The event's index in the file.
        event: usize,
        /// Its time.
        time: f64,
    },
    /// An event's `msg` does not start with an OSC address.
    #[error("event {event}: msg must start with an OSC address string")]
    NoAddress {
        /// The event's index in the file.
        event: usize,
    },
    /// An event's argument is not a number, string or boolean.
    #[error("event {event}: argument {index} ({value}) is not a number, string or boolean")]
    Argument {
        /// The event's index in the file.
        event: usize,
        /// The argument's 1-based position after the address.
        index: usize,
        /// The argument as written.
        value: serde_json::Value,
    },
    /// A binary score ends inside a bundle's length.
    #[error("truncated length at byte {0}")]
    TruncatedLength(usize),
    /// A binary score's bundle length is not positive or runs past the end.
    #[error("bundle at byte {at} has a bad length {length}")]
    BadLength {
        /// The length's byte offset.
        at: usize,
        /// The length read.
        length: i32,
    },
    /// A binary score's bundle does not decode as OSC.
    #[error("bundle at byte {at}: {source}")]
    Bundle {
        /// The bundle's byte offset (of its length).
        at: usize,
        /// rosc's error.
        source: rosc::OscError,
    },
}

/// One timed message.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreEvent {
    /// Seconds from the start.
    pub time: f64,
    /// The message.
    pub msg: OscMessage,
}

/// A parsed score.
#[derive(Clone, Debug, Default)]
pub struct Score {
    /// Events in time order.
    pub events: Vec<ScoreEvent>,
    /// Length in seconds, if the score says.
    pub duration: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonScore {
    #[serde(default)]
    duration: Option<f64>,
    events: Vec<JsonEvent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonEvent {
    time: f64,
    msg: Vec<serde_json::Value>,
}

impl Score {
    /// Parses a score file's bytes (JSON, or binary NRT bundles). Errors name the event.
    pub fn parse(bytes: &[u8]) -> Result<Self, ScoreError> {
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        let mut score = if first == Some(&b'{') {
            Self::parse_json(bytes)?
        } else {
            Self::parse_binary(bytes)?
        };
        score.events.sort_by(|a, b| {
            a.time
                .partial_cmp(&b.time)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        Ok(score)
    }

    fn parse_json(bytes: &[u8]) -> Result<Self, ScoreError> {
        let s: JsonScore = serde_json::from_slice(bytes).map_err(ScoreError::Json)?;
        if let Some(d) = s.duration {
            if !d.is_finite() || d <= 0.0 {
                return Err(ScoreError::Duration(d));
            }
        }
        let mut events = Vec::with_capacity(s.events.len());
        for (i, e) in s.events.into_iter().enumerate() {
            if !e.time.is_finite() || e.time < 0.0 {
                return Err(ScoreError::Time {
                    event: i,
                    time: e.time,
                });
            }
            let mut it = e.msg.into_iter();
            let addr = match it.next() {
                Some(serde_json::Value::String(a)) if a.starts_with('/') => a,
                _ => return Err(ScoreError::NoAddress { event: i }),
            };
            let mut args = Vec::new();
            for (j, v) in it.enumerate() {
                args.push(match v {
                    serde_json::Value::String(s) => OscType::String(s),
                    serde_json::Value::Bool(b) => OscType::Bool(b),
                    serde_json::Value::Number(n) => match n.as_i64() {
                        Some(k) if k >= i32::MIN as i64 && k <= i32::MAX as i64 => {
                            OscType::Int(k as i32)
                        }
                        _ => OscType::Float(n.as_f64().unwrap_or(f64::NAN) as f32),
                    },
                    other => {
                        return Err(ScoreError::Argument {
                            event: i,
                            index: j + 1,
                            value: other,
                        })
                    }
                });
            }
            events.push(ScoreEvent {
                time: e.time,
                msg: OscMessage { addr, args },
            });
        }
        Ok(Self {
            events,
            duration: s.duration,
        })
    }

    fn parse_binary(bytes: &[u8]) -> Result<Self, ScoreError> {
        let mut events = Vec::new();
        let mut pos = 0;
        while pos < bytes.len() {
            if pos + 4 > bytes.len() {
                return Err(ScoreError::TruncatedLength(pos));
            }
            let n =
                i32::from_be_bytes([bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]]);
            pos += 4;
            if n <= 0 || pos + n as usize > bytes.len() {
                return Err(ScoreError::BadLength {
                    at: pos - 4,
                    length: n,
                });
            }
            let (_, packet) =
                rosc::decoder::decode_udp(&bytes[pos..pos + n as usize]).map_err(|source| {
                    ScoreError::Bundle {
                        at: pos - 4,
                        source,
                    }
                })?;
            pos += n as usize;
            collect(packet, None, &mut events);
        }
        Ok(Self {
            events,
            duration: None,
        })
    }
}

/// Flattens a packet into timed events (a bundle's timetag is its time).
fn collect(p: OscPacket, time: Option<f64>, out: &mut Vec<ScoreEvent>) {
    match p {
        OscPacket::Message(msg) => out.push(ScoreEvent {
            time: time.unwrap_or(0.0),
            msg,
        }),
        OscPacket::Bundle(b) => {
            let t = b.timetag.seconds as f64 + b.timetag.fractional as f64 / 4294967296.0;
            for c in b.content {
                collect(c, Some(t), out);
            }
        }
    }
}

/// Settings of a score render.
#[derive(Clone, Copy, Debug)]
pub struct ScoreSettings {
    /// Sample rate.
    pub sample_rate: u32,
    /// Block size.
    pub block: usize,
    /// Voice limit.
    pub voices: usize,
    /// Engine threads.
    pub threads: usize,
}

impl ScoreSettings {
    /// As `neirosynth render --score` renders: 48 kHz, 256-frame blocks,
    /// 64 voices, one engine thread.
    pub const RENDER: Self = Self {
        sample_rate: 48000,
        block: 256,
        voices: 64,
        threads: 1,
    };
}

/// What a score render produced besides audio: the replies it would have
/// sent (notably `/fail`s, with the event time).
#[derive(Debug, Default)]
pub struct ScoreReport {
    /// (time, reply address, reply arguments as text).
    pub replies: Vec<(f64, String, String)>,
}

/// Why `neirosynth render --score` failed: the file or the instruments
/// folder is refused (bad input, see [`ScoreFileError::is_usage`]), or the
/// render or the WAV failed. The messages are the CLI's.
#[derive(Debug, Error)]
pub enum ScoreFileError {
    /// The score file cannot be read.
    #[error("cannot read {}: {reason}", path.display())]
    Read {
        /// The score file.
        path: PathBuf,
        /// Why.
        reason: std::io::Error,
    },
    /// The score file is not a valid score.
    #[error("{}: {reason}", path.display())]
    Parse {
        /// The score file.
        path: PathBuf,
        /// Why.
        reason: ScoreError,
    },
    /// The instruments folder cannot be read.
    #[error("cannot read {}: {reason}", dir.display())]
    Bank {
        /// The instruments folder.
        dir: PathBuf,
        /// Why.
        reason: std::io::Error,
    },
    /// The engine could not render the score.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The output level cannot be applied (named by the score file).
    #[error("{}", path.display())]
    Level {
        /// The score file.
        path: PathBuf,
        /// Why.
        #[source]
        source: RenderError,
    },
    /// The WAV cannot be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The output file.
        path: PathBuf,
        /// Why.
        #[source]
        source: hound::Error,
    },
}

impl ScoreFileError {
    /// True for bad input (the score file or the instruments folder).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::Read { .. } | Self::Parse { .. } | Self::Bank { .. }
        )
    }
}

/// What `neirosynth render --score` is told besides the score file.
#[derive(Clone, Copy, Debug)]
pub struct ScoreFileOptions<'a> {
    /// The instruments folder (the bank the score plays).
    pub instruments: &'a Path,
    /// Length in seconds (default: the score's own).
    pub duration: Option<f64>,
    /// Output level (normalisation or gain).
    pub level: OutputLevel,
    /// The WAV to write.
    pub out: &'a Path,
    /// Its sample format.
    pub format: SampleFormat,
}

/// What `neirosynth render --score` wrote; its Display is the CLI's line.
#[derive(Clone, Debug)]
pub struct ScoreFileSummary {
    /// The WAV written.
    pub out: PathBuf,
    /// Events in the score.
    pub events: usize,
    /// Seconds rendered.
    pub seconds: f64,
}

impl std::fmt::Display for ScoreFileSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "wrote {} ({} events, {:.2} s)",
            self.out.display(),
            self.events,
            self.seconds
        )
    }
}

/// `neirosynth render --score`: reads and parses the score file at `path`,
/// loads the bank (refused instruments are logged), renders on `engine` at
/// [`ScoreSettings::RENDER`], applies the level, logs the score's `/fail`
/// replies and writes the WAV.
pub fn render_score_file(
    path: &Path,
    opts: &ScoreFileOptions<'_>,
    engine: &EngineSpec,
) -> Result<ScoreFileSummary, ScoreFileError> {
    let bytes = std::fs::read(path).map_err(|reason| ScoreFileError::Read {
        path: path.to_path_buf(),
        reason,
    })?;
    let score = Score::parse(&bytes).map_err(|reason| ScoreFileError::Parse {
        path: path.to_path_buf(),
        reason,
    })?;
    let dir = opts.instruments;
    let (bank, errors) = Bank::load_dir(dir).map_err(|reason| ScoreFileError::Bank {
        dir: dir.to_path_buf(),
        reason,
    })?;
    for e in errors {
        tracing::warn!("instrument refused: {e}");
    }
    let settings = ScoreSettings::RENDER;
    let (mut buf, report) = render_score_on(bank, &score, opts.duration, settings, engine)?;
    opts.level
        .apply(&mut buf)
        .map_err(|source| ScoreFileError::Level {
            path: path.to_path_buf(),
            source,
        })?;
    for (t, addr, args) in report.replies.iter().filter(|r| r.1 == "/fail") {
        tracing::warn!("at {t:.3} s: {addr} {args}");
    }
    buf.write_wav_as(opts.out, opts.format)
        .map_err(|source| ScoreFileError::Write {
            path: opts.out.to_path_buf(),
            source,
        })?;
    Ok(ScoreFileSummary {
        out: opts.out.to_path_buf(),
        events: score.events.len(),
        seconds: buf.left.len() as f64 / settings.sample_rate as f64,
    })
}

/// Renders `score` with `bank` for `duration` seconds (default: the
/// score's, else last event + 2 s) on the CPU engine.
pub fn render_score(
    bank: Bank,
    score: &Score,
    duration: Option<f64>,
    s: ScoreSettings,
) -> (StereoBuffer, ScoreReport) {
    render_score_on(bank, score, duration, s, &EngineSpec::Cpu)
        .expect("the CPU engine does not fail")
}

/// Renders `score` as [`render_score`] on the engine `engine`; the error
/// says why the GPU engine could not run it.
pub fn render_score_on(
    bank: Bank,
    score: &Score,
    duration: Option<f64>,
    s: ScoreSettings,
    engine: &EngineSpec,
) -> Result<(StereoBuffer, ScoreReport), RenderError> {
    let capacity = bank
        .max_buffer_len()
        .max(crate::physics::body::Layout::new(64, 64).len);
    let mut cfg = EngineConfig::new(capacity);
    cfg.sample_rate = s.sample_rate as f64;
    cfg.max_block = s.block;
    cfg.max_voices = s.voices;
    cfg.threads = s.threads;
    let instruments = bank.instruments.clone();
    let job = ScoreJob {
        bank,
        score,
        duration,
        settings: s,
    };
    run_offline(engine, cfg, &instruments, false, job)
}

/// A score, as an [`OfflineJob`].
struct ScoreJob<'a> {
    bank: Bank,
    score: &'a Score,
    duration: Option<f64>,
    settings: ScoreSettings,
}

impl OfflineJob for ScoreJob<'_> {
    type Output = (StereoBuffer, ScoreReport);
    fn run<E: VoiceEngine>(self, engine: &mut E, on_gpu: bool) -> Self::Output {
        let kind = if on_gpu {
            EngineKind::Gpu
        } else {
            EngineKind::Cpu
        };
        score_with(
            engine,
            self.bank,
            self.score,
            self.duration,
            self.settings,
            kind,
        )
    }
}

fn score_with<E: VoiceEngine>(
    engine: &mut E,
    bank: Bank,
    score: &Score,
    duration: Option<f64>,
    s: ScoreSettings,
    kind: EngineKind,
) -> (StereoBuffer, ScoreReport) {
    let rate = s.sample_rate as f64;
    let dur = duration
        .or(score.duration)
        .unwrap_or_else(|| score.events.last().map_or(0.0, |e| e.time) + 2.0);
    let total = (dur * rate).round() as usize;
    let capacity = engine.config().voice_capacity;
    let rcfg = RouterConfig {
        sample_rate: rate,
        block: s.block,
        voices: s.voices,
        bend_headroom: 2.0,
        allow_quit: false,
        fixed_reply: None,
        engine: kind,
        voice_capacity: capacity,
        first_picked_id: 1,
    };
    let mut router = Router::standalone(bank, rcfg, MidiMap::default());
    let from: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let mut buf = StereoBuffer {
        left: vec![0.0; total],
        right: vec![0.0; total],
        sample_rate: s.sample_rate,
    };
    let mut report = ScoreReport::default();
    let mut next_event = 0;
    let mut out = Output::default();
    let mut pending: std::collections::VecDeque<Timed> = Default::default();
    let mut events: Vec<EngineEvent> = Vec::new();
    let mut pos = 0;
    while pos < total {
        let n = s.block.min(total - pos);
        let block_end = (pos + n) as u64;
        // Route the events due in this block, in order, at their frames.
        while next_event < score.events.len() {
            let e = &score.events[next_event];
            let frame = (e.time * rate).round() as u64;
            if frame >= block_end {
                break;
            }
            router.handle(&e.msg, from, Some(frame), &mut out);
            for (_, r) in out.replies.drain(..) {
                report
                    .replies
                    .push((e.time, r.addr.clone(), format!("{:?}", r.args)));
            }
            pending.extend(out.commands.drain(..));
            next_event += 1;
        }
        crate::engine::command::process_scheduled(
            engine,
            &mut buf.left[pos..pos + n],
            &mut buf.right[pos..pos + n],
            &mut events,
            |limit| pop_due(&mut pending, limit),
        );
        for ev in events.drain(..) {
            router.on_event(ev, &mut out);
        }
        out.replies.clear();
        pos += n;
    }
    (buf, report)
}
