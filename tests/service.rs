//! Running as a service: the configuration file (`serve --config`,
//! `config --print`), `SIGHUP`, the state file, systemd's notify socket and
//! the unit, bounded logs, and the faults a service must survive (an
//! unreadable instruments folder, a truncated state file, a flood of bad
//! packets). Each test runs the real binary with the null audio back-end.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::server::{f, i, instruments_dir, int, s, Client};
use common::tools::{on_path, require};
use rosc::OscType;

const BIN: &str = env!("CARGO_BIN_EXE_neirosynth");

/// A server whose stderr goes to a file the test reads.
struct Proc {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Proc {
    /// `serve --port 0 --audio null --midi none --instruments DIR ARGS…`
    /// with `env` added to its environment.
    fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let log = dir.join(format!("stderr-{}.log", rand_tag()));
        let mut child = Command::new(BIN)
            .args(["serve", "--port", "0", "--audio", "null", "--midi", "none"])
            .args(["--instruments", dir.join("instruments").to_str().unwrap()])
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = match line.trim().strip_prefix("listening udp ") {
            Some(a) => a.parse().unwrap(),
            None => panic!(
                "no listening line (`{line}`); stderr:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ),
        };
        Self { child, addr, log }
    }

    fn client(&self) -> Client {
        Client::new(self.addr)
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until stderr holds `text` (panics after 5 s).
    fn wait_log(&self, text: &str) -> String {
        let t = Instant::now();
        loop {
            let log = self.stderr();
            if log.contains(text) {
                return log;
            }
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "stderr never said `{text}`:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn hangup(&self) {
        // SAFETY: kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(self.child.id() as i32, libc::SIGHUP) };
        assert_eq!(rc, 0, "SIGHUP sent");
    }

    /// `/quit`, then the exit code.
    fn quit(mut self) -> Option<i32> {
        let c = self.client();
        c.ask("/quit", vec![], "/done");
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rand_tag() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// A fresh folder holding `instruments/` (the small fixtures).
fn workdir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("neirosynth-svc-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let inst = instruments_dir(&format!("svc-{tag}"));
    std::fs::rename(&inst, dir.join("instruments")).unwrap();
    dir
}

fn reason(m: &rosc::OscMessage) -> String {
    match &m.args[1] {
        OscType::String(r) => r.clone(),
        other => panic!("reason is a string, got {other:?}"),
    }
}

/// `config --print` names every `serve` flag, and the file's values sit
/// between the defaults and the flags.
#[test]
fn config_print_merges_defaults_file_and_flags() {
    let dir = workdir("print");
    let help = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let file = dir.join("n.toml");
    std::fs::write(
        &file,
        "port = 1234\nvoices = 12\nignore-timetags = true\nlimiter = \"off\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["config", "--print", "--config", file.to_str().unwrap()])
        .args(["--port", "9999"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let table: toml::Table = text.parse().expect("the output is TOML");
    // Options are listed one a line: `  -x, --flag <VALUE>` or `      --flag`.
    let flags: Vec<&str> = help
        .lines()
        .filter_map(|l| l.trim_start().split(", ").last()?.strip_prefix("--"))
        .filter_map(|l| l.split([' ', '<']).next())
        .filter(|w| !w.is_empty() && !["help", "config"].contains(w))
        .collect();
    assert!(flags.len() > 20, "flags found in --help: {flags:?}");
    for flag in flags {
        assert!(
            table.contains_key(flag) || text.contains(&format!("# {flag} = (unset)")),
            "`{flag}` has no key in:\n{text}"
        );
    }
    assert_eq!(table["port"].as_integer(), Some(9999), "the flag wins");
    assert_eq!(
        table["voices"].as_integer(),
        Some(12),
        "the file beats the default"
    );
    assert_eq!(table["ignore-timetags"].as_bool(), Some(true));
    assert_eq!(table["limiter"].as_str(), Some("off"));
    assert_eq!(table["block"].as_integer(), Some(256), "the default");

    // The printed settings are a configuration file that gives the same.
    let again = dir.join("again.toml");
    std::fs::write(&again, &text).unwrap();
    let out2 = Command::new(BIN)
        .args(["config", "--print", "--config", again.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out2.stdout).unwrap(), text);

    // An unknown key, and a value the flag refuses: bad input, named.
    std::fs::write(&file, "prot = 1\n").unwrap();
    let bad = Command::new(BIN)
        .args(["serve", "--config", file.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(err.contains("unknown key `prot`"), "{err}");
    std::fs::write(&file, "voices = \"many\"\n").unwrap();
    let bad = Command::new(BIN)
        .args(["config", "--print", "--config", file.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(err.contains("many") && err.contains("n.toml"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `SIGHUP` re-reads the file: a new instrument in the folder appears, the
/// master gain is applied (and saved), a restart-only key is named.
#[test]
fn sighup_reloads_the_configuration() {
    let dir = workdir("hup");
    let file = dir.join("n.toml");
    let state = dir.join("state.json");
    std::fs::write(&file, "voices = 8\nmaster-gain = 1.0\n").unwrap();
    let srv = Proc::start(
        &dir,
        &[
            "--config",
            file.to_str().unwrap(),
            "--state-file",
            state.to_str().unwrap(),
        ],
        &[],
    );
    let c = srv.client();
    assert_eq!(int(&c.status()[2]), 2, "two instruments at start");
    std::fs::copy(
        dir.join("instruments/small.json"),
        dir.join("instruments/added.json"),
    )
    .unwrap();
    let missing_map = dir.join("missing-map.json");
    std::fs::write(
        &file,
        format!(
            "voices = 9\nmaster-gain = 0.5\nlog-level = \"debug\"\nmidi-map = {:?}\n",
            missing_map.to_str().unwrap()
        ),
    )
    .unwrap();
    srv.hangup();
    let log = srv.wait_log("changed voices");
    assert!(log.contains("takes effect at the next start"), "{log}");
    assert!(!log.contains("changed master-gain"), "applied live: {log}");
    assert!(log.contains("master gain 0.5"), "{log}");
    assert!(log.contains("missing-map.json"), "{log}");
    assert!(log.contains("the MIDI map stays as it was"), "{log}");
    let list = c.ask("/inst/list", vec![], "/inst/list.reply");
    assert!(
        list.args.contains(&s("added")),
        "rescanned: {:?}",
        list.args
    );
    assert_eq!(int(&c.status()[2]), 3);
    assert_eq!(
        int(&c.status()[1]),
        8,
        "the voice limit waits for a restart"
    );
    // The new gain is the server's state: saved once it settles.
    let t = Instant::now();
    loop {
        let text = std::fs::read_to_string(&state).unwrap_or_default();
        if text.contains("\"master_gain\": 0.5") {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(5), "state: {text}");
        std::thread::sleep(Duration::from_millis(50));
    }
    // A file that no longer parses: reported, the server runs on.
    std::fs::write(&file, "voices = [\n").unwrap();
    srv.hangup();
    srv.wait_log("configuration not reloaded");
    assert_eq!(int(&c.status()[2]), 3, "the bank stays");
    assert_eq!(srv.quit(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The state comes back after a restart; a state file truncated mid-write
/// is reported and ignored, and the server runs with defaults.
#[test]
fn state_survives_a_restart_and_a_truncated_file_is_ignored() {
    let dir = workdir("state");
    let state = dir.join("state.json");
    let args = ["--state-file", state.to_str().unwrap()];
    let srv = Proc::start(&dir, &args, &[]);
    let mut c = srv.client();
    c.send("/master/gain", vec![f(0.25)]);
    c.ask("/inst/reload", vec![s("small2")], "/done");
    c.sync();
    assert_eq!(srv.quit(), Some(0), "a clean stop saves the state");
    let saved = std::fs::read_to_string(&state).unwrap();
    assert!(saved.contains("\"master_gain\": 0.25"), "{saved}");
    assert!(saved.contains("small2"), "{saved}");

    let srv = Proc::start(&dir, &args, &[]);
    let log = srv.wait_log("state restored");
    assert!(
        log.contains("1 instrument(s) reloaded, master gain 0.25"),
        "{log}"
    );
    assert_eq!(srv.quit(), Some(0));

    let full = std::fs::read(&state).unwrap();
    std::fs::write(&state, &full[..full.len() / 2]).unwrap();
    let srv = Proc::start(&dir, &args, &[]);
    let log = srv.wait_log("is corrupt");
    assert!(log.contains("starting with defaults"), "{log}");
    assert!(log.contains("state.json"), "{log}");
    let c = srv.client();
    assert_eq!(int(&c.status()[2]), 2, "the server runs");
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The instruments folder disappears under a running server (replaced by
/// a dangling symlink: `chmod 000` does not stop root, which runs CI):
/// `/inst/reload` and a `SIGHUP` rescan fail with a clear reason, and the
/// voice already playing plays on.
#[test]
fn an_unreadable_instruments_folder_leaves_the_voices_playing() {
    let dir = workdir("unreadable");
    // No --config: SIGHUP rescans the folder the flags name.
    let srv = Proc::start(&dir, &[], &[]);
    let mut c = srv.client();
    c.ask("/notify", vec![i(1)], "/done");
    c.send(
        "/voice/new",
        vec![i(-1), s("small"), f(60.0), f(0.8), s("damping"), f(0.05)],
    );
    let id = int(&c.until("/voice/started").args[0]);

    let inst = dir.join("instruments");
    std::fs::rename(&inst, dir.join("moved")).unwrap();
    std::os::unix::fs::symlink(dir.join("nowhere"), &inst).unwrap();

    c.send("/inst/reload", vec![s("small")]);
    let fail = c.until("/fail");
    let why = reason(&fail);
    assert_eq!(fail.args[0], s("/inst/reload"));
    assert!(
        why.contains("small.json"),
        "the reason names the file: {why}"
    );
    srv.hangup();
    let log = srv.wait_log("cannot read the instruments folder");
    assert!(log.contains("the voices play on"), "{log}");
    c.sync();
    let st = c.status();
    assert_eq!(int(&st[0]), 1, "the voice plays on");
    assert_eq!(int(&st[2]), 2, "the bank stays");
    c.send("/voice/set", vec![i(id), s("gain"), f(0.5)]);
    c.sync();
    assert_eq!(srv.quit(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

/// 10,000 undecodable packets: a bounded number of log lines (a few a
/// second), and counts that account for every packet the server received.
#[test]
fn a_flood_of_bad_packets_logs_a_bounded_number_of_lines() {
    let dir = workdir("flood");
    let srv = Proc::start(&dir, &[], &[]);
    let c = srv.client();
    let t = Instant::now();
    for k in 0..10_000u32 {
        c.send_raw(&[0xff, 0xfe, (k >> 8) as u8, k as u8]);
        if k % 200 == 199 {
            // Loopback UDP drops what the receive buffer cannot hold: pace a little.
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let sent_for = t.elapsed();
    // The server counts every undecodable packet it received as dropped
    // (the kernel may have lost some of the flood before).
    let t = Instant::now();
    let mut dropped = 0;
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let d = int(&c.status()[7]);
        if d == dropped || t.elapsed() > Duration::from_secs(5) {
            break;
        }
        dropped = d;
    }
    assert!(dropped >= 5_000, "the flood arrived: {dropped} packets");
    // The last window's count is logged once it has passed.
    std::thread::sleep(Duration::from_millis(1200));
    let _ = c.status();
    let log = srv.stderr();
    let lines = log
        .lines()
        .filter(|l| l.contains("undecodable packet ("))
        .count();
    let suppressed: i64 = log
        .lines()
        .filter_map(|l| {
            l.split("suppressed ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse::<i64>()
                .ok()
        })
        .sum();
    let seconds = (sent_for + t.elapsed()).as_secs() as usize + 2;
    assert!(
        (1..=5 * seconds).contains(&lines),
        "{lines} lines over {seconds} s:\n{log}"
    );
    assert_eq!(
        lines as i64 + suppressed,
        dropped as i64,
        "every packet logged or counted in a summary:\n{log}"
    );
    assert!(log.lines().count() < 40 + 10 * seconds, "{log}");
    assert_eq!(srv.quit(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

/// With systemd's `NOTIFY_SOCKET` and `WATCHDOG_USEC`, the server says
/// `READY=1`, then pings `WATCHDOG=1` while its engine runs, and
/// `STOPPING=1` when it quits. (That a frozen engine stops the pings is
/// `server::notify`'s unit test.)
#[test]
fn systemd_hears_ready_and_watchdog_pings() {
    use std::os::unix::net::UnixDatagram;
    let dir = workdir("notify");
    let sock_path = dir.join("notify.sock");
    let systemd = UnixDatagram::bind(&sock_path).unwrap();
    systemd
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let srv = Proc::start(
        &dir,
        &[],
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "200000"),
        ],
    );
    let mut buf = [0u8; 512];
    let mut recv = || {
        let n = systemd.recv(&mut buf).expect("a notification within 5 s");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert!(recv().starts_with("READY=1"));
    for _ in 0..3 {
        assert_eq!(recv(), "WATCHDOG=1");
    }
    srv.client().ask("/quit", vec![], "/done");
    while recv() != "STOPPING=1" {}
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The unit passes `systemd-analyze verify` (its ExecStart pointed at the
/// built binary, which verify requires to exist); the install script parses.
#[test]
fn the_unit_verifies_and_the_install_script_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("scripts/install-service.sh");
    assert!(Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap()
        .success());
    if !require(
        on_path("systemd-analyze"),
        "systemd-analyze",
        "apt-get install systemd (scripts/install-deps.sh)",
    ) {
        return;
    }
    let unit = std::fs::read_to_string(root.join("packaging/systemd/neirosynth.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/neirosynth serve"));
    for key in [
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "User=neirosynth",
        "LimitRTPRIO=",
        "LimitMEMLOCK=",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(unit.contains(key), "the unit has {key}");
    }
    let dir = workdir("unit");
    let copy = dir.join("neirosynth.service");
    std::fs::write(&copy, unit.replace("/usr/local/bin/neirosynth", BIN)).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify: {err}");
    assert!(!err.contains("neirosynth.service:"), "warnings: {err}");
    let _ = std::fs::remove_dir_all(&dir);
}
