//! End to end over UDP loopback: the server as a process (`--audio null
//! --port 0`), every command of the OSC contract, `/sync` instead of sleeps.

mod common;

use std::time::Duration;

use common::server::{f, i, int, s, Client, Server};
use rosc::OscType;

/// `/status`, `/version`, `/sync`, `/inst/list` and `/inst/info` answer as the contract says.
#[test]
fn queries_answer() {
    let srv = Server::start("queries", &[]);
    let mut c = srv.client();
    let st = c.status();
    // The contract's twelve figures, then two extensions (docs/osc.md).
    assert_eq!(st.len(), 14);
    let types: String = st
        .iter()
        .map(|a| match a {
            OscType::Int(_) => 'i',
            OscType::Float(_) => 'f',
            OscType::String(_) => 's',
            _ => '?',
        })
        .collect();
    assert_eq!(types, "iiisfiiiififis");
    assert_eq!(int(&st[12]), 0, "GPU failovers");
    assert_eq!(st[13], s(""), "no GPU adapter on the CPU engine");
    assert_eq!(int(&st[1]), 8, "voice limit");
    assert_eq!(int(&st[2]), 2, "instruments loaded");
    assert_eq!(st[3], s("cpu"));
    assert_eq!(st[9], f(48000.0));
    assert_eq!(int(&st[10]), 256);
    let OscType::Float(lat) = st[11] else {
        panic!()
    };
    assert!(lat > 0.0 && lat < 50.0, "latency {lat}");
    let v = c.ask("/version", vec![], "/version.reply");
    assert_eq!(v.args[0], s("neirosynth"));
    c.sync();
    let l = c.ask("/inst/list", vec![], "/inst/list.reply");
    assert_eq!(l.args, vec![i(2), s("small"), s("small2")]);
    for inst in [s("small2"), i(1), f(1.0)] {
        let info = c.ask("/inst/info", vec![inst], "/inst/info.reply");
        assert_eq!(info.args[..5], [s("small2"), i(1), i(16), i(16), f(50.0)]);
        assert!(info.args.contains(&s("pitch")) && info.args.contains(&s("morph")));
    }
}

/// Notes and voices: start, change, excite, move pickups, morph, release,
/// free; notified clients hear `/voice/started` and `/voice/end`.
#[test]
fn voices_play_and_notify() {
    let srv = Server::start("voices", &[]);
    let mut c = srv.client();
    assert_eq!(
        c.ask("/notify", vec![i(1)], "/done").args,
        vec![s("/notify")]
    );
    c.send(
        "/voice/new",
        vec![
            i(-1),
            s("small"),
            f(60.0),
            f(0.8),
            s("pan"),
            f(-0.3),
            s("x"),
            f(0.2),
        ],
    );
    let started = c.until("/voice/started");
    let id = int(&started.args[0]);
    assert!(id > 0 && id < (1 << 24));
    c.send(
        "/voice/set",
        vec![
            i(id),
            s("gain"),
            f(0.7),
            s("pitch"),
            f(61.0),
            s("damping"),
            f(2.0),
        ],
    );
    c.send(
        "/excite",
        vec![i(id), f(0.3), f(0.4), f(0.9), f(0.1), s("pluck")],
    );
    c.send("/excite", vec![i(id), f(0.6), f(0.6), f(0.5)]);
    c.send("/pickup", vec![i(id), f(0.1), f(0.2), f(0.8), f(0.9)]);
    c.send("/morph", vec![i(id), s("small2"), f(0.5), f(0.2)]);
    c.send("/voice/set", vec![i(id), s("morph"), f(0.8)]);
    c.send("/master/gain", vec![f(0.8)]);
    c.sync();
    assert_eq!(int(&c.status()[0]), 1, "one voice sounds");
    c.send("/note/on", vec![s("small"), f(64.0), f(0.5)]);
    let second = int(&c.until("/voice/started").args[0]);
    c.send("/note/off", vec![s("small"), f(64.0)]);
    c.send("/voice/release", vec![i(id)]);
    c.sync();
    c.send("/voice/free", vec![i(second)]);
    // Both end by themselves (release, free) and are reported.
    let mut ended = vec![
        int(&c.until("/voice/end").args[0]),
        int(&c.until("/voice/end").args[0]),
    ];
    ended.sort();
    let mut want = vec![id, second];
    want.sort();
    assert_eq!(ended, want);
    c.sync();
    assert_eq!(int(&c.status()[0]), 0);
    c.send("/note/on", vec![i(0), f(50.0), f(1.0)]);
    c.send("/voice/free_all", vec![]);
    c.until("/voice/end");
}

