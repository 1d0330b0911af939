//! Real-time safety: the engine's block loop (rendering, voice starts,
//! parameter changes, excitations, releases, voice ends, worker threads)
//! performs no heap allocation or deallocation. A counting global allocator
//! counts every allocation in the process while the window is open. The
//! master limiter and the voices' circuit breaker run inside the window,
//! and so do modulators (every shape, set, replaced and cleared), timed
//! glides (a preset's recall) and master gain glides.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use neirosynth::engine::voice::NoteRequest;
use neirosynth::engine::{ApplyCommands, CpuEngine, EngineConfig, VoiceEngine};
use neirosynth::instrument::format::ExciteShape;
use neirosynth::instrument::Instrument;
use neirosynth::master::Limiter;
use neirosynth::types::{ModShape, ModSpec, VoiceParam};

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
    let mut engine = CpuEngine::new(cfg);
    // Plans are made on the control side, before the window.
    let plans: Vec<_> = (0..12)
        .map(|i| inst.plan(40.0 + 5.0 * i as f64, 2.0, 48000.0).unwrap())
        .collect();
    let mut retired = Vec::with_capacity(64);
    let (mut l, mut r) = (vec![0.0f32; 256], vec![0.0f32; 256]);
    engine.process(&mut l, &mut r);
    // The server's master limiter runs on every block too.
    let mut limiter = Limiter::new(48000.0);

    WINDOW.store(true, Ordering::SeqCst);
    for block in 0..3000usize {
        if block % 40 == 0 {
            let i = (block / 40) % plans.len();
            let id = engine.allocate_id();
            let mut req = NoteRequest::new(40.0 + 5.0 * i as f64, 0.7);
            // Every third voice starts bowed.
            if i % 3 == 0 {
                req.excite = Some((ExciteShape::Bow, 0.3, 0.5));
            }
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
                v.set_bow_force(0.6);
                v.set_bow_velocity(0.2);
                if i % 3 == 1 {
                    v.excite(ExciteShape::Bow, 0.6, 0.4, 0.8, 0.1);
                }
                // Modulators on four parameters, every shape in turn.
                for (k, param) in [
                    VoiceParam::Pan,
                    VoiceParam::Pitch,
                    VoiceParam::PickupLx,
                    VoiceParam::Damping,
                ]
                .into_iter()
                .enumerate()
                {
                    let _ = v.modulate(ModSpec {
                        param,
                        shape: ModShape::ALL[(i + k) % ModShape::ALL.len()],
                        rate: 3.0 + k as f32,
                        depth: 0.3,
                        phase: None,
                    });
                }
                // A preset's timed recall.
                v.set_over(VoiceParam::Gain, 0.8, 0.5);
                v.set_over(VoiceParam::PickupRy, 0.4, 0.5);
                v.set_over(VoiceParam::Morph, 0.0, 0.5);
            }
        }
        if block % 40 == 20 {
            for v in engine.voices_mut().iter_mut().filter(|v| v.is_active()) {
                // Replaced with another shape (a cross-fade), then one cleared.
                let _ = v.modulate(ModSpec {
                    param: VoiceParam::Pan,
                    shape: ModShape::Square,
                    rate: 7.0,
                    depth: 0.5,
                    phase: Some(0.25),
                });
                v.unmodulate(Some(VoiceParam::Damping));
            }
        }
        if block % 200 == 100 {
            engine.set_master_gain_over(0.7, 0.3);
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
        // Now and then a voice's circuit breaker trips (NaN in its mesh).
        if block % 500 == 250 {
            if let Some(v) = engine.voices_mut().iter_mut().find(|v| v.is_active()) {
                v.simulate_fault();
            }
        }
        if block % 200 < 100 {
            engine.set_master_gain(if block % 2 == 0 { 0.9 } else { 1.0 });
        }
        engine.process(&mut l, &mut r);
        // Loud now and then, so the limiter reduces gain and releases.
        let boost = if block % 300 < 20 { 8.0 } else { 1.0 };
        l.iter_mut().chain(r.iter_mut()).for_each(|v| *v *= boost);
        limiter.process(&mut l, &mut r);
        let _ = (limiter.reduction_db(), limiter.take_peak_reduction_db());
        let _ = engine.ended_voices().count();
    }
    WINDOW.store(false, Ordering::SeqCst);
    let n = ALLOCS.load(Ordering::SeqCst);
    assert!(l.iter().all(|v| v.is_finite()));
    assert_eq!(n, 0, "{n} allocations in the block loop");

    scheduled_commands_do_not_allocate(&mut engine, &inst);
    audio_callback_does_not_allocate();
}

