//! Presets: `/preset/save`, `/preset/list`, `/preset/recall`,
//! `/preset/delete` through the router, kept on disk and read back by a
//! new router (a server restart), a corrupt file skipped; and a recall
//! over 1 s rendered on the CPU engine, measured click free.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use neirosynth::control::command::{ModShape, VoiceParam};
use neirosynth::engine::command::{EngineCommand, EngineEvent};
use neirosynth::engine::{ApplyCommands, CpuEngine, EngineConfig};
use neirosynth::instrument::bank::Bank;
use neirosynth::server::midi_map::MidiMap;
use neirosynth::server::preset_store::PresetStore;
use neirosynth::server::router::{Output, Router, RouterConfig};
use rosc::{OscMessage, OscType};

const RATE: f64 = 48000.0;

fn bank() -> Bank {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("instruments");
    let inst = Bank::load_file(&dir.join("string.json")).unwrap();
    Bank {
        dir,
        instruments: vec![Arc::new(inst)],
    }
}

fn router(presets: PresetStore) -> Router {
    let cfg = RouterConfig {
        sample_rate: RATE,
        block: 256,
        voices: 8,
        bend_headroom: 2.0,
        allow_quit: false,
        fixed_reply: None,
        engine: neirosynth::control::reply::EngineKind::Cpu,
        voice_capacity: 1 << 16,
        first_picked_id: 1,
    };
    Router::standalone(bank(), cfg, MidiMap::default()).with_presets(presets)
}

fn from() -> SocketAddr {
    "127.0.0.1:9".parse().unwrap()
}

/// Parses `"/addr arg arg..."` (numbers as floats, like Pd and TouchDesigner send).
fn osc(text: &str) -> OscMessage {
    let mut parts = text.split_whitespace();
    let addr = parts.next().unwrap().to_owned();
    let args = parts
        .map(|a| match a.parse::<f32>() {
            Ok(v) => OscType::Float(v),
            Err(_) => OscType::String(a.to_owned()),
        })
        .collect();
    OscMessage { addr, args }
}

