//! The GPU engine: shader hygiene (naga parse + validate, Rust/WGSL struct
//! layouts) and equivalence with the CPU engine for every shipped
//! instrument and for excitation, pickup moves, morph and pitch, damping
//! and release changes (relative L2 < 1e-4).
//!
//! The equivalence tests need a Vulkan adapter; CI has lavapipe
//! (`mesa-vulkan-drivers`). Without any adapter they print why and pass
//! locally, and fail under CI (`CI=true`, `common::tools::require`).

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use neirosynth::engine::voice::NoteRequest;
use neirosynth::engine::{CpuEngine, EngineConfig, VoiceEngine};
use neirosynth::gpu::layout::{CoefUpdate, TapPair, VoiceHeader, Window, SHADERS, SHADER_FILES};
use neirosynth::gpu::{bank_floats, GpuContext, GpuEngine};
use neirosynth::instrument::bank::Bank;
use neirosynth::instrument::format::ExciteShape;
use neirosynth::instrument::Instrument;
use neirosynth::types::{ModShape, ModSpec, VoiceParam};

use common::tools;

fn shader_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders")
}

fn parse(src: &str, name: &str) -> (naga::Module, naga::valid::ModuleInfo) {
    let module = naga::front::wgsl::parse_str(src)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(src)));
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(src)));
    (module, info)
}

/// Every `.wgsl` file in `shaders/` is a part the crate embeds, and every
/// kernel joined from them parses and validates.
#[test]
fn every_shader_parses_and_validates() {
    let mut files: Vec<_> = std::fs::read_dir(shader_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "wgsl"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let src = std::fs::read_to_string(f).unwrap();
        let embedded = SHADER_FILES.iter().find(|(n, _)| *n == name);
        assert_eq!(
            embedded.map(|(_, s)| *s),
            Some(src.as_str()),
            "{name} is not embedded (gpu::layout::SHADER_FILES)"
        );
    }
    assert_eq!(files.len(), SHADER_FILES.len());
    for (name, src) in SHADERS {
        parse(src, name);
    }
}

/// (WGSL member name, Rust offset) of a struct, with its Rust size.
fn check_struct(module: &naga::Module, name: &str, size: usize, fields: &[(&str, usize)]) {
    let ty = module
        .types
        .iter()
        .find(|(_, t)| t.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("{name} not in the shader"))
        .1;
    let naga::TypeInner::Struct { members, span } = &ty.inner else {
        panic!("{name} is not a struct");
    };
    assert_eq!(
        *span as usize, size,
        "{name}: WGSL size {span}, Rust {size}"
    );
    let mut rust_fields = fields.to_vec();
    for m in members {
        let mname = m.name.as_deref().unwrap();
        let i = rust_fields
            .iter()
            .position(|(n, _)| *n == mname)
            .unwrap_or_else(|| panic!("{name}.{mname}: no Rust field"));
        let (_, off) = rust_fields.remove(i);
        assert_eq!(
            m.offset as usize, off,
            "{name}.{mname}: WGSL offset {} vs Rust {off}",
            m.offset
        );
    }
    assert!(
        rust_fields.is_empty(),
        "{name}: Rust fields missing in WGSL: {rust_fields:?}"
    );
}

/// The Rust structs uploaded to the GPU have the WGSL structs' sizes and
/// field offsets.
#[test]
fn struct_layouts_match_wgsl() {
    for name in ["voice_block", "voice_block_wg"] {
        let (_, src) = SHADERS.iter().find(|(n, _)| *n == name).unwrap();
        let (module, _) = parse(src, name);
        check_layouts(&module);
    }
}