/// The server's engine-thread step: timed commands applied at their frames
/// inside blocks, events out through a preallocated sink.
fn scheduled_commands_do_not_allocate(engine: &mut CpuEngine, inst: &Arc<Instrument>) {
    use neirosynth::engine::command::{pop_due, EngineCommand, EngineEvent, Timed};
    use std::collections::VecDeque;
    let base = engine.stats().frames;
    let plan = inst.plan(60.0, 2.0, 48000.0).unwrap();
    let mut cmds: VecDeque<Timed> = VecDeque::with_capacity(64);
    for k in 0..20u64 {
        let id = 500 + k as i32;
        cmds.push_back(Timed {
            frame: Some(base + 300 * k),
            command: EngineCommand::Start {
                id,
                inst: inst.clone(),
                plan,
                req: NoteRequest::new(60.0, 0.5),
            },
        });
        cmds.push_back(Timed {
            frame: Some(base + 300 * k + 17),
            command: EngineCommand::Set {
                id,
                param: VoiceParam::Pitch,
                value: 61.0,
            },
        });
        cmds.push_back(Timed {
            frame: Some(base + 300 * k + 20),
            command: EngineCommand::Excite {
                id,
                shape: ExciteShape::Bow,
                x: 0.5,
                y: 0.5,
                amplitude: 0.7,
                width: 0.1,
            },
        });
        cmds.push_back(Timed {
            frame: Some(base + 300 * k + 25),
            command: EngineCommand::Set {
                id,
                param: VoiceParam::BowForce,
                value: 0.5,
            },
        });
        cmds.push_back(Timed {
            frame: Some(base + 300 * k + 30),
            command: EngineCommand::Modulate {
                id,
                spec: ModSpec {
                    param: VoiceParam::Gain,
                    shape: ModShape::Noise,
                    rate: 4.0,
                    depth: 0.2,
                    phase: None,
                },
            },
        });
        cmds.push_back(Timed {
            frame: Some(base + 300 * k + 33),
            command: EngineCommand::SetOver {
                id,
                param: VoiceParam::Pan,
                value: -0.5,
                seconds: 1.0,
            },
        });
        cmds.push_back(Timed {
            frame: Some(base + 300 * k + 35),
            command: EngineCommand::MasterGainOver {
                gain: 0.8,
                seconds: 0.5,
            },
        });
        cmds.push_back(Timed {
            frame: Some(base + 300 * k + 38),
            command: EngineCommand::Unmodulate { id, param: None },
        });
        cmds.push_back(Timed {
            frame: Some(base + 300 * k + 40),
            command: EngineCommand::Release(id),
        });
    }
    let mut events: Vec<EngineEvent> = Vec::with_capacity(4096);
    let (mut l, mut r) = (vec![0.0f32; 256], vec![0.0f32; 256]);
    WINDOW.store(true, Ordering::SeqCst);
    for _ in 0..100 {
        engine.process_scheduled(&mut l, &mut r, &mut events, |limit| {
            pop_due(&mut cmds, limit)
        });
    }
    WINDOW.store(false, Ordering::SeqCst);
    let n = ALLOCS.swap(0, Ordering::SeqCst);
    assert!(cmds.is_empty());
    assert_eq!(n, 0, "{n} allocations applying scheduled commands");
}

/// The cpal/null callback body: ring to device buffer, recorder tee,
/// underruns, the device position stamped for the clock.
fn audio_callback_does_not_allocate() {
    use neirosynth::audio::stats::SharedStats;
    use ringbuf::traits::{Producer, Split};
    let (mut prod, mut cons) = ringbuf::HeapRb::<f32>::new(8192).split();
    let (tap, _tap_cons) = ringbuf::HeapRb::<f32>::new(1 << 16).split();
    let mut tap = Some(tap);
    let stats = SharedStats::default();
    let mut scratch = vec![0.0f32; 2048];
    let mut device = vec![0.0f32; 3 * 333]; // odd buffer, 3 channels
    let block = vec![0.25f32; 512];
    WINDOW.store(true, Ordering::SeqCst);
    for k in 0..500 {
        if k % 3 != 0 {
            prod.push_slice(&block);
        }
        neirosynth::audio::fill_from_ring(
            &mut cons,
            &mut scratch,
            &mut device,
            3,
            &mut tap,
            &stats,
        );
    }
    WINDOW.store(false, Ordering::SeqCst);
    let n = ALLOCS.swap(0, Ordering::SeqCst);
    assert_eq!(n, 0, "{n} allocations in the audio callback");
    assert!(
        stats.underruns.load(Ordering::Relaxed) > 0,
        "short reads are counted"
    );
    // Each callback stamped the frame it started at; underrun silence is
    // told apart from the ring's frames.
    let o = stats
        .position
        .latest()
        .expect("the callback stamps its position");
    assert_eq!(o.device_frames, 499 * 333);
    assert!(o.ring_frames < o.device_frames, "{o:?}");
}
