//! The shipped TouchDesigner module and Max patch against the real server.
//!
//! - TouchDesigner: `patches/touchdesigner/neirosynth_td.py` runs under
//!   python3 with stand-ins for TouchDesigner's operators
//!   (`tests/fixtures/touchdesigner/td_standin.py`: an OSC Out DAT that only
//!   sends, an OSC In DAT on the module's `REPLY_PORT` calling its
//!   `onReceiveOSC`); every reply must arrive at the OSC In port.
//! - Max: every OSC message the patch can send into `[udpsend]` is read from
//!   `patches/max/neirosynth.maxpat`, checked against the command table of
//!   `docs/osc.md` (and the contract's, where `shared/spec/osc.md` is next to
//!   the checkout), and sent by a Max-like client (a send socket and a
//!   separate receive socket, integers as `i`, floats as `f`) that receives
//!   every reply on its receive port after `/notify 1 <port>`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rosc::{OscMessage, OscPacket, OscType};

use common::server::Server;
use common::tools;

/// How long any one expected reply may take (2 loaded cores, debug build).
const REPLY_WAIT: Duration = Duration::from_secs(8);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A server with `drum` and `marimba` (`Server::start_for_patches`) and
/// `bell`, the patches' morph target (all three the small 16×16 fixture).
fn patch_server(tag: &str) -> Server {
    let srv = Server::start_for_patches(tag, &["--voices", "32"]);
    let text = std::fs::read_to_string(srv.dir.join("small.json"))
        .unwrap()
        .replace("\"small\"", "\"bell\"");
    std::fs::write(srv.dir.join("bell.json"), text).unwrap();
    srv.client()
        .ask("/inst/load", vec![common::server::s("bell")], "/done");
    srv
}

/// The mesh size of the shipped instrument `name` (`instruments/NAME.json`).
fn shipped_mesh(name: &str) -> (u64, u64) {
    let path = root().join("instruments").join(format!("{name}.json"));
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap();
    (
        json["mesh"]["width"].as_u64().unwrap(),
        json["mesh"]["height"].as_u64().unwrap(),
    )
}

/// `/morph` needs the voice's mesh size: with the shipped bank, every morph a
/// client sends (`id`, target) must name an instrument of the same mesh as
/// the one its `/voice/new` (`id`, instrument) started.
fn check_morph_meshes(voices: &[(i64, String)], morphs: &[(i64, String)]) {
    assert!(!morphs.is_empty(), "no /morph to check");
    for (id, target) in morphs {
        let (_, inst) = voices
            .iter()
            .find(|(v, _)| v == id)
            .unwrap_or_else(|| panic!("/morph {id} {target}: no /voice/new {id}"));
        assert_eq!(
            shipped_mesh(inst),
            shipped_mesh(target),
            "/morph {id} {target}: the shipped {inst} and {target} differ in mesh size, \
             so the server refuses it"
        );
    }
}

// ------------------------------------------------------------------ contract

/// The command table of a markdown page: address → arguments column.
fn command_table(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut table = BTreeMap::new();
    let mut in_commands = false;
    for line in text.lines() {
        if line.starts_with("## ") {
            in_commands = line.starts_with("## Commands");
            continue;
        }
        if !in_commands || !line.starts_with("| `/") {
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let addr = cells[0].trim_matches('`').to_string();
        table.insert(addr, cells.get(1).unwrap_or(&"").to_string());
    }
    assert!(
        table.len() >= 20,
        "{}: found only {} commands",
        path.display(),
        table.len()
    );
    table
}

/// The addresses docs/osc.md's command table marks "an extension".
fn doc_extensions(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| l.starts_with("| `/") && l.contains("| an extension"))
        .filter_map(|l| l.split('`').nth(1).map(str::to_owned))
        .collect()
}