/// Routes one message; its replies (address and arguments, as text) and
/// engine commands.
fn send(r: &mut Router, text: &str) -> (Vec<String>, Vec<EngineCommand>) {
    let mut out = Output::default();
    r.handle(&osc(text), from(), None, &mut out);
    let replies = out
        .replies
        .iter()
        .map(|(_, m)| {
            let args: Vec<String> = m
                .args
                .iter()
                .map(|a| match a {
                    OscType::String(s) => s.clone(),
                    OscType::Int(i) => i.to_string(),
                    OscType::Float(f) => f.to_string(),
                    other => format!("{other:?}"),
                })
                .collect();
            format!("{} {}", m.addr, args.join(" ")).trim().to_owned()
        })
        .collect();
    (
        replies,
        out.commands.into_iter().map(|t| t.command).collect(),
    )
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("neirosynth-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Save → list → recall through the router; the preset survives a
/// restart (a new router over the same folder), a corrupt file there is
/// reported and skipped, and delete removes the file.
#[test]
fn save_list_recall_and_restart_from_disk() {
    let dir = temp_dir("presets");
    let (store, skipped) = PresetStore::open(&dir).unwrap();
    assert!(skipped.is_empty() && store.names().count() == 0);
    let mut r = router(store);
    send(&mut r, "/voice/new 5 string 50 0.8 gain 0.5 pan -0.3");
    send(&mut r, "/voice/set 5 pitch 51.5 damping 2");
    send(&mut r, "/pickup 5 0.1 0 0.9 0");
    send(&mut r, "/voice/mod 5 pan triangle 3 0.2");
    send(&mut r, "/master/gain 0.7");
    let (replies, _) = send(&mut r, "/preset/save warm 5");
    assert_eq!(replies, ["/done /preset/save warm"]);
    assert!(dir.join("warm.json").is_file());
    assert_eq!(
        send(&mut r, "/preset/list").0,
        ["/preset/list.reply 1 warm"]
    );

    // A restart: a corrupt file beside it is reported and skipped.
    std::fs::write(dir.join("broken.json"), "{ not json").unwrap();
    drop(r);
    let (store, skipped) = PresetStore::open(&dir).unwrap();
    assert_eq!(skipped.len(), 1);
    assert!(
        skipped[0].to_string().contains("broken.json"),
        "{}",
        skipped[0]
    );
    let mut r = router(store);
    assert_eq!(
        send(&mut r, "/preset/list").0,
        ["/preset/list.reply 1 warm"]
    );

    send(&mut r, "/voice/new 9 string 45 0.5");
    let (replies, cmds) = send(&mut r, "/preset/recall warm 9 1.0");
    assert_eq!(replies, ["/done /preset/recall warm"]);
    let glide = |p: VoiceParam| {
        cmds.iter().find_map(|c| match c {
            EngineCommand::SetOver {
                id: 9,
                param,
                value,
                seconds,
            } if *param == p => Some((*value, *seconds)),
            _ => None,
        })
    };
    assert_eq!(glide(VoiceParam::Gain), Some((0.5, 1.0)));
    assert!((glide(VoiceParam::Pan).unwrap().0 + 0.3).abs() < 1e-6);
    assert_eq!(glide(VoiceParam::Damping), Some((2.0, 1.0)));
    assert!((glide(VoiceParam::PickupLx).unwrap().0 - 0.1).abs() < 1e-6);
    // Pitch is stored as the bend (51.5 − 50): voice 9 plays 45.
    assert_eq!(glide(VoiceParam::Pitch), Some((46.5, 1.0)));
    assert!(cmds.iter().any(|c| matches!(c,
        EngineCommand::Modulate { id: 9, spec } if spec.param == VoiceParam::Pan
            && spec.shape == ModShape::Triangle && spec.rate == 3.0)));
    assert!(cmds.iter().any(|c| matches!(c,
        EngineCommand::MasterGainOver { gain, seconds } if *gain == 0.7 && *seconds == 1.0)));

    // Every voice of an instrument; at once (smoothed sets).
    send(&mut r, "/voice/new 10 string 47 0.5");
    let (replies, cmds) = send(&mut r, "/preset/recall warm string");
    assert_eq!(replies, ["/done /preset/recall warm"]);
    for id in [9, 10] {
        assert!(cmds.iter().any(|c| matches!(c,
            EngineCommand::Set { id: i, param: VoiceParam::Gain, value } if *i == id && *value == 0.5)));
    }

    // Refusals change nothing and say why.
    assert_eq!(
        send(&mut r, "/preset/recall nope 9").0,
        ["/fail /preset/recall unknown preset `nope`"]
    );
    assert_eq!(
        send(&mut r, "/preset/recall warm 77").0,
        ["/fail /preset/recall unknown voice 77"]
    );
    assert!(send(&mut r, "/preset/save ../up 9").0[0]
        .starts_with("/fail /preset/save argument 1 (name)"));
    for p in ["gain", "pan", "pitch", "damping"] {
        send(&mut r, &format!("/voice/mod 10 {p} sine 1 0.1"));
    }
    assert_eq!(
        send(&mut r, "/voice/mod 10 morph sine 1 0.1").0,
        ["/fail /voice/mod voice 10 has 4 modulators already; clear one first (/voice/mod/clear)"]
    );

    assert_eq!(
        send(&mut r, "/preset/delete warm").0,
        ["/done /preset/delete warm"]
    );
    assert!(!dir.join("warm.json").exists());
    assert_eq!(send(&mut r, "/preset/list").0, ["/preset/list.reply 0"]);
    assert_eq!(
        send(&mut r, "/preset/delete warm").0,
        ["/fail /preset/delete unknown preset `warm`"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The server itself: `serve --preset-dir DIR` saves a preset there,
/// and a new server on the same folder lists and recalls it (an
/// unreadable file beside it is skipped, the server runs).
#[test]
fn server_keeps_presets_in_its_folder_across_a_restart() {
    use common::server::{f, i, s, Server};
    let dir = temp_dir("server-presets");
    let flag = dir.to_str().unwrap().to_owned();
    {
        let srv = Server::start("presets-a", &["--preset-dir", &flag]);
        let c = srv.client();
        c.send(
            "/voice/new",
            vec![i(3), s("small"), f(50.0), f(0.8), s("gain"), f(0.6)],
        );
        let done = c.ask("/preset/save", vec![s("soft"), i(3)], "/done");
        assert_eq!(done.args, vec![s("/preset/save"), s("soft")]);
    }
    assert!(dir.join("soft.json").is_file());
    std::fs::write(dir.join("junk.json"), "[1, 2").unwrap();
    let srv = Server::start("presets-b", &["--preset-dir", &flag]);
    let c = srv.client();
    let list = c.ask("/preset/list", vec![], "/preset/list.reply");
    assert_eq!(list.args, vec![i(1), s("soft")]);
    c.send("/voice/new", vec![i(4), s("small"), f(52.0), f(0.8)]);
    let done = c.ask("/preset/recall", vec![s("soft"), i(4), f(0.5)], "/done");
    assert_eq!(done.args, vec![s("/preset/recall"), s("soft")]);
    c.expect_fail("/preset/recall", vec![s("gone"), i(4)], "unknown preset");
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A router and a CPU engine, rendering what the router sends.
struct Session {
    router: Router,
    engine: CpuEngine,
    left: Vec<f32>,
    right: Vec<f32>,
}

impl Session {
    fn new() -> Self {
        let router = router(PresetStore::in_memory());
        let inst = router.bank.instruments[0].clone();
        let mut cfg = EngineConfig::new(inst.max_buffer_len());
        cfg.threads = 1;
        Self {
            router,
            engine: CpuEngine::new(cfg),
            left: Vec::new(),
            right: Vec::new(),
        }
    }
    fn send(&mut self, text: &str) -> Vec<String> {
        let (replies, cmds) = send(&mut self.router, text);
        let mut ev: Vec<EngineEvent> = Vec::new();
        for c in cmds {
            self.engine.apply(c, &mut ev);
        }
        replies
    }
    fn render(&mut self, seconds: f64) {
        let n = (seconds * RATE) as usize;
        let (mut l, mut r) = (vec![0.0f32; 256], vec![0.0f32; 256]);
        let mut ev: Vec<EngineEvent> = Vec::new();
        let mut done = 0;
        while done < n {
            let m = (n - done).min(256);
            self.engine
                .process_scheduled(&mut l[..m], &mut r[..m], &mut ev, |_| None);
            self.left.extend_from_slice(&l[..m]);
            self.right.extend_from_slice(&r[..m]);
            done += m;
        }
    }
}

/// The gain the output applied at each sample of `a..b` s: `out / reference`
/// where the reference (the same mesh output at a known constant gain,
/// `ref_gain`) is not near a zero crossing; `None` elsewhere.
fn applied_gain(out: &[f32], reference: &[f32], ref_gain: f64, a: f64, b: f64) -> Vec<Option<f64>> {
    let (i0, i1) = ((a * RATE) as usize, (b * RATE) as usize);
    let rms = (reference[i0..i1]
        .iter()
        .map(|&v| (v as f64).powi(2))
        .sum::<f64>()
        / (i1 - i0) as f64)
        .sqrt();
    (i0..i1)
        .map(|i| {
            let r = reference[i] as f64;
            (r.abs() > 0.3 * rms).then(|| ref_gain * out[i] as f64 / r)
        })
        .collect()
}

/// The largest change of the applied gain from one sample to the next
/// (over pairs of samples where both are known).
fn largest_step(g: &[Option<f64>]) -> f64 {
    g.windows(2)
        .filter_map(|w| Some((w[1]? - w[0]?).abs()))
        .fold(0.0, f64::max)
}

/// A preset recalled over 1 s glides there sample by sample. Gain, pan
/// and master gain act after the mesh, so the mesh's output is the same
/// as in a reference render that never changes them: the ratio of the two
/// is the gain applied to each sample. During the recall it moves by at
/// most 1.5× the steepest slope of the linear glide per sample (a click, a
/// switched gain, would be a step of the whole change, ~100× that), starts
/// at the state before and ends at the preset's.
#[test]
fn recall_over_one_second_is_click_free() {
    let start = |s: &mut Session| {
        s.send("/voice/new 1 string 45 0.8");
        s.send("/excite 1 0.12 0 0.8 bow");
        s.send("/voice/set 1 gain 1 pan -0.5");
    };
    let mut reference = Session::new();
    start(&mut reference);
    reference.render(3.5);

    let mut s = Session::new();
    start(&mut s);
    s.render(1.0);
    assert_eq!(s.send("/preset/save a 1"), ["/done /preset/save a"]);
    s.send("/voice/set 1 gain 0.3 pan 0.6");
    s.send("/master/gain 0.5");
    s.render(1.0);
    assert_eq!(s.send("/preset/recall a 1 1"), ["/done /preset/recall a"]);
    s.render(1.5);

    // The pan law (√2·cos θ, √2·sin θ, θ = (pan + 1)·π/4) at the reference's pan.
    let law = |pan: f64| {
        let th = (pan + 1.0) * std::f64::consts::FRAC_PI_4;
        (2f64.sqrt() * th.cos(), 2f64.sqrt() * th.sin())
    };
    let (ref_l, ref_r) = law(-0.5);
    let (b_l, b_r) = law(0.6);
    for (name, out, refer, ref_gain, from, to) in [
        (
            "left",
            &s.left,
            &reference.left,
            ref_l,
            0.3 * 0.5 * b_l,
            ref_l,
        ),
        (
            "right",
            &s.right,
            &reference.right,
            ref_r,
            0.3 * 0.5 * b_r,
            ref_r,
        ),
    ] {
        let g = applied_gain(out, refer, ref_gain, 1.9, 3.5);
        let known = |t: f64| {
            let i = ((t - 1.9) * RATE) as usize;
            let w: Vec<f64> = g[i..i + 480].iter().flatten().copied().collect();
            w.iter().sum::<f64>() / w.len() as f64
        };
        // The glide's steepest slope per sample: the voice's gain (pan law
        // included, each within its range) and the master's, both linear
        // in time over the second.
        let slope = ((to - from).abs() + 0.5 * ref_gain.max(from / 0.5)) / RATE;
        let step = largest_step(&g);
        println!(
            "{name}: applied gain {:.4} before, {:.4} half-way, {:.4} after (preset {to:.4}); largest step {step:.2e} per sample, glide slope {slope:.2e}",
            known(1.95),
            known(2.5),
            known(3.3)
        );
        assert!((known(1.95) - from).abs() < 0.01 * from, "{name}: before");
        assert!((known(3.3) - to).abs() < 0.01 * to, "{name}: after");
        assert!(
            step <= 1.5 * slope,
            "{name}: a step of {step} > 1.5 × {slope}"
        );
        let mid = known(2.5);
        assert!(mid > from.min(to) && mid < from.max(to), "{name}: half-way");
    }
}
