//! Golden renders: bit-exact hashes of renders of every shipped instrument
//! on the CPU and GPU engines, of scores, and of trained instruments' note
//! shaping, compared with `tests/fixtures/golden/renders.json`. A safety
//! net for refactors that must not change a single sample.
//!
//! What is hashed (FNV-1a 64 over the frame count and the f32 bits of the
//! left, then the right channel), each render named `engine/kind/name/what`:
//!
//! - `cpu/note/<inst>/ref`: every instrument in `instruments/` at its
//!   reference note, velocity 0.8, through `Instrument::note_request` and
//!   `render::render_note_on_engine` as `neirosynth render` plays it (48 kHz,
//!   256-frame blocks, one thread), 0.5 s released at 0.3 s.
//! - `cpu/note/<inst>/alt`: three semitones up, velocity 0.6, a pluck
//!   (noise for instruments that pluck) at (0.3, 0.7), pickups moved to
//!   (0.2, 0.3) and (0.8, 0.6), 0.5 s released at 0.25 s.
//! - `cpu/note/<trained>/note<N>`: `trained_marimba` (KAN note shaping and
//!   level curve) and `trained_harp` (level curve) at two notes other than
//!   their reference note.
//! - `cpu/score/<inst>/controls`: a score per instrument, 0.6 s
//!   (`score::render_score_on` with the settings of `neirosynth render
//!   --score`: 48 kHz, 256-frame blocks, 64 voices, one thread), with
//!   mid-render `/voice/set` of pitch, pan, damping, brightness and gain,
//!   `/excite` noise and pluck, `/pickup`, a second voice by `/note/on` and
//!   `/note/off`, and `/voice/release`.
//! - `cpu/score/morph`: `string` morphed toward `trained_harp` by `/morph`
//!   over time, then by `/voice/set morph`.
//! - `cpu/score/example`: `examples/score.json` in full (6 s, four
//!   instruments, `/morph` gong → bell).
//! - `gpu/...`: the same on the GPU engine, shorter (lavapipe is slow; see
//!   the `GPU` plan): `ref` of every instrument and `alt` of those smaller
//!   than 64×64 (0.05 s, released at 0.025 s), the trained notes, the
//!   controls scores of four cheap instruments and the morph score at 0.3×
//!   their timing; not the example score. GPU hashes are their own: they
//!   need not equal the CPU's.
//!
//! Every render must be finite and not silent, and no score command may be
//! refused (`/fail`): a hash of silence would prove little.
//!
//! The GPU hashes are only compared on the adapter they were taken on (its
//! name and driver are in the file): another Mesa or GPU may round
//! differently. Elsewhere the GPU test says so and passes; without any
//! adapter it is skipped, and fails under CI (`common::tools::require`).
//!
//! On a mismatch the test lists every render that differs (name, engine,
//! the committed and the new hash) and fails.
//!
//! # Regenerating after an intended change of behaviour
//!
//! ```sh
//! cargo test --test golden -- --ignored regenerate
//! ```
//!
//! rewrites `tests/fixtures/golden/renders.json` from the current code (the
//! GPU hashes too when a Vulkan adapter is present; otherwise the committed
//! GPU hashes are kept). Review and commit the diff.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use neirosynth::gpu::{EngineSpec, GpuContext};
use neirosynth::instrument::bank::Bank;
use neirosynth::instrument::format::ExciteShape;
use neirosynth::instrument::Instrument;
use neirosynth::render::{render_note_on_engine, NoteSpec, RenderSettings, StereoBuffer};
use neirosynth::score::{render_score_on, Score, ScoreSettings};

use common::tools;

/// What an engine renders: (duration, release) of the notes, seconds, and
/// the largest mesh (nodes) that also plays the `alt` note; the
/// time scale of the controls and morph scores (1: as written, 0.6 s) and
/// the instruments of the controls scores (None: all); whether the example
/// score is rendered.
struct Plan {
    note: (f64, f64),
    alt: (f64, f64),
    alt_max_nodes: usize,
    score_scale: f64,
    controls: Option<&'static [&'static str]>,
    example: bool,
}

