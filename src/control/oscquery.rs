//! The OSCQuery description of the server (the Vidvox OSCQuery proposal):
//! a JSON tree of every address of the contract, built from the address
//! table ([`Address::signature`]) and the bank, and the answer to a query
//! of it (`GET /note/on`, `GET /?HOST_INFO`, `GET /excite?TYPE`).
//!
//! No transport here: the server's HTTP thread serves what [`answer`]
//! returns. Nothing here runs on the audio thread.
//!
//! The tree:
//! - every address is a method node: `FULL_PATH`, `TYPE` (the OSC type-tag
//!   string of a complete message, optional arguments included; empty for
//!   an address without arguments), `RANGE` (one entry per type tag:
//!   `{MIN, MAX}`, `{VALS}` or `null`), `ACCESS` 2 (write-only: nothing is
//!   read back over OSCQuery), `DESCRIPTION` (argument names, then what it
//!   does);
//! - the path segments above them are containers (`CONTENTS`, `ACCESS` 0);
//! - instrument arguments list the bank's names in `VALS` (a bank index is
//!   accepted too); excitation shapes and voice parameter names likewise;
//! - extensions (ignored by tools that do not know them): `/voice/new` and
//!   `/voice/set` carry `VOICE_PARAMETERS` (name → `TYPE`, `RANGE`,
//!   `DESCRIPTION`), `/inst/info` carries `INSTRUMENTS` (one object per
//!   instrument of the bank: `NAME`, `INDEX`, `MESH` (width, height),
//!   `REFERENCE_NOTE`, `VOICE_PARAMETERS`: the names).

use std::net::SocketAddr;

use serde_json::{json, Map, Value};

use crate::control::command::{
    Address, Arg, ArgKind, ExciteShape, ModShape, ParamPairs, Signature, VoiceParam,
};
use crate::instrument::bank::Bank;

/// `ACCESS` of a container: no value.
pub const ACCESS_NONE: u8 = 0;
/// `ACCESS` of a method: messages are sent to it, nothing is read back.
pub const ACCESS_WRITE: u8 = 2;

/// The attributes of the proposal a node may be asked for (`?NAME`).
pub const ATTRIBUTES: &[&str] = &[
    "FULL_PATH",
    "CONTENTS",
    "TYPE",
    "RANGE",
    "ACCESS",
    "VALUE",
    "DESCRIPTION",
    "TAGS",
    "EXTENDED_TYPE",
    "UNIT",
    "CRITICAL",
    "CLIPMODE",
    "OVERLOADS",
];

