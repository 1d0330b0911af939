//! The GPU engine: the same voices as [`crate::engine::CpuEngine`], with every
//! mesh on the GPU.
//!
//! # Lifecycle
//! 1. [`GpuEngine::new`] opens nothing itself: it takes a [`GpuContext`],
//!    compiles the kernel and allocates every buffer (state of all voice
//!    slots, the resident bank, the per-block program and the readback).
//! 2. [`GpuEngine::load`] makes an instrument's maps resident (all pyramid
//!    levels), once; voices started on an instrument that is not resident
//!    upload it then (control-side work: call `load` for the bank first).
//! 3. [`VoiceEngine::start_voice`], [`VoiceEngine::voice_mut`] and
//!    [`GpuEngine::process`] mirror the CPU engine.
//!
//! # One block
//! Each voice's control logic runs on the CPU (as in the CPU engine) and
//! records the block's program ([`BlockProgram`]); the program is written
//! to the GPU, one dispatch per kernel renders every voice (one workgroup
//! each; the workgroup-memory kernel for meshes that fit its
//! `WG_FLOATS`, the global-memory kernel for the others), one copy and one
//! map read the raw pickup signals back: one submission and one readback
//! per block. The voices then finish their samples (DC
//! blocker, gains, end detection) and are mixed in slot order.
//!
//! # Double-buffered readback
//! [`GpuEngine::set_pipelined`] (the server does): each `process` call
//! plans and submits its block into one of two readback buffers, *then*
//! waits for the previous block's readback (submitted one call earlier,
//! so normally done while the engine thread slept) and finishes it, while
//! the GPU already computes the new block. The output then lags the input
//! by exactly `max_block` frames ([`GpuEngine::latency_frames`]), through
//! a preallocated FIFO, whatever the sizes of the blocks. Without it
//! (offline rendering) each call waits for its own block.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::bank::ResidentBank;
use super::context::{GpuContext, GpuError};
use super::fifo::Fifo;
pub use super::kernel::workgroup_size;
use super::kernel::{storage, Kernel};
use super::layout::{
    CoefUpdate, TapPair, VoiceHeader, Window, MAX_STRIKES, VOICE_BLOCK_WGSL, VOICE_BLOCK_WG_WGSL,
    WG_FLOATS, WORKGROUP_SIZE,
};
use super::voice::{BlockProgram, Finish, GpuMesh, GpuVoice};
use crate::engine::api::{EngineCore, VoiceEngine};
use crate::engine::command::{EngineEvent, EventSink};
use crate::engine::{CpuEngine, EngineConfig, Retired, STEAL_FADE_SLOTS};
use crate::instrument::{Instrument, NotePlan, MAX_OVERSAMPLE};
use crate::voice::program::PeriodMark;
use crate::voice::{apply_master_ramp, mix_into, Slots, MAX_EXCITATIONS};

/// Fields of a voice slot's state (u0, u1, w0, w1, c, d, e).
const STATE_FIELDS: usize = 7;

/// The GPU engine.
pub struct GpuEngine {
    core: EngineCore<GpuMesh>,
    ctx: GpuContext,
    /// Instruments' maps resident on the GPU.
    bank: ResidentBank,
    prog: BlockProgram,
    /// Blocks in flight (two: double-buffered readback).
    spans: [Span; 2],
    /// The span the next block uses.
    next_span: usize,
    /// Lag output by a block (see [`GpuEngine::set_pipelined`]).
    pipelined: bool,
    /// Finished, mixed output waiting to be played.
    fifo: Fifo,
    /// Mix of one block.
    mix: [Vec<f32>; 2],
    raw: Vec<f32>,
    /// The global-memory kernel (any mesh).
    global: Kernel,
    /// The workgroup-memory kernel, when the device has the memory.
    wg: Option<Kernel>,
    /// Use `wg` for the meshes that fit (default: when available).
    use_wg: bool,
    /// Headers of the voices on the workgroup-memory kernel this block.
    wg_headers: Vec<VoiceHeader>,
    updates: wgpu::Buffer,
    taps: wgpu::Buffer,
    windows: wgpu::Buffer,
    forces: wgpu::Buffer,
    out: wgpu::Buffer,
    readbacks: [wgpu::Buffer; 2],
    map_status: [Arc<AtomicU8>; 2],
    /// Set by wgpu's device-lost and uncaptured-error callbacks.
    fault: Arc<OnceLock<String>>,
    failure: Option<String>,
    /// Blocks dispatched so far.
    blocks: u64,
    /// Test hook: fail as if the device were lost once this many blocks ran.
    fail_after: Option<u64>,
    /// Longest wait for a block's readback before the GPU counts as failed.
    timeout: Duration,
}

