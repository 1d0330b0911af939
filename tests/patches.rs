//! The client patches work against the real server, end to end: the Python
//! client's demo (needs python3 with python-osc) and the SuperCollider patch
//! run headless by sclang (needs sclang, Debian's `supercollider-language`;
//! no scsynth, no display, no sound card). Both play on a server whose bank
//! holds `drum` and `marimba` (`Server::start_for_patches`).
//!
//! Where a runtime is missing the test says so and passes locally; under CI
//! (`CI=true`) it fails (`common::tools::require`).

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::server::Server;
use common::tools;

fn patches() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("patches")
}

/// `python3 patches/python/neirosynth_client.py demo` plays notes, strikes,
/// pickups, morphs and reads `/status`, exiting 0.
#[test]
fn python_client_demo() {
    if !tools::require(
        tools::runs("python3", &["-c", "import pythonosc"]),
        "python3 with python-osc",
        "python3 -m pip install python-osc, or scripts/install-deps.sh",
    ) {
        return;
    }
    let srv = Server::start_for_patches("pyclient", &["--voices", "32"]);
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
    // A modulator and a preset saved, recalled over 0.5 s and listed.
    assert!(text.contains("presets: demo-start"), "{text}");
}

/// What a program printed, and how it ended (`None`: killed at the timeout).
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `cmd` with its output captured; kills it after `timeout`.
fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Run {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let reader = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let out = reader(Box::new(child.stdout.take().unwrap()));
    let err = reader(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Run {
        code,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// The `/status.reply` blocks the patch printed (`  key : value` lines after
/// `neirosynth /status.reply:`), in order.
fn status_blocks(text: &str) -> Vec<HashMap<String, String>> {
    let mut blocks: Vec<HashMap<String, String>> = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.trim() == "neirosynth /status.reply:" {
            blocks.push(HashMap::new());
            inside = true;
        } else if inside && line.starts_with("  ") && line.contains(" : ") {
            let (k, v) = line.split_once(" : ").unwrap();
            blocks
                .last_mut()
                .unwrap()
                .insert(k.trim().to_string(), v.trim().to_string());
        } else {
            inside = false;
        }
    }
    blocks
}

/// The numbers after `prefix` on the lines that start with it.
fn ids_after(text: &str, prefix: &str) -> Vec<i64> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix(prefix))
        .filter_map(|rest| rest.trim().parse().ok())
        .collect()
}

