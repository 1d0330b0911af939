//! The client patches work against the real server: the Python client's
//! demo (needs python-osc) and the SuperCollider patch run headless (needs
//! sclang). Each is skipped, with a message, where its runtime is missing.

mod common;

use std::path::Path;
use std::process::Command;

use common::server::Server;

fn patches() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("patches")
}

/// Instruments called `drum` and `marimba`, the names the patches use.
fn patch_server(tag: &str) -> Server {
    let srv = Server::start(tag, &["--voices", "32"]);
    for name in ["drum", "marimba"] {
        let text = std::fs::read_to_string(srv.dir.join("small.json"))
            .unwrap()
            .replace("\"small\"", &format!("\"{name}\""));
        std::fs::write(srv.dir.join(format!("{name}.json")), text).unwrap();
        let c = srv.client();
        c.ask("/inst/load", vec![common::server::s(name)], "/done");
    }
    srv
}

/// `python3 patches/python/neirosynth_client.py demo` plays notes, strikes,
/// pickups, morphs and reads `/status`, exiting 0.
#[test]
fn python_client_demo() {
    let ok = Command::new("python3")
        .args(["-c", "import pythonosc"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("skipped: python3 with python-osc is not installed");
        return;
    }
    let srv = patch_server("pyclient");
    let out = Command::new("python3")
        .arg(patches().join("python/neirosynth_client.py"))
        .args([
            "--port",
            &srv.addr.port().to_string(),
            "demo",
            "--demo-seconds",
            "1.5",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("active_voices"), "{text}");
    assert!(text.contains("started"), "{text}");
}

/// The SuperCollider patch runs headless with sclang and exits 0.
#[test]
fn supercollider_patch_headless() {
    if Command::new("sclang").arg("-v").output().is_err() {
        eprintln!("skipped: sclang is not installed");
        return;
    }
    let srv = patch_server("sclang");
    let out = Command::new("timeout")
        .args(["60", "sclang", "-D"])
        .arg(patches().join("supercollider/neirosynth.scd"))
        .env("NEIROSYNTH_PORT", srv.addr.port().to_string())
        .env("NEIROSYNTH_DEMO_SECONDS", "2")
        .env("NEIROSYNTH_PATCH_EXIT", "1")
        .env("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
        .env("QT_QPA_PLATFORM", "offscreen")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "sclang failed: {text}");
    assert!(text.contains("/status.reply"), "{text}");
    assert!(text.contains("/voice/started"), "{text}");
}
