//! Real-time safety: the engine's block loop (rendering, voice starts,
//! parameter changes, excitations, releases, voice ends, worker threads)
//! performs no heap allocation or deallocation. A counting global allocator
//! counts every allocation in the process while the window is open.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use neirosynth::engine::voice::NoteRequest;
use neirosynth::engine::{Engine, EngineConfig};
use neirosynth::instrument::format::ExciteShape;
use neirosynth::instrument::Instrument;

struct Counting;
static WINDOW: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if WINDOW.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if WINDOW.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if WINDOW.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Thousands of blocks with voices starting, changing, being excited,
/// released, stolen and ending allocate nothing.
#[test]
fn block_loop_does_not_allocate() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good_small.json");
    let inst = Arc::new(Instrument::load(&p).unwrap());
    let mut cfg = EngineConfig::new(inst.max_buffer_len());
    cfg.threads = 2;
    cfg.max_voices = 6;
    let mut engine = Engine::new(cfg);
    // Plans are made on the control side, before the window.
    let plans: Vec<_> = (0..12)
        .map(|i| inst.plan(40.0 + 5.0 * i as f64, 2.0, 48000.0).unwrap())
        .collect();
    let mut retired = Vec::with_capacity(64);
    let (mut l, mut r) = (vec![0.0f32; 256], vec![0.0f32; 256]);
    engine.process(&mut l, &mut r);

    WINDOW.store(true, Ordering::SeqCst);
    for block in 0..3000usize {
        if block % 40 == 0 {
            let i = (block / 40) % plans.len();
            let id = engine.allocate_id();
            let req = NoteRequest::new(40.0 + 5.0 * i as f64, 0.7);
            let ((old, old_morph), _) = engine.start_voice(id, inst.clone(), plans[i], &req);
            for o in [old, old_morph].into_iter().flatten() {
                if retired.len() < retired.capacity() {
                    retired.push(o);
                }
            }
            if let Some(v) = engine.voice_mut(id) {
                v.set_pitch(41.0 + 5.0 * i as f64);
                v.set_pan(0.3);
                v.set_pickups([0.2, 0.3, 0.8, 0.7]);
                v.set_damping(2.0);
                v.excite(ExciteShape::Pluck, 0.4, 0.4, 0.5, 0.2);
            }
        }
        if block % 55 == 0 {
            for v in engine.voices_mut().iter_mut().take(2) {
                v.release();
            }
        }
        if block % 97 == 0 {
            if let Some(v) = engine.voices_mut().iter_mut().find(|v| v.is_active()) {
                v.free();
            }
        }
        engine.set_master_gain(if block % 2 == 0 { 0.9 } else { 1.0 });
        engine.process(&mut l, &mut r);
        let _ = engine.ended_voices().count();
    }
    WINDOW.store(false, Ordering::SeqCst);
    let n = ALLOCS.load(Ordering::SeqCst);
    assert!(l.iter().all(|v| v.is_finite()));
    assert_eq!(n, 0, "{n} allocations in the block loop");
}