/// A number as JSON, written as its shortest `f32` form (0.1, not 0.10000000149).
fn number(v: f32) -> Value {
    v.to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// The `RANGE` entry of one argument.
fn range(kind: &ArgKind, instruments: &[String]) -> Value {
    match kind {
        ArgKind::Int { min, max } => json!({ "MIN": min, "MAX": max }),
        ArgKind::Float(r) => json!({ "MIN": number(*r.start()), "MAX": number(*r.end()) }),
        ArgKind::Inst => json!({ "VALS": instruments }),
        ArgKind::Shape => {
            json!({ "VALS": ExciteShape::ALL.iter().map(|s| s.name()).collect::<Vec<_>>() })
        }
        ArgKind::ModParam => json!({
            "VALS": VoiceParam::ALL
                .iter()
                .filter(|p| p.acts_on_running_voice())
                .map(|p| p.name())
                .collect::<Vec<_>>()
        }),
        ArgKind::ModShape => {
            json!({ "VALS": ModShape::ALL.iter().map(|s| s.name()).collect::<Vec<_>>() })
        }
        ArgKind::FileName
        | ArgKind::Midi
        | ArgKind::ModDepth
        | ArgKind::PresetName
        | ArgKind::RecallTarget => Value::Null,
    }
}

/// The argument list in words: `id x y amplitude [width] [shape]`.
fn usage(sig: &Signature) -> String {
    let mut words: Vec<String> = sig
        .args
        .iter()
        .map(|a: &Arg| match a.optional {
            true => format!("[{}]", a.name),
            false => a.name.to_string(),
        })
        .collect();
    match sig.params {
        ParamPairs::No => {}
        ParamPairs::Optional => words.push("[param value]...".into()),
        ParamPairs::AtLeastOne => words.push("param value [param value]...".into()),
    }
    words.join(" ")
}

/// `VOICE_PARAMETERS`: each parameter's type, range and description.
fn voice_parameters() -> Value {
    let map: Map<String, Value> = VoiceParam::ALL
        .iter()
        .map(|p| {
            let r = p.range();
            let desc = json!({
                "TYPE": "f",
                "RANGE": [{ "MIN": number(*r.start()), "MAX": number(*r.end()) }],
                "DESCRIPTION": p.description(),
            });
            (p.name().to_string(), desc)
        })
        .collect();
    Value::Object(map)
}

/// The `param value` pair's `RANGE` entries: the names, then the widest range.
fn pair_ranges() -> [Value; 2] {
    let lo = VoiceParam::ALL.iter().map(|p| *p.range().start());
    let hi = VoiceParam::ALL.iter().map(|p| *p.range().end());
    let names: Vec<&str> = VoiceParam::ALL.iter().map(|p| p.name()).collect();
    [
        json!({ "VALS": names }),
        json!({ "MIN": number(lo.fold(f32::INFINITY, f32::min)),
                "MAX": number(hi.fold(f32::NEG_INFINITY, f32::max)) }),
    ]
}

/// The method node of `address`.
fn method(address: Address, bank: &Bank, instruments: &[String]) -> Value {
    let sig = address.signature();
    let mut ranges: Vec<Value> = sig
        .args
        .iter()
        .map(|a| range(&a.kind, instruments))
        .collect();
    if sig.params == ParamPairs::AtLeastOne {
        ranges.extend(pair_ranges());
    }
    let args = usage(&sig);
    let description = match args.is_empty() {
        true => sig.description.to_string(),
        false => format!("{args}: {}", sig.description),
    };
    let mut node = json!({
        "FULL_PATH": address.name(),
        "TYPE": sig.type_tags(),
        "ACCESS": ACCESS_WRITE,
        "DESCRIPTION": description,
    });
    if !ranges.is_empty() {
        node["RANGE"] = Value::Array(ranges);
    }
    if sig.params != ParamPairs::No {
        node["VOICE_PARAMETERS"] = voice_parameters();
    }
    if address == Address::InstInfo {
        node["INSTRUMENTS"] = instruments_extension(bank);
    }
    node
}

/// `INSTRUMENTS`: every instrument of the bank, in bank order.
fn instruments_extension(bank: &Bank) -> Value {
    let params: Vec<&str> = VoiceParam::ALL.iter().map(|p| p.name()).collect();
    bank.instruments
        .iter()
        .enumerate()
        .map(|(index, inst)| {
            json!({
                "NAME": inst.name(),
                "INDEX": index,
                "MESH": [inst.file.mesh.width, inst.file.mesh.height],
                "REFERENCE_NOTE": inst.file.reference_note,
                "VOICE_PARAMETERS": params,
            })
        })
        .collect()
}

/// An empty container at `path`.
fn container(path: &str) -> Value {
    json!({ "FULL_PATH": path, "ACCESS": ACCESS_NONE, "CONTENTS": {} })
}

/// The whole tree: every address of the table, described with `bank`'s instruments.
pub fn tree(bank: &Bank) -> Value {
    let names: Vec<String> = bank
        .instruments
        .iter()
        .map(|i| i.name().to_string())
        .collect();
    let mut root = container("/");
    root["DESCRIPTION"] = json!("neirosynth: every sound a wave mesh (OSC over UDP)");
    for &address in Address::ALL {
        let segments: Vec<&str> = address
            .name()
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        let mut node = &mut root;
        for (depth, segment) in segments.iter().enumerate() {
            let path = format!("/{}", segments[..=depth].join("/"));
            let contents = node
                .as_object_mut()
                .expect("a node is an object")
                .entry("CONTENTS")
                .or_insert_with(|| json!({}));
            let last = depth + 1 == segments.len();
            let child = contents
                .as_object_mut()
                .expect("CONTENTS is an object")
                .entry(segment.to_string())
                .or_insert_with(|| match last {
                    true => json!({}),
                    false => container(&path),
                });
            if last {
                // A method may also be a container of deeper addresses: keep them.
                let deeper = child.get("CONTENTS").cloned();
                *child = method(address, bank, &names);
                if let Some(deeper) = deeper {
                    child["CONTENTS"] = deeper;
                }
            }
            node = child;
        }
    }
    root
}

/// The node at `path` (`/`, `/note`, `/note/on`; a trailing `/` is ignored).
pub fn find<'a>(tree: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .try_fold(tree, |node, segment| node.get("CONTENTS")?.get(segment))
}