/// The contract's table where the checkout has `shared/` next to it.
fn contract_table() -> Option<BTreeMap<String, String>> {
    [
        root().join("shared/spec/osc.md"),
        root().join("../shared/spec/osc.md"),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .map(|p| command_table(&p))
}

/// One argument of a command, as the docs' table names it.
#[derive(Clone, Debug)]
enum Slot {
    /// An instrument: a name or a bank index.
    Inst,
    /// A string (`name`, `param`, `shape`).
    Symbol,
    /// A number (`i`, `f`, `h`, `d` all accepted).
    Number,
    /// `[...]`: present or not.
    Optional(Vec<Slot>),
    /// `[...]...`: any number of times.
    Repeated(Vec<Slot>),
}

/// The argument shape of a docs' table cell; `None` where it is prose
/// (`/midi`).
fn arg_shape(cell: &str) -> Option<Vec<Slot>> {
    if cell.contains('`') || cell.contains(',') {
        return None;
    }
    // Drop comments in parentheses: `id (−1: server picks)`.
    let mut text = String::new();
    let mut depth = 0;
    for c in cell.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth == 0 => text.push(c),
            _ => {}
        }
    }
    let text = text.replace('[', " [ ").replace(']', " ] ");
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let mut stack: Vec<Vec<Slot>> = vec![Vec::new()];
    let mut i = 0;
    while i < tokens.len() {
        match tokens[i] {
            "[" => stack.push(Vec::new()),
            "]" => {
                let group = stack.pop().unwrap();
                let repeated = tokens.get(i + 1).is_some_and(|t| t.starts_with("..."));
                if repeated {
                    i += 1;
                }
                stack.last_mut()?.push(if repeated {
                    Slot::Repeated(group)
                } else {
                    Slot::Optional(group)
                });
            }
            // A preset's recall target: a voice id or an instrument name.
            "inst" | "target" => stack.last_mut()?.push(Slot::Inst),
            "name" | "param" | "shape" => stack.last_mut()?.push(Slot::Symbol),
            _ => stack.last_mut()?.push(Slot::Number),
        }
        i += 1;
    }
    (stack.len() == 1).then(|| stack.pop().unwrap())
}

fn is_number(a: &OscType) -> bool {
    matches!(
        a,
        OscType::Int(_) | OscType::Float(_) | OscType::Long(_) | OscType::Double(_)
    )
}

/// Whether `args` fit `shape` (with backtracking over optional groups).
fn fits(shape: &[Slot], args: &[OscType]) -> bool {
    let Some((first, rest)) = shape.split_first() else {
        return args.is_empty();
    };
    let one = |ok: bool| ok && fits(rest, &args[1..]);
    match first {
        Slot::Inst => {
            !args.is_empty() && one(matches!(args[0], OscType::String(_)) || is_number(&args[0]))
        }
        Slot::Symbol => !args.is_empty() && one(matches!(args[0], OscType::String(_))),
        Slot::Number => !args.is_empty() && one(is_number(&args[0])),
        Slot::Optional(group) => {
            let with: Vec<Slot> = group.iter().chain(rest).cloned().collect();
            fits(&with, args) || fits(rest, args)
        }
        Slot::Repeated(group) => {
            let again: Vec<Slot> = group
                .iter()
                .cloned()
                .chain(std::iter::once(first.clone()))
                .chain(rest.iter().cloned())
                .collect();
            (!group.is_empty() && !args.is_empty() && fits(&again, args)) || fits(rest, args)
        }
    }
}

// ------------------------------------------------------------------ Max patch

/// A Max atom.
#[derive(Clone, Debug, PartialEq)]
enum Atom {
    Int(i32),
    Float(f32),
    Symbol(String),
    Dollar(usize),
}

impl Atom {
    fn parse(token: &str) -> Atom {
        if let Some(n) = token.strip_prefix('$').and_then(|n| n.parse().ok()) {
            return Atom::Dollar(n);
        }
        if let Ok(v) = token.parse::<i32>() {
            return Atom::Int(v);
        }
        let numeric = token
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
        match token.parse::<f32>() {
            Ok(v) if numeric => Atom::Float(v),
            _ => Atom::Symbol(token.to_string()),
        }
    }

    /// How Max's `[udpsend]` puts it into OSC: int → `i`, float → `f`.
    fn osc(&self) -> OscType {
        match self {
            Atom::Int(v) => OscType::Int(*v),
            Atom::Float(v) => OscType::Float(*v),
            Atom::Symbol(s) => OscType::String(s.clone()),
            Atom::Dollar(n) => panic!("unresolved ${n}"),
        }
    }
}

fn atoms(text: &str) -> Vec<Atom> {
    text.split_whitespace().map(Atom::parse).collect()
}

/// One OSC message the patch sends into `[udpsend]`, `$n` filled in as Max
/// would from what feeds its message box.
#[derive(Clone, Debug)]
struct MaxMessage {
    addr: String,
    args: Vec<OscType>,
    /// The box text it came from (for messages).
    source: String,
}

struct MaxPatch {
    /// id → (maxclass, text)
    boxes: BTreeMap<String, (String, String)>,
    /// (source id, outlet, destination id, inlet)
    lines: Vec<(String, u64, String, u64)>,
}