/// The workgroup-memory kernel's `WG_FLOATS` is the engine's, and its
/// workgroup array is that long (31 KiB: within lavapipe's 32 KiB).
#[test]
fn workgroup_kernel_size_matches() {
    use neirosynth::gpu::layout::WG_FLOATS;
    let (_, src) = SHADERS
        .iter()
        .find(|(n, _)| *n == "voice_block_wg")
        .unwrap();
    let (module, _) = parse(src, "voice_block_wg");
    let c = module
        .constants
        .iter()
        .find(|(_, c)| c.name.as_deref() == Some("WG_FLOATS"))
        .expect("WG_FLOATS in the shader")
        .1;
    let value = match module.global_expressions[c.init] {
        naga::Expression::Literal(naga::Literal::U32(v)) => v as usize,
        ref e => panic!("WG_FLOATS is {e:?}"),
    };
    assert_eq!(value, WG_FLOATS);
    let (_, var) = module
        .global_variables
        .iter()
        .find(|(_, v)| v.space == naga::AddressSpace::WorkGroup)
        .expect("a workgroup array");
    let bytes = module.types[var.ty].inner.size(module.to_ctx()) as usize;
    assert_eq!(bytes, 4 * WG_FLOATS);
    assert!(bytes <= 32 * 1024);
    // A 64×64 mesh (the shipped bank's largest) fits; 128×128 does not.
    use neirosynth::physics::body::Layout;
    assert!(Layout::new(64, 64).len <= WG_FLOATS);
    assert!(Layout::new(128, 128).len > WG_FLOATS);
}

fn check_layouts(module: &naga::Module) {
    use std::mem::{offset_of, size_of};
    macro_rules! fields {
        ($t:ty; $($f:ident),*) => { [$((stringify!($f), offset_of!($t, $f))),*] };
    }
    check_struct(
        module,
        "VoiceHeader",
        size_of::<VoiceHeader>(),
        &fields!(VoiceHeader; width, height, stride, len, maps, morph_maps, state, cap, out,
            samples, oversample, flip, reset, first_update, n_updates, n_pre, first_window,
            n_plucks, n_strikes, first_tap, ab, b, bow_node, bow_steps),
    );
    check_struct(
        module,
        "CoefUpdate",
        size_of::<CoefUpdate>(),
        &fields!(CoefUpdate; at, morph, a, b, kk, k, scale, extra, t, ab, pad0, pad1),
    );
    // Arrays of four weights are four scalars in WGSL.
    let (wl, wr) = (offset_of!(TapPair, wl), offset_of!(TapPair, wr));
    check_struct(
        module,
        "TapPair",
        size_of::<TapPair>(),
        &[
            ("il", offset_of!(TapPair, il)),
            ("wl0", wl),
            ("wl1", wl + 4),
            ("wl2", wl + 8),
            ("wl3", wl + 12),
            ("ir", offset_of!(TapPair, ir)),
            ("wr0", wr),
            ("wr1", wr + 4),
            ("wr2", wr + 8),
            ("wr3", wr + 12),
        ],
    );
    let pad = offset_of!(Window, pad);
    let mut w = fields!(Window; origin, nx, ny, force, scale, wx, wy).to_vec();
    w.extend([("pad0", pad), ("pad1", pad + 4), ("pad2", pad + 8)]);
    check_struct(module, "Window", size_of::<Window>(), &w);
}

/// One GPU for all tests of this file (lavapipe is slow to open and uses
/// every core: the tests take turns).
fn gpu() -> Option<std::sync::MutexGuard<'static, GpuContext>> {
    static CTX: OnceLock<Option<Mutex<GpuContext>>> = OnceLock::new();
    CTX.get_or_init(|| {
        // lavapipe: two render threads (CI runners and this machine have
        // two cores), and a runtime directory for its shader cache.
        for (k, v) in [("LP_NUM_THREADS", "2"), ("XDG_RUNTIME_DIR", "/tmp")] {
            if std::env::var_os(k).is_none() {
                std::env::set_var(k, v);
            }
        }
        open()
    })
    .as_ref()
    .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()))
}

fn open() -> Option<Mutex<GpuContext>> {
    match GpuContext::new(true) {
        Ok(c) => {
            eprintln!("GPU tests on {}", c.adapter);
            Some(Mutex::new(c))
        }
        Err(e) => {
            // Under CI this panics, and every GPU test fails (the OnceLock
            // stays empty, so each one tries again and says why).
            tools::require(
                false,
                &format!("a Vulkan adapter for the GPU equivalence tests ({e})"),
                "apt-get install mesa-vulkan-drivers libvulkan1 (lavapipe), or scripts/install-deps.sh",
            );
            None
        }
    }
}

