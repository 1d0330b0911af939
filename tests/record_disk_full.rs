//! `serve --record` onto a full disk (`/dev/full`: every write fails with
//! ENOSPC, as a full file system does, and it works as root): the
//! recording stops with a clear log line as soon as the first write fails,
//! and the server plays on — voices sound and end, `/status` answers, and
//! it exits cleanly, saying again why the recording failed.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::server::{f, i, instruments_dir, s, Client};

#[test]
fn a_full_disk_stops_the_recording_not_the_server() {
    let full = std::path::Path::new("/dev/full");
    assert!(full.exists(), "/dev/full is missing on this machine");
    let dir = instruments_dir("diskfull");
    let mut child = Command::new(env!("CARGO_BIN_EXE_neirosynth"))
        .args(["serve", "--port", "0", "--audio", "null", "--midi", "none"])
        .arg("--instruments")
        .arg(&dir)
        .args(["--record", "/dev/full", "--log-level", "info"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening udp ")
        .unwrap_or_else(|| panic!("unexpected first line `{line}`"))
        .parse()
        .unwrap();
    let mut c = Client::new(addr);
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
    let t = Instant::now();
    let code = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st.code();
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the server did not quit"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
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