/// The SuperCollider patch runs headless in sclang (`sclang -D`, Qt's
/// `offscreen` platform, a throw-away HOME) through its whole demo and
/// exits 0, and what it printed shows the server's replies arrived, right:
/// `/done /notify`, `/version.reply`, `/inst/list.reply` naming drum and
/// marimba, `/synced`, `/voice/started` for the notes and for the voice it
/// plays (id taken from it), `/voice/end` for that voice after
/// `/voice/release`, and two `/status.reply`s read by field name (voice
/// limit 32, sample rate 48000, engine cpu, no dropped message, no late
/// bundle, the two extensions named), and no `/fail` or sclang error on the
/// way.
#[test]
fn supercollider_patch_headless() {
    if !tools::require(
        tools::runs("sclang", &["-v"]),
        "sclang (SuperCollider's language)",
        "apt-get install supercollider-language, or scripts/install-deps.sh",
    ) {
        return;
    }
    let srv = Server::start_for_patches("sclang", &["--voices", "32"]);
    // sclang writes its config and user folders under HOME / XDG_*: give it
    // a throw-away one. Qt needs a platform without a display (`offscreen`);
    // QtWebEngine (linked, unused) aborts as root without `--no-sandbox`.
    let home = std::env::temp_dir().join(format!("neirosynth-sclang-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    let runtime = home.join("runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let mut cmd = Command::new("sclang");
    cmd.arg("-D")
        .arg(patches().join("supercollider/neirosynth.scd"))
        .current_dir(&home)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("QT_QPA_PLATFORM", "offscreen")
        .env("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
        .env("NEIROSYNTH_HOST", "127.0.0.1")
        .env("NEIROSYNTH_PORT", srv.addr.port().to_string())
        .env("NEIROSYNTH_DEMO_SECONDS", "1")
        .env("NEIROSYNTH_PATCH_EXIT", "1")
        .env_remove("NEIROSYNTH_VOICE_ID")
        .env_remove("NEIROSYNTH_MORPH_TO");
    let run = run_with_timeout(cmd, Duration::from_secs(60));
    let _ = std::fs::remove_dir_all(&home);
    let text = &run.stdout;
    let all = format!(
        "sclang exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        run.code, run.stdout, run.stderr
    );
    assert_eq!(run.code, Some(0), "sclang did not finish the demo: {all}");
    assert!(
        text.contains("neirosynth: demo finished, exiting (0)"),
        "{all}"
    );
    for bad in ["/fail", "ERROR:", "no /voice/started"] {
        assert!(!text.contains(bad), "`{bad}` in sclang's output: {all}");
    }

    assert!(text.contains("neirosynth /done /notify"), "{all}");
    // The demo's modulator and preset (save, then a recall over 0.5 s).
    assert!(
        text.contains("neirosynth /done /preset/save demo-start"),
        "{all}"
    );
    assert!(
        text.contains("neirosynth /done /preset/recall demo-start"),
        "{all}"
    );
    let version = format!(
        "neirosynth version: neirosynth {}",
        env!("CARGO_PKG_VERSION")
    );
    assert!(text.contains(&version), "{all}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("neirosynth instruments (")
                && l.contains("drum")
                && l.contains("marimba")),
        "{all}"
    );
    assert!(!ids_after(text, "neirosynth /synced").is_empty(), "{all}");

    // The drum voice: its id from /voice/started, played, released, ended.
    let started = ids_after(text, "neirosynth /voice/started");
    let ended = ids_after(text, "neirosynth /voice/end");
    let played = ids_after(text, "neirosynth: playing voice");
    assert_eq!(played.len(), 1, "{all}");
    let vid = played[0];
    assert!(vid > 0 && vid < 1 << 24, "server-picked id {vid}: {all}");
    assert!(started.contains(&vid), "no /voice/started {vid}: {all}");
    assert!(ended.contains(&vid), "no /voice/end {vid}: {all}");
    // The notes before it (drum, marimba, index 0, four timetagged marimba
    // notes) were announced too, each with its own id.
    assert!(started.len() >= 8, "/voice/started: {started:?}: {all}");
    let mut unique = started.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), started.len(), "ids reused: {started:?}");
    // The morph target: marimba (the same mesh as drum here).
    assert!(!text.contains("cannot morph"), "{all}");

    // /status.reply, read by name: at the start and at the end.
    let blocks = status_blocks(text);
    assert!(blocks.len() >= 2, "two /status.reply blocks: {all}");
    for st in &blocks {
        let field = |k: &str| {
            st.get(k)
                .unwrap_or_else(|| panic!("field {k} missing in {st:?}: {all}"))
                .as_str()
        };
        let num = |k: &str| -> f64 {
            field(k)
                .parse()
                .unwrap_or_else(|_| panic!("{k} = {} is not a number", field(k)))
        };
        assert_eq!(num("voice_limit"), 32.0, "{st:?}");
        assert_eq!(num("sample_rate"), 48000.0, "{st:?}");
        assert_eq!(field("engine"), "cpu", "{st:?}");
        assert!(num("instruments_loaded") >= 2.0, "{st:?}");
        assert!(num("block_size") > 0.0, "{st:?}");
        assert!(num("output_latency_ms") > 0.0, "{st:?}");
        assert!((0.0..=32.0).contains(&num("active_voices")), "{st:?}");
        assert!(num("load") >= 0.0, "{st:?}");
        assert_eq!(num("dropped_messages"), 0.0, "{st:?}");
        assert_eq!(num("gpu_failovers"), 0.0, "{st:?}");
        assert!(
            st.keys().all(|k| !k.starts_with("extra_")),
            "unnamed fields: {st:?}"
        );
    }
    assert_eq!(num_of(&blocks[0], "active_voices"), 0.0, "{all}");
    // The bundles' timetags were in the future: none ran late.
    let last = blocks.last().unwrap();
    assert_eq!(num_of(last, "late_bundles"), 0.0, "{all}");
}

fn num_of(st: &HashMap<String, String>, k: &str) -> f64 {
    st.get(k).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
}