fn bank() -> Vec<Arc<Instrument>> {
    let (b, errors) =
        Bank::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("instruments")).unwrap();
    assert!(errors.is_empty());
    let mut v = b.instruments;
    v.sort_by(|a, b| a.name().cmp(b.name()));
    v
}

/// What happens to a voice at a frame.
#[derive(Clone)]
enum Act {
    Excite(ExciteShape, f32, f32, f32, f32),
    Pickups([f64; 4]),
    Pitch(f64),
    Damping(f64),
    Morph(Arc<Instrument>, f64, Option<f64>),
    Release,
    Free,
    BowForce(f64),
    Modulate(ModSpec),
    Glide(VoiceParam, f64, f64),
}

struct Note {
    inst: Arc<Instrument>,
    note: f64,
    req: NoteRequest,
}

/// A scripted performance: notes started at frame 0 (ids 1, 2, …), then
/// `(frame, voice id, act)` in order; frames are multiples of `block`.
struct Script {
    notes: Vec<Note>,
    acts: Vec<(usize, i32, Act)>,
    frames: usize,
    block: usize,
}

fn cfg_for(s: &Script) -> EngineConfig {
    let cap = s
        .notes
        .iter()
        .map(|n| n.inst.max_buffer_len())
        .max()
        .unwrap();
    let mut cfg = EngineConfig::new(cap);
    cfg.max_block = s.block;
    cfg.max_voices = s.notes.len().max(1);
    cfg.threads = 1;
    cfg
}

fn run_cpu(s: &Script) -> Vec<f32> {
    let mut e = CpuEngine::new(cfg_for(s));
    for (i, n) in s.notes.iter().enumerate() {
        let plan = n.inst.plan(n.note, 2.0, 48000.0).unwrap();
        e.start_voice(i as i32 + 1, n.inst.clone(), plan, &n.req);
    }
    let mut out = vec![0.0; 2 * s.frames];
    let (l, r) = out.split_at_mut(s.frames);
    let mut acts = s.acts.iter().peekable();
    let mut pos = 0;
    while pos < s.frames {
        while let Some((_, id, a)) = acts.next_if(|(f, _, _)| *f <= pos) {
            if let Some(v) = e.voice_mut(*id) {
                match a.clone() {
                    Act::Excite(sh, x, y, amp, w) => v.excite(sh, x, y, amp, w),
                    Act::Pickups(p) => v.set_pickups(p),
                    Act::Pitch(n) => {
                        v.set_pitch(n);
                    }
                    Act::Damping(d) => v.set_damping(d),
                    Act::Morph(t, m, sec) => {
                        v.set_morph(Some(t), m, sec);
                    }
                    Act::Release => v.release(),
                    Act::Free => v.free(),
                    Act::BowForce(f) => v.set_bow_force(f),
                    Act::Modulate(m) => v.modulate(m).unwrap(),
                    Act::Glide(p, value, sec) => v.set_over(p, value, sec),
                }
            }
        }
        let n = s.block.min(s.frames - pos);
        e.process(&mut l[pos..pos + n], &mut r[pos..pos + n]);
        pos += n;
    }
    out
}