const CPU: Plan = Plan {
    note: (0.5, 0.3),
    alt: (0.5, 0.25),
    alt_max_nodes: usize::MAX,
    score_scale: 1.0,
    controls: None,
    example: true,
};

/// lavapipe renders a 64×64 voice about 50× slower than real time on two
/// cores: short notes, no `alt` note on the 64×64 meshes, four of the
/// cheapest instruments' controls scores, no example score.
const GPU: Plan = Plan {
    note: (0.05, 0.025),
    alt: (0.05, 0.025),
    alt_max_nodes: 64 * 48,
    score_scale: 0.3,
    controls: Some(&["marimba", "tine", "trained_harp", "trained_nylon_guitar"]),
    example: false,
};

/// Notes other than the reference note of the trained instruments whose
/// note shaping (KAN, level curve) is exercised.
const TRAINED_NOTES: [(&str, [f64; 2]); 2] = [
    ("trained_marimba", [48.0, 72.0]),
    ("trained_harp", [52.0, 67.0]),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn golden_path() -> PathBuf {
    root().join("tests/fixtures/golden/renders.json")
}

/// FNV-1a 64 of the frame count and the f32 bits of left then right.
fn hash(buf: &StereoBuffer) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= *b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(&(buf.left.len() as u64).to_le_bytes());
    for v in buf.left.iter().chain(&buf.right) {
        eat(&v.to_bits().to_le_bytes());
    }
    format!("{h:016x}")
}

/// The shipped bank, as `neirosynth render --score` loads it.
fn bank() -> &'static Bank {
    static BANK: OnceLock<Bank> = OnceLock::new();
    BANK.get_or_init(|| {
        let (b, errors) = Bank::load_dir(&root().join("instruments")).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(b.instruments.len(), 16, "the shipped instruments");
        b
    })
}

fn instruments() -> Vec<Arc<Instrument>> {
    let mut v = bank().instruments.clone();
    v.sort_by(|a, b| a.name().cmp(b.name()));
    v
}

/// One named render.
type Render = (String, StereoBuffer);

fn check_sound(name: &str, buf: &StereoBuffer) {
    assert!(
        buf.left.iter().chain(&buf.right).all(|v| v.is_finite()),
        "{name}: not finite"
    );
    assert!(buf.peak() > 1e-6, "{name}: silent (peak {:e})", buf.peak());
}

fn note(
    inst: &Arc<Instrument>,
    spec: &NoteSpec,
    engine: &EngineSpec,
    name: String,
    out: &mut Vec<Render>,
) {
    let t = std::time::Instant::now();
    let buf = render_note_on_engine(inst, spec, RenderSettings::default(), engine)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    eprintln!("{name}: {:.2} s", t.elapsed().as_secs_f64());
    check_sound(&name, &buf);
    out.push((name, buf));
}