/// Every refusal answers `/fail` with the address and a reason, and the server keeps running.
#[test]
fn bad_input_fails_cleanly() {
    let srv = Server::start("fails", &[]);
    let mut c = srv.client();
    c.expect_fail(
        "/note/on",
        vec![s("small"), s("sixty"), f(0.5)],
        "expected a number",
    );
    c.expect_fail("/note/on", vec![s("small"), f(f32::NAN), f(0.5)], "NaN");
    c.expect_fail("/master/gain", vec![f(f32::INFINITY)], "inf");
    c.expect_fail(
        "/note/on",
        vec![s("nope"), f(60.0), f(0.5)],
        "unknown instrument",
    );
    c.expect_fail("/inst/info", vec![i(9)], "no instrument at index 9");
    c.expect_fail(
        "/voice/set",
        vec![i(4242), s("gain"), f(0.5)],
        "unknown voice",
    );
    c.expect_fail("/voice/free", vec![i(4242)], "unknown voice");
    c.send("/voice/new", vec![i(7), s("small"), f(60.0), f(0.5)]);
    c.sync();
    c.expect_fail("/voice/set", vec![i(7), s("wobble"), f(0.5)], "wobble");
    c.expect_fail(
        "/excite",
        vec![i(7), f(0.5), f(0.5), f(0.5), f(0.1), s("bow")],
        "bow",
    );
    c.expect_fail(
        "/inst/load",
        vec![s("../secret")],
        "outside the instruments folder",
    );
    c.expect_fail(
        "/inst/load",
        vec![s("/etc/passwd")],
        "outside the instruments folder",
    );
    c.expect_fail("/inst/load", vec![s("missing")], "cannot read");
    c.expect_fail("/midi", vec![i(0x90), i(60), i(100), i(1)], "");
    c.expect_fail("/bogus/path", vec![], "unknown command");
    // A truncated packet whose address can be read.
    let full = rosc::encoder::encode(&rosc::OscPacket::Message(rosc::OscMessage {
        addr: "/note/on".into(),
        args: vec![s("small"), f(60.0), f(0.5)],
    }))
    .unwrap();
    c.send_raw(&full[..full.len() - 3]);
    let m = c.until("/fail");
    assert_eq!(m.args[0], s("/note/on"));
    // Garbage without an address is counted as dropped.
    let before = int(&c.status()[7]);
    c.send_raw(&[0xff, 0x00, 0x13]);
    c.sync();
    assert_eq!(int(&c.status()[7]), before + 1, "dropped counted");
    // Clamps are counted; refused commands clamp nothing.
    let clamps = int(&c.status()[8]);
    c.send("/voice/set", vec![i(7), s("pan"), f(3.0)]);
    c.sync();
    assert_eq!(int(&c.status()[8]), clamps + 1);
    // The voice survived all of it.
    assert_eq!(int(&c.status()[0]), 1);
}