/// `HOST_INFO`: the server's name, its OSC address and transport, and the
/// proposal's extensions it implements. `OSC_IP` is left out when the
/// server listens on every address (clients then use the HTTP host's).
pub fn host_info(osc: SocketAddr) -> Value {
    let mut info = json!({
        "NAME": "neirosynth",
        "OSC_PORT": osc.port(),
        "OSC_TRANSPORT": "UDP",
        "EXTENSIONS": {
            "ACCESS": true,
            "RANGE": true,
            "DESCRIPTION": true,
            "VALUE": false,
            "TAGS": false,
            "EXTENDED_TYPE": false,
            "UNIT": false,
            "CRITICAL": false,
            "CLIPMODE": false,
            "LISTEN": false,
            "PATH_CHANGED": false,
            "PATH_RENAMED": false,
            "PATH_ADDED": false,
            "PATH_REMOVED": false,
        },
    });
    if !osc.ip().is_unspecified() {
        info["OSC_IP"] = json!(osc.ip().to_string());
    }
    info
}

/// An answer to a query: an HTTP status and, with 200, a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// 200 found, 204 attribute absent, 400 unknown query, 404 unknown path.
    pub status: u16,
    /// The JSON text (200 only).
    pub body: Option<String>,
}

impl Answer {
    /// A 200 answer with `value`.
    fn ok(value: &Value) -> Self {
        Self {
            status: 200,
            body: Some(value.to_string()),
        }
    }

    /// An answer without a body.
    fn status(status: u16) -> Self {
        Self { status, body: None }
    }
}