/// The note renders of every instrument (and the trained notes).
fn note_renders(engine: &EngineSpec, prefix: &str, plan: &Plan) -> Vec<Render> {
    let mut out = Vec::new();
    for inst in instruments() {
        let f = &inst.file;
        let reference = f.reference_note;
        let name = inst.name().to_string();
        // As `neirosynth render --note <reference> --velocity 0.8 --release t`.
        let spec = NoteSpec {
            request: inst.note_request(reference, 0.8),
            duration: plan.note.0,
            release_at: Some(plan.note.1),
        };
        note(
            &inst,
            &spec,
            engine,
            format!("{prefix}/note/{name}/ref"),
            &mut out,
        );
        if f.mesh.width * f.mesh.height > plan.alt_max_nodes {
            continue;
        }
        // As `--excite pluck|noise --x 0.3 --y 0.7 --pickup-left 0.2,0.3
        // --pickup-right 0.8,0.6`.
        let mut req = inst.note_request(reference + 3.0, 0.6);
        let shape = match f.excitation.shape {
            ExciteShape::Pluck => ExciteShape::Noise,
            _ => ExciteShape::Pluck,
        };
        req.excite = Some((shape, 0.3, 0.7));
        req.pickups = Some([0.2, 0.3, 0.8, 0.6]);
        let spec = NoteSpec {
            request: req,
            duration: plan.alt.0,
            release_at: Some(plan.alt.1),
        };
        note(
            &inst,
            &spec,
            engine,
            format!("{prefix}/note/{name}/alt"),
            &mut out,
        );
    }
    for (name, notes) in TRAINED_NOTES {
        let inst = bank().get(name).unwrap();
        for n in notes {
            assert_ne!(n, inst.file.reference_note);
            let spec = NoteSpec {
                request: inst.note_request(n, 0.8),
                duration: plan.note.0,
                release_at: Some(plan.note.1),
            };
            note(
                inst,
                &spec,
                engine,
                format!("{prefix}/note/{name}/note{n}"),
                &mut out,
            );
        }
    }
    assert!(
        bank()
            .get("trained_marimba")
            .is_some_and(|i| i.file.kan.is_some()),
        "trained_marimba has a KAN"
    );
    out
}

/// A JSON score of `(time, msg)` events, times and duration scaled by
/// `scale`.
fn timed_score(duration: f64, events: &[(f64, serde_json::Value)], scale: f64) -> Score {
    let events: Vec<_> = events
        .iter()
        .map(|(t, msg)| serde_json::json!({"time": t * scale, "msg": msg}))
        .collect();
    let json = serde_json::json!({"duration": duration * scale, "events": events});
    Score::parse(json.to_string().as_bytes()).unwrap()
}

/// A score of mid-render controls for one instrument: a second voice,
/// `/voice/set`, `/excite` noise and pluck, `/pickup`, `/note/off`,
/// `/voice/release` (0.6 s at `scale` 1).
fn controls_score(inst: &Instrument, scale: f64) -> Score {
    use serde_json::json;
    let (name, r) = (inst.name(), inst.file.reference_note);
    let events = [
        (
            0.0,
            json!([
                "/voice/new",
                1,
                name,
                r,
                0.7,
                "pan",
                -0.3,
                "damping",
                1.5,
                "x",
                0.3,
                "y",
                0.7
            ]),
        ),
        (0.05, json!(["/note/on", name, r + 7.0, 0.5])),
        (0.1, json!(["/voice/set", 1, "pitch", r + 1.25, "pan", 0.4])),
        (0.15, json!(["/excite", 1, 0.7, 0.4, 0.5, 0.1, "noise"])),
        (0.2, json!(["/pickup", 1, 0.2, 0.3, 0.8, 0.7])),
        (
            0.25,
            json!([
                "/voice/set",
                1,
                "damping",
                0.7,
                "brightness",
                0.8,
                "gain",
                0.9
            ]),
        ),
        (0.3, json!(["/excite", 1, 0.3, 0.5, 0.6, 0.05, "pluck"])),
        (0.33, json!(["/note/off", name, r + 7.0])),
        (0.38, json!(["/voice/release", 1])),
    ];
    timed_score(0.6, &events, scale)
}

/// `string` morphed toward `trained_harp` (the same 192×1 mesh) over
/// time, then by `/voice/set morph` (0.6 s at `scale` 1).
fn morph_score(scale: f64) -> Score {
    use serde_json::json;
    let events = [
        (0.0, json!(["/voice/new", 1, "string", 45.0, 0.8])),
        (0.1, json!(["/morph", 1, "trained_harp", 0.6, 0.15])),
        (0.3, json!(["/voice/set", 1, "morph", 0.25])),
        (0.45, json!(["/voice/release", 1])),
    ];
    timed_score(0.6, &events, scale)
}

