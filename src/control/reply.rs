//! Builders for the server's replies.
//!
//! Replies use only the `i`, `f`, `s` and `b` argument types (Max shows `d`
//! as 0, sclang cannot read `h`, Pd's `oscparse` loses a whole message over
//! any other type). Counters wider than 32 bits saturate at `i32::MAX`.

use rosc::{OscMessage, OscPacket, OscType};

use super::param::VoiceParam;

/// Which engine renders the voices, as `/status.reply` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EngineKind {
    /// `cpu`.
    #[default]
    Cpu,
    /// `gpu`.
    Gpu,
}

impl EngineKind {
    /// `cpu` or `gpu`.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Cpu => "cpu",
            EngineKind::Gpu => "gpu",
        }
    }
}

/// The figures of `/status.reply`, in the contract's order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatusFigures {
    /// Voices sounding now.
    pub active_voices: u32,
    /// Most voices that can sound at once.
    pub voice_limit: u32,
    /// Instruments in the bank.
    pub instruments_loaded: u32,
    /// Which engine renders.
    pub engine: EngineKind,
    /// Share of the real-time budget used, 0..1.
    pub load: f32,
    /// Audio underruns since start.
    pub underruns: u64,
    /// Bundles run late (or beyond the horizon) since start.
    pub late_bundles: u64,
    /// Messages dropped (full queues, undecodable packets) since start.
    pub dropped_messages: u64,
    /// Values clamped into range since start.
    pub clamped_values: u64,
    /// Output sample rate in Hz.
    pub sample_rate: f32,
    /// Frames per block.
    pub block_size: u32,
    /// Output latency in milliseconds.
    pub output_latency_ms: f32,
    /// Extension: GPU failures the server recovered from on the CPU engine.
    pub gpu_failovers: u64,
    /// Extension: the GPU adapter the server started on (empty: none).
    pub gpu_adapter: String,
    /// Extension: the master limiter's gain reduction now, dB (≥ 0).
    pub limiter_reduction_db: f32,
    /// Extension: the limiter's largest gain reduction since the last
    /// `/status`, dB (≥ 0).
    pub limiter_peak_reduction_db: f32,
    /// Extension: voices cut by their circuit breaker since start.
    pub voice_faults: u64,
    /// Extension: seconds since the server started (whole seconds).
    pub uptime_s: u64,
    /// Extension: the output device's rate error against the system clock,
    /// ppm (positive: it runs fast), as the server's clock tracks it.
    pub clock_drift_ppm: f32,
}

/// An `s` argument (NUL bytes, which OSC strings cannot hold, are removed).
fn s(text: &str) -> OscType {
    OscType::String(text.replace('\0', ""))
}

/// An `i` argument, saturating at `i32::MAX`.
fn i(value: impl TryInto<i32>) -> OscType {
    OscType::Int(value.try_into().unwrap_or(i32::MAX))
}

fn message(addr: &str, args: Vec<OscType>) -> OscMessage {
    OscMessage {
        addr: addr.into(),
        args,
    }
}

/// `/fail <address> <reason>`: a command was refused or failed.
pub fn fail(address: &str, reason: &str) -> OscMessage {
    message("/fail", vec![s(address), s(reason)])
}

/// `/done <address> [<name>]`: a command that completes later is done.
pub fn done(address: &str, name: Option<&str>) -> OscMessage {
    message(
        "/done",
        [s(address)].into_iter().chain(name.map(s)).collect(),
    )
}

/// `/synced <id>`: everything received before `/sync id` has been applied.
pub fn synced(id: i32) -> OscMessage {
    message("/synced", vec![i(id)])
}

