//! systemd's notify protocol (`sd_notify`): one datagram per state on the
//! unix socket systemd names (a path, or `@name` in the abstract
//! namespace), and the watchdog: `WATCHDOG=1` only while the engine
//! thread's frame counter advances, so that systemd restarts a hung engine.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A connection to systemd's notify socket.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    to: PathBuf,
}

impl Notifier {
    /// A notifier sending to `path` (`NOTIFY_SOCKET`).
    pub fn new(path: &Path) -> std::io::Result<Self> {
        Ok(Self {
            socket: UnixDatagram::unbound()?,
            to: path.to_path_buf(),
        })
    }

    /// Sends one state (`READY=1`, `WATCHDOG=1`, `STATUS=…`, `RELOADING=1`…).
    pub fn send(&self, state: &str) -> std::io::Result<()> {
        let text = self.to.to_string_lossy();
        if let Some(name) = text.strip_prefix('@') {
            use std::os::linux::net::SocketAddrExt as _;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
            self.socket.send_to_addr(state.as_bytes(), &addr)?;
        } else {
            self.socket.send_to(state.as_bytes(), &self.to)?;
        }
        Ok(())
    }
}

/// The watchdog's pings: every `interval` / 2, and only when the engine's
/// frame counter moved since the last one.
#[derive(Debug)]
pub struct Watchdog {
    notifier: Notifier,
    every: Duration,
    last_ping: Instant,
    last_frames: u64,
    stalled: bool,
}

/// What a [`Watchdog::tick`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    /// Not yet time to ping.
    Wait,
    /// The engine progressed: `WATCHDOG=1` sent.
    Pinged,
    /// The engine made no progress since the last ping: no ping (the first
    /// such tick of a stall; the control side logs it).
    Stalled,
    /// Still no progress (already reported).
    StillStalled,
}

impl Watchdog {
    /// A watchdog for systemd's `interval` (`WATCHDOG_USEC`), starting at
    /// `now` with the engine at `frames`.
    pub fn new(notifier: Notifier, interval: Duration, now: Instant, frames: u64) -> Self {
        Self {
            notifier,
            every: interval / 2,
            last_ping: now,
            last_frames: frames,
            stalled: false,
        }
    }

    /// Called from the control loop with the engine's frame counter.
    pub fn tick(&mut self, now: Instant, frames: u64) -> Tick {
        if now.duration_since(self.last_ping) < self.every {
            return Tick::Wait;
        }
        if frames == self.last_frames {
            self.last_ping = now;
            return if std::mem::replace(&mut self.stalled, true) {
                Tick::StillStalled
            } else {
                Tick::Stalled
            };
        }
        self.stalled = false;
        self.last_frames = frames;
        self.last_ping = now;
        // A lost ping is systemd's to notice; nothing to do about it here.
        let _ = self.notifier.send("WATCHDOG=1");
        Tick::Pinged
    }

    /// The notifier (for `READY=1`, `RELOADING=1`, `STATUS=`).
    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(sock: &UnixDatagram) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = [0u8; 256];
        while let Ok(n) = sock.recv(&mut buf) {
            out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        out
    }

    #[test]
    fn pings_while_the_engine_progresses_and_stops_when_it_is_frozen() {
        let dir = std::env::temp_dir().join(format!("neirosynth-notify-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let systemd = UnixDatagram::bind(&path).unwrap();
        systemd.set_nonblocking(true).unwrap();

        let t0 = Instant::now();
        let interval = Duration::from_secs(2);
        let notifier = Notifier::new(&path).unwrap();
        notifier.send("READY=1").unwrap();
        let mut dog = Watchdog::new(notifier, interval, t0, 0);
        assert_eq!(received(&systemd), ["READY=1"]);

        // Progress: a ping every second (half the interval), not more often.
        let mut frames = 0u64;
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert_eq!(dog.tick(at(500), 100), Tick::Wait);
        for s in 1..=3u64 {
            frames += 48_000;
            assert_eq!(dog.tick(at(1000 * s), frames), Tick::Pinged);
        }
        assert_eq!(received(&systemd), ["WATCHDOG=1"; 3]);

        // The engine freezes: no more pings, however long the loop runs.
        assert_eq!(dog.tick(at(4000), frames), Tick::Stalled);
        for s in 5..=10u64 {
            assert_eq!(dog.tick(at(1000 * s), frames), Tick::StillStalled);
        }
        assert!(received(&systemd).is_empty(), "no WATCHDOG=1 while frozen");

        // It recovers: pings again.
        assert_eq!(dog.tick(at(11_000), frames + 256), Tick::Pinged);
        assert_eq!(received(&systemd), ["WATCHDOG=1"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