/// Renders `s` on the GPU engine with double-buffered readback (as the
/// server runs it), each block in two calls of unequal sizes: the output
/// lags by `latency_frames`, so the script runs that much longer and the
/// lag is cut off.
fn run_gpu(ctx: &GpuContext, s: &Script, wg: bool) -> (Vec<f32>, f64) {
    let insts: Vec<_> = s.notes.iter().map(|n| n.inst.clone()).collect();
    let mut e = GpuEngine::new(ctx.clone(), cfg_for(s), bank_floats(&insts) * 2).unwrap();
    for i in &insts {
        e.load(i).unwrap();
    }
    let has_wg = ctx.limits.max_compute_workgroup_storage_size as usize
        >= 4 * neirosynth::gpu::layout::WG_FLOATS;
    assert_eq!(e.workgroup_kernel(), has_wg);
    assert_eq!(e.set_workgroup_kernel(wg), wg && has_wg);
    e.set_pipelined(true);
    let lag = e.latency_frames();
    assert_eq!(lag, s.block);
    let total = s.frames + lag;
    for (i, n) in s.notes.iter().enumerate() {
        let plan = n.inst.plan(n.note, 2.0, 48000.0).unwrap();
        e.start_voice(i as i32 + 1, n.inst.clone(), plan, &n.req);
    }
    let (mut l, mut r) = (vec![0.0; total], vec![0.0; total]);
    let mut acts = s.acts.iter().peekable();
    let mut pos = 0;
    let t = std::time::Instant::now();
    while pos < total {
        while let Some((_, id, a)) = acts.next_if(|(f, _, _)| *f <= pos) {
            if let Act::Morph(t, _, _) = a {
                e.load(t).unwrap();
            }
            if let Some(v) = e.voice_mut(*id) {
                match a.clone() {
                    Act::Excite(sh, x, y, amp, w) => v.excite(sh, x, y, amp, w),
                    Act::Pickups(p) => v.set_pickups(p),
                    Act::Pitch(n) => {
                        v.set_pitch(n);
                    }
                    Act::Damping(d) => v.set_damping(d),
                    Act::Morph(t, m, sec) => {
                        v.set_morph(Some(t), m, sec);
                    }
                    Act::Release => v.release(),
                    Act::Free => v.free(),
                    Act::BowForce(f) => v.set_bow_force(f),
                    Act::Modulate(m) => v.modulate(m).unwrap(),
                    Act::Glide(p, value, sec) => v.set_over(p, value, sec),
                }
            }
        }
        // Each block in two calls of 37 and block − 37 frames: the
        // pipeline's output FIFO must keep any call sizes aligned.
        let n = s.block.min(total - pos);
        let first = if n > 37 { 37 } else { n };
        e.process(&mut l[pos..pos + first], &mut r[pos..pos + first]);
        if n > first {
            e.process(&mut l[pos + first..pos + n], &mut r[pos + first..pos + n]);
        }
        pos += n;
    }
    assert_eq!(e.failure(), None, "GPU failed");
    assert!(
        l[..lag].iter().chain(&r[..lag]).all(|v| *v == 0.0),
        "the lag is silent"
    );
    let mut out = l.split_off(lag);
    out.extend_from_slice(&r[lag..]);
    (out, t.elapsed().as_secs_f64())
}

/// Relative L2 error of `gpu` against `cpu`.
fn rel_l2(cpu: &[f32], gpu: &[f32]) -> f64 {
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (a, b) in cpu.iter().zip(gpu) {
        num += (*a as f64 - *b as f64).powi(2);
        den += (*a as f64).powi(2);
    }
    (num / den.max(1e-300)).sqrt()
}

fn check(ctx: &GpuContext, what: &str, s: &Script) -> f64 {
    check_on(ctx, what, s, true)
}

/// As [`check`], on the workgroup-memory kernel where the mesh fits (`wg`)
/// or on the global-memory kernel only.
fn check_on(ctx: &GpuContext, what: &str, s: &Script, wg: bool) -> f64 {
    let cpu = run_cpu(s);
    let (gpu, secs) = run_gpu(ctx, s, wg);
    let energy: f64 = cpu.iter().map(|v| (*v as f64).powi(2)).sum();
    assert!(energy > 0.0, "{what}: the CPU render is silent");
    let err = rel_l2(&cpu, &gpu);
    let first = cpu.iter().zip(&gpu).position(|(a, b)| a != b);
    eprintln!(
        "{what}: rel L2 {err:.2e} over {:.3} s ({secs:.2} s on the GPU; first differing sample: {first:?})",
        s.frames as f64 / 48000.0
    );
    assert!(err < 1e-4, "{what}: relative L2 {err:e} ≥ 1e-4");
    err
}

fn note(inst: &Arc<Instrument>, note: f64, velocity: f32) -> Note {
    Note {
        inst: inst.clone(),
        note,
        req: NoteRequest::new(note, velocity),
    }
}

