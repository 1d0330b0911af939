//! The OSC contract (`shared/spec/osc.md`) through liblo's own tools: every
//! command sent by `oscsend` (numbers as `i`, `f`, `h`, `d`, `T`/`F`, MIDI as
//! `m`), bundles sent by `oscsendfile`, and every reply decoded by `oscdump`,
//! which shows the types liblo read (only `i f s b` may appear).
//!
//! `oscsend` sends each message from a fresh port, so the per-command tests
//! run the server with `--reply-port <oscdump>`; the registration tests send
//! `/notify 1 <oscdump>` inside `oscsendfile` bundles (one sender) and check
//! that replies go there and nowhere else.
//!
//! Not covered, because liblo 0.31's tools cannot do it: blobs (`oscsend` and
//! `oscsendfile` refuse type `b`) and bundles timetagged in the future
//! (`oscsendfile` sleeps until each bundle's timetag, then sends it).

mod common;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use common::server::{i, int, s, Server};
use common::tools;
use rosc::{OscMessage, OscPacket};

/// How long any expected line may take (2 loaded cores, process spawns).
const WAIT: Duration = Duration::from_secs(8);

/// Whether liblo's command line tools are here (a failure under CI).
fn liblo_tools() -> bool {
    tools::require(
        tools::on_path("oscsend") && tools::on_path("oscdump") && tools::on_path("oscsendfile"),
        "liblo's oscsend/oscdump/oscsendfile",
        "apt-get install liblo-tools",
    )
}

/// One line of `oscdump`: `<timetag> <path> <types> <args as liblo prints them>`.
#[derive(Clone, Debug)]
struct Line {
    raw: String,
    /// When the reader thread got it.
    at: Instant,
    path: String,
    types: String,
    args: String,
}

impl Line {
    fn parse(raw: &str, at: Instant) -> Self {
        let mut it = raw.splitn(4, ' ');
        let _timetag = it.next();
        let (path, types, args) = match (it.next(), it.next(), it.next()) {
            (Some(p), t, a) if p.starts_with('/') => (p, t.unwrap_or(""), a.unwrap_or("")),
            // Anything else (e.g. "liblo server error …") is not a message.
            _ => ("!", "", raw),
        };
        Self {
            raw: raw.to_string(),
            at,
            path: path.into(),
            types: types.into(),
            args: args.into(),
        }
    }

    /// The arguments split at spaces (exact for numbers and space-free strings).
    fn words(&self) -> Vec<&str> {
        self.args.split(' ').collect()
    }

    fn int(&self, k: usize) -> i64 {
        self.words()[k]
            .parse()
            .unwrap_or_else(|_| panic!("argument {k} of `{}` is an integer", self.raw))
    }

    fn float(&self, k: usize) -> f64 {
        self.words()[k]
            .parse()
            .unwrap_or_else(|_| panic!("argument {k} of `{}` is a number", self.raw))
    }

    /// `/fail "<address>" "<reason>"` with `words` in the reason.
    fn is_fail(&self, address: &str, words: &str) -> bool {
        self.path == "/fail"
            && self.types == "ss"
            && self.args.starts_with(&format!("\"{address}\" \""))
            && self.args.contains(words)
    }
}

/// `oscdump -L` on a free UDP port; its lines come through a reader thread.
struct Dump {
    child: Child,
    port: u16,
    rx: Receiver<(Instant, String)>,
    /// Lines received and not yet matched by a `wait`.
    pending: VecDeque<Line>,
    /// Every line, for failure messages.
    log: Vec<String>,
}