impl GpuEngine {
    /// Builds the engine on `ctx` for `cfg` with room for `bank_floats`
    /// floats of resident maps (see [`super::bank_floats`]).
    pub fn new(ctx: GpuContext, cfg: EngineConfig, bank_floats: usize) -> Result<Self, GpuError> {
        let slots = cfg.max_voices + STEAL_FADE_SLOTS;
        let cap = cfg.voice_capacity;
        let max_m = MAX_OVERSAMPLE as usize;
        let prog = BlockProgram::with_capacity(slots, cfg.max_block, max_m);
        let dev = &ctx.device;
        let state_bytes = slots * STATE_FIELDS * cap * 4;
        let max_binding = ctx.limits.max_storage_buffer_binding_size as usize;
        if state_bytes > max_binding || bank_floats * 4 > max_binding {
            return Err(GpuError::Limits(format!(
                "{slots} voices of {cap} nodes need {state_bytes} bytes of state; the device binds at most {max_binding}"
            )));
        }
        let copy = wgpu::BufferUsages::COPY_DST;
        let headers = storage(dev, "headers", slots * size_of::<VoiceHeader>(), copy);
        let wg_headers = storage(dev, "wg headers", slots * size_of::<VoiceHeader>(), copy);
        let updates = storage(
            dev,
            "updates",
            prog.updates.capacity() * size_of::<CoefUpdate>(),
            copy,
        );
        let taps = storage(
            dev,
            "taps",
            prog.taps.capacity() * size_of::<TapPair>(),
            copy,
        );
        let windows = storage(
            dev,
            "windows",
            prog.windows.capacity() * size_of::<Window>(),
            copy,
        );
        let forces = storage(dev, "forces", prog.forces.capacity() * 4, copy);
        let bank = storage(dev, "bank", bank_floats * 4, copy);
        let state = storage(dev, "state", state_bytes, wgpu::BufferUsages::empty());
        let out_bytes = slots * 2 * cfg.max_block * 4;
        let out = storage(dev, "out", out_bytes, wgpu::BufferUsages::COPY_SRC);
        let readbacks = [0, 1].map(|_| {
            dev.create_buffer(&wgpu::BufferDescriptor {
                label: Some("readback"),
                size: out.size(),
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        });
        let marks_per_voice = cfg.max_block / crate::voice::CONTROL_PERIOD + 2;
        let spans = [0, 1].map(|_| Span {
            recs: Vec::with_capacity(slots),
            marks: Vec::with_capacity(slots * marks_per_voice),
            ..Span::default()
        });
        let wg = workgroup_size(&ctx, cap);
        let shared = [&updates, &taps, &windows, &forces, &bank, &state, &out];
        let global = Kernel::new(dev, "voice_block", VOICE_BLOCK_WGSL, wg, headers, shared);
        // The workgroup-memory kernel where the device has the memory.
        let wg_bytes = (WG_FLOATS * 4) as u32;
        let wg_kernel = (ctx.limits.max_compute_workgroup_storage_size >= wg_bytes).then(|| {
            Kernel::new(
                dev,
                "voice_block_wg",
                VOICE_BLOCK_WG_WGSL,
                // On lavapipe the workgroup-memory kernel rendered a 64×64
                // drum wrongly at 64 nodes per thread: half that, at most.
                if ctx.adapter.is_software() {
                    (wg * 2).min(WORKGROUP_SIZE)
                } else {
                    wg
                },
                wg_headers,
                shared,
            )
        });
        let voices = (0..slots)
            .map(|_| GpuVoice::new(cap, cfg.max_block))
            .collect();
        let voice_slots = Slots::new(voices, cfg.max_voices);
        // A lost device or an error wgpu reports outside a call (its
        // default handler panics) becomes the engine's failure.
        let fault = Arc::new(OnceLock::new());
        let f = fault.clone();
        dev.set_device_lost_callback(move |reason, msg| {
            let _ = f.set(format!("device lost ({reason:?}): {msg}"));
        });
        let f = fault.clone();
        dev.on_uncaptured_error(Arc::new(move |e| {
            let _ = f.set(format!("GPU error: {e}"));
        }));
        let timeout = if ctx.adapter.is_software() {
            SOFTWARE_TIMEOUT
        } else {
            HARDWARE_TIMEOUT
        };
        Ok(Self {
            bank: ResidentBank::new(bank, bank_floats),
            prog,
            spans,
            next_span: 0,
            pipelined: false,
            fifo: Fifo::new(2 * cfg.max_block),
            mix: [vec![0.0; cfg.max_block], vec![0.0; cfg.max_block]],
            raw: vec![0.0; slots * 2 * cfg.max_block],
            global,
            use_wg: wg_kernel.is_some(),
            wg: wg_kernel,
            wg_headers: Vec::with_capacity(slots),
            updates,
            taps,
            windows,
            forces,
            out,
            readbacks,
            map_status: [0, 1].map(|_| Arc::new(AtomicU8::new(0))),
            fault,
            failure: None,
            blocks: 0,
            fail_after: None,
            timeout,
            core: EngineCore::new(cfg, voice_slots),
            ctx,
        })
    }

    /// The adapter it runs on.
    pub fn adapter(&self) -> &super::context::AdapterSummary {
        &self.ctx.adapter
    }

    /// Why the GPU stopped working, once it did (the engine then renders
    /// silence): the device was lost, a submission or readback failed, or
    /// a block's readback took longer than [`timeout`](Self::set_timeout).
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// Test hook: after `blocks` more dispatched blocks the engine fails
    /// as if the device had been lost (`serve --simulate-gpu-failure-after
    /// N`), so the fallback can be tested
    /// on any adapter.
    pub fn simulate_failure_after(&mut self, blocks: u64) {
        self.fail_after = Some(self.blocks + blocks);
    }

    /// Longest wait for one block's readback before the GPU counts as
    /// failed (default: 250 ms on a hardware adapter, 10 s on a software one).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// True when the workgroup-memory kernel renders the meshes that fit
    /// (`WG_FLOATS` padded nodes; the device needs that much workgroup
    /// memory): chosen at construction from the device's limits.
    pub fn workgroup_kernel(&self) -> bool {
        self.use_wg
    }

    /// Turns the workgroup-memory kernel off (every mesh on the global-memory
    /// kernel) or back on where the device has it. Returns whether it is on.
    pub fn set_workgroup_kernel(&mut self, on: bool) -> bool {
        self.use_wg = on && self.wg.is_some();
        self.use_wg
    }

    /// Double-buffered readback on or off (off by default). On, block N's
    /// readback is collected in the call that submits block N+1, so the
    /// GPU computes a block while the engine thread waits for its audio
    /// device; the output lags by `max_block` frames. Call before the
    /// first [`process`](Self::process).
    pub fn set_pipelined(&mut self, on: bool) {
        self.pipelined = on;
        self.fifo.clear();
        if on {
            self.fifo.push_zeros(self.core.cfg.max_block);
        }
    }

    /// Frames by which the output lags the input: `max_block` with
    /// double-buffered readback, else 0.
    pub fn latency_frames(&self) -> usize {
        if self.pipelined {
            self.core.cfg.max_block
        } else {
            0
        }
    }

    /// Makes `inst`'s maps resident on the GPU (every level), once.
    /// Control side: allocates and uploads (a full bank first drops the
    /// instruments no voice plays or morphs toward any more).
    pub fn load(&mut self, inst: &Arc<Instrument>) -> Result<(), GpuError> {
        let voices = self.core.slots.voices();
        let in_use = |i: &Arc<Instrument>| {
            voices.iter().any(|v| {
                v.is_active()
                    && (v.instrument().is_some_and(|vi| Arc::ptr_eq(vi, i))
                        || v.morph_target().is_some_and(|vi| Arc::ptr_eq(vi, i)))
            })
        };
        self.bank.load(&self.ctx.queue, inst, in_use)
    }

    fn fail(&mut self, e: GpuError) {
        if self.failure.is_none() {
            self.failure = Some(match e {
                GpuError::Failed(m) => m,
                e => e.to_string(),
            });
        }
    }

    /// A recorded failure, or one wgpu reported through a callback.
    fn check_health(&self) -> Result<(), GpuError> {
        if let Some(f) = &self.failure {
            return Err(GpuError::Failed(f.clone()));
        }
        if let Some(f) = self.fault.get() {
            return Err(GpuError::Failed(f.clone()));
        }
        Ok(())
    }

    /// Plans block `frames` into span `si` and submits it (dispatch, copy
    /// into the span's readback buffer, map request).
    fn submit(&mut self, si: usize, frames: usize) -> Result<(), GpuError> {
        // Take the span out (no allocation: its vectors move back below).
        let mut sp = std::mem::take(&mut self.spans[si]);
        sp.frames = frames;
        sp.gain = self.core.slots.next_master_ramp(frames);
        sp.live = true;
        sp.submitted = false;
        sp.recs.clear();
        sp.marks.clear();
        let r = self.plan_and_submit(si, &mut sp);
        self.spans[si] = sp;
        r
    }

    fn plan_and_submit(&mut self, si: usize, sp: &mut Span) -> Result<(), GpuError> {
        self.check_health()?;
        if self.fail_after.is_some_and(|n| self.blocks >= n) {
            return Err(GpuError::Failed("simulated device loss (test hook)".into()));
        }
        self.prog.clear();
        self.wg_headers.clear();
        let cap = self.core.cfg.voice_capacity;
        let out_stride = 2 * self.core.cfg.max_block;
        for slot in 0..self.core.slots.voices().len() {
            let v = &mut self.core.slots.voices_mut()[slot];
            let Some((mut h, fin)) = v.plan_block(sp.frames, &mut self.prog, &mut sp.marks) else {
                continue;
            };
            let inst = v.instrument().expect("active voice has an instrument");
            let level = v.plan().map_or(0, |p| p.level);
            let (inst, morph) = (inst.clone(), v.morph_target().cloned());
            h.maps = self
                .bank
                .level_offset(&inst, level)
                .ok_or_else(|| GpuError::Failed(format!("{} is not resident", inst.name())))?;
            h.morph_maps = h.maps;
            let first = h.first_update as usize;
            let morphs = self.prog.updates[first..].iter().any(|u| u.morph != 0);
            if morphs {
                if let Some(m) = morph {
                    if self.bank.level_offset(&m, level).is_none() {
                        self.load(&m)?;
                    }
                    h.morph_maps = self.bank.level_offset(&m, level).unwrap_or(h.maps);
                }
            }
            h.state = (slot * STATE_FIELDS * cap) as u32;
            h.out = (sp.recs.len() * out_stride) as u32;
            if self.use_wg && h.len as usize <= WG_FLOATS {
                self.wg_headers.push(h);
            } else {
                self.prog.headers.push(h);
            }
            sp.recs.push((slot, fin));
        }
        if sp.recs.is_empty() {
            return Ok(());
        }
        let q = &self.ctx.queue;
        if !self.prog.headers.is_empty() {
            q.write_buffer(
                &self.global.headers,
                0,
                bytemuck::cast_slice(&self.prog.headers),
            );
        }
        if let (Some(k), false) = (&self.wg, self.wg_headers.is_empty()) {
            q.write_buffer(&k.headers, 0, bytemuck::cast_slice(&self.wg_headers));
        }
        if !self.prog.updates.is_empty() {
            q.write_buffer(&self.updates, 0, bytemuck::cast_slice(&self.prog.updates));
        }
        if !self.prog.taps.is_empty() {
            q.write_buffer(&self.taps, 0, bytemuck::cast_slice(&self.prog.taps));
        }
        if !self.prog.windows.is_empty() {
            q.write_buffer(&self.windows, 0, bytemuck::cast_slice(&self.prog.windows));
        }
        if !self.prog.forces.is_empty() {
            q.write_buffer(&self.forces, 0, bytemuck::cast_slice(&self.prog.forces));
        }
        let n = sp.recs.len();
        let bytes = (n * out_stride * 4) as u64;
        let mut enc = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: None,
                timestamp_writes: None,
            });
            // Two dispatches at most: voices never share state, so they
            // may run in any order.
            for (k, count) in [
                (Some(&self.global), self.prog.headers.len()),
                (self.wg.as_ref(), self.wg_headers.len()),
            ] {
                if let (Some(k), 1..) = (k, count) {
                    pass.set_pipeline(&k.pipeline);
                    pass.set_bind_group(0, &k.bind_group, &[]);
                    pass.dispatch_workgroups(count as u32, 1, 1);
                }
            }
        }
        enc.copy_buffer_to_buffer(&self.out, 0, &self.readbacks[si], 0, bytes);
        sp.index = Some(q.submit([enc.finish()]));
        sp.submitted = true;
        sp.bytes = bytes;
        self.blocks += 1;
        self.map_status[si].store(0, Ordering::Release);
        let status = self.map_status[si].clone();
        self.readbacks[si].map_async(wgpu::MapMode::Read, 0..bytes, move |r| {
            status.store(if r.is_ok() { 1 } else { 2 }, Ordering::Release);
        });
        Ok(())
    }

    /// Waits for span `si`'s readback, finishes its voices, mixes them and
    /// queues the block's audio (silence if the GPU failed).
    fn resolve(&mut self, si: usize) {
        if !self.spans[si].live {
            return;
        }
        let mut sp = std::mem::take(&mut self.spans[si]);
        sp.live = false;
        let frames = sp.frames;
        for m in &mut self.mix {
            m[..frames].iter_mut().for_each(|v| *v = 0.0);
        }
        if sp.submitted {
            match self.read_back(si, &sp) {
                Ok(()) => {
                    let out_stride = 2 * self.core.cfg.max_block;
                    for (j, (slot, fin)) in sp.recs.iter().enumerate() {
                        let raw = &self.raw[j * out_stride..(j + 1) * out_stride];
                        let v = &mut self.core.slots.voices_mut()[*slot];
                        if v.finish_block(frames, raw, fin, &sp.marks) {
                            let [ml, mr] = &mut self.mix;
                            mix_into(
                                &mut ml[..frames],
                                &mut mr[..frames],
                                &v.out_l[..frames],
                                &v.out_r[..frames],
                            );
                        }
                    }
                }
                Err(e) => self.fail(e),
            }
        }
        let [ml, mr] = &mut self.mix;
        apply_master_ramp(&mut ml[..frames], &mut mr[..frames], sp.gain);
        self.fifo
            .push(&self.mix[0][..frames], &self.mix[1][..frames]);
        self.spans[si] = sp;
    }

    /// Waits (at most the timeout) for span `si`'s readback and copies it.
    fn read_back(&mut self, si: usize, sp: &Span) -> Result<(), GpuError> {
        // A failure since the submission: do not wait on a dead device.
        self.check_health()?;
        self.ctx
            .device
            .poll(wgpu::PollType::Wait {
                submission_index: sp.index.clone(),
                timeout: Some(self.timeout),
            })
            .map_err(|e| GpuError::Failed(format!("readback: {e}")))?;
        if let Some(f) = self.fault.get() {
            return Err(GpuError::Failed(f.clone()));
        }
        if self.map_status[si].load(Ordering::Acquire) != 1 {
            return Err(GpuError::Failed("readback failed".into()));
        }
        let floats = (sp.bytes / 4) as usize;
        {
            let view = self.readbacks[si]
                .get_mapped_range(0..sp.bytes)
                .map_err(|e| GpuError::Failed(e.to_string()))?;
            self.raw[..floats].copy_from_slice(bytemuck::cast_slice(&view));
        }
        self.readbacks[si].unmap();
        Ok(())
    }

    /// Hands the voices over to the CPU engine `cpu` after a failure (or
    /// any time): `cpu` continues from this engine's frame count, stolen
    /// count and master gain; every playing (held) voice restarts there
    /// with its id, instrument, plan and current controls (pitch, gain,
    /// pan, pickups, damping, brightness, morph) and its original
    /// excitation: the mesh state stays on the GPU and cannot be read
    /// back from a lost device. Released and fading voices end (emitted as
    /// [`EngineEvent::VoiceEnded`]), as do voices that do not fit `cpu`.
    /// Returns the number of voices restarted. This engine keeps its
    /// voices (drop it off the real-time thread).
    ///
    /// # Real-time safety
    /// No allocation, lock or I/O (instruments are `Arc`s; instruments
    /// `cpu` lets go of are emitted as [`EngineEvent::Retired`]).
    pub fn hand_over(&mut self, cpu: &mut CpuEngine, sink: &mut impl EventSink) -> usize {
        cpu.stats_mut().frames = self.core.stats.frames;
        cpu.stats_mut().stolen = self.core.stats.stolen;
        // A master gain glide in progress goes on over the frames it has left.
        let (target, left) = (
            self.core.slots.master_gain_target(),
            self.core.slots.master_frames_left(),
        );
        cpu.slots_mut().set_master_gain_over(target, left);
        let mut restarted = 0;
        for v in self
            .core
            .slots
            .voices_mut()
            .iter_mut()
            .filter(|v| v.is_active())
        {
            match v.restart() {
                Some(rs) if cpu.fits(&rs.inst, &rs.plan) => {
                    let (old, cut) = cpu.start_voice(rs.id, rs.inst, rs.plan, &rs.req);
                    retire(sink, old);
                    if let Some(c) = cut {
                        sink.emit(EngineEvent::VoiceEnded(c));
                    }
                    if let Some(cv) = cpu.voice_mut(rs.id) {
                        cv.set_modulators(rs.mods);
                    }
                    if let (Some((target, t)), Some(cv)) = (rs.morph, cpu.voice_mut(rs.id)) {
                        let old = cv.set_morph(Some(target), t, None);
                        retire(sink, (old, None));
                    }
                    restarted += 1;
                }
                _ => sink.emit(EngineEvent::VoiceEnded(v.id)),
            }
        }
        restarted
    }
}

