//! Steady-state allocation of the GPU engine's block loop (a counting
//! global allocator, as tests/no_alloc.rs): our side allocates nothing
//! (an idle engine's blocks, the hand-over to the CPU engine and the CPU
//! blocks after it count zero); wgpu's submission and mapping allocate a
//! bounded number of times per block, measured and printed here
//! (docs/architecture.md quotes it).
//!
//! Needs a Vulkan adapter (CI: lavapipe); without one it prints why and
//! passes locally, and fails under CI (`CI=true`, `common::tools::require`).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use neirosynth::engine::command::EngineEvent;
use neirosynth::engine::voice::NoteRequest;
use neirosynth::engine::{CpuEngine, EngineConfig, VoiceEngine};
use neirosynth::gpu::{bank_floats, GpuContext, GpuEngine};
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

/// Allocations (not frees: wgpu frees on other threads' behalf too) made
/// while `f` runs on this thread's watch.
fn count(f: impl FnOnce()) -> usize {
    ALLOCS.store(0, Ordering::Relaxed);
    WINDOW.store(true, Ordering::Relaxed);
    f();
    WINDOW.store(false, Ordering::Relaxed);
    ALLOCS.load(Ordering::Relaxed)
}

/// Idle blocks allocate nothing; blocks with voices allocate only inside
/// wgpu (bounded per block); the failover path (hand-over to the CPU
/// engine, CPU blocks after it) allocates nothing.
#[test]
fn gpu_block_loop_allocations() {
    for (k, v) in [("LP_NUM_THREADS", "2"), ("XDG_RUNTIME_DIR", "/tmp")] {
        if std::env::var_os(k).is_none() {
            std::env::set_var(k, v);
        }
    }
    let ctx = match GpuContext::new(true) {
        Ok(c) => c,
        Err(e) => {
            common::tools::require(
                false,
                &format!("a Vulkan adapter ({e})"),
                "apt-get install mesa-vulkan-drivers libvulkan1 (lavapipe), or scripts/install-deps.sh",
            );
            return;
        }
    };
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good_small.json");
    let inst = Arc::new(Instrument::load(&p).unwrap());
    let mut cfg = EngineConfig::new(inst.max_buffer_len());
    cfg.threads = 1;
    cfg.max_voices = 4;
    let mut g = GpuEngine::new(ctx, cfg, bank_floats([&inst])).unwrap();
    g.load(&inst).unwrap();
    g.set_pipelined(true);
    let (mut l, mut r) = (vec![0.0f32; 256], vec![0.0f32; 256]);
    for _ in 0..4 {
        g.process(&mut l, &mut r);
    }
    let idle = count(|| {
        for _ in 0..20 {
            g.process(&mut l, &mut r);
        }
    });
    assert_eq!(idle, 0, "idle GPU blocks allocated {idle} times");

    let plans: Vec<_> = [45.0, 52.0]
        .iter()
        .map(|&n| inst.plan(n, 2.0, 48000.0).unwrap())
        .collect();
    for (i, plan) in plans.iter().enumerate() {
        g.start_voice(
            i as i32 + 1,
            inst.clone(),
            *plan,
            &NoteRequest::new(45.0, 0.8),
        );
    }
    for _ in 0..8 {
        g.process(&mut l, &mut r);
    }
    let blocks = 50;
    let busy = count(|| {
        for _ in 0..blocks {
            g.process(&mut l, &mut r);
        }
    });
    let per_block = busy as f64 / blocks as f64;
    eprintln!(
        "GPU engine on {}: {per_block:.1} allocations per block (2 voices, pipelined), all inside wgpu",
        g.adapter()
    );
    assert!(per_block > 0.0, "wgpu is expected to allocate per submit");
    assert!(
        per_block < 250.0,
        "{per_block} allocations per block: more than wgpu's known per-submit cost"
    );

    // The failover path on the engine thread allocates nothing.
    let mut cpu = CpuEngine::new(cfg);
    let mut events: Vec<EngineEvent> = Vec::with_capacity(64);
    g.simulate_failure_after(0);
    g.process(&mut l, &mut r);
    assert!(g.failure().is_some());
    let mut restarted = 0;
    let failover = count(|| {
        restarted = g.hand_over(&mut cpu, &mut events);
        for _ in 0..20 {
            cpu.process(&mut l, &mut r);
        }
    });
    assert_eq!(restarted, 2);
    assert!(l.iter().any(|v| *v != 0.0), "the CPU engine plays on");
    assert_eq!(failover, 0, "the hand-over allocated {failover} times");
}
