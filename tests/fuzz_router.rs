//! Property tests: arbitrary bytes and arbitrary messages into the decoder
//! and the command router never panic, and never stop the router.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use neirosynth::audio::stats::SharedStats;
use neirosynth::control::osc::decode_packet;
use neirosynth::control::reply::EngineKind;
use neirosynth::instrument::bank::Bank;
use neirosynth::server::midi_map::MidiMap;
use neirosynth::server::router::{Output, Router, RouterConfig};
use proptest::prelude::*;
use rosc::{OscMessage, OscType};

fn router() -> Router {
    static BANK: std::sync::OnceLock<Bank> = std::sync::OnceLock::new();
    let bank = BANK
        .get_or_init(|| {
            Bank::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"))
                .unwrap()
                .0
        })
        .clone();
    let cfg = RouterConfig {
        sample_rate: 48000.0,
        block: 256,
        voices: 8,
        bend_headroom: 2.0,
        allow_quit: true,
        fixed_reply: None,
        engine: EngineKind::Cpu,
        voice_capacity: 66 * 66,
        first_picked_id: 1,
    };
    Router::new(
        bank,
        cfg,
        Arc::new(SharedStats::default()),
        MidiMap::default(),
    )
}

fn from() -> SocketAddr {
    "127.0.0.1:9".parse().unwrap()
}

fn arg() -> impl Strategy<Value = OscType> {
    prop_oneof![
        any::<i32>().prop_map(OscType::Int),
        any::<f32>().prop_map(OscType::Float),
        any::<f64>().prop_map(OscType::Double),
        any::<i64>().prop_map(OscType::Long),
        any::<bool>().prop_map(OscType::Bool),
        "[a-z0-9/._]{0,12}".prop_map(OscType::String),
        prop::collection::vec(any::<u8>(), 0..6).prop_map(OscType::Blob),
        Just(OscType::Nil),
        Just(OscType::Inf),
    ]
}

fn address() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(neirosynth::control::command::ADDRESSES.to_vec())
            .prop_map(String::from),
        "/[a-z/]{0,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any bytes: decoding and routing never panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let mut r = router();
        let mut out = Output::default();
        if let Ok(msgs) = decode_packet(&bytes) {
            for m in msgs {
                r.handle(&m.message, from(), None, &mut out);
            }
        }
    }

    /// Any message to any contract address (any argument types): the router
    /// answers or queues commands, never panics, and still answers `/status`.
    #[test]
    fn arbitrary_messages_never_panic(msgs in prop::collection::vec((address(), prop::collection::vec(arg(), 0..7)), 1..12)) {
        let mut r = router();
        let mut out = Output::default();
        for (addr, args) in msgs {
            let m = OscMessage { addr: addr.clone(), args };
            r.handle(&m, from(), None, &mut out);
            let b = rosc::encoder::encode(&rosc::OscPacket::Message(m)).unwrap();
            let _ = decode_packet(&b);
        }
        out.replies.clear();
        r.handle(&OscMessage { addr: "/status".into(), args: vec![] }, from(), None, &mut out);
        prop_assert_eq!(out.replies.len(), 1);
        prop_assert_eq!(&out.replies[0].1.addr, "/status.reply");
    }
}

/// The replies a `/sync` waits for go out when the engine reaches its
/// marker; when the marker was dropped (full queue), they are forgotten:
/// reaching a dropped marker later answers nothing, and the router keeps
/// no state for it.
#[test]
fn dropped_markers_are_forgotten() {
    use neirosynth::engine::command::{EngineCommand, EngineEvent};
    let from: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let mut r = router();
    let mut out = Output::default();
    let sync = |id| OscMessage {
        addr: "/sync".into(),
        args: vec![OscType::Int(id)],
    };
    r.handle(&sync(1), from, None, &mut out);
    r.handle(&sync(2), from, None, &mut out);
    assert!(out.replies.is_empty(), "/synced waits for the engine");
    let markers: Vec<u64> = out
        .commands
        .drain(..)
        .map(|t| match t.command {
            EngineCommand::Marker(token) => token,
            _ => panic!("a /sync queues a marker"),
        })
        .collect();
    r.command_dropped(&EngineCommand::Marker(markers[0]));
    r.on_event(EngineEvent::MarkerReached(markers[0]), &mut out);
    assert!(out.replies.is_empty(), "a dropped marker answers nothing");
    r.on_event(EngineEvent::MarkerReached(markers[1]), &mut out);
    assert_eq!(out.replies.len(), 1);
    assert_eq!(out.replies[0].1.addr, "/synced");
    assert_eq!(out.replies[0].1.args, vec![OscType::Int(2)]);
}