/// Every shipped instrument at its reference note (the full mesh) and
/// an octave up, in blocks of 256 (short: the full meshes are slow on
/// lavapipe; `NEIROSYNTH_GPU_TEST_FRAMES` renders longer).
#[test]
fn gpu_equals_cpu_for_every_shipped_instrument() {
    let Some(ctx) = gpu() else { return };
    let frames: usize = std::env::var("NEIROSYNTH_GPU_TEST_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    for inst in bank() {
        let r = inst.file.reference_note;
        let s = Script {
            notes: vec![note(&inst, r, 0.8), note(&inst, r + 12.0, 0.5)],
            acts: vec![],
            frames,
            block: 256,
        };
        check(&ctx, inst.name(), &s);
    }
}

/// The lowest note of `inst` that plays on its coarsest mesh level.
fn coarsest_note(inst: &Instrument) -> f64 {
    let last = inst.levels.len() - 1;
    (0..96)
        .map(|i| inst.file.reference_note + i as f64)
        .find(|&n| inst.plan(n, 2.0, 48000.0).is_ok_and(|p| p.level == last))
        .expect("a note on the coarsest level")
}

/// Every shipped instrument for one second (48,000 samples) on its
/// coarsest mesh level (lavapipe renders the full meshes too slowly for a
/// second each), with a strike, a pickup move and a pitch bend on the way.
#[test]
fn gpu_equals_cpu_over_one_second() {
    let Some(ctx) = gpu() else { return };
    let only = std::env::var("NEIROSYNTH_GPU_TEST_ONLY").ok();
    for inst in bank() {
        if only.as_deref().is_some_and(|o| o != inst.name()) {
            continue;
        }
        let n = coarsest_note(&inst);
        let s = Script {
            notes: vec![note(&inst, n, 0.8)],
            acts: vec![
                (
                    12_032,
                    1,
                    Act::Excite(ExciteShape::Strike, 0.6, 0.4, 0.7, 0.2),
                ),
                (24_064, 1, Act::Pickups([0.8, 0.7, 0.25, 0.3])),
                (36_096, 1, Act::Pitch(n + 1.0)),
            ],
            frames: 48_000,
            block: 256,
        };
        check(&ctx, &format!("{} note {n} (1 s)", inst.name()), &s);
    }
}

/// Strikes, plucks and noise bursts on a sounding voice, pickup moves,
/// pitch glides, damping and release, in odd-sized blocks.
#[test]
fn gpu_equals_cpu_under_control_changes() {
    let Some(ctx) = gpu() else { return };
    let b = bank();
    let by = |n: &str| b.iter().find(|i| i.name() == n).unwrap().clone();
    let (tom, string) = (by("tom"), by("string"));
    let mut n2 = note(&string, 52.0, 0.6);
    n2.req.delay_frames = 70;
    n2.req.pan = 0.4;
    let s = Script {
        notes: vec![note(&tom, 60.0, 0.7), n2],
        acts: vec![
            (200, 1, Act::Excite(ExciteShape::Noise, 0.3, 0.6, 0.5, 0.2)),
            (200, 1, Act::Pickups([0.7, 0.2, 0.2, 0.8])),
            (400, 1, Act::Excite(ExciteShape::Pluck, 0.5, 0.5, 0.4, 0.15)),
            (400, 1, Act::Pitch(64.5)),
            (400, 2, Act::Excite(ExciteShape::Strike, 0.2, 0.0, 0.9, 0.1)),
            (600, 2, Act::Damping(2.5)),
            (800, 1, Act::Damping(0.5)),
            (1000, 2, Act::Release),
            (1200, 1, Act::Free),
        ],
        frames: 1600,
        block: 100,
    };
    check(&ctx, "control changes (tom + string)", &s);
    // The same on the global-memory kernel (the one large meshes use).
    check_on(&ctx, "control changes, global-memory kernel", &s, false);
    let plain = Script {
        acts: vec![],
        notes: vec![note(&tom, 60.0, 0.7), note(&string, 52.0, 0.6)],
        ..s
    };
    assert!(rel_l2(&run_cpu(&plain), &run_cpu(&s)) > 0.05);
}