/// `/status.reply` with the twelve figures in the contract's order,
/// followed by the extensions (GPU failovers:i, GPU adapter:s, limiter
/// gain reduction now dB:f, its peak since the last `/status` dB:f, voice
/// faults:i, uptime in whole seconds:i, clock drift ppm:f).
pub fn status_reply(f: &StatusFigures) -> OscMessage {
    message(
        "/status.reply",
        vec![
            i(f.active_voices),
            i(f.voice_limit),
            i(f.instruments_loaded),
            s(f.engine.as_str()),
            OscType::Float(f.load),
            i(f.underruns),
            i(f.late_bundles),
            i(f.dropped_messages),
            i(f.clamped_values),
            OscType::Float(f.sample_rate),
            i(f.block_size),
            OscType::Float(f.output_latency_ms),
            i(f.gpu_failovers),
            s(&f.gpu_adapter),
            OscType::Float(f.limiter_reduction_db),
            OscType::Float(f.limiter_peak_reduction_db),
            i(f.voice_faults),
            i(f.uptime_s),
            OscType::Float(f.clock_drift_ppm),
        ],
    )
}

/// `/version.reply <name> <version>`.
pub fn version_reply(name: &str, version: &str) -> OscMessage {
    message("/version.reply", vec![s(name), s(version)])
}

/// `/inst/list.reply <count> <name>...`, names in bank order.
pub fn inst_list_reply<I>(names: I) -> OscMessage
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    counted_names("/inst/list.reply", names)
}

/// `/preset/list.reply <count> <name>...`: the stored presets, sorted by name.
pub fn preset_list_reply<I>(names: I) -> OscMessage
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    counted_names("/preset/list.reply", names)
}

/// `<address> <count> <name>...`.
fn counted_names<I>(address: &str, names: I) -> OscMessage
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let mut args = vec![i(0)];
    args.extend(names.into_iter().map(|n| s(n.as_ref())));
    args[0] = i(args.len() - 1);
    message(address, args)
}

/// `/inst/info.reply <name> <index> <mesh width> <mesh height> <reference note>`
/// followed by the names of the voice parameters the instrument accepts,
/// then (extension, `f`) the longest a released voice of it rings, seconds.
pub fn inst_info_reply(
    name: &str,
    index: u32,
    mesh: (u32, u32),
    reference_note: f32,
    params: &[VoiceParam],
    release_limit: f32,
) -> OscMessage {
    let mut args = vec![
        s(name),
        i(index),
        i(mesh.0),
        i(mesh.1),
        OscType::Float(reference_note),
    ];
    args.extend(params.iter().map(|p| s(p.name())));
    // Extension after the names (the only `f` among them): the longest a
    // released voice rings, seconds.
    args.push(OscType::Float(release_limit));
    message("/inst/info.reply", args)
}

/// `/voice/started <id>`, to notified clients.
pub fn voice_started(id: i32) -> OscMessage {
    message("/voice/started", vec![i(id)])
}

/// `/voice/end <id>`, to notified clients once a released voice is silent.
pub fn voice_end(id: i32) -> OscMessage {
    message("/voice/end", vec![i(id)])
}

/// `/voice/fault <id> <reason>`, to notified clients when a voice's
/// circuit breaker cut it (`non-finite` or `runaway`); `/voice/end` follows.
pub fn voice_fault(id: i32, reason: &str) -> OscMessage {
    message("/voice/fault", vec![i(id), s(reason)])
}

