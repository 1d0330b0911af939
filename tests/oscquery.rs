//! OSCQuery end to end: the server as a process (`--audio null --port 0
//! --oscquery-port 0`), its HTTP tree read with a plain HTTP/1.1 request on
//! a std `TcpStream` (and with curl), parsed with serde_json.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::server::{f, s, Client};
use common::tools::{on_path, require};
use serde_json::Value;

/// A running server with OSCQuery on.
struct Server {
    child: Child,
    osc: SocketAddr,
    http: SocketAddr,
    dir: PathBuf,
}

impl Server {
    /// Starts `serve` on a folder of copies of `files`: (instrument file,
    /// name of the copy; the bank names an instrument after its file).
    fn start(tag: &str, files: &[(PathBuf, String)]) -> Self {
        let dir =
            std::env::temp_dir().join(format!("neirosynth-oscq-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (file, name) in files {
            std::fs::copy(file, dir.join(name)).unwrap();
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_neirosynth"))
            .args([
                "serve",
                "--port",
                "0",
                "--oscquery-port",
                "0",
                "--instruments",
            ])
            .arg(&dir)
            .args(["--audio", "null", "--midi", "none", "--voices", "4"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("server starts");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = |prefix: &str| -> SocketAddr {
            let mut l = String::new();
            out.read_line(&mut l).unwrap();
            l.trim()
                .strip_prefix(prefix)
                .unwrap_or_else(|| panic!("expected `{prefix}...`, got `{l}`"))
                .parse()
                .unwrap()
        };
        let osc = line("listening udp ");
        let http = line("oscquery http ");
        Self {
            child,
            osc,
            http,
            dir,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An HTTP response: status, headers (lower-cased names), body.
struct Http {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Http {
    /// The value of header `name`.
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    fn json(&self) -> Value {
        assert_eq!(self.status, 200, "{}", self.body);
        let ct = self.header("content-type").unwrap_or_default();
        assert!(ct.starts_with("application/json"), "content type {ct}");
        serde_json::from_str(&self.body).expect("the body is JSON")
    }
}

/// `GET target HTTP/1.1` on a plain TCP connection.
fn get(addr: SocketAddr, target: &str) -> Http {
    request(addr, "GET", target)
}

/// `method target HTTP/1.1` (no body) on a plain TCP connection.
fn request(addr: SocketAddr, method: &str, target: &str) -> Http {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        tcp,
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("a header block");
    let mut lines = head.lines();
    let status_line = lines.next().unwrap();
    assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
    let status = status_line[9..12].parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Http {
        status,
        headers,
        body,
    }
}

/// Decodes a chunked body.
fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return body;
        }
        body.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
}

/// Checks every node: FULL_PATH is where it sits, containers have
/// CONTENTS, methods have a TYPE and one RANGE entry per type tag;
/// returns the methods' paths.
fn walk(node: &Value, path: &str, methods: &mut Vec<String>) {
    assert_eq!(node["FULL_PATH"], path, "FULL_PATH of {path}");
    match node.get("TYPE") {
        Some(ty) => {
            let ty = ty.as_str().expect("TYPE is a string");
            assert!(ty.chars().all(|c| "ifsm".contains(c)), "{path}: {ty}");
            if let Some(r) = node.get("RANGE") {
                assert_eq!(r.as_array().unwrap().len(), ty.len(), "{path}: RANGE");
            }
            let access = node["ACCESS"].as_u64().expect("ACCESS");
            assert!(access <= 3);
            assert!(node["DESCRIPTION"].is_string());
            methods.push(path.to_string());
        }
        None => assert!(node["CONTENTS"].is_object(), "{path} is a container"),
    }
    if let Some(contents) = node.get("CONTENTS").and_then(Value::as_object) {
        for (name, child) in contents {
            let child_path = match path {
                "/" => format!("/{name}"),
                _ => format!("{path}/{name}"),
            };
            walk(child, &child_path, methods);
        }
    }
}

/// The shipped instruments: (file, its name; the bank names an instrument
/// after its file).
fn shipped() -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("instruments");
    let mut v: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_str().unwrap().to_string();
            (p, name)
        })
        .collect();
    v.sort();
    assert!(v.len() >= 10, "the shipped instruments");
    v
}

/// The small fixture, copied as `small.json`.
fn small() -> (PathBuf, String) {
    let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good_small.json");
    (good, "small.json".to_string())
}

/// The VALS of the argument `index` of `node`.
fn vals(node: &Value, index: usize) -> Vec<String> {
    node["RANGE"][index]["VALS"]
        .as_array()
        .unwrap_or_else(|| panic!("no VALS in {node}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// `/` is a valid tree listing every address, `/note/on` with its types and
/// every shipped instrument, the voice parameters with their ranges; a
/// sub-path answers its node, `?HOST_INFO` the OSC port, an unknown path 404.
#[test]
fn tree_lists_every_address_and_every_shipped_instrument() {
    let shipped = shipped();
    let files: Vec<(PathBuf, String)> = shipped
        .iter()
        .map(|(p, _)| (p.clone(), p.file_name().unwrap().to_str().unwrap().into()))
        .collect();
    let srv = Server::start("shipped", &files);
    let root = get(srv.http, "/").json();
    let mut methods = Vec::new();
    walk(&root, "/", &mut methods);
    for address in [
        "/note/on",
        "/note/off",
        "/voice/new",
        "/voice/set",
        "/status",
        "/midi",
    ] {
        assert!(methods.iter().any(|m| m == address), "{address} missing");
    }
    assert!(
        methods.len() >= 21,
        "the contract's 21 addresses: {methods:?}"
    );

    let on = &root["CONTENTS"]["note"]["CONTENTS"]["on"];
    assert_eq!(on["TYPE"], "sff");
    assert_eq!(on["RANGE"][1]["MIN"], 0.0);
    assert_eq!(on["RANGE"][1]["MAX"], 127.0);
    assert_eq!(on["RANGE"][2]["MAX"], 1.0);
    let listed = vals(on, 0);
    for (_, name) in &shipped {
        assert!(
            listed.contains(name),
            "{name} not in /note/on's VALS {listed:?}"
        );
    }
    let new = &root["CONTENTS"]["voice"]["CONTENTS"]["new"];
    assert_eq!(vals(new, 1), listed);
    let info = &root["CONTENTS"]["inst"]["CONTENTS"]["info"]["INSTRUMENTS"];
    assert_eq!(info.as_array().unwrap().len(), shipped.len());

    let set = get(srv.http, "/voice/set").json();
    assert_eq!(set["FULL_PATH"], "/voice/set");
    assert_eq!(set["TYPE"], "isf");
    assert!(vals(&set, 1).contains(&"pitch".to_string()));
    let params = set["VOICE_PARAMETERS"].as_object().unwrap();
    assert_eq!(params["pan"]["RANGE"][0]["MIN"], -1.0);
    assert_eq!(params["gain"]["RANGE"][0]["MAX"], 4.0);
    assert_eq!(params["pitch"]["TYPE"], "f");

    assert_eq!(get(srv.http, "/note/on").json(), *on);
    assert_eq!(
        get(srv.http, "/note/on?TYPE").json(),
        serde_json::json!({"TYPE": "sff"})
    );
    let host = get(srv.http, "/?HOST_INFO").json();
    assert_eq!(host["OSC_PORT"], srv.osc.port());
    assert_eq!(host["OSC_TRANSPORT"], "UDP");
    assert_eq!(host["OSC_IP"], "127.0.0.1");
    assert_eq!(get(srv.http, "/no/such/address").status, 404);
    assert_eq!(get(srv.http, "/note?NOT_AN_ATTRIBUTE").status, 400);
    let post = request(srv.http, "POST", "/note/on");
    assert_eq!(post.status, 405);
    assert!(post.body.contains("GET"), "{}", post.body);

    // The server still plays what the tree describes.
    let c = Client::new(srv.osc);
    c.ask("/status", vec![], "/status.reply");
}

/// Loading and reloading an instrument over OSC updates the tree.
#[test]
fn load_and_reload_update_the_tree() {
    let (good, name) = small();
    let srv = Server::start("load", &[(good.clone(), name)]);
    let on = get(srv.http, "/note/on").json();
    assert_eq!(vals(&on, 0), ["small"]);

    let text = std::fs::read_to_string(&good).unwrap();
    let extra = text.replace("\"small\"", "\"extra\"");
    std::fs::write(srv.dir.join("extra.json"), &extra).unwrap();
    let c = Client::new(srv.osc);
    c.ask("/inst/load", vec![s("extra")], "/done");
    assert_eq!(
        vals(&get(srv.http, "/note/on").json(), 0),
        ["small", "extra"]
    );

    let note = |tree: Value| tree["INSTRUMENTS"][1]["REFERENCE_NOTE"].as_f64().unwrap();
    assert_eq!(note(get(srv.http, "/inst/info").json()), 50.0);
    let moved = extra.replace("\"reference_note\": 50.0", "\"reference_note\": 62.0");
    assert_ne!(moved, extra, "the fixture's reference note");
    std::fs::write(srv.dir.join("extra.json"), moved).unwrap();
    c.ask("/inst/reload", vec![s("extra")], "/done");
    assert_eq!(note(get(srv.http, "/inst/info").json()), 62.0);
    c.send("/note/on", vec![s("extra"), f(62.0), f(0.5)]);
    c.ask("/status", vec![], "/status.reply");
}

/// curl, as a user would: the node and a 404.
#[test]
fn curl_reads_the_tree() {
    if !require(
        on_path("curl"),
        "curl",
        "apt-get install curl (scripts/install-deps.sh)",
    ) {
        return;
    }
    let srv = Server::start("curl", &[small()]);
    let url = format!("http://{}/note/on", srv.http);
    let out = Command::new("curl").args(["-sf", &url]).output().unwrap();
    assert!(out.status.success(), "curl {url}");
    let node: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(node, get(srv.http, "/note/on").json());
    let missing = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("http://{}/nope", srv.http))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&missing.stdout), "404");
}

/// A port that cannot be bound stops the server with a one-line reason.
#[test]
fn a_busy_oscquery_port_is_refused_with_a_reason() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let (good, name) = small();
    let dir = std::env::temp_dir().join(format!("neirosynth-oscq-busy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(good, dir.join(name)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_neirosynth"))
        .args([
            "serve",
            "--port",
            "0",
            "--oscquery-port",
            &port,
            "--instruments",
        ])
        .arg(&dir)
        .args(["--audio", "null", "--midi", "none"])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot bind oscquery http 127.0.0.1:{port}")),
        "{err}"
    );
}