/// Answers `GET path?query`: the node at `path`, one of its attributes
/// (`?TYPE` → `{"TYPE": "sff"}`), or `HOST_INFO` (at any path).
pub fn answer(tree: &Value, host_info: &Value, path: &str, query: Option<&str>) -> Answer {
    if query == Some("HOST_INFO") {
        return Answer::ok(host_info);
    }
    let Some(node) = find(tree, path) else {
        return Answer::status(404);
    };
    match query {
        None | Some("") => Answer::ok(node),
        Some(attr) => match node.get(attr) {
            Some(v) => Answer::ok(&json!({ attr: v })),
            None if ATTRIBUTES.contains(&attr) => Answer::status(204),
            None => Answer::status(400),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::control::command::ADDRESSES;

    /// A bank of the small fixture under two names.
    fn bank() -> Bank {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good_small.json");
        let mut bank = Bank::default();
        let inst = Bank::load_file(&file).unwrap();
        let name = inst.name().to_string();
        bank.upsert(Arc::new(inst));
        assert_eq!(bank.instruments[0].name(), name);
        bank
    }

    /// Every node: its FULL_PATH is where it sits; containers have CONTENTS
    /// whose keys are their children's last segment; methods have TYPE
    /// with one RANGE entry per type tag.
    fn check(node: &Value, path: &str, methods: &mut Vec<String>) {
        assert_eq!(node["FULL_PATH"], json!(path));
        if let Some(ty) = node.get("TYPE") {
            let ty = ty.as_str().unwrap();
            let ranges = node.get("RANGE").map_or(0, |r| r.as_array().unwrap().len());
            assert_eq!(ranges, ty.len(), "{path}: one RANGE per type tag");
            assert_eq!(node["ACCESS"], json!(ACCESS_WRITE));
            methods.push(path.to_string());
        } else {
            assert!(node["CONTENTS"].is_object(), "{path}: a container");
        }
        if let Some(contents) = node.get("CONTENTS") {
            for (key, child) in contents.as_object().unwrap() {
                let child_path = match path {
                    "/" => format!("/{key}"),
                    _ => format!("{path}/{key}"),
                };
                check(child, &child_path, methods);
            }
        }
    }

    #[test]
    fn every_address_of_the_table_is_a_method_of_the_tree() {
        let bank = bank();
        let tree = tree(&bank);
        let mut methods = Vec::new();
        check(&tree, "/", &mut methods);
        let mut expected: Vec<String> = ADDRESSES.iter().map(|a| a.to_string()).collect();
        expected.sort();
        methods.sort();
        assert_eq!(methods, expected);
        for &a in Address::ALL {
            let node = find(&tree, a.name()).unwrap();
            assert_eq!(
                node["TYPE"],
                json!(a.signature().type_tags()),
                "{}",
                a.name()
            );
        }
    }

    #[test]
    fn instruments_and_voice_parameters_are_listed() {
        let bank = bank();
        let name = bank.instruments[0].name().to_string();
        let tree = tree(&bank);
        let on = find(&tree, "/note/on/").unwrap();
        assert_eq!(on["TYPE"], "sff");
        assert_eq!(on["RANGE"][0]["VALS"], json!([name]));
        assert_eq!(on["RANGE"][1], json!({"MIN": 0.0, "MAX": 127.0}));
        let set = find(&tree, "/voice/set").unwrap();
        assert_eq!(set["TYPE"], "isf");
        let params = set["VOICE_PARAMETERS"].as_object().unwrap();
        assert_eq!(params.len(), VoiceParam::ALL.len());
        assert_eq!(params["pan"]["RANGE"][0], json!({"MIN": -1.0, "MAX": 1.0}));
        assert_eq!(
            params["damping"]["RANGE"][0],
            json!({"MIN": 0.1, "MAX": 10.0})
        );
        let info = find(&tree, "/inst/info").unwrap();
        assert_eq!(info["INSTRUMENTS"][0]["NAME"], json!(name));
        assert_eq!(info["INSTRUMENTS"][0]["MESH"], json!([16, 16]));
        let status = find(&tree, "/status").unwrap();
        assert_eq!(status["TYPE"], "");
        assert!(status.get("RANGE").is_none());
    }

    #[test]
    fn queries_answer_nodes_attributes_host_info_and_404() {
        let tree = tree(&bank());
        let host = host_info("127.0.0.1:57130".parse().unwrap());
        let body = |a: Answer| -> Value {
            assert_eq!(a.status, 200);
            serde_json::from_str(&a.body.unwrap()).unwrap()
        };
        assert_eq!(body(answer(&tree, &host, "/", None)), tree);
        assert_eq!(
            body(answer(&tree, &host, "/excite", Some("TYPE"))),
            json!({"TYPE": "iffffs"})
        );
        let info = body(answer(&tree, &host, "/", Some("HOST_INFO")));
        assert_eq!(info["OSC_PORT"], 57130);
        assert_eq!(info["OSC_IP"], "127.0.0.1");
        assert_eq!(info["OSC_TRANSPORT"], "UDP");
        assert_eq!(answer(&tree, &host, "/nope", None).status, 404);
        assert_eq!(answer(&tree, &host, "/note/on/x", None).status, 404);
        assert_eq!(answer(&tree, &host, "/note", Some("VALUE")).status, 204);
        assert_eq!(answer(&tree, &host, "/note", Some("BOGUS")).status, 400);
        let any = host_info("0.0.0.0:1".parse().unwrap());
        assert!(any.get("OSC_IP").is_none());
    }
}
