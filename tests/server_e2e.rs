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
    // The contract's twelve figures, then seven extensions (docs/osc.md).
    assert_eq!(st.len(), 19);
    let types: String = st
        .iter()
        .map(|a| match a {
            OscType::Int(_) => 'i',
            OscType::Float(_) => 'f',
            OscType::String(_) => 's',
            _ => '?',
        })
        .collect();
    assert_eq!(types, "iiisfiiiififisffiif");
    assert_eq!(int(&st[12]), 0, "GPU failovers");
    assert_eq!(st[13], s(""), "no GPU adapter on the CPU engine");
    assert_eq!(st[14], OscType::Float(0.0), "no limiting in silence");
    assert_eq!(st[15], OscType::Float(0.0), "no peak limiting in silence");
    assert_eq!(int(&st[16]), 0, "no voice faults");
    assert!((0..60).contains(&int(&st[17])), "uptime in seconds");
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
        // Extension: the longest a released voice rings (the fixture's
        // 0.5 s release T60 ends well within the 10 s limit).
        assert_eq!(info.args.last(), Some(&f(10.0)));
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
        vec![i(7), f(0.5), f(0.5), f(0.5), f(0.1), s("blow")],
        "blow",
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
    // What a MIDI port streams besides notes is accepted and ignored:
    // clock, start, continue, stop, active sensing, song position, MTC,
    // SysEx; a malformed message is still refused.
    for msg in [
        vec![i(0xF8)],
        vec![f(250.0)],
        vec![i(0xFB)],
        vec![i(0xFC)],
        vec![i(0xFE)],
        vec![i(0xF2), i(0), i(8)],
        vec![i(0xF1), i(0x21)],
        vec![OscType::Blob(vec![0xF0, 0x7E, 0x7F, 0x06, 0x01, 0xF7])],
        vec![OscType::Midi(rosc::OscMidiMessage {
            port: 0,
            status: 0xF8,
            data1: 0,
            data2: 0,
        })],
    ] {
        c.send("/midi", msg.clone());
        c.send("/sync", vec![i(9)]);
        let m = c.until_any(&["/synced", "/fail"]);
        assert_eq!(m.addr, "/synced", "/midi {msg:?} answered {m:?}");
    }
    c.expect_fail("/midi", vec![OscType::Blob(vec![0xF0, 1, 2])], "0xF7");
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
    assert_eq!(fixed.until("/status.reply").args.len(), 19);
}

/// Nothing arrives on a client's socket within `ms` (replies went elsewhere).
fn silent_for(c: &Client, ms: u64) {
    c.sock
        .set_read_timeout(Some(Duration::from_millis(ms)))
        .unwrap();
    let mut buf = [0u8; 2048];
    let got = c.sock.recv_from(&mut buf);
    c.sock
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    if let Ok((n, _)) = got {
        let m = rosc::decoder::decode_udp(&buf[..n]).unwrap().1;
        panic!("expected nothing on this socket, got {m:?}");
    }
}