/// Renders `score` with the shipped bank as `neirosynth render --score`
/// does; no command may be refused.
fn score(
    score: &Score,
    duration: Option<f64>,
    engine: &EngineSpec,
    name: String,
    out: &mut Vec<Render>,
) {
    let settings = ScoreSettings {
        sample_rate: 48000,
        block: 256,
        voices: 64,
        threads: 1,
    };
    let t = std::time::Instant::now();
    let (buf, report) = render_score_on(bank().clone(), score, duration, settings, engine)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    eprintln!("{name}: {:.2} s", t.elapsed().as_secs_f64());
    let fails: Vec<_> = report.replies.iter().filter(|r| r.1 == "/fail").collect();
    assert!(fails.is_empty(), "{name}: {fails:?}");
    check_sound(&name, &buf);
    out.push((name, buf));
}

fn score_renders(engine: &EngineSpec, prefix: &str, plan: &Plan) -> Vec<Render> {
    let mut out = Vec::new();
    for inst in instruments() {
        if plan.controls.is_some_and(|c| !c.contains(&inst.name())) {
            continue;
        }
        let s = controls_score(&inst, plan.score_scale);
        let name = format!("{prefix}/score/{}/controls", inst.name());
        score(&s, None, engine, name, &mut out);
    }
    let s = morph_score(plan.score_scale);
    score(&s, None, engine, format!("{prefix}/score/morph"), &mut out);
    if plan.example {
        let bytes = std::fs::read(root().join("examples/score.json")).unwrap();
        let s = Score::parse(&bytes).unwrap();
        score(
            &s,
            None,
            engine,
            format!("{prefix}/score/example"),
            &mut out,
        );
    }
    out
}

/// The committed file: the GPU adapter of the GPU hashes, and the hashes.
#[derive(Default)]
struct Golden {
    gpu_adapter: Option<String>,
    hashes: BTreeMap<String, String>,
}

fn read_golden() -> Option<Golden> {
    let text = std::fs::read_to_string(golden_path()).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).expect("renders.json is JSON");
    let hashes = v["renders"]
        .as_object()
        .expect("renders.json: a `renders` object")
        .iter()
        .map(|(k, h)| (k.clone(), h.as_str().expect("a hash string").to_string()))
        .collect();
    Some(Golden {
        gpu_adapter: v["gpu_adapter"].as_str().map(str::to_string),
        hashes,
    })
}

fn write_golden(g: &Golden) {
    let v = serde_json::json!({
        "about": "Golden render hashes (FNV-1a 64 of the frame count and the f32 bits of left then right); see tests/golden.rs. Regenerate: cargo test --test golden -- --ignored regenerate",
        "gpu_adapter": g.gpu_adapter,
        "renders": g.hashes,
    });
    let path = golden_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut text = serde_json::to_string_pretty(&v).unwrap();
    text.push('\n');
    std::fs::write(&path, text).unwrap();
}

/// Compares `renders` with the committed hashes whose names start with
/// `prefix`; panics listing every difference.
fn compare(prefix: &str, renders: &[Render]) {
    let Some(golden) = read_golden() else {
        panic!(
            "{} is missing: cargo test --test golden -- --ignored regenerate",
            golden_path().display()
        );
    };
    let mut problems = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (name, buf) in renders {
        seen.insert(name.as_str());
        let engine = name.split('/').next().unwrap();
        let new = hash(buf);
        match golden.hashes.get(name) {
            Some(old) if *old == new => {}
            Some(old) => problems.push(format!(
                "{name} (engine {engine}) differs: committed {old}, now {new} (peak {:.6}, rms {:.6})",
                buf.peak(),
                buf.rms()
            )),
            None => problems.push(format!(
                "{name} (engine {engine}) is not in the golden file: now {new}"
            )),
        }
    }
    for name in golden.hashes.keys() {
        if name.starts_with(prefix) && !seen.contains(name.as_str()) {
            problems.push(format!("{name} is in the golden file but was not rendered"));
        }
    }
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("golden: {p}");
        }
        panic!(
            "{} of {} golden renders under {prefix} differ (listed above); after an intended change: cargo test --test golden -- --ignored regenerate",
            problems.len(),
            renders.len()
        );
    }
    eprintln!("golden: {} renders under {prefix} match", renders.len());
}