impl Dump {
    fn start() -> Self {
        for _ in 0..5 {
            let port = UdpSocket::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = Command::new("oscdump")
                .args(["-L", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("oscdump starts");
            let (tx, rx) = mpsc::channel();
            let out = child.stdout.take().unwrap();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    if tx.send((Instant::now(), line)).is_err() {
                        break;
                    }
                }
            });
            let mut d = Dump {
                child,
                port,
                rx,
                pending: VecDeque::new(),
                log: Vec::new(),
            };
            if d.ready() {
                return d;
            }
        }
        panic!("oscdump did not start on a free port (5 tries)");
    }

    /// Sends `/probe` to the port until oscdump prints it (false: it exited).
    fn ready(&mut self) -> bool {
        let probe = rosc::encoder::encode(&OscPacket::Message(OscMessage {
            addr: "/probe".into(),
            args: vec![],
        }))
        .unwrap();
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let t = Instant::now();
        while t.elapsed() < WAIT {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            let _ = sock.send_to(&probe, ("127.0.0.1", self.port));
            if let Ok((at, line)) = self.rx.recv_timeout(Duration::from_millis(100)) {
                if Line::parse(&line, at).path == "/probe" {
                    while self.rx.recv_timeout(Duration::from_millis(50)).is_ok() {}
                    return true;
                }
            }
        }
        false
    }

    /// Takes one line from the reader (`None` on timeout); checks its types.
    fn pull(&mut self, timeout: Duration) -> Option<Line> {
        let (at, raw) = match self.rx.recv_timeout(timeout) {
            Ok(got) => got,
            Err(RecvTimeoutError::Timeout) => return None,
            Err(RecvTimeoutError::Disconnected) => {
                panic!("oscdump exited; it printed:\n{}", self.log())
            }
        };
        self.log.push(raw.clone());
        let line = Line::parse(&raw, at);
        assert!(line.path != "!", "liblo could not read a reply: `{raw}`");
        assert!(
            line.types.chars().all(|c| "ifsb".contains(c)),
            "reply `{raw}` has a type outside `i f s b`"
        );
        Some(line)
    }

    fn log(&self) -> String {
        self.log.join("\n")
    }

    /// The first line (received or coming within `WAIT`) that satisfies `pred`.
    fn wait(&mut self, what: &str, pred: impl Fn(&Line) -> bool) -> Line {
        if let Some(k) = self.pending.iter().position(&pred) {
            return self.pending.remove(k).unwrap();
        }
        let t = Instant::now();
        while let Some(left) = WAIT.checked_sub(t.elapsed()) {
            match self.pull(left) {
                Some(line) if pred(&line) => return line,
                Some(line) => self.pending.push_back(line),
                None => break,
            }
        }
        panic!(
            "oscdump saw no {what} within {WAIT:?}; it printed:\n{}",
            self.log()
        );
    }

    /// Waits for a line with `path` and exactly `args` (as liblo prints them).
    fn expect(&mut self, path: &str, types: &str, args: &str) -> Line {
        self.wait(&format!("`{path} {types} {args}`"), |l| {
            l.path == path && l.types == types && l.args == args
        })
    }

    /// Waits for `/fail "<address>" "…words…"`.
    fn expect_fail(&mut self, address: &str, words: &str) -> Line {
        self.wait(&format!("`/fail {address} …{words}…`"), |l| {
            l.is_fail(address, words)
        })
    }

    /// Takes every line that has arrived; panics on an unexpected `/fail`.
    fn no_fail(&mut self, context: &str) {
        while let Some(line) = self.pull(Duration::ZERO) {
            self.pending.push_back(line);
        }
        if let Some(f) = self.pending.iter().find(|l| l.path == "/fail") {
            panic!("unexpected `{}` after {context}", f.raw);
        }
    }
}

