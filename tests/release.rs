//! `/voice/release` on every instrument raises damping, and a released
//! voice ends within 10 s, or within the longer time its instrument states
//! (its release T60), never after 30 s: measured by rendering through the
//! CPU engine as the server plays notes (`note_request`).

use std::path::Path;
use std::sync::Arc;

use neirosynth::engine::{CpuEngine, EngineConfig, VoiceEngine};
use neirosynth::instrument::bank::Bank;
use neirosynth::instrument::{Instrument, ReleaseSpec, MAX_RELEASE_LIMIT, RELEASE_LIMIT};

const RATE: f64 = 48000.0;
const BLOCK: usize = 256;

/// Plays `note` at velocity 1 (gain `gain`), releases it after
/// `hold_s` (never, when `None`) and renders until it ends or `max_s`
/// passes. Returns (seconds from the release to the end, if it ended; RMS
/// of the 100 ms that start `probe_s` after the release time).
fn play(
    inst: &Arc<Instrument>,
    note: f64,
    gain: f32,
    hold_s: f64,
    release: bool,
    max_s: f64,
    probe_s: f64,
) -> (Option<f64>, f64) {
    let mut cfg = EngineConfig::new(inst.max_buffer_len());
    cfg.threads = 1;
    cfg.max_block = BLOCK;
    let mut e = CpuEngine::new(cfg);
    let plan = inst.plan(note, 0.0, RATE).unwrap();
    let mut req = inst.note_request(note, 1.0);
    req.gain *= gain;
    e.start_voice(1, inst.clone(), plan, &req);
    let (mut l, mut r) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    let release_block = (hold_s * RATE / BLOCK as f64).round() as usize;
    let probe = (
        ((hold_s + probe_s) * RATE / BLOCK as f64) as usize,
        ((hold_s + probe_s + 0.1) * RATE / BLOCK as f64) as usize,
    );
    let (mut energy, mut n) = (0.0f64, 0usize);
    for b in 0..(max_s * RATE / BLOCK as f64) as usize {
        if b == release_block && release {
            e.voice_mut(1).unwrap().release();
        }
        e.process(&mut l, &mut r);
        if (probe.0..probe.1).contains(&b) {
            energy += l.iter().chain(&r).map(|&v| (v as f64).powi(2)).sum::<f64>();
            n += 2 * BLOCK;
        }
        if e.ended_voices().any(|id| id == 1) {
            let at = (b + 1) as f64 * BLOCK as f64 / RATE - hold_s;
            return (Some(at), (energy / n.max(1) as f64).sqrt());
        }
    }
    (None, (energy / n.max(1) as f64).sqrt())
}

fn db(ratio: f64) -> f64 {
    20.0 * ratio.max(1e-30).log10()
}

/// Every shipped instrument, played at its reference note and released
/// after 0.3 s: 0.3 s after the release it is at least 10 dB quieter than
/// the same note held (damping raised: also the bell and the plate, whose
/// files state no release), and it ends within its release limit (10 s for
/// the shipped bank; before this, the bell rang 38 s and the plate 20 s).
#[test]
fn every_shipped_instrument_releases_and_ends_in_time() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("instruments");
    let (bank, errors) = Bank::load_dir(&dir).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let mut report = Vec::new();
    for inst in &bank.instruments {
        let note = inst.file.reference_note;
        let limit = inst.release().limit;
        assert!(
            (RELEASE_LIMIT..=MAX_RELEASE_LIMIT).contains(&limit),
            "{}: limit {limit}",
            inst.name()
        );
        let (ended, released) = play(inst, note, 1.0, 0.3, true, 0.3 + limit + 0.5, 0.3);
        let (_, held) = play(inst, note, 1.0, 0.3, false, 0.75, 0.3);
        let ended = ended.unwrap_or_else(|| {
            panic!(
                "{}: still sounding {limit} s after the release",
                inst.name()
            )
        });
        report.push(format!(
            "{}: ends {ended:.2} s after release (limit {limit:.1} s), {:.1} dB below held",
            inst.name(),
            db(held / released)
        ));
        assert!(ended <= limit + 0.05, "{}", report.last().unwrap());
        // Where the held note is still clearly audible, the release must be
        // well below it.
        if db(held) > -80.0 {
            assert!(db(held / released) >= 10.0, "{}", report.last().unwrap());
        }
    }
    eprintln!("{}", report.join("\n"));
}

/// The small fixture with its σ₀ map set to `sigma0` and its release T60
/// stated as `release_t60` (or absent).
fn small(sigma0: f64, release_t60: Option<f64>) -> Arc<Instrument> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good_small.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    v["maps"]["sigma0"] = serde_json::json!(sigma0);
    v["physics"]["sigma1"] = serde_json::json!(0.0);
    match release_t60 {
        Some(t) => v["physics"]["release_t60"] = serde_json::json!(t),
        None => {
            v["physics"].as_object_mut().unwrap().remove("release_t60");
        }
    }
    Arc::new(Instrument::from_json(&v.to_string(), "release-test").unwrap())
}

/// A file without a release gets the default one (1 s T60, 10 s limit); a
/// stated T60 gives the time it takes to fall 100 dB, within 10..30 s.
#[test]
fn release_spec_follows_the_file() {
    assert_eq!(small(0.0, None).release(), ReleaseSpec::new(None));
    let default = ReleaseSpec::new(None);
    assert_eq!((default.t60, default.limit), (1.0, RELEASE_LIMIT));
    let long = ReleaseSpec::new(Some(12.0));
    assert!((long.limit - (12.0 * 100.0 / 60.0 + 0.5)).abs() < 1e-9);
    let capped = ReleaseSpec::new(Some(60.0));
    assert!(capped.limit <= MAX_RELEASE_LIMIT && capped.t60 < 60.0);
    assert_eq!(ReleaseSpec::new(Some(0.2)).limit, RELEASE_LIMIT);
}

/// A lossless body (σ₀ = σ₁ = 0) with no stated release still ends: the
/// default release damping alone takes it below the end threshold.
#[test]
fn a_lossless_body_ends_after_release() {
    let inst = small(0.0, None);
    // Held, it would ring for ever.
    let (ended, held) = play(&inst, 50.0, 1.0, 0.3, false, 3.0, 2.0);
    assert!(
        ended.is_none() && db(held) > -60.0,
        "held: {:.1} dB",
        db(held)
    );
    let (ended, _) = play(&inst, 50.0, 1.0, 0.3, true, 12.0, 2.0);
    let ended = ended.expect("ends within the 10 s limit");
    assert!(ended < RELEASE_LIMIT, "ended {ended:.2} s after release");
}

/// A very loud voice of an instrument that states a long release (17 s T60,
/// too slow to fall 100 dB in time when played 20 dB hot) is faded out at its limit,
/// 28.8 s, before the 30 s bound: the limit, not the decay, ends it. (Its
/// gain stays under the circuit breaker's runaway bound, +40 dBFS, which
/// would otherwise cut it at once.)
#[test]
fn the_release_limit_ends_what_still_sounds() {
    let inst = small(0.0, Some(17.0));
    let limit = inst.release().limit;
    assert!(limit > 28.0 && limit <= MAX_RELEASE_LIMIT, "{limit}");
    let (ended, _) = play(&inst, 50.0, 10.0, 0.3, true, 31.0, 1.0);
    let ended = ended.expect("ended before the 30 s bound");
    assert!(
        (limit - 0.1..=limit + 0.05).contains(&ended),
        "ended {ended:.2} s after release, limit {limit:.2} s"
    );
}
