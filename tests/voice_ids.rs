//! Voice ids through a running server: the server picks ids counting up
//! from 1, skipping ids in use; a `/voice/new` naming a sounding voice
//! restarts it (still one voice); and `--picked-ids-from N` keeps the
//! server's ids at N and up, so a client's own ids below N never meet them.

mod common;

use common::server::{f, i, int, s, Client, Server};

/// Starts `small` at `note` with `id` (−1: the server picks); returns the
/// id `/voice/started` reports.
fn voice_new(c: &Client, id: i32, note: f32) -> i32 {
    c.send("/voice/new", vec![i(id), s("small"), f(note), f(0.5)]);
    int(&c.until("/voice/started").args[0])
}

/// `/note/on` (the server picks); the id it reports.
fn note_on(c: &Client, note: f32) -> i32 {
    c.send("/note/on", vec![s("small"), f(note), f(0.5)]);
    int(&c.until("/voice/started").args[0])
}

#[test]
fn by_default_the_server_counts_from_1_and_a_reused_id_restarts_its_voice() {
    let srv = Server::start("ids-default", &[]);
    let mut c = srv.client();
    c.ask("/notify", vec![i(1)], "/done");
    assert_eq!(note_on(&c, 60.0), 1);
    // A client naming a sounding voice's id restarts that voice.
    assert_eq!(voice_new(&c, 1, 62.0), 1);
    c.sync();
    assert_eq!(int(&c.status()[0]), 1, "a restart is not a second voice");
    // The client's id 2 is in use: the server skips it.
    assert_eq!(voice_new(&c, 2, 64.0), 2);
    assert_eq!(note_on(&c, 65.0), 3);
    c.sync();
    assert_eq!(int(&c.status()[0]), 3);
    c.send("/voice/free_all", vec![]);
}

#[test]
fn picked_ids_from_keeps_the_servers_ids_apart_from_the_clients() {
    let srv = Server::start("ids-from", &["--picked-ids-from", "1000000"]);
    let mut c = srv.client();
    c.ask("/notify", vec![i(1)], "/done");
    assert_eq!(note_on(&c, 60.0), 1_000_000);
    // The client's own ids 1 and 2 start voices of their own.
    assert_eq!(voice_new(&c, 1, 62.0), 1);
    assert_eq!(voice_new(&c, 2, 63.0), 2);
    assert_eq!(voice_new(&c, -1, 64.0), 1_000_001);
    assert_eq!(note_on(&c, 65.0), 1_000_002);
    c.sync();
    assert_eq!(int(&c.status()[0]), 5, "five voices, none restarted");
    // MIDI over OSC: the server picks from the same range.
    c.send("/midi", vec![i(0x90), i(67), i(100)]);
    assert_eq!(int(&c.until("/voice/started").args[0]), 1_000_003);
    c.send("/voice/free_all", vec![]);
}

#[test]
fn picked_ids_from_out_of_range_is_refused() {
    for bad in ["0", "16777215"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_neirosynth"))
            .args(["serve", "--audio", "null", "--port", "0", "--midi", "none"])
            .args(["--picked-ids-from", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--picked-ids-from {bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--picked-ids-from"), "{err}");
    }
}