/// Modulators (every shape, on gains, pan, pitch, damping and a pickup;
/// one replaced, one cleared) and timed glides run in the voice program,
/// so both kernels render them as the CPU engine does.
#[test]
fn gpu_equals_cpu_with_modulators() {
    let Some(ctx) = gpu() else { return };
    let b = bank();
    let by = |n: &str| b.iter().find(|i| i.name() == n).unwrap().clone();
    let (tom, string) = (by("tom"), by("string"));
    let m = |param, shape, rate, depth| {
        Act::Modulate(ModSpec {
            param,
            shape,
            rate,
            depth,
            phase: None,
        })
    };
    let s = Script {
        notes: vec![note(&tom, 60.0, 0.7), note(&string, 52.0, 0.6)],
        acts: vec![
            (0, 1, m(VoiceParam::Pitch, ModShape::Triangle, 30.0, 0.5)),
            (0, 1, m(VoiceParam::Pan, ModShape::Sine, 40.0, 0.8)),
            (0, 2, m(VoiceParam::PickupLx, ModShape::Noise, 50.0, 0.2)),
            (0, 2, m(VoiceParam::Damping, ModShape::Square, 25.0, 1.0)),
            (300, 2, m(VoiceParam::Gain, ModShape::Saw, 60.0, 0.5)),
            (300, 1, Act::Glide(VoiceParam::Gain, 0.4, 0.02)),
            (600, 1, m(VoiceParam::Pan, ModShape::Square, 45.0, 0.5)),
            (900, 2, Act::Glide(VoiceParam::PickupRx, 0.3, 0.01)),
        ],
        frames: 1600,
        block: 100,
    };
    check(&ctx, "modulators and glides (tom + string)", &s);
    let plain = Script {
        acts: vec![],
        notes: vec![note(&tom, 60.0, 0.7), note(&string, 52.0, 0.6)],
        ..s
    };
    assert!(rel_l2(&run_cpu(&plain), &run_cpu(&s)) > 0.05);
}

/// A bowed string (started bowed, force changed, released: the bow lifts)
/// and a struck tom bowed later through an excitation: the bow's force is
/// solved in the kernel each step; both kernels match the CPU engine.
#[test]
fn gpu_equals_cpu_when_bowed() {
    let Some(ctx) = gpu() else { return };
    let b = bank();
    let by = |n: &str| b.iter().find(|i| i.name() == n).unwrap().clone();
    let (string, tom) = (by("string"), by("tom"));
    let mut n1 = note(&string, 55.0, 0.8);
    n1.req.excite = Some((ExciteShape::Bow, 0.16, 0.0));
    n1.req.bow_force = 0.3;
    n1.req.bow_velocity = 0.3;
    let n = coarsest_note(&tom);
    let s = Script {
        notes: vec![n1, note(&tom, n, 0.6)],
        acts: vec![
            (2560, 2, Act::Excite(ExciteShape::Bow, 0.3, 0.4, 0.8, 0.1)),
            (4096, 1, Act::BowForce(0.8)),
            (8192, 1, Act::Release),
        ],
        frames: 9600,
        block: 256,
    };
    check(&ctx, "bowed string + tom", &s);
    check_on(&ctx, "bowed, global-memory kernel", &s, false);
    // The bow matters: without it (the string plucked, the tom not bowed)
    // the render differs.
    let plain = Script {
        notes: vec![note(&string, 55.0, 0.8), note(&tom, n, 0.6)],
        acts: vec![(8192, 1, Act::Release)],
        ..s
    };
    assert!(rel_l2(&run_cpu(&plain), &run_cpu(&s)) > 0.05);
}