/// A representative value of a number that changes at run time (dials, `[line]`).
const RUNTIME_FLOAT: f32 = 0.5;

impl MaxPatch {
    fn load() -> Self {
        let path = root().join("patches/max/neirosynth.maxpat");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).expect("maxpat is JSON");
        let patcher = &json["patcher"];
        let mut boxes = BTreeMap::new();
        for b in patcher["boxes"].as_array().expect("boxes") {
            let b = &b["box"];
            boxes.insert(
                b["id"].as_str().unwrap().to_string(),
                (
                    b["maxclass"].as_str().unwrap().to_string(),
                    b["text"].as_str().unwrap_or("").to_string(),
                ),
            );
        }
        let mut lines = Vec::new();
        for l in patcher["lines"].as_array().expect("lines") {
            let l = &l["patchline"];
            let src = l["source"].as_array().unwrap();
            let dst = l["destination"].as_array().unwrap();
            lines.push((
                src[0].as_str().unwrap().to_string(),
                src[1].as_u64().unwrap(),
                dst[0].as_str().unwrap().to_string(),
                dst[1].as_u64().unwrap(),
            ));
        }
        Self { boxes, lines }
    }

    fn text(&self, id: &str) -> &str {
        &self.boxes[id].1
    }

    fn class(&self, id: &str) -> &str {
        &self.boxes[id].0
    }

    /// The object boxes whose text's first word is `name`.
    fn objects(&self, name: &str) -> Vec<String> {
        self.boxes
            .iter()
            .filter(|(_, (class, text))| {
                class == "newobj" && text.split_whitespace().next() == Some(name)
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn the_object(&self, name: &str) -> (String, Vec<Atom>) {
        let ids = self.objects(name);
        assert_eq!(ids.len(), 1, "the patch has one [{name}]: {ids:?}");
        let id = ids[0].clone();
        let args = atoms(self.text(&id)).split_off(1);
        (id, args)
    }

    /// Boxes connected into `id`'s `inlet`; `[r X]` stands for what feeds `[s X]`.
    fn feeders(&self, id: &str, inlet: u64) -> Vec<String> {
        let mut out = Vec::new();
        for (src, _, dst, din) in &self.lines {
            if dst != id || *din != inlet {
                continue;
            }
            let words: Vec<&str> = self.text(src).split_whitespace().collect();
            match (self.class(src), words.as_slice()) {
                ("newobj", ["r" | "receive", name]) => {
                    for s in self.sends_to(name) {
                        out.extend(self.feeders(&s, 0));
                    }
                }
                _ => out.push(src.clone()),
            }
        }
        out
    }

    /// The `[s name]` boxes.
    fn sends_to(&self, name: &str) -> Vec<String> {
        self.boxes
            .iter()
            .filter(|(_, (class, text))| {
                let w: Vec<&str> = text.split_whitespace().collect();
                class == "newobj" && matches!(w.as_slice(), ["s" | "send", n] if *n == name)
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// A value box `id` outputs that is fixed by the patch (the voice id
    /// from `[loadbang]` → `[1000(` → number box → `[s ns.id]`).
    fn fixed_value(&self, id: &str) -> Option<Atom> {
        let first_fixed = |inlet| {
            self.feeders(id, inlet)
                .iter()
                .find_map(|f| self.fixed_value(f))
        };
        let words: Vec<&str> = self.text(id).split_whitespace().collect();
        match (self.class(id), words.as_slice()) {
            ("message", [one]) => match Atom::parse(one) {
                a @ (Atom::Int(_) | Atom::Float(_)) => Some(a),
                _ => None,
            },
            ("number", _) | ("newobj", ["i" | "int", ..]) => {
                first_fixed(1).or_else(|| first_fixed(0)).map(|a| match a {
                    Atom::Float(v) => Atom::Int(v as i32),
                    a => a,
                })
            }
            ("flonum", _) | ("newobj", ["f" | "float", ..]) => {
                first_fixed(1).or_else(|| first_fixed(0)).map(|a| match a {
                    Atom::Int(v) => Atom::Float(v as f32),
                    a => a,
                })
            }
            _ => None,
        }
    }

    /// The list box `id` sends out of its left outlet, as Max types it.
    fn output(&self, id: &str) -> Vec<Atom> {
        if let Some(a) = self.fixed_value(id) {
            return vec![a];
        }
        let words: Vec<&str> = self.text(id).split_whitespace().collect();
        match (self.class(id), words.as_slice()) {
            ("newobj", ["pack" | "pak", slots @ ..]) => slots
                .iter()
                .enumerate()
                .map(|(j, slot)| {
                    let fixed = self
                        .feeders(id, j as u64)
                        .iter()
                        .find_map(|f| self.fixed_value(f));
                    match (Atom::parse(slot), fixed) {
                        (Atom::Int(_), Some(Atom::Float(v))) => Atom::Int(v as i32),
                        (Atom::Int(_), Some(a)) => a,
                        (Atom::Float(_), Some(Atom::Int(v))) => Atom::Float(v as f32),
                        (Atom::Float(_), Some(a)) => a,
                        (Atom::Float(v), None) if v > 0.0 && v <= 1.0 => Atom::Float(v),
                        (Atom::Float(_), None) => Atom::Float(RUNTIME_FLOAT),
                        (a, _) => a,
                    }
                })
                .collect(),
            // Dials scaled to 0..1, `[f]` and `[line]` values: a float at run time.
            ("newobj", ["/" | "f" | "float" | "line", ..]) | ("flonum", _) => {
                vec![Atom::Float(RUNTIME_FLOAT)]
            }
            _ => panic!("cannot tell what [{}] ({id}) sends", self.text(id)),
        }
    }

    /// Every OSC message the patch sends into its `[udpsend]`, and the
    /// `[udpsend]` methods (`host`, `port`) sent to it.
    fn udpsend_inputs(&self) -> (Vec<MaxMessage>, Vec<Vec<Atom>>) {
        let (udpsend, _) = self.the_object("udpsend");
        let mut messages = Vec::new();
        let mut methods = Vec::new();
        let mut sources = self.feeders(&udpsend, 0);
        sources.sort();
        sources.dedup();
        for src in sources {
            let text = self.text(&src).to_string();
            let words: Vec<&str> = text.split_whitespace().collect();
            match (self.class(&src), words.as_slice()) {
                ("message", _) => {
                    assert!(
                        !text.contains(';'),
                        "[{text}(: message boxes with ; are not handled here"
                    );
                    let inputs: Vec<Vec<Atom>> = if text.contains('$') {
                        let f = self.feeders(&src, 0);
                        assert!(!f.is_empty(), "[{text}( has $ but nothing feeds it");
                        f.iter().map(|f| self.output(f)).collect()
                    } else {
                        vec![Vec::new()]
                    };
                    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                        for input in &inputs {
                            let filled: Vec<Atom> = atoms(part)
                                .into_iter()
                                .map(|a| match a {
                                    Atom::Dollar(n) => {
                                        input.get(n - 1).cloned().unwrap_or_else(|| {
                                            panic!("[{text}(: ${n} but the input is {input:?}")
                                        })
                                    }
                                    a => a,
                                })
                                .collect();
                            match filled.split_first() {
                                Some((Atom::Symbol(addr), args)) if addr.starts_with('/') => {
                                    messages.push(MaxMessage {
                                        addr: addr.clone(),
                                        args: args.iter().map(Atom::osc).collect(),
                                        source: text.clone(),
                                    })
                                }
                                _ => methods.push(filled),
                            }
                        }
                    }
                }
                ("newobj", ["prepend" | "sprintf", addr, ..]) if addr.starts_with('/') => {
                    panic!("[{text}] forms OSC messages at run time; teach this test its arguments")
                }
                _ => panic!("unexpected source into [udpsend]: [{text}] ({src})"),
            }
        }
        (messages, methods)
    }
}

/// The checks of a patch that need no server: addresses, argument shapes, ports.
#[test]
fn max_patch_sends_contract_commands() {
    let docs = command_table(&root().join("docs/osc.md"));
    let extensions = doc_extensions(&root().join("docs/osc.md"));
    let contract = contract_table();
    let patch = MaxPatch::load();
    let (_, send_args) = patch.the_object("udpsend");
    assert_eq!(
        send_args,
        vec![Atom::Symbol("127.0.0.1".into()), Atom::Int(57130)],
        "[udpsend] targets the server's default 127.0.0.1 57130"
    );
    let (_, recv_args) = patch.the_object("udpreceive");
    let (messages, methods) = patch.udpsend_inputs();
    assert!(
        messages.len() >= 15,
        "only {} messages found: {messages:?}",
        messages.len()
    );

    // The registration names the port [udpreceive] listens on.
    let notify: Vec<&MaxMessage> = messages
        .iter()
        .filter(|m| m.addr == "/notify" && m.args.first() == Some(&OscType::Int(1)))
        .collect();
    assert_eq!(notify.len(), 1, "one /notify 1 <port> message: {notify:?}");
    assert_eq!(
        notify[0].args,
        vec![OscType::Int(1), recv_args[0].osc()],
        "/notify 1 <port> names [udpreceive {:?}]'s port",
        recv_args
    );
    // ... and [loadbang] sends it.
    let (loadbang, _) = patch.the_object("loadbang");
    let mut reached = BTreeSet::new();
    let mut todo = vec![loadbang];
    while let Some(id) = todo.pop() {
        for (src, _, dst, _) in &patch.lines {
            if *src == id && reached.insert(dst.clone()) {
                todo.push(dst.clone());
            }
        }
    }
    assert!(
        reached.iter().any(|id| patch.text(id) == notify[0].source),
        "[loadbang] sends [{}(",
        notify[0].source
    );

    // udpsend methods keep the same target.
    for m in &methods {
        match m.as_slice() {
            [Atom::Symbol(s), Atom::Symbol(h)] if s == "host" => assert_eq!(h, "127.0.0.1"),
            [Atom::Symbol(s), Atom::Int(p)] if s == "port" => assert_eq!(*p, 57130),
            other => {
                panic!("[udpsend] gets a message that is neither OSC nor host/port: {other:?}")
            }
        }
    }

    let mut problems = Vec::new();
    for m in &messages {
        let Some(cell) = docs.get(&m.addr) else {
            problems.push(format!(
                "{} (from [{}(): not in docs/osc.md's command table",
                m.addr, m.source
            ));
            continue;
        };
        // Beyond the contract only what docs/osc.md calls an extension.
        if let Some(contract) = &contract {
            if !contract.contains_key(&m.addr) && !extensions.contains(&m.addr) {
                problems.push(format!(
                    "{}: not in the contract's command table, nor an extension in docs/osc.md",
                    m.addr
                ));
            }
        }
        match arg_shape(cell) {
            Some(shape) if !fits(&shape, &m.args) => problems.push(format!(
                "{} {:?} (from [{}(): does not fit `{cell}`",
                m.addr, m.args, m.source
            )),
            Some(_) => {}
            None => problems.push(format!("{}: cannot read the arguments `{cell}`", m.addr)),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The morph button names an instrument with the voice's mesh (shipped bank).
    let name = |a: &OscType| match a {
        OscType::String(s) => s.clone(),
        other => panic!("an instrument name, not {other:?}"),
    };
    let id = |a: &OscType| match a {
        OscType::Int(v) => *v as i64,
        other => panic!("a voice id, not {other:?}"),
    };
    let by_addr = |addr: &str| -> Vec<(i64, String)> {
        messages
            .iter()
            .filter(|m| m.addr == addr)
            .map(|m| (id(&m.args[0]), name(&m.args[1])))
            .collect()
    };
    let voices = by_addr("/voice/new");
    let morphs = by_addr("/morph");
    check_morph_meshes(&voices, &morphs);

    // The status display reads the contract's twelve fields with their types.
    let (_, unpack) = patch.the_object("unpack");
    assert_eq!(
        unpack,
        atoms("0 0 0 s 0. 0 0 0 0 0. 0 0."),
        "[unpack] of /status.reply: i i i s f i i i i f i f"
    );
}

// ------------------------------------------------------------------ sockets

/// Replies received on one socket, in order.
struct Inbox {
    sock: UdpSocket,
    server: SocketAddr,
    got: Vec<OscMessage>,
    mark: usize,
}

fn flatten(p: OscPacket, out: &mut Vec<OscMessage>) {
    match p {
        OscPacket::Message(m) => out.push(m),
        OscPacket::Bundle(b) => b.content.into_iter().for_each(|p| flatten(p, out)),
    }
}

impl Inbox {
    fn new(server: SocketAddr) -> Self {
        Self {
            sock: UdpSocket::bind("127.0.0.1:0").unwrap(),
            server,
            got: Vec::new(),
            mark: 0,
        }
    }

    fn port(&self) -> u16 {
        self.sock.local_addr().unwrap().port()
    }

    /// Reads for up to `wait`; false when nothing came.
    fn poll(&mut self, wait: Duration) -> bool {
        let mut buf = [0u8; 65536];
        self.sock
            .set_read_timeout(Some(wait.max(Duration::from_millis(1))))
            .unwrap();
        match self.sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                assert_eq!(
                    from, self.server,
                    "a packet from someone else than the server"
                );
                let (_, p) = rosc::decoder::decode_udp(&buf[..n]).expect("a reply decodes");
                flatten(p, &mut self.got);
                true
            }
            Err(_) => false,
        }
    }

    fn set_mark(&mut self) {
        self.mark = self.got.len();
    }

    /// Waits for `addr` with `check`ed args (arrived after the mark).
    fn expect(
        &mut self,
        addr: &str,
        check: impl Fn(&[OscType]) -> bool,
        what: &str,
    ) -> Vec<OscType> {
        let deadline = Instant::now() + REPLY_WAIT;
        let mut seen = self.mark;
        loop {
            if let Some(m) = self.got[seen..]
                .iter()
                .find(|m| m.addr == addr && check(&m.args))
            {
                return m.args.clone();
            }
            seen = self.got.len();
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "{what} did not arrive at port {} within {REPLY_WAIT:?}; got {:?}",
                self.port(),
                self.got
            );
            self.poll(left.min(Duration::from_millis(250)));
        }
    }

    /// Everything that arrives within `wait`.
    fn drain(&mut self, wait: Duration) -> Vec<OscMessage> {
        let from = self.got.len();
        while self.poll(wait) {}
        self.got[from..].to_vec()
    }
}

fn send(sock: &UdpSocket, to: SocketAddr, addr: &str, args: Vec<OscType>) {
    let p = OscPacket::Message(OscMessage {
        addr: addr.into(),
        args,
    });
    sock.send_to(&rosc::encoder::encode(&p).unwrap(), to)
        .unwrap();
}

/// A Max-like client ([udpsend] and [udpreceive] on separate sockets) sends
/// every message of the patch; every reply arrives at the receive socket.
#[test]
fn max_like_client_gets_every_reply_on_its_receive_port() {
    let patch = MaxPatch::load();
    let (messages, _) = patch.udpsend_inputs();
    let (_, route) = patch.the_object("route");
    let routed: BTreeSet<String> = route
        .iter()
        .map(|a| match a {
            Atom::Symbol(s) => s.clone(),
            other => panic!("[route] selector {other:?}"),
        })
        .collect();

    let srv = patch_server("max");
    let udpsend = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut udpreceive = Inbox::new(srv.addr);
    let mut sender_inbox = Inbox {
        sock: udpsend.try_clone().unwrap(),
        server: srv.addr,
        got: Vec::new(),
        mark: 0,
    };
    let mut sent = vec![false; messages.len()];
    let voice_id = 1000;
    // Sends the patch's messages with this address (and first argument), in patch order.
    let mut play = |addr: &str, first: Option<&OscType>, rx: &mut Inbox| {
        rx.set_mark();
        let mut any = false;
        for (k, m) in messages.iter().enumerate() {
            if m.addr == addr && first.is_none_or(|f| m.args.first() == Some(f)) {
                let mut args = m.args.clone();
                if addr == "/notify" && args.len() == 2 {
                    // [udpreceive 57131] here listens on a free port.
                    args[1] = OscType::Int(rx.port() as i32);
                }
                send(&udpsend, srv.addr, &m.addr, args);
                sent[k] = true;
                any = true;
            }
        }
        assert!(any, "the patch sends no {addr} {first:?}");
    };
    let mut sync_id = 100;
    let mut sync = |rx: &mut Inbox| {
        sync_id += 1;
        rx.set_mark();
        send(&udpsend, srv.addr, "/sync", vec![OscType::Int(sync_id)]);
        rx.expect("/synced", |a| a == [OscType::Int(sync_id)], "/synced");
    };

    play("/notify", Some(&OscType::Int(1)), &mut udpreceive);
    udpreceive.expect(
        "/done",
        |a| a.first() == Some(&OscType::String("/notify".into())),
        "/done /notify",
    );

    play("/status", None, &mut udpreceive);
    let st = udpreceive.expect("/status.reply", |_| true, "/status.reply");
    assert!(st.len() >= 12, "{st:?}");
    for (k, (arg, want)) in st
        .iter()
        .zip(atoms("0 0 0 s 0. 0 0 0 0 0. 0 0."))
        .enumerate()
    {
        let ok = matches!(
            (arg, &want),
            (OscType::Int(_), Atom::Int(_))
                | (OscType::Float(_), Atom::Float(_))
                | (OscType::String(_), Atom::Symbol(_))
        );
        assert!(
            ok,
            "/status.reply field {k} is {arg:?}: [unpack] reads it as {want:?}"
        );
    }
    play("/version", None, &mut udpreceive);
    udpreceive.expect("/version.reply", |_| true, "/version.reply");
    play("/inst/list", None, &mut udpreceive);
    udpreceive.expect("/inst/list.reply", |_| true, "/inst/list.reply");
    play("/sync", None, &mut udpreceive);
    udpreceive.expect("/synced", |a| a == [OscType::Int(1)], "/synced 1");

    play("/note/on", None, &mut udpreceive);
    play("/note/off", None, &mut udpreceive);
    play("/voice/new", Some(&OscType::Int(voice_id)), &mut udpreceive);
    udpreceive.expect(
        "/voice/started",
        |a| a == [OscType::Int(voice_id)],
        "/voice/started 1000",
    );
    for addr in ["/excite", "/pickup", "/morph", "/voice/set", "/master/gain"] {
        play(addr, None, &mut udpreceive);
    }
    // The modulator and preset buttons (extensions), in the patch's order.
    for addr in ["/voice/mod", "/preset/save"] {
        play(addr, None, &mut udpreceive);
    }
    udpreceive.expect(
        "/done",
        |a| a.first() == Some(&OscType::String("/preset/save".into())),
        "/done /preset/save",
    );
    for addr in ["/voice/mod/clear", "/preset/recall"] {
        play(addr, None, &mut udpreceive);
    }
    udpreceive.expect(
        "/done",
        |a| a.first() == Some(&OscType::String("/preset/recall".into())),
        "/done /preset/recall",
    );
    sync(&mut udpreceive);
    play("/voice/new", Some(&OscType::Int(-1)), &mut udpreceive);
    let picked = udpreceive.expect(
        "/voice/started",
        |a| a.len() == 1 && a[0] != OscType::Int(voice_id),
        "/voice/started <server id>",
    );
    let OscType::Int(picked) = picked[0] else {
        panic!("/voice/started {picked:?}")
    };
    assert!(picked > 0 && picked < 1 << 24, "server id {picked}");
    play("/voice/release", None, &mut udpreceive);
    udpreceive.expect(
        "/voice/end",
        |a| a == [OscType::Int(voice_id)],
        "/voice/end 1000",
    );
    play("/voice/free_all", None, &mut udpreceive);
    sync(&mut udpreceive);

    let fails: Vec<&OscMessage> = udpreceive
        .got
        .iter()
        .filter(|m| m.addr == "/fail")
        .collect();
    assert!(
        fails.is_empty(),
        "the server refused a message of the patch: {fails:?}"
    );
    let unrouted: BTreeSet<&str> = udpreceive
        .got
        .iter()
        .map(|m| m.addr.as_str())
        .filter(|a| !routed.contains(*a))
        .collect();
    assert!(
        unrouted.is_empty(),
        "replies the patch's [route] does not name: {unrouted:?}"
    );
    let stray = sender_inbox.drain(Duration::from_millis(150));
    assert!(
        stray.is_empty(),
        "replies went to the [udpsend] socket: {stray:?}"
    );

    // `/notify 0` gives the replies back to the sending socket.
    play("/notify", Some(&OscType::Int(0)), &mut udpreceive);
    sender_inbox.set_mark();
    let got_done = |m: &OscMessage| {
        m.addr == "/done" && m.args.first() == Some(&OscType::String("/notify".into()))
    };
    let deadline = Instant::now() + REPLY_WAIT;
    while !udpreceive.got[udpreceive.mark..].iter().any(got_done)
        && !sender_inbox.got.iter().any(got_done)
    {
        assert!(
            Instant::now() < deadline,
            "no /done /notify after /notify 0"
        );
        udpreceive.poll(Duration::from_millis(50));
        sender_inbox.poll(Duration::from_millis(50));
    }
    sender_inbox.set_mark();
    send(&udpsend, srv.addr, "/status", vec![]);
    sender_inbox.expect(
        "/status.reply",
        |_| true,
        "/status.reply at the sender after /notify 0",
    );
    udpreceive.set_mark();
    let late: Vec<OscMessage> = udpreceive
        .drain(Duration::from_millis(100))
        .into_iter()
        .filter(|m| !got_done(m))
        .collect();
    assert!(
        late.is_empty(),
        "replies after /notify 0 still reach the receive port: {late:?}"
    );

    let unsent: Vec<String> = messages
        .iter()
        .zip(&sent)
        .filter(|(_, s)| !**s)
        .map(|(m, _)| format!("{} {:?}", m.addr, m.args))
        .collect();
    assert!(unsent.is_empty(), "the test did not send: {unsent:?}");
}

// ------------------------------------------------------------------ TouchDesigner

fn python_osc() -> bool {
    tools::runs("python3", &["-c", "import pythonosc"])
}

/// A child process killed when dropped.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the stand-in against `srv`; returns (exit ok, stdout + stderr).
fn run_standin(srv: &Server, numbers: &str) -> (bool, String) {
    let script = root().join("tests/fixtures/touchdesigner/td_standin.py");
    let module = root().join("patches/touchdesigner/neirosynth_td.py");
    let mut child = Kill(
        Command::new("python3")
            .arg(&script)
            .args(["--server-port", &srv.addr.port().to_string()])
            .args(["--reply-port", "0", "--numbers", numbers, "--timeout", "8"])
            .arg("--module")
            .arg(&module)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 starts"),
    );
    let mut out = child.0.stdout.take().unwrap();
    let mut err = child.0.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(st) = child.0.try_wait().unwrap() {
            break Some(st);
        }
        if Instant::now() > deadline {
            let _ = child.0.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = reader.join().unwrap() + &err_reader.join().unwrap();
    (status.is_some_and(|s| s.success()), text)
}

fn touchdesigner(numbers: &str) {
    if !tools::require(
        python_osc(),
        "python3 with python-osc",
        "pip install python-osc",
    ) {
        return;
    }
    let srv = patch_server(&format!("td-{numbers}"));
    let (ok, text) = run_standin(&srv, numbers);
    assert!(ok, "the TouchDesigner stand-in failed:\n{text}");
    // What the module's onReceiveOSC printed (the Textport), for replies that
    // arrived at the OSC In DAT's port.
    for want in [
        "neirosynth /done /notify",
        "neirosynth /status.reply",
        "  active_voices",
        "  output_latency_ms",
        "neirosynth /synced 7",
        "neirosynth voice started: 1000",
        "neirosynth voice ended: 1000",
        "neirosynth /done /preset/save demo-start",
        "neirosynth /done /preset/recall demo-start",
        "STANDIN TABLE field value",
        "STANDIN TABLE active_voices",
        "STANDIN TABLE engine",
        "STANDIN OUT-SOCKET-RECEIVED 0",
        "STANDIN OK",
    ] {
        assert!(text.contains(want), "`{want}` missing:\n{text}");
    }
    assert!(
        !text.contains("neirosynth /fail"),
        "a /fail came back:\n{text}"
    );

    // Everything the module sent is a command of the docs' table, in shape,
    // and numbers went as the stand-in's OSC Out DAT types them.
    let docs = command_table(&root().join("docs/osc.md"));
    let mut addresses = BTreeSet::new();
    let (mut voices, mut morphs) = (Vec::new(), Vec::new());
    for line in text.lines().filter_map(|l| l.strip_prefix("STANDIN SENT ")) {
        let mut words = line.split_whitespace();
        let addr = words.next().unwrap();
        let tags = words.next().unwrap().trim_start_matches(',');
        assert!(
            docs.contains_key(addr),
            "the module sent {addr}, not a command: {line}"
        );
        let numbers_ok = match numbers {
            "float" => tags.chars().all(|t| matches!(t, 'f' | 's')),
            _ => tags.chars().all(|t| matches!(t, 'i' | 'f' | 's')),
        };
        assert!(numbers_ok, "{line}");
        addresses.insert(addr.to_string());
        // Python reprs: 1000, 'drum'.
        let values: Vec<String> = words.map(|w| w.trim_matches('\'').to_string()).collect();
        if addr == "/voice/new" || addr == "/morph" {
            let id: i64 = values[0].parse().unwrap();
            let list = if addr == "/morph" {
                &mut morphs
            } else {
                &mut voices
            };
            list.push((id, values[1].clone()));
        }
    }
    check_morph_meshes(&voices, &morphs);
    for addr in [
        "/notify",
        "/status",
        "/note/on",
        "/note/off",
        "/voice/new",
        "/voice/set",
        "/voice/release",
        "/excite",
        "/pickup",
        "/morph",
        "/voice/mod",
        "/preset/save",
        "/preset/recall",
    ] {
        assert!(
            addresses.contains(addr),
            "the module never sent {addr}:\n{text}"
        );
    }
}

/// The TouchDesigner module with every number sent as a float (`f`).
#[test]
fn touchdesigner_module_floats() {
    touchdesigner("float");
}

/// The TouchDesigner module with Python ints sent as `i`.
#[test]
fn touchdesigner_module_typed_numbers() {
    touchdesigner("typed");
}