/// `/notify 1 <port>` sends every reply to the registering client's port
/// (answers as well as notifications), each client's to its own port; a
/// second client's replies never go there; `/notify 0` brings a client's
/// replies back to its sending socket.
#[test]
fn notify_redirects_every_reply_per_client() {
    let srv = Server::start("notifyport", &[]);
    // Two Max-like clients: each sends from one socket, listens on another.
    let (send_a, recv_a) = (srv.client(), srv.client());
    let (send_b, recv_b) = (srv.client(), srv.client());
    let port = |c: &Client| c.sock.local_addr().unwrap().port() as i32;
    send_a.send("/notify", vec![i(1), i(port(&recv_a))]);
    assert_eq!(recv_a.until("/done").args, vec![s("/notify")]);
    send_b.send("/notify", vec![f(1.0), f(port(&recv_b) as f32)]);
    assert_eq!(recv_b.until("/done").args, vec![s("/notify")]);
    // Answers to each client's requests reach its own port only.
    send_a.send("/sync", vec![i(11)]);
    send_b.send("/sync", vec![i(22)]);
    assert_eq!(recv_a.until("/synced").args, vec![i(11)]);
    assert_eq!(recv_b.until("/synced").args, vec![i(22)]);
    send_a.send("/status", vec![]);
    assert_eq!(recv_a.until("/status.reply").args.len(), 19);
    send_a.send("/inst/list", vec![]);
    assert_eq!(recv_a.until("/inst/list.reply").args[0], i(2));
    send_a.send("/version", vec![]);
    recv_a.until("/version.reply");
    send_a.send("/voice/set", vec![i(424242), s("gain"), f(0.5)]);
    assert_eq!(recv_a.until("/fail").args[0], s("/voice/set"));
    send_b.send("/inst/reload", vec![s("small2")]);
    assert_eq!(
        recv_b.until("/done").args,
        vec![s("/inst/reload"), s("small2")]
    );
    // Notifications go to every registered port.
    send_a.send("/voice/new", vec![i(31), s("small"), f(60.0), f(0.5)]);
    assert_eq!(recv_a.until("/voice/started").args, vec![i(31)]);
    assert_eq!(recv_b.until("/voice/started").args, vec![i(31)]);
    // Nothing reached the sending sockets; B saw none of A's answers.
    silent_for(&send_a, 150);
    silent_for(&send_b, 50);
    send_a.send("/sync", vec![i(12)]);
    assert_eq!(recv_a.until("/synced").args, vec![i(12)]);
    send_b.send("/sync", vec![i(23)]);
    assert_eq!(
        recv_b.until("/synced").args,
        vec![i(23)],
        "no /synced 12 for B"
    );
    // `/notify 0`: A's replies come back to its sending socket.
    send_a.send("/notify", vec![i(0)]);
    assert_eq!(send_a.until("/done").args, vec![s("/notify")]);
    send_a.send("/sync", vec![i(13)]);
    assert_eq!(send_a.until("/synced").args, vec![i(13)]);
    silent_for(&recv_a, 150);
}

/// With every `/notify` registration taken (clients that vanished without
/// `/notify 0`), a new client still registers: the client heard from least
/// recently makes room; one that spoke lately keeps its notifications.
#[test]
fn vanished_clients_make_room_for_new_ones() {
    let srv = Server::start("notifyfull", &[]);
    let limit = neirosynth::server::router::MAX_REGISTRATIONS;
    let old: Vec<Client> = (0..limit)
        .map(|_| {
            let c = srv.client();
            assert_eq!(
                c.ask("/notify", vec![i(1)], "/done").args,
                vec![s("/notify")]
            );
            c
        })
        .collect();
    // The first registered speaks again: the second is now the stalest.
    assert_eq!(old[0].status().len(), 19);
    let newcomer = srv.client();
    assert_eq!(
        newcomer.ask("/notify", vec![i(1)], "/done").args,
        vec![s("/notify")],
        "a full registration table must not lock a new client out"
    );
    newcomer.send("/voice/new", vec![i(5), s("small"), f(60.0), f(0.5)]);
    assert_eq!(newcomer.until("/voice/started").args, vec![i(5)]);
    assert_eq!(old[0].until("/voice/started").args, vec![i(5)]);
    assert_eq!(old[2].until("/voice/started").args, vec![i(5)]);
    silent_for(&old[1], 200);
}