impl Drop for Dump {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `oscsend <server> <path> <types> <values>`; it must succeed quietly.
fn oscsend(to: SocketAddr, path: &str, types: &str, values: &str) {
    let mut cmd = Command::new("oscsend");
    cmd.args([to.ip().to_string(), to.port().to_string(), path.into()]);
    if !types.is_empty() {
        cmd.arg(types).args(values.split_whitespace());
    }
    let out = cmd.stdin(Stdio::null()).output().expect("oscsend runs");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "oscsend {path} {types} {values}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The text of an `oscsendfile` file: one line per `(head, rest)`, `head`
/// being `[timetag ]path` and `rest` `types values` (empty: no arguments).
///
/// oscsendfile 0.31 keeps the previous line's type-string pointer for a
/// line without arguments; it points into the reused line buffer, so the
/// argument-less line reads as empty only if the previous type string began
/// where that line ends (its newline or terminator, both NUL by then). The
/// typed line before such lines is padded with spaces to start its types
/// there; a fixed liblo skips the extra spaces.
fn sendfile_text(lines: &[(&str, &str)]) -> String {
    assert!(
        !lines.is_empty() && !lines[0].1.is_empty(),
        "first line needs arguments"
    );
    let mut text = String::new();
    for (k, (head, rest)) in lines.iter().enumerate() {
        if rest.is_empty() {
            text += &format!("{head}\n");
            continue;
        }
        let bare: Vec<usize> = lines[k + 1..]
            .iter()
            .take_while(|(_, r)| r.is_empty())
            .map(|(h, _)| h.len())
            .collect();
        let at = (head.len() + 1..head.len() + 200)
            .find(|&at| bare.iter().all(|&len| at == len || at == len + 1))
            .unwrap_or_else(|| {
                panic!("no padding of `{head}` fits the lines after it: reorder them")
            });
        text += &format!("{head}{}{rest}\n", " ".repeat(at - head.len()));
    }
    text
}

/// Runs `oscsendfile <server> <file of lines>`; it must succeed quietly
/// (it exits 0 even when it could not build a message, but says so).
fn oscsendfile(to: SocketAddr, tag: &str, lines: &[(&str, &str)]) {
    let path =
        std::env::temp_dir().join(format!("neirosynth-liblo-{tag}-{}.txt", std::process::id()));
    std::fs::write(&path, sendfile_text(lines)).unwrap();
    let out = Command::new("oscsendfile")
        .args([to.ip().to_string(), to.port().to_string()])
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .expect("oscsendfile runs");
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "oscsendfile: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Copies of the small fixture called `drum` and `marimba` (named so inside).
fn write_named_copies(srv: &Server) {
    let text = std::fs::read_to_string(srv.dir.join("small.json")).unwrap();
    for name in ["drum", "marimba"] {
        let named = text.replace("\"small\"", &format!("\"{name}\""));
        std::fs::write(srv.dir.join(format!("{name}.json")), named).unwrap();
    }
}

/// A server whose every reply goes to oscdump (`--reply-port`), driven by `oscsend`.
struct Session {
    srv: Server,
    dump: Dump,
    next_sync: i32,
}

impl Session {
    /// Writes `drum` and `marimba` and loads them through `oscsend`, each
    /// answered `/done /inst/load <name>` at oscdump.
    fn load_named_copies(&mut self) {
        write_named_copies(&self.srv);
        for name in ["drum", "marimba"] {
            self.send("/inst/load", "s", name);
            self.dump
                .expect("/done", "ss", &format!("\"/inst/load\" \"{name}\""));
        }
    }

    fn start(tag: &str) -> Self {
        let dump = Dump::start();
        let port = dump.port.to_string();
        let srv = Server::start(tag, &["--reply-port", &port]);
        Self {
            srv,
            dump,
            next_sync: 100,
        }
    }

    fn send(&self, path: &str, types: &str, values: &str) {
        oscsend(self.srv.addr, path, types, values);
    }

    /// Sends and waits for a reply at `reply`.
    fn ask(&mut self, path: &str, types: &str, values: &str, reply: &str) -> Line {
        self.send(path, types, values);
        self.dump
            .wait(&format!("`{reply}` to {path} {types} {values}"), |l| {
                l.path == reply
            })
    }

    /// Sends and expects `/fail "<path>" "…words…"`.
    fn fails(&mut self, path: &str, types: &str, values: &str, words: &str) {
        self.send(path, types, values);
        self.dump.expect_fail(path, words);
    }

    /// `/sync` through oscsend; then no `/fail` may have come that no one expected.
    fn sync(&mut self, context: &str) {
        self.next_sync += 1;
        let id = self.next_sync;
        self.send("/sync", "i", &id.to_string());
        self.dump.expect("/synced", "i", &id.to_string());
        self.dump.no_fail(context);
    }

    /// `/status.reply`, checked against the contract's types.
    fn status(&mut self) -> Line {
        let st = self.ask("/status", "", "", "/status.reply");
        assert!(
            st.types.starts_with("iiisfiiiifif"),
            "/status.reply types `{}`",
            st.types
        );
        st
    }

    /// The `/voice/started` id of the next voice that starts.
    fn started(&mut self) -> i64 {
        let l = self
            .dump
            .wait("`/voice/started`", |l| l.path == "/voice/started");
        assert_eq!(l.types, "i", "{}", l.raw);
        l.int(0)
    }
}

/// Fields of `/status.reply` (as liblo prints them) by the contract's positions.
const ACTIVE: usize = 0;
const LATE: usize = 6;
const CLAMPED: usize = 8;

/// An `oscsendfile` bundle with `/notify 1 <oscdump>` first: the replies to
/// the messages after it (and notifications) go to oscdump, with the types
/// promised; another client's replies never go there.
#[test]
fn bundle_notify_registers_its_sender() {
    if !liblo_tools() {
        return;
    }
    let srv = Server::start("liblo-bundle", &[]);
    write_named_copies(&srv);
    let mut c = srv.client();
    for name in ["drum", "marimba"] {
        c.ask("/inst/load", vec![s(name)], "/done");
    }
    let mut dump = Dump::start();
    let port = dump.port.to_string();
    // Argument-less lines in a row must be within one character of each
    // other's length and no shorter than the typed line before them (see
    // `sendfile_text`): hence this order.
    let notify = format!("ii 1 {port}");
    oscsendfile(
        srv.addr,
        "bundle",
        &[
            ("/notify", &notify),
            ("/status", ""),
            ("/version", ""),
            ("/voice/new", "isff 1000 drum 45 0.8"),
            ("/inst/list", ""),
            ("/sync", "i 7"),
        ],
    );
    let st = dump.wait("`/status.reply`", |l| l.path == "/status.reply");
    assert!(st.types.starts_with("iiisfiiiifif"), "types `{}`", st.types);
    assert_eq!(st.int(1), 8, "voice limit: {}", st.raw);
    assert_eq!(st.int(2), 4, "instruments: {}", st.raw);
    assert_eq!(st.words()[3], "\"cpu\"");
    let v = dump.wait("`/version.reply`", |l| l.path == "/version.reply");
    assert_eq!(v.types, "ss");
    assert!(v.args.starts_with("\"neirosynth\" \""), "{}", v.raw);
    dump.expect(
        "/inst/list.reply",
        "issss",
        "4 \"small\" \"small2\" \"drum\" \"marimba\"",
    );
    dump.expect("/voice/started", "i", "1000");
    dump.expect("/synced", "i", "7");
    dump.no_fail("the bundle");
    // `/done /notify` may go to the sender or the registered port; if here, as promised.
    if let Some(done) = dump.pending.iter().find(|l| l.path == "/done") {
        assert_eq!(
            (done.types.as_str(), done.args.as_str()),
            ("s", "\"/notify\"")
        );
    }
    assert!(dump.pending.iter().all(|l| l.path != "/status.reply"));

    // Other clients keep their own replies: a one-shot oscsend, and our client.
    oscsend(srv.addr, "/status", "", "");
    assert_eq!(int(&c.status()[0]), 1, "the bundle's voice sounds");
    // Our client registers oscdump too; its `/synced` there marks the end of
    // everything sent before (one server socket, one order).
    c.send("/notify", vec![i(1), i(dump.port.into())]);
    c.send("/sync", vec![i(99)]);
    dump.expect("/synced", "i", "99");
    dump.no_fail("the other clients' /status");
    assert!(
        dump.pending.iter().all(|l| l.path != "/status.reply"),
        "another client's /status answered at the bundle sender's port:\n{}",
        dump.log()
    );
    // Until `/notify 0`, then its replies come back to it.
    c.send("/notify", vec![i(0)]);
    c.sync();
    // The bundle sender is still registered: its voice's end is notified here.
    c.send("/voice/free", vec![i(1000)]);
    dump.expect("/voice/end", "i", "1000");
    c.sync();
    dump.no_fail("/voice/free");
}

/// Timetagged lines of an `oscsendfile` file: bundles from one sender, 1 s
/// apart, keep its registration (`/voice/started`, `/synced` of the second
/// come to oscdump when it runs), and a bundle timetagged in the past runs
/// at once and is counted late.
#[test]
fn paced_bundles_keep_the_registration() {
    if !liblo_tools() {
        return;
    }
    let srv = Server::start("liblo-paced", &[]);
    write_named_copies(&srv);
    let c = srv.client();
    c.ask("/inst/load", vec![s("drum")], "/done");
    let late_before = int(&c.status()[LATE]);
    let mut dump = Dump::start();
    let notify = format!("ii 1 {}", dump.port);
    let t = Instant::now();
    // oscsendfile rebases the file's timetags on its start and sleeps until
    // each bundle is due: the first at once, the second 1 s later, the third
    // (timetagged 11 s before the first) right after the second, 12 s late.
    oscsendfile(
        srv.addr,
        "paced",
        &[
            ("00000010.00000000 /notify", &notify),
            ("00000011.00000000 /voice/new", "isff 1001 drum 50 0.8"),
            ("00000011.00000000 /sync", "i 8"),
            ("00000005.00000000 /sync", "i 9"),
        ],
    );
    let first = dump.expect("/voice/started", "i", "1001").at - t;
    let synced = dump.expect("/synced", "i", "8").at - t;
    dump.expect("/synced", "i", "9");
    assert!(
        first.min(synced) >= Duration::from_millis(900),
        "/voice/started after {first:?}, /synced after {synced:?}: before the bundle was due"
    );
    dump.no_fail("the timetagged bundles");
    let st = c.status();
    assert_eq!(int(&st[ACTIVE]), 1);
    assert!(
        int(&st[LATE]) > late_before,
        "a bundle 12 s late is counted: late bundles {late_before} → {}",
        int(&st[LATE])
    );
}

/// Queries, instruments, `/notify`, `/quit`, and numbers as `i f h d T F`,
/// each sent by `oscsend`, each answered as the contract says.
#[test]
fn queries_and_numbers_through_oscsend() {
    if !liblo_tools() {
        return;
    }
    let mut x = Session::start("liblo-queries");
    let st = x.status();
    assert_eq!(st.int(1), 8, "voice limit: {}", st.raw);
    assert_eq!(st.int(2), 2, "instruments: {}", st.raw);
    assert_eq!(st.words()[3], "\"cpu\"");
    assert_eq!(st.float(9), 48000.0);
    assert_eq!(st.int(10), 256);
    let v = x.ask("/version", "", "", "/version.reply");
    assert_eq!(v.types, "ss");
    assert!(v.args.starts_with("\"neirosynth\" \""), "{}", v.raw);

    // `/sync` ids as every numeric type; the reply is always `i`.
    for (types, value, id) in [
        ("i", "11", "11"),
        ("h", "12", "12"),
        ("f", "13", "13"),
        ("d", "13.6", "14"),
        ("T", "", "1"),
        ("F", "", "0"),
    ] {
        x.send("/sync", types, value);
        x.dump.expect("/synced", "i", id);
    }
    x.fails("/sync", "f", "nan", "");
    x.fails("/sync", "d", "inf", "");
    x.fails("/sync", "", "", "missing");

    for (types, values) in [("i", "1"), ("T", ""), ("h", "0"), ("F", "")] {
        x.ask("/notify", types, values, "/done");
    }
    let port = x.dump.port.to_string();
    x.send("/notify", "ii", &format!("1 {port}"));
    x.dump.expect("/done", "s", "\"/notify\"");
    x.fails("/notify", "ii", "1 70000", "port");

    let list = x.ask("/inst/list", "", "", "/inst/list.reply");
    assert_eq!(list.args, "2 \"small\" \"small2\"");
    assert_eq!(list.types, "iss");
    for (types, value) in [
        ("s", "small2"),
        ("i", "1"),
        ("f", "1"),
        ("h", "1"),
        ("d", "1"),
        ("T", ""),
    ] {
        let info = x.ask("/inst/info", types, value, "/inst/info.reply");
        // The five fields, then the parameter names (extensions may follow,
        // `i f s b` like every reply).
        assert!(info.types.starts_with("siiifsssss"), "{}", info.raw);
        assert!(
            info.args.starts_with("\"small2\" 1 16 16 50.000000 "),
            "/inst/info {types} {value}: {}",
            info.raw
        );
        for p in ["gain", "pan", "pitch", "damping", "morph"] {
            assert!(info.args.contains(&format!("\"{p}\"")), "{}", info.raw);
        }
    }
    x.fails("/inst/info", "s", "nosuch", "nosuch");
    x.fails("/inst/info", "i", "7", "");

    x.load_named_copies();
    x.send("/inst/reload", "s", "marimba");
    x.dump.expect("/done", "ss", "\"/inst/reload\" \"marimba\"");
    x.fails("/inst/load", "s", "../small", "");
    x.fails("/inst/load", "s", "nosuch", "");
    std::fs::write(x.srv.dir.join("marimba.json"), "{ broken").unwrap();
    x.fails("/inst/reload", "s", "marimba", "");
    let list = x.ask("/inst/list", "", "", "/inst/list.reply");
    assert_eq!(
        list.args, "4 \"small\" \"small2\" \"drum\" \"marimba\"",
        "the old marimba stays"
    );

    x.fails("/no/such/command", "if", "1 2", "unknown command");
    x.fails("/status", "i", "1", "");
    x.sync("the queries");

    x.send("/quit", "", "");
    x.dump.expect("/done", "s", "\"/quit\"");
    assert_eq!(
        x.srv.wait_exit(Duration::from_secs(5)),
        Some(0),
        "clean exit"
    );
}

/// Voices, excitation, pickups, morph and gain through `oscsend`: the
/// notifications come, bad input answers `/fail`, clamps are counted.
#[test]
fn voices_through_oscsend() {
    if !liblo_tools() {
        return;
    }
    let mut x = Session::start("liblo-voices");
    x.load_named_copies();
    // Low damping: these two ring far longer than the test (about 6 s at 1).
    x.send("/voice/new", "isffsf", "1000 drum 45 0.8 damping 0.2");
    x.dump.expect("/voice/started", "i", "1000");
    x.send("/voice/new", "hsddsd", "1001 small 50 0.7 damping 0.2");
    x.dump.expect("/voice/started", "i", "1001");
    x.send("/voice/new", "isffsfsf", "-1 small2 55 0.5 pan -0.3 x 0.2");
    let picked = x.started();
    assert!(picked > 0 && picked < 1 << 24, "server-picked id {picked}");
    x.fails(
        "/voice/new",
        "isffsf",
        "1002 drum 50 0.5 wobble 1",
        "wobble",
    );
    x.fails("/voice/new", "isff", "1002 nosuch 50 0.5", "nosuch");
    x.fails("/voice/new", "isff", "1002 drum nan 0.5", "");
    x.sync("/voice/new");
    assert_eq!(x.status().int(ACTIVE), 3, "three voices sound");

    let clamped = x.status().int(CLAMPED);
    // Every kind of value the contract names, in every numeric type.
    for (types, values) in [
        (
            "isfsfsfsfsf",
            "1000 gain 0.7 pan -0.3 pitch 46 damping 0.5 morph 0.5",
        ),
        ("isd", "1000 gain 0.5"),
        ("ish", "1000 pitch 46"),
        ("hsT", "1000 gain"),
        ("isF", "1000 morph"),
    ] {
        x.send("/voice/set", types, values);
    }
    for (types, values) in [
        ("ifff", "1000 0.3 0.4 0.9"),
        ("iffffs", "1000 0.3 0.4 0.9 0.1 pluck"),
        ("idddds", "1000 0.5 0.5 0.5 0.1 noise"),
        ("ifffs", "1000 0.5 0.5 0.5 strike"),
        ("iTFT", "1000"),
    ] {
        x.send("/excite", types, values);
    }
    x.send("/pickup", "iffff", "1000 0.1 0.2 0.8 0.9");
    x.send("/pickup", "hdddd", "1000 0.2 0.3 0.7 0.8");
    x.send("/morph", "isf", "1000 marimba 0.5");
    x.send("/morph", "isff", "1000 marimba 0.5 0.2");
    x.send("/morph", "iid", "1000 1 0.25");
    for (types, value) in [
        ("f", "0.8"),
        ("d", "0.9"),
        ("i", "1"),
        ("h", "1"),
        ("T", ""),
    ] {
        x.send("/master/gain", types, value);
    }
    x.sync("/voice/set, /excite, /pickup, /morph, /master/gain");
    assert_eq!(x.status().int(CLAMPED), clamped, "nothing was out of range");

    // Refused commands answer /fail and clamp nothing.
    x.fails("/voice/set", "isf", "1000 wobble 1", "wobble");
    x.fails("/voice/set", "isfsf", "1000 pan 5 wobble 1", "wobble");
    x.fails("/voice/set", "isf", "1000 gain nan", "");
    x.fails("/voice/set", "isf", "424242 gain 1", "424242");
    x.fails("/excite", "ifffs", "1000 0.5 0.5 0.5 wobble", "wobble");
    x.fails("/excite", "ifff", "1000 0.5 inf 0.5", "");
    x.fails("/master/gain", "d", "nan", "");
    x.fails("/note/on", "sff", "small nan 0.5", "");
    x.sync("the refused commands");
    assert_eq!(
        x.status().int(CLAMPED),
        clamped,
        "a refused command clamps nothing"
    );

    // Out-of-range values are clamped and counted, one by one.
    x.send("/voice/set", "isf", "1000 pan 5");
    x.send("/excite", "ifff", "1000 2 0.5 0.5");
    x.send("/master/gain", "f", "100");
    x.send("/master/gain", "f", "1");
    x.send("/note/on", "sff", "small 60 3");
    let on1 = x.started();
    x.send("/note/on", "ihT", "0 62");
    let on2 = x.started();
    x.sync("the clamped values");
    let st = x.status();
    assert_eq!(st.int(CLAMPED), clamped + 4, "clamps counted: {}", st.raw);
    assert_eq!(st.int(ACTIVE), 5);

    // Endings are notified.
    x.send("/note/off", "sf", "small 60");
    x.send("/note/off", "id", "0 62");
    x.send("/voice/release", "i", "1000");
    x.send("/voice/free", "h", "1001");
    let mut ended: Vec<i64> = (0..4)
        .map(|_| {
            x.dump
                .wait("`/voice/end`", |l| l.path == "/voice/end")
                .int(0)
        })
        .collect();
    ended.sort();
    let mut want = vec![1000, 1001, on1, on2];
    want.sort();
    assert_eq!(ended, want);
    x.fails("/voice/free", "i", "1001", "1001");
    x.fails("/voice/release", "i", "1000", "1000");
    x.send("/voice/free_all", "", "");
    x.dump.expect("/voice/end", "i", &picked.to_string());
    x.sync("/voice/free_all");
    assert_eq!(x.status().int(ACTIVE), 0);
}

/// `/midi` as liblo sends it: OSC `m` and 1 to 3 integers, system real-time
/// messages included (used or ignored, never `/fail`); malformed ones fail.
#[test]
fn midi_through_oscsend() {
    if !liblo_tools() {
        return;
    }
    let mut x = Session::start("liblo-midi");
    // Note on/off as `m` (port, status, data1, data2) and as integers.
    x.send("/midi", "m", "00903c64");
    let a = x.started();
    x.send("/midi", "m", "00803c00");
    x.dump.expect("/voice/end", "i", &a.to_string());
    x.send("/midi", "iii", "145 62 100");
    let b = x.started();
    x.send("/midi", "hhh", "129 62 0");
    x.dump.expect("/voice/end", "i", &b.to_string());
    x.sync("note on/off");

    for (types, values) in [
        ("ii", "192 1"),
        ("iii", "224 0 64"),
        ("iii", "176 64 127"),
        ("iii", "176 64 0"),
        ("iii", "176 1 64"),
        ("ii", "208 100"),
        ("m", "00c00000"),
        ("m", "00e00040"),
    ] {
        x.send("/midi", types, values);
        x.sync(&format!("/midi {types} {values}"));
    }
    // System real-time: clock, start, continue, stop, active sensing, reset.
    for byte in [248, 250, 251, 252, 254, 255] {
        x.send("/midi", "i", &byte.to_string());
        x.sync(&format!("/midi i {byte} (system real-time)"));
    }
    x.send("/midi", "m", "00f80000");
    x.sync("/midi m 00f80000 (clock)");

    x.fails("/midi", "iiii", "144 60 100 0", "");
    x.fails("/midi", "i", "300", "");
    x.fails("/midi", "ii", "144 60", "");
    x.sync("the malformed /midi");
    assert_eq!(x.status().int(ACTIVE), 0);
}