/// Morph between two instruments with the same mesh (smoothed and timed).
#[test]
fn gpu_equals_cpu_while_morphing() {
    let Some(ctx) = gpu() else { return };
    let b = bank();
    let by = |n: &str| b.iter().find(|i| i.name() == n).unwrap().clone();
    let (drum, bell, gong) = (by("drum"), by("bell"), by("gong"));
    let s = Script {
        notes: vec![note(&drum, 69.0, 0.8)],
        acts: vec![
            (256, 1, Act::Morph(bell, 0.7, None)),
            (1024, 1, Act::Morph(gong, 1.0, Some(0.02))),
        ],
        frames: 2048,
        block: 256,
    };
    check(&ctx, "morph drum → bell → gong", &s);
    // The morph is audible: without it the drum sounds otherwise.
    let plain = Script {
        acts: vec![],
        notes: vec![note(&drum, 69.0, 0.8)],
        ..s
    };
    let (with, without) = (run_cpu(&s), run_cpu(&plain));
    assert!(rel_l2(&without, &with) > 0.05, "the morph changed nothing");
}

/// `render --score` on the GPU engine equals the CPU engine (the example
/// score's first second: routing, scheduling and block splitting included).
#[test]
fn gpu_score_render_equals_cpu() {
    use neirosynth::gpu::EngineSpec;
    use neirosynth::score::{render_score_on, Score, ScoreSettings};
    let Some(ctx) = gpu() else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let score = Score::parse(&std::fs::read(root.join("examples/score.json")).unwrap()).unwrap();
    let load = || Bank::load_dir(&root.join("instruments")).unwrap().0;
    let settings = ScoreSettings {
        sample_rate: 48000,
        block: 256,
        voices: 8,
        threads: 1,
    };
    let (cpu, _) = render_score_on(load(), &score, Some(0.5), settings, &EngineSpec::Cpu).unwrap();
    let (gpu, _) = render_score_on(
        load(),
        &score,
        Some(0.5),
        settings,
        &EngineSpec::Gpu(Box::new(ctx.clone())),
    )
    .unwrap();
    assert!(cpu.peak() > 0.0);
    let err = rel_l2(&cpu.left, &gpu.left).max(rel_l2(&cpu.right, &gpu.right));
    eprintln!("score: rel L2 {err:.2e} over 0.5 s");
    assert!(err < 1e-4, "score: relative L2 {err:e}");
}

/// A simulated device loss: the engine reports the failure and renders
/// silence; `hand_over` restarts the held voice on the CPU engine (same
/// id, the controls it had, sounding) and ends the released one.
#[test]
fn gpu_failure_hands_voices_to_the_cpu_engine() {
    use neirosynth::engine::command::EngineEvent;
    let Some(ctx) = gpu() else { return };
    let b = bank();
    let by = |n: &str| b.iter().find(|i| i.name() == n).unwrap().clone();
    let (tom, string) = (by("tom"), by("string"));
    let s = Script {
        notes: vec![note(&tom, 84.0, 0.7), note(&string, 76.0, 0.6)],
        acts: vec![],
        frames: 0,
        block: 256,
    };
    let cfg = cfg_for(&s);
    let mut g = GpuEngine::new(
        ctx.clone(),
        cfg,
        bank_floats(&[tom.clone(), string.clone()]),
    )
    .unwrap();
    for (i, n) in s.notes.iter().enumerate() {
        let plan = n.inst.plan(n.note, 2.0, 48000.0).unwrap();
        g.start_voice(i as i32 + 1, n.inst.clone(), plan, &n.req);
    }
    g.voice_mut(1).unwrap().set_gain(0.5);
    g.voice_mut(1).unwrap().set_pitch(85.0);
    g.simulate_failure_after(2);
    let (mut l, mut r) = (vec![0.0; 256], vec![0.0; 256]);
    g.process(&mut l, &mut r);
    g.voice_mut(2).unwrap().release();
    g.process(&mut l, &mut r);
    assert!(l.iter().any(|v| *v != 0.0), "the GPU played before failing");
    assert_eq!(g.failure(), None);
    g.process(&mut l, &mut r);
    let why = g.failure().expect("the simulated loss is reported");
    assert!(why.contains("simulated"), "{why}");
    assert!(
        l.iter().chain(&r).all(|v| *v == 0.0),
        "silence after the loss"
    );

    let mut cpu = CpuEngine::new(cfg);
    let mut events = Vec::new();
    let restarted = g.hand_over(&mut cpu, &mut events);
    assert_eq!(restarted, 1);
    assert_eq!(cpu.stats().frames, g.stats().frames);
    assert!(events
        .iter()
        .any(|e| matches!(e, EngineEvent::VoiceEnded(2))));
    assert!(cpu.voice_mut(2).is_none());
    assert!(cpu.voice_mut(1).is_some(), "the held voice restarted");
    cpu.process(&mut l, &mut r);
    let peak = l.iter().chain(&r).fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(
        peak > 1e-4,
        "the restarted voice sounds on the CPU (peak {peak})"
    );
    // It restarted with its controls: the same note started afresh at
    // gain 0.5 and pitch 85 on the CPU renders the same.
    let mut reference = CpuEngine::new(cfg);
    let plan = tom.plan(84.0, 2.0, 48000.0).unwrap();
    let mut req = NoteRequest::new(85.0, 0.7);
    req.gain = 0.5;
    reference.stats_mut().frames = g.stats().frames;
    reference.start_voice(1, tom.clone(), plan, &req);
    let (mut rl, mut rr) = (vec![0.0; 256], vec![0.0; 256]);
    reference.process(&mut rl, &mut rr);
    assert!(
        rel_l2(&rl, &l) < 1e-5,
        "restart differs: {}",
        rel_l2(&rl, &l)
    );
}

