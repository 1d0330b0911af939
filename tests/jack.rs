//! `--audio jack` against a JACK server with the dummy driver (clocked at
//! 48 kHz like a real card, no sound card needed). Skipped, with a message,
//! where `jackd` is not installed.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::server::{f, i, int, s, Server};

struct Jackd(Child);

impl Drop for Jackd {
    /// SIGTERM, so jackd unregisters itself (a killed jackd keeps its slot in
    /// JACK's shared-memory registry, and after a few, no server starts).
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// The server plays through JACK: voices sound, decay and end on JACK's clock.
#[test]
fn serves_through_jack_dummy() {
    let name = "neirosynth-test".to_string();
    let Ok(child) = Command::new("jackd")
        .args([
            "--no-realtime",
            "-n",
            &name,
            "-d",
            "dummy",
            "-r",
            "48000",
            "-p",
            "256",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        eprintln!("skipped: jackd is not installed");
        return;
    };
    let _jackd = Jackd(child);
    std::env::set_var("JACK_DEFAULT_SERVER", &name);
    let ok = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        Command::new("jack_wait")
            .args(["-c", "-s", &name])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "running")
            .unwrap_or(false)
    });
    assert!(ok, "jackd did not come up");
    let mut srv = Server::start("jack", &["--audio", "jack"]);
    let mut c = srv.client();
    c.ask("/notify", vec![i(1)], "/done");
    c.send(
        "/voice/new",
        vec![i(3), s("small"), f(70.0), f(0.8), s("damping"), f(10.0)],
    );
    c.until("/voice/started");
    // The voice decays on JACK's clock and ends by itself.
    assert_eq!(int(&c.until("/voice/end").args[0]), 3);
    c.sync();
    let st = c.status();
    assert_eq!(st[9], f(48000.0));
    assert!(int(&st[5]) < 5, "underruns: {st:?}");
    c.send("/quit", vec![]);
    assert_eq!(srv.wait_exit(Duration::from_secs(5)), Some(0));
}
