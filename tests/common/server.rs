//! A server process for end-to-end tests, and an OSC client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rosc::{OscBundle, OscMessage, OscPacket, OscTime, OscType};

/// A running `neirosynth serve --audio null --port 0`.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub dir: PathBuf,
}

/// A temporary instruments folder with `small` and `small2` (same 16×16 mesh).
pub fn instruments_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("neirosynth-e2e-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good_small.json");
    std::fs::copy(&good, dir.join("small.json")).unwrap();
    let text = std::fs::read_to_string(&good)
        .unwrap()
        .replace("\"small\"", "\"small2\"")
        .replace("\"stiffness\": 1.0", "\"stiffness\": 0.6");
    std::fs::write(dir.join("small2.json"), text).unwrap();
    dir
}

impl Server {
    /// Starts a server on a fresh instruments folder; extra CLI args appended.
    pub fn start(tag: &str, extra: &[&str]) -> Self {
        let stderr = if std::env::var_os("NEIROSYNTH_TEST_STDERR").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        };
        Self::start_with_stderr(tag, extra, stderr)
    }

    /// As [`Server::start`], its standard error going to `stderr` (e.g.
    /// `Stdio::piped()`, to read the log from `child.stderr`).
    pub fn start_with_stderr(tag: &str, extra: &[&str], stderr: Stdio) -> Self {
        let dir = instruments_dir(tag);
        let mut args: Vec<&str> = vec!["serve", "--port", "0", "--instruments"];
        let dir_str = dir.to_str().unwrap().to_string();
        args.push(&dir_str);
        for (flag, value) in [("--audio", "null"), ("--midi", "none"), ("--voices", "8")] {
            if !extra.contains(&flag) {
                args.extend([flag, value]);
            }
        }
        args.extend(extra);
        let mut child = Command::new(env!("CARGO_BIN_EXE_neirosynth"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("server starts");
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
        Self { child, addr, dir }
    }

    /// A server whose bank holds instruments called `drum`, `marimba` and
    /// `bell` (the names the client patches use; all the small 16×16 fixture),
    /// loaded through `/inst/load`; extra CLI args appended.
    pub fn start_for_patches(tag: &str, extra: &[&str]) -> Self {
        let srv = Server::start(tag, extra);
        let c = srv.client();
        for name in ["drum", "marimba", "bell"] {
            std::fs::copy(
                srv.dir.join("small.json"),
                srv.dir.join(format!("{name}.json")),
            )
            .unwrap();
            c.ask("/inst/load", vec![s(name)], "/done");
        }
        srv
    }

    /// A client socket bound to loopback.
    pub fn client(&self) -> Client {
        Client::new(self.addr)
    }

    /// Waits for the process to exit; returns its code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let t = Instant::now();
        while t.elapsed() < timeout {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An OSC client on one UDP socket (replies come back to it).
pub struct Client {
    pub sock: UdpSocket,
    pub server: SocketAddr,
    pub sync_id: i32,
}

/// Shorthand for OSC arguments.
pub fn s(v: &str) -> OscType {
    OscType::String(v.to_string())
}
pub fn i(v: i32) -> OscType {
    OscType::Int(v)
}
pub fn f(v: f32) -> OscType {
    OscType::Float(v)
}

impl Client {
    pub fn new(server: SocketAddr) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        Self {
            sock,
            server,
            sync_id: 1000,
        }
    }

    pub fn send(&self, addr: &str, args: Vec<OscType>) {
        let p = OscPacket::Message(OscMessage {
            addr: addr.into(),
            args,
        });
        self.sock
            .send_to(&rosc::encoder::encode(&p).unwrap(), self.server)
            .unwrap();
    }

    pub fn send_raw(&self, bytes: &[u8]) {
        self.sock.send_to(bytes, self.server).unwrap();
    }

    /// Sends a bundle with an NTP timetag of its messages.
    pub fn send_bundle(&self, time: OscTime, msgs: Vec<(&str, Vec<OscType>)>) {
        let content = msgs
            .into_iter()
            .map(|(a, args)| {
                OscPacket::Message(OscMessage {
                    addr: a.into(),
                    args,
                })
            })
            .collect();
        let p = OscPacket::Bundle(OscBundle {
            timetag: time,
            content,
        });
        self.sock
            .send_to(&rosc::encoder::encode(&p).unwrap(), self.server)
            .unwrap();
    }

    /// The next reply (panics after 3 s).
    pub fn recv(&self) -> OscMessage {
        let mut buf = [0u8; 65536];
        let (n, _) = self.sock.recv_from(&mut buf).expect("a reply within 3 s");
        match rosc::decoder::decode_udp(&buf[..n]).unwrap().1 {
            OscPacket::Message(m) => m,
            OscPacket::Bundle(_) => panic!("unexpected bundle"),
        }
    }

    /// Sends and returns the first reply with address `want`.
    pub fn ask(&self, addr: &str, args: Vec<OscType>, want: &str) -> OscMessage {
        self.send(addr, args);
        self.until(want)
    }

    /// Skips replies until one with address `want`.
    pub fn until(&self, want: &str) -> OscMessage {
        loop {
            let m = self.recv();
            if m.addr == want {
                return m;
            }
        }
    }

    /// Skips replies until one whose address is in `want`.
    pub fn until_any(&self, want: &[&str]) -> OscMessage {
        loop {
            let m = self.recv();
            if want.contains(&m.addr.as_str()) {
                return m;
            }
        }
    }

    /// Sends `/sync` and waits for `/synced` (everything before it is applied).
    pub fn sync(&mut self) {
        self.sync_id += 1;
        let id = self.sync_id;
        self.send("/sync", vec![i(id)]);
        loop {
            let m = self.recv();
            if m.addr == "/synced" && m.args == vec![i(id)] {
                return;
            }
        }
    }

    /// Expects `/fail <addr> <reason>` with `words` in the reason.
    pub fn expect_fail(&self, addr: &str, args: Vec<OscType>, words: &str) {
        self.send(addr, args.clone());
        let m = self.until("/fail");
        assert_eq!(
            m.args[0],
            s(addr),
            "fail names the address for {addr} {args:?}"
        );
        let OscType::String(reason) = &m.args[1] else {
            panic!("reason is a string")
        };
        assert!(
            reason.contains(words),
            "{addr} {args:?}: reason `{reason}` lacks `{words}`"
        );
    }

    /// `/status.reply`'s arguments (the contract's 12, then the extensions).
    pub fn status(&self) -> Vec<OscType> {
        self.ask("/status", vec![], "/status.reply").args
    }
}

/// An integer argument of a reply.
pub fn int(v: &OscType) -> i32 {
    match v {
        OscType::Int(x) => *x,
        other => panic!("expected i, got {other:?}"),
    }
}
