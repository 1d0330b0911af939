//! The engine: block rendering equals single-sample rendering, rendering is
//! deterministic (also across thread counts), voices end by themselves.

use std::path::Path;
use std::sync::Arc;

use neirosynth::engine::voice::NoteRequest;
use neirosynth::engine::{CpuEngine, EngineConfig, VoiceEngine};
use neirosynth::instrument::format::ExciteShape;
use neirosynth::instrument::Instrument;

fn small() -> Arc<Instrument> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good_small.json");
    Arc::new(Instrument::load(&p).unwrap())
}

/// Renders a scripted performance: three voices, then parameter changes,
/// an extra excitation and a release at frame `CHANGE` (a multiple of every
/// block size used).
fn perform(block: usize, threads: usize, frames: usize) -> (Vec<f32>, Vec<f32>) {
    perform_with(block, threads, frames, true)
}

/// [`perform`] with fused two-step sweeps on or off.
fn perform_with(block: usize, threads: usize, frames: usize, fused: bool) -> (Vec<f32>, Vec<f32>) {
    const CHANGE: usize = 9472; // 37 × 256
    let inst = small();
    let mut cfg = EngineConfig::new(inst.max_buffer_len());
    cfg.max_block = block;
    cfg.threads = threads;
    cfg.max_voices = 4;
    let mut e = CpuEngine::new(cfg);
    for v in e.voices_mut() {
        v.set_fused_steps(fused);
    }
    for (i, note) in [50.0, 57.0, 91.5].into_iter().enumerate() {
        let plan = inst.plan(note, 2.0, 48000.0).unwrap();
        let mut req = NoteRequest::new(note, 0.3 + 0.2 * i as f32);
        req.pan = -0.5 + 0.5 * i as f32;
        req.delay_frames = 100 * i;
        e.start_voice(i as i32 + 1, inst.clone(), plan, &req);
    }
    let (mut l, mut r) = (vec![0.0; frames], vec![0.0; frames]);
    let mut pos = 0;
    while pos < frames {
        if pos == CHANGE {
            let v = e.voice_mut(1).unwrap();
            v.set_pitch(51.5);
            v.set_gain(0.5);
            v.set_pickups([0.6, 0.2, 0.1, 0.9]);
            v.excite(ExciteShape::Noise, 0.7, 0.7, 0.5, 0.2);
            e.voice_mut(2).unwrap().set_damping(3.0);
            e.voice_mut(3).unwrap().release();
        }
        let n = block.min(frames - pos);
        e.process(&mut l[pos..pos + n], &mut r[pos..pos + n]);
        pos += n;
    }
    (l, r)
}

/// Blocks of 1, 37 and 256 frames give bit-identical output, parameter
/// smoothing included (control runs on a fixed 32-sample period).
#[test]
fn block_rendering_equals_single_sample_rendering() {
    let frames = 20000;
    let one = perform(1, 1, frames);
    assert!(
        one.0.iter().any(|v| v.abs() > 1e-3),
        "the performance is audible"
    );
    for block in [37, 256] {
        let b = perform(block, 1, frames);
        assert!(
            one == b,
            "block {block} differs from single-sample rendering"
        );
    }
}

/// Fused two-step sweeps (the default) and single steps give bit-identical
/// output, through strikes, noise bursts, pitch, damping and pickup moves,
/// and oversampled notes.
#[test]
fn fused_steps_equal_single_steps() {
    let frames = 20000;
    let fused = perform_with(256, 1, frames, true);
    let single = perform_with(256, 1, frames, false);
    assert!(fused.0.iter().any(|v| v.abs() > 1e-3));
    assert!(fused == single, "fused sweeps differ from single steps");
}

/// The same performance renders identically twice, and with 1 or 3 threads.
#[test]
fn rendering_is_deterministic() {
    let a = perform(256, 1, 12000);
    let b = perform(256, 1, 12000);
    let c = perform(256, 3, 12000);
    assert!(a == b);
    assert!(a == c, "threaded rendering differs");
}

/// A struck voice decays, ends by itself and frees its slot.
#[test]
fn voices_end_when_inaudible() {
    let inst = small();
    let mut cfg = EngineConfig::new(inst.max_buffer_len());
    cfg.threads = 1;
    let mut e = CpuEngine::new(cfg);
    let plan = inst.plan(60.0, 0.0, 48000.0).unwrap();
    e.start_voice(7, inst.clone(), plan, &NoteRequest::new(60.0, 1.0));
    e.voice_mut(7).unwrap().release();
    let (mut l, mut r) = (vec![0.0; 256], vec![0.0; 256]);
    let mut ended_at = None;
    for b in 0..2000 {
        e.process(&mut l, &mut r);
        if e.ended_voices().any(|id| id == 7) {
            ended_at = Some(b);
            break;
        }
    }
    let b = ended_at.expect("voice ended within 10 s");
    assert!(b > 10, "ended too early ({b} blocks)");
    assert_eq!(e.active_voices(), 0);
}

/// With every slot busy a new note steals the oldest voice, counted.
#[test]
fn stealing_takes_the_oldest_voice() {
    let inst = small();
    let mut cfg = EngineConfig::new(inst.max_buffer_len());
    cfg.threads = 1;
    cfg.max_voices = 2;
    let mut e = CpuEngine::new(cfg);
    let plan = inst.plan(60.0, 0.0, 48000.0).unwrap();
    let (mut l, mut r) = (vec![0.0; 256], vec![0.0; 256]);
    for id in 1..=3 {
        e.start_voice(id, inst.clone(), plan, &NoteRequest::new(60.0, 0.5));
        e.process(&mut l, &mut r);
    }
    assert_eq!(e.stats().stolen, 1);
    e.process(&mut l, &mut r);
    assert!(
        e.voice_mut(1).is_none(),
        "the oldest voice was stolen (after its 5 ms fade)"
    );
    assert!(e.voice_mut(2).is_some() && e.voice_mut(3).is_some());
    assert_eq!(e.active_voices(), 2);
}

/// A stolen voice fades out instead of being cut: the output has no jump
/// larger than the signal's own sample-to-sample movement.
#[test]
fn stealing_does_not_click() {
    let inst = small();
    let mut cfg = EngineConfig::new(inst.max_buffer_len());
    cfg.threads = 1;
    cfg.max_voices = 1;
    cfg.max_block = 64;
    let mut e = CpuEngine::new(cfg);
    let plan = inst.plan(50.0, 0.0, 48000.0).unwrap();
    let (mut l, mut r) = (vec![0.0; 64], vec![0.0; 64]);
    e.start_voice(1, inst.clone(), plan, &NoteRequest::new(50.0, 1.0));
    let mut out = Vec::new();
    for _ in 0..40 {
        e.process(&mut l, &mut r);
        out.extend_from_slice(&l);
    }
    let tail = &out[out.len() / 2..];
    let max_step = tail
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0f32, f32::max);
    assert!(
        tail.last().unwrap().abs() > 4.0 * max_step,
        "the test needs a sample far from zero to see a cut"
    );
    // Steal with a quiet note: the old voice's level must not jump to zero.
    let mut soft = NoteRequest::new(50.0, 0.0);
    soft.gain = 0.0;
    e.start_voice(2, inst.clone(), plan, &soft);
    let last = *out.last().unwrap();
    e.process(&mut l, &mut r);
    assert!(
        (l[0] - last).abs() <= 2.0 * max_step,
        "jump {} at the steal (signal steps up to {max_step})",
        (l[0] - last).abs()
    );
    assert_eq!(e.stats().stolen, 1);
}