/// A copy of an instrument file under a new name loads under that name (the
/// file name), beside the original, at start-up and through `/inst/load`.
#[test]
fn renamed_instrument_file_loads_under_its_file_name() {
    let srv = Server::start("renamed", &[]);
    let c = srv.client();
    std::fs::copy(srv.dir.join("small.json"), srv.dir.join("mysmall.json")).unwrap();
    assert_eq!(
        c.ask("/inst/load", vec![s("mysmall")], "/done").args,
        vec![s("/inst/load"), s("mysmall")]
    );
    assert_eq!(
        c.ask("/inst/list", vec![], "/inst/list.reply").args,
        vec![i(3), s("small"), s("small2"), s("mysmall")]
    );
    c.ask("/notify", vec![i(1)], "/done");
    c.send("/note/on", vec![s("mysmall"), f(60.0), f(0.5)]);
    c.until("/voice/started");
    // A bank read from a folder with the copy in it lists it too.
    let (bank, errors) = neirosynth::instrument::bank::Bank::load_dir(&srv.dir).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let names: Vec<&str> = bank.instruments.iter().map(|i| i.name()).collect();
    assert_eq!(names, ["mysmall", "small", "small2"]);
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
    // 0.3 s ahead: not sounding on arrival; `/voice/started` comes when it
    // starts, and `/status` counts it from then on.
    let before = int(&c.status()[0]);
    let sent = std::time::Instant::now();
    c.send_bundle(
        to_osc(std::time::SystemTime::now() + Duration::from_millis(300)),
        vec![("/voice/new", vec![i(77), s("small"), f(62.0), f(0.5)])],
    );
    assert_eq!(int(&c.status()[0]), before, "not sounding before its time");
    assert_eq!(c.until("/voice/started").args, vec![i(77)]);
    let waited = sent.elapsed();
    assert!(
        waited >= Duration::from_millis(250),
        "/voice/started came {waited:?} after the bundle, before its timetag (300 ms)"
    );
    assert_eq!(int(&c.status()[0]), before + 1, "counted once started");
    // A `/sync` after a future bundle answers once that bundle has run, and a
    // `/sync` or `/status` inside a future bundle answers at its time.
    let sent = std::time::Instant::now();
    c.send_bundle(
        to_osc(std::time::SystemTime::now() + Duration::from_millis(300)),
        vec![
            ("/voice/new", vec![i(78), s("small"), f(63.0), f(0.5)]),
            ("/status", vec![]),
        ],
    );
    c.send("/sync", vec![i(4242)]);
    let status = c.until("/status.reply");
    assert!(
        sent.elapsed() >= Duration::from_millis(250),
        "status answered early"
    );
    assert_eq!(
        int(&status.args[0]),
        before + 2,
        "the bundle's /status sees its voice"
    );
    let synced = c.until("/synced");
    assert_eq!(synced.args, vec![i(4242)]);
    assert!(sent.elapsed() >= Duration::from_millis(250), "synced early");
    let sent = std::time::Instant::now();
    c.send_bundle(
        to_osc(std::time::SystemTime::now() + Duration::from_millis(300)),
        vec![("/sync", vec![i(4343)])],
    );
    assert_eq!(c.until("/synced").args, vec![i(4343)]);
    assert!(
        sent.elapsed() >= Duration::from_millis(250),
        "timetagged sync answered early"
    );
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

/// Start-up on a machine without a sound card (as CI): our one warning
/// about the audio fallback, and none of the raw lines the libraries print
/// to stderr themselves (a dozen `ALSA lib …` lines from alsa-lib probing
/// the default device and the MIDI sequencer, libwayland's
/// `XDG_RUNTIME_DIR` line from the Vulkan probe): they go to the debug log.
#[test]
fn start_up_without_a_sound_card_prints_our_lines_only() {
    use std::io::{BufRead, BufReader, Read};
    let dir = common::server::instruments_dir("startup-lines");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_neirosynth"))
        .args([
            "serve", "--port", "0", "--audio", "default", "--midi", "all",
        ])
        .args(["--engine", "auto", "--voices", "4", "--instruments"])
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr: std::net::SocketAddr = line
        .trim()
        .strip_prefix("listening udp ")
        .unwrap_or_else(|| panic!("unexpected first line `{line}`"))
        .parse()
        .unwrap();
    let c = Client::new(addr);
    assert_eq!(c.ask("/quit", vec![], "/done").args, vec![s("/quit")]);
    let _ = child.wait();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let raw: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("ALSA lib") || l.contains("XDG_RUNTIME_DIR"))
        .collect();
    assert!(
        raw.is_empty(),
        "raw library lines on stderr:\n{}",
        raw.join("\n")
    );
    // Without a device, exactly one line says so (with a device, none).
    let fallback = err
        .lines()
        .filter(|l| l.contains("falling back to the null back-end"))
        .count();
    assert!(fallback <= 1, "{err}");
}