/// Encodes a reply for sending as one datagram.
pub fn encode(msg: OscMessage) -> Vec<u8> {
    let mut bytes = Vec::new();
    // Writing into a Vec cannot fail (its error type is Infallible).
    let Ok(_) = rosc::encoder::encode_into(&OscPacket::Message(msg), &mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::osc::decode_packet;

    /// Encodes then decodes, checking that only i, f, s and b types appear.
    fn round_trip(msg: OscMessage) -> OscMessage {
        let out = decode_packet(&encode(msg.clone())).unwrap();
        let back = out[0].message.clone();
        assert_eq!(back, msg);
        for arg in &back.args {
            assert!(
                matches!(
                    arg,
                    OscType::Int(_) | OscType::Float(_) | OscType::String(_) | OscType::Blob(_)
                ),
                "{arg:?}"
            );
        }
        back
    }

    fn st(text: &str) -> OscType {
        OscType::String(text.into())
    }

    /// Every reply encodes and decodes to its contract shape.
    #[test]
    fn replies_have_contract_shapes() {
        let m = round_trip(fail("/note/on", "argument 2 (note): missing"));
        assert_eq!(
            (m.addr.as_str(), m.args),
            (
                "/fail",
                vec![st("/note/on"), st("argument 2 (note): missing")]
            )
        );
        assert_eq!(round_trip(done("/quit", None)).args, [st("/quit")]);
        assert_eq!(
            round_trip(done("/inst/load", Some("gong"))).args,
            [st("/inst/load"), st("gong")]
        );
        assert_eq!(round_trip(synced(9)).args, [OscType::Int(9)]);
        assert_eq!(
            round_trip(version_reply("neirosynth", "0.1.0")).args,
            [st("neirosynth"), st("0.1.0")]
        );
        let m = round_trip(inst_list_reply(["a", "b"]));
        assert_eq!(
            (m.addr.as_str(), m.args),
            ("/inst/list.reply", vec![OscType::Int(2), st("a"), st("b")])
        );
        assert_eq!(
            round_trip(inst_list_reply(Vec::<String>::new())).args,
            [OscType::Int(0)]
        );
        let m = round_trip(inst_info_reply(
            "gong",
            3,
            (64, 48),
            45.5,
            &[VoiceParam::Gain, VoiceParam::PickupLx],
            12.5,
        ));
        assert_eq!(
            m.args,
            [
                st("gong"),
                OscType::Int(3),
                OscType::Int(64),
                OscType::Int(48),
                OscType::Float(45.5),
                st("gain"),
                st("pickup_lx"),
                OscType::Float(12.5),
            ]
        );
        assert_eq!(round_trip(voice_started(5)).addr, "/voice/started");
        assert_eq!(round_trip(voice_end(5)).args, [OscType::Int(5)]);
        assert_eq!(
            round_trip(voice_fault(5, "runaway")).args,
            [OscType::Int(5), st("runaway")]
        );
    }

    /// /status.reply carries the twelve figures in order, saturating wide
    /// counters, then the extensions.
    #[test]
    fn status_reply_order() {
        let m = round_trip(status_reply(&StatusFigures {
            active_voices: 1,
            voice_limit: 2,
            instruments_loaded: 3,
            engine: EngineKind::Gpu,
            load: 0.5,
            underruns: 4,
            late_bundles: 5,
            dropped_messages: 6,
            clamped_values: u64::MAX,
            sample_rate: 48000.0,
            block_size: 128,
            output_latency_ms: 5.25,
            gpu_failovers: 7,
            gpu_adapter: "NVIDIA H100".into(),
            limiter_reduction_db: 1.5,
            limiter_peak_reduction_db: 6.0,
            voice_faults: 2,
            uptime_s: 3600,
            clock_drift_ppm: -21.5,
        }));
        assert_eq!(m.addr, "/status.reply");
        use OscType::{Float as F, Int as I};
        assert_eq!(
            m.args,
            [
                I(1),
                I(2),
                I(3),
                st("gpu"),
                F(0.5),
                I(4),
                I(5),
                I(6),
                I(i32::MAX),
                F(48000.0),
                I(128),
                F(5.25),
                I(7),
                st("NVIDIA H100"),
                F(1.5),
                F(6.0),
                I(2),
                I(3600),
                F(-21.5)
            ]
        );
    }

    /// NUL bytes are removed from reply strings so the packet stays well-formed.
    #[test]
    fn nul_bytes_are_removed() {
        assert_eq!(round_trip(fail("/x", "a\0b")).args[1], st("ab"));
    }
}