/// The GPU for this file's tests (lavapipe: two render threads, and a
/// runtime directory for its shader cache, as tests/gpu.rs).
fn gpu() -> Option<std::sync::MutexGuard<'static, EngineSpec>> {
    static CTX: OnceLock<Option<Mutex<EngineSpec>>> = OnceLock::new();
    CTX.get_or_init(|| {
        for (k, v) in [("LP_NUM_THREADS", "2"), ("XDG_RUNTIME_DIR", "/tmp")] {
            if std::env::var_os(k).is_none() {
                std::env::set_var(k, v);
            }
        }
        match GpuContext::new(true) {
            Ok(c) => {
                eprintln!("golden GPU renders on {}", c.adapter);
                Some(Mutex::new(EngineSpec::Gpu(Box::new(c))))
            }
            Err(e) => {
                tools::require(
                    false,
                    &format!("a Vulkan adapter for the golden GPU renders ({e})"),
                    "apt-get install mesa-vulkan-drivers libvulkan1 (lavapipe), or scripts/install-deps.sh",
                );
                None
            }
        }
    })
    .as_ref()
    .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()))
}

fn adapter_of(spec: &EngineSpec) -> String {
    match spec {
        EngineSpec::Gpu(c) => format!("{} / {}", c.adapter.name, c.adapter.driver.trim()),
        EngineSpec::Cpu => unreachable!(),
    }
}

#[test]
fn cpu_notes_match_golden() {
    compare("cpu/note/", &note_renders(&EngineSpec::Cpu, "cpu", &CPU));
}

#[test]
fn cpu_scores_match_golden() {
    compare("cpu/score/", &score_renders(&EngineSpec::Cpu, "cpu", &CPU));
}

#[test]
fn gpu_renders_match_golden() {
    let Some(engine) = gpu() else { return };
    let here = adapter_of(&engine);
    let committed = read_golden().and_then(|g| g.gpu_adapter);
    if committed.as_deref() != Some(here.as_str()) {
        eprintln!(
            "golden: GPU hashes were taken on {committed:?}, this adapter is {here:?}: not compared (another driver may round differently)"
        );
        return;
    }
    let mut renders = note_renders(&engine, "gpu", &GPU);
    renders.extend(score_renders(&engine, "gpu", &GPU));
    compare("gpu/", &renders);
}

/// Rewrites the golden file from the current code:
/// `cargo test --test golden -- --ignored regenerate`.
#[test]
#[ignore = "rewrites tests/fixtures/golden/renders.json; run on purpose"]
fn regenerate() {
    let old = read_golden().unwrap_or_default();
    let mut renders = note_renders(&EngineSpec::Cpu, "cpu", &CPU);
    renders.extend(score_renders(&EngineSpec::Cpu, "cpu", &CPU));
    let mut golden = Golden::default();
    match gpu() {
        Some(engine) => {
            renders.extend(note_renders(&engine, "gpu", &GPU));
            renders.extend(score_renders(&engine, "gpu", &GPU));
            golden.gpu_adapter = Some(adapter_of(&engine));
        }
        None => {
            eprintln!("golden: no GPU adapter: the committed GPU hashes are kept");
            golden.gpu_adapter = old.gpu_adapter;
            golden.hashes.extend(
                old.hashes
                    .iter()
                    .filter(|(k, _)| k.starts_with("gpu/"))
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
        }
    }
    for (name, buf) in &renders {
        let h = hash(buf);
        if old.hashes.get(name) != Some(&h) {
            eprintln!(
                "golden: {name}: {} -> {h}",
                old.hashes.get(name).map_or("(new)", String::as_str)
            );
        }
        assert!(
            golden.hashes.insert(name.clone(), h).is_none(),
            "{name} twice"
        );
    }
    write_golden(&golden);
    eprintln!(
        "golden: wrote {} hashes to {}",
        golden.hashes.len(),
        golden_path().display()
    );
}
