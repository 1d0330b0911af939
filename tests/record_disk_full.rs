//! `serve --record` onto a full disk (`/dev/full`: every write fails with
//! ENOSPC, as a full file system does, and it works as root): the
//! recording stops with a clear log line as soon as the first write fails,
//! and the server plays on — voices sound and end, `/status` answers, and
//! it exits cleanly, saying again why the recording failed.

mod common;

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::server::{f, i, s, Server};

#[test]
fn a_full_disk_stops_the_recording_not_the_server() {
    let full = std::path::Path::new("/dev/full");
    assert!(full.exists(), "/dev/full is missing on this machine");
    let mut srv = Server::start_with_stderr(
        "diskfull",
        &["--record", "/dev/full", "--log-level", "info"],
        Stdio::piped(),
    );
    let mut c = srv.client();
    c.send("/notify", vec![i(1)]);
    c.sync();
    // Long enough for the writer's buffer to reach the disk and fail.
    std::thread::sleep(Duration::from_millis(800));
    // The server plays on: a voice starts and ends by itself.
    c.send("/voice/new", vec![i(7), s("small"), f(60.0), f(0.8)]);
    c.send("/voice/release", vec![i(7)]);
    let t = Instant::now();
    loop {
        let m = c.until_any(&["/voice/end", "/voice/started"]);
        if m.addr == "/voice/end" {
            assert_eq!(m.args[0], i(7));
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(15), "voice 7 never ended");
    }
    let st = c.status();
    assert!(st.len() >= 12, "{st:?}");
    c.send("/quit", vec![]);
    let code = srv.wait_exit(Duration::from_secs(10));
    let mut err = String::new();
    srv.child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(code, Some(0), "stderr:\n{err}");
    let stopped = err
        .lines()
        .find(|l| l.contains("recording to /dev/full stopped"))
        .unwrap_or_else(|| panic!("no log line for the failed recording:\n{err}"));
    assert!(
        stopped.to_lowercase().contains("no space left"),
        "the reason is missing: {stopped}"
    );
    assert!(
        err.contains("recording failed"),
        "shut-down does not report it:\n{err}"
    );
}