/// Floats are accepted for every integer argument (Pd, TouchDesigner).
#[test]
fn floats_accepted_for_integers() {
    let srv = Server::start("floats", &[]);
    let c = srv.client();
    assert_eq!(c.ask("/sync", vec![f(7.0)], "/synced").args, vec![i(7)]);
    assert_eq!(
        c.ask("/notify", vec![f(1.0)], "/done").args,
        vec![s("/notify")]
    );
    c.send("/voice/new", vec![f(-1.0), f(0.0), f(60.0), f(0.5)]);
    let id = int(&c.until("/voice/started").args[0]);
    c.send("/voice/set", vec![f(id as f32), s("gain"), f(0.5)]);
    c.send("/excite", vec![f(id as f32), f(0.5), f(0.5), f(0.5)]);
    c.send(
        "/pickup",
        vec![f(id as f32), f(0.5), f(0.5), f(0.5), f(0.5)],
    );
    c.send("/midi", vec![f(144.0), f(60.0), f(100.0)]);
    c.send("/voice/release", vec![f(id as f32)]);
    assert_eq!(
        c.ask("/sync", vec![OscType::Double(8.0)], "/synced").args,
        vec![i(8)]
    );
    assert_eq!(
        c.ask("/inst/info", vec![f(0.0)], "/inst/info.reply").args[0],
        s("small")
    );
}

/// `/midi` as ints, as a blob and as the OSC `m` type start notes; note-off releases.
#[test]
fn midi_over_osc() {
    let srv = Server::start("midi", &[]);
    let mut c = srv.client();
    c.ask("/notify", vec![i(1)], "/done");
    c.send("/midi", vec![i(0x90), i(60), i(100)]);
    c.until("/voice/started");
    c.send("/midi", vec![OscType::Blob(vec![0x91, 62, 90])]);
    c.until("/voice/started");
    c.send(
        "/midi",
        vec![OscType::Midi(rosc::OscMidiMessage {
            port: 0,
            status: 0x92,
            data1: 64,
            data2: 80,
        })],
    );
    c.until("/voice/started");
    c.sync();
    assert_eq!(int(&c.status()[0]), 3);
    c.send("/midi", vec![i(0xE0), i(0), i(127)]); // bend up on channel 1
    c.send("/midi", vec![i(0xB0), i(64), i(127)]); // sustain on
    c.send("/midi", vec![i(0x80), i(60), i(0)]); // held by the pedal
    c.send("/midi", vec![i(0xB0), i(64), i(0)]); // pedal up: released
    c.send("/midi", vec![i(0xC0), i(1)]); // program change → instrument 1
    c.sync();
    c.expect_fail("/midi", vec![i(0xC0), i(99)], "program 99");
}

/// `/notify 1 <port>` sends notifications to that port; `--reply-port` sends every reply there.
#[test]
fn reply_ports() {
    let srv = Server::start("replyport", &[]);
    let sender = srv.client();
    let listener = Client::new(srv.addr);
    let port = listener.sock.local_addr().unwrap().port();
    sender.send("/notify", vec![i(1), i(port as i32)]);
    sender.send("/voice/new", vec![i(-1), s("small"), f(60.0), f(0.5)]);
    let m = listener.until("/voice/started");
    assert!(int(&m.args[0]) > 0);

    let fixed = Client::new(srv.addr);
    let fport = fixed.sock.local_addr().unwrap().port().to_string();
    let srv2 = Server::start("replyport2", &["--reply-port", &fport]);
    let c = Client::new(srv2.addr);
    c.send("/status", vec![]);
    let fixed = Client {
        server: srv2.addr,
        ..fixed
    };
    // The contract's twelve figures and two extensions (docs/osc.md).
    assert_eq!(fixed.until("/status.reply").args.len(), 14);
}