/// A uniform membrane of `n`×`n` nodes (the test fixture, resized).
fn membrane(n: usize) -> Arc<Instrument> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good_small.json"),
    )
    .unwrap()
    .replace("\"width\": 16", &format!("\"width\": {n}"))
    .replace("\"height\": 16", &format!("\"height\": {n}"))
    .replace("\"small\"", &format!("\"membrane{n}\""));
    Arc::new(Instrument::from_json(&text, "test").unwrap())
}

/// Meshes larger than the shipped bank's equal the CPU engine: 80×80 with
/// a strike acting across a long block (it once rendered wrongly on
/// lavapipe with 100 nodes per thread; see `workgroup_size`) and 128×128
/// on its full mesh with a strike and a pickup move on the way.
#[test]
fn gpu_equals_cpu_on_large_meshes() {
    let Some(ctx) = gpu() else { return };
    for (n, velocity, frames) in [(80, 0.5, 1024), (128, 0.9, 1024)] {
        let inst = membrane(n);
        let note_ = 31.0;
        let plan = inst.plan(note_, 2.0, 48000.0).unwrap();
        assert_eq!(plan.level, 0, "{n}×{n}: note {note_} plays the full mesh");
        let s = Script {
            notes: vec![note(&inst, note_, velocity)],
            acts: vec![
                (768, 1, Act::Excite(ExciteShape::Strike, 0.7, 0.3, 0.8, 0.1)),
                (768, 1, Act::Pickups([0.6, 0.6, 0.2, 0.7])),
            ],
            frames,
            block: 256,
        };
        check(&ctx, &format!("{n}×{n} membrane"), &s);
    }
}

/// An instrument with a radiation filter (the bank's string with bands cut
/// and boosted) equals the CPU engine over half a second on its coarsest
/// level, with a second strike while the filter is ringing.
#[test]
fn gpu_equals_cpu_with_a_radiation_filter() {
    use neirosynth::instrument::radiation::RadiationSpec;
    let Some(ctx) = gpu() else { return };
    let string = bank().into_iter().find(|i| i.name() == "string").unwrap();
    let mut f = string.file.clone();
    let mut spec = RadiationSpec::octaves();
    spec.gains_db = vec![0.0, 6.0, 3.0, 9.0, -4.0, 0.0, -12.0, -12.0, 5.0, 0.0];
    f.radiation = Some(spec);
    f.name = "string_radiating".into();
    let inst = Arc::new(Instrument::from_file(f, "test").unwrap());
    let n = coarsest_note(&inst);
    let s = Script {
        notes: vec![note(&inst, n, 0.8)],
        acts: vec![(
            12_032,
            1,
            Act::Excite(ExciteShape::Strike, 0.6, 0.4, 0.7, 0.2),
        )],
        frames: 24_000,
        block: 256,
    };
    check(&ctx, &format!("string with radiation, note {n}"), &s);
}
