//! The voice circuit breaker: a voice whose output goes non-finite is cut
//! (its fault and its end reported), the other voices play on bit for bit,
//! the mix stays finite, and its slot starts clean for the next voice.

use std::path::Path;
use std::sync::Arc;

use neirosynth::engine::command::{EngineEvent, Timed};
use neirosynth::engine::voice::NoteRequest;
use neirosynth::engine::{ApplyCommands, CpuEngine, EngineConfig, VoiceEngine};
use neirosynth::instrument::Instrument;
use neirosynth::voice::output::VoiceFault;

const BLOCK: usize = 256;

fn instrument() -> Arc<Instrument> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good_small.json");
    Arc::new(Instrument::load(&p).unwrap())
}

fn engine(inst: &Instrument, voices: usize) -> CpuEngine {
    let mut cfg = EngineConfig::new(inst.max_buffer_len());
    cfg.threads = 1;
    cfg.max_voices = voices;
    CpuEngine::new(cfg)
}

fn start(e: &mut CpuEngine, inst: &Arc<Instrument>, id: i32, note: f64) {
    let plan = inst.plan(note, 2.0, 48000.0).unwrap();
    e.start_voice(id, inst.clone(), plan, &NoteRequest::new(note, 0.8));
}

/// One block through the scheduled path (events out).
fn block(e: &mut CpuEngine, events: &mut Vec<EngineEvent>) -> (Vec<f32>, Vec<f32>) {
    let (mut l, mut r) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    e.process_scheduled(&mut l, &mut r, events, |_| None::<Timed>);
    (l, r)
}

/// NaN in a running voice's mesh: the voice is cut and reported, the mix
/// stays finite, and once it is gone the mix equals a run without it, bit
/// for bit.
#[test]
fn a_faulty_voice_is_cut_and_the_rest_plays_on() {
    let inst = instrument();
    let (mut with, mut without) = (engine(&inst, 4), engine(&inst, 4));
    start(&mut with, &inst, 1, 48.0);
    start(&mut with, &inst, 2, 55.0);
    start(&mut with, &inst, 3, 60.0);
    start(&mut without, &inst, 1, 48.0);
    start(&mut without, &inst, 3, 60.0);
    let mut ev = Vec::new();
    let mut ev_ref = Vec::new();
    let mut ended_at = None;
    for b in 0..60 {
        if b == 10 {
            with.voice_mut(2).unwrap().simulate_fault();
        }
        let (l, r) = block(&mut with, &mut ev);
        let (l0, r0) = block(&mut without, &mut ev_ref);
        assert!(l.iter().chain(&r).all(|v| v.is_finite()), "block {b}");
        if ended_at.is_none() && ev.iter().any(|e| matches!(e, EngineEvent::VoiceEnded(2))) {
            ended_at = Some(b);
        }
        if let Some(e) = ended_at {
            if b > e {
                assert_eq!(l, l0, "block {b}: the others as without the faulty voice");
                assert_eq!(r, r0, "block {b}");
            }
        }
    }
    let ended = ended_at.expect("the faulty voice ended");
    assert!(
        ended <= 12,
        "cut within 5 ms + a period (ended in block {ended})"
    );
    let fault = ev
        .iter()
        .position(|e| matches!(e, EngineEvent::VoiceFault(2, VoiceFault::NonFinite)))
        .expect("the fault is reported");
    let end = ev
        .iter()
        .position(|e| matches!(e, EngineEvent::VoiceEnded(2)))
        .unwrap();
    assert!(fault < end, "the fault comes before the end");
    assert!(!ev
        .iter()
        .any(|e| matches!(e, EngineEvent::VoiceFault(1 | 3, _))));
    assert!(with.voice_mut(1).is_some() && with.voice_mut(3).is_some());
    assert!(with.voice_mut(2).is_none());
}

/// The faulted voice's slot starts clean: the next voice in it plays as in
/// a fresh engine, bit for bit.
#[test]
fn the_slot_of_a_faulted_voice_starts_clean() {
    let inst = instrument();
    let (mut used, mut fresh) = (engine(&inst, 1), engine(&inst, 1));
    let mut ev = Vec::new();
    start(&mut used, &inst, 1, 50.0);
    block(&mut used, &mut ev);
    used.voice_mut(1).unwrap().simulate_fault();
    for _ in 0..4 {
        block(&mut used, &mut ev);
    }
    assert!(used.voice_mut(1).is_none(), "cut");
    start(&mut used, &inst, 2, 57.0);
    start(&mut fresh, &inst, 2, 57.0);
    for b in 0..20 {
        let a = block(&mut used, &mut ev);
        let f = block(&mut fresh, &mut Vec::new());
        assert_eq!(a, f, "block {b}");
    }
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, EngineEvent::VoiceFault(..)))
            .count(),
        1
    );
}