/// `/inst/reload` swaps a good file in, refuses a broken one and keeps the old.
#[test]
fn reload_keeps_old_on_error() {
    let srv = Server::start("reload", &[]);
    let mut c = srv.client();
    c.ask("/notify", vec![i(1)], "/done");
    c.send("/voice/new", vec![i(5), s("small"), f(60.0), f(0.5)]);
    c.sync();
    assert_eq!(
        c.ask("/inst/reload", vec![s("small")], "/done").args,
        vec![s("/inst/reload"), s("small")]
    );
    std::fs::write(srv.dir.join("small.json"), "{ broken").unwrap();
    c.expect_fail("/inst/reload", vec![s("small")], "not valid JSON");
    assert_eq!(
        c.ask("/inst/list", vec![], "/inst/list.reply").args[1],
        s("small")
    );
    c.send("/note/on", vec![s("small"), f(62.0), f(0.5)]);
    c.until("/voice/started");
    // A new file in the folder loads by name.
    let text = std::fs::read_to_string(srv.dir.join("small2.json"))
        .unwrap()
        .replace("\"small2\"", "\"small3\"");
    std::fs::write(srv.dir.join("small3.json"), text).unwrap();
    assert_eq!(
        c.ask("/inst/load", vec![s("small3")], "/done").args,
        vec![s("/inst/load"), s("small3")]
    );
    c.sync();
    assert_eq!(int(&c.status()[2]), 3);
    assert_eq!(int(&c.status()[0]), 2, "the voices played on");
}

/// `/quit` answers `/done /quit` and the process exits 0.
#[test]
fn quit_exits_cleanly() {
    let mut srv = Server::start("quit", &[]);
    let c = srv.client();
    assert_eq!(c.ask("/quit", vec![], "/done").args, vec![s("/quit")]);
    assert_eq!(srv.wait_exit(Duration::from_secs(5)), Some(0));
    let mut srv = Server::start("noquit", &["--no-remote-quit"]);
    let c = srv.client();
    c.expect_fail("/quit", vec![], "disabled");
    assert_eq!(srv.wait_exit(Duration::from_millis(300)), None);
}

/// Future bundles run later; bundles beyond the horizon and late ones are counted.
#[test]
fn timetags_and_late_bundles() {
    let srv = Server::start("late", &["--horizon", "2"]);
    let mut c = srv.client();
    c.ask("/notify", vec![i(1)], "/done");
    let now = std::time::SystemTime::now();
    let to_osc = |t: std::time::SystemTime| rosc::OscTime::try_from(t).unwrap();
    // In the past: late.
    c.send_bundle(
        to_osc(now - Duration::from_secs(1)),
        vec![("/note/on", vec![s("small"), f(60.0), f(0.5)])],
    );
    // Far ahead: beyond the horizon, runs now, counted late.
    c.send_bundle(
        to_osc(now + Duration::from_secs(100)),
        vec![("/note/on", vec![s("small"), f(61.0), f(0.5)])],
    );
    c.sync();
    assert_eq!(int(&c.status()[6]), 2, "late bundles");
    // 0.3 s ahead: not sounding at the sync, sounding later.
    c.send_bundle(
        to_osc(std::time::SystemTime::now() + Duration::from_millis(300)),
        vec![("/voice/new", vec![i(77), s("small"), f(62.0), f(0.5)])],
    );
    c.until("/voice/started");
    c.sync();
    let before = int(&c.status()[0]);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(int(&c.status()[0]), before + 1);
    // Nested bundles run in order.
    let inner = rosc::OscPacket::Bundle(rosc::OscBundle {
        timetag: rosc::OscTime {
            seconds: 0,
            fractional: 1,
        },
        content: vec![rosc::OscPacket::Message(rosc::OscMessage {
            addr: "/sync".into(),
            args: vec![i(31)],
        })],
    });
    let outer = rosc::OscPacket::Bundle(rosc::OscBundle {
        timetag: rosc::OscTime {
            seconds: 0,
            fractional: 1,
        },
        content: vec![
            rosc::OscPacket::Message(rosc::OscMessage {
                addr: "/sync".into(),
                args: vec![i(30)],
            }),
            inner,
        ],
    });
    c.send_raw(&rosc::encoder::encode(&outer).unwrap());
    assert_eq!(c.until("/synced").args, vec![i(30)]);
    assert_eq!(c.until("/synced").args, vec![i(31)]);
}