impl VoiceEngine for GpuEngine {
    type Mesh = GpuMesh;
    fn core(&self) -> &EngineCore<GpuMesh> {
        &self.core
    }
    fn core_mut(&mut self) -> &mut EngineCore<GpuMesh> {
        &mut self.core
    }
    /// Renders `left.len()` frames (≤ `max_block`), as
    /// [`crate::engine::CpuEngine::process`] (`latency_frames` later with
    /// double-buffered readback). After a GPU failure it renders silence
    /// (see [`failure`](Self::failure)).
    ///
    /// # Real-time safety
    /// Our code does not allocate, lock or log here (a failure's message
    /// is formatted once); wgpu's submission and mapping allocate
    /// internally (docs/architecture.md).
    fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        let _ftz = crate::engine::ftz::ScopedFtz::new();
        let frames = left.len().min(right.len()).min(self.core.cfg.max_block);
        if frames == 0 {
            return;
        }
        self.core.slots.begin_block();
        let cur = self.next_span;
        self.next_span ^= 1;
        if let Err(e) = self.submit(cur, frames) {
            self.fail(e);
        }
        self.resolve(if self.pipelined { cur ^ 1 } else { cur });
        self.fifo.pop(&mut left[..frames], &mut right[..frames]);
        self.core.stats.frames += frames as u64;
    }
    /// Uploads an instrument that is not resident yet (not real-time
    /// safe: [`load`](GpuEngine::load) the bank beforehand).
    fn prepare_start(&mut self, inst: &Arc<Instrument>, plan: &NotePlan) {
        if self.bank.level_offset(inst, plan.level).is_none() {
            if let Err(e) = self.load(inst) {
                self.failure.get_or_insert(e.to_string());
            }
        }
    }
}

/// One block in flight: what its readback needs.
#[derive(Default)]
struct Span {
    frames: usize,
    /// (slot, finish record) in dispatch order (= slot order).
    recs: Vec<(usize, Finish)>,
    marks: Vec<PeriodMark>,
    /// Master gain ramp over the block.
    gain: (f32, f32),
    index: Option<wgpu::SubmissionIndex>,
    bytes: u64,
    /// Planned, not yet resolved.
    live: bool,
    /// Dispatched (false: no voice, or the GPU had failed).
    submitted: bool,
}

/// Instruments a voice let go of, to the sink.
fn retire(sink: &mut impl EventSink, r: Retired) {
    for a in [r.0, r.1].into_iter().flatten() {
        sink.emit(EngineEvent::Retired(a));
    }
}

/// Readback wait after which a hardware GPU counts as failed.
const HARDWARE_TIMEOUT: Duration = Duration::from_millis(250);
/// Readback wait after which a software adapter counts as failed.
const SOFTWARE_TIMEOUT: Duration = Duration::from_secs(10);

const _: () = assert!(MAX_STRIKES <= MAX_EXCITATIONS);
