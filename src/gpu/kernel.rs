//! The GPU engine's kernels: a compiled compute pipeline with its bind
//! group, the storage buffers it binds, and the workgroup size per adapter.

use super::context::GpuContext;
use super::layout::WORKGROUP_SIZE;

/// A storage buffer of at least `bytes` (a multiple of 16), with `extra` usages.
pub(crate) fn storage(
    device: &wgpu::Device,
    label: &str,
    bytes: usize,
    extra: wgpu::BufferUsages,
) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: (bytes.max(16) as u64).next_multiple_of(16),
        usage: wgpu::BufferUsages::STORAGE | extra,
        mapped_at_creation: false,
    })
}

/// A compute pipeline with its bind group and its own header buffer.
pub(crate) struct Kernel {
    /// The compiled pipeline.
    pub(crate) pipeline: wgpu::ComputePipeline,
    /// Its bind group.
    pub(crate) bind_group: wgpu::BindGroup,
    /// Its header buffer (binding 0).
    pub(crate) headers: wgpu::Buffer,
}

impl Kernel {
    /// Compiles `src` with `wg` threads per workgroup and binds `headers`
    /// (binding 0) and the shared buffers (bindings 1…).
    pub(crate) fn new(
        dev: &wgpu::Device,
        label: &str,
        src: &str,
        wg: u32,
        headers: wgpu::Buffer,
        shared: [&wgpu::Buffer; 7],
    ) -> Self {
        let module = dev.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(label),
            source: wgpu::ShaderSource::Wgsl(src.into()),
        });
        let pipeline = dev.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(label),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &[("WG", wg as f64)],
                ..Default::default()
            },
            cache: None,
        });
        let layout = pipeline.get_bind_group_layout(0);
        let entries: Vec<wgpu::BindGroupEntry> = std::iter::once(&headers)
            .chain(shared)
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        let bind_group = dev.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout: &layout,
            entries: &entries,
        });
        Self {
            pipeline,
            bind_group,
            headers,
        }
    }
}

/// Threads per voice: 256 on a hardware GPU. On a software adapter, 64
/// (every workgroup barrier costs a switch per 8 threads) unless a voice
/// of `capacity` padded nodes could give a thread more than about 64 mesh
/// nodes (80 padded nodes: a 64×64 mesh pads to 72×66): then 128 or 256. On lavapipe (Mesa 22.3, LLVM 15) 80×80 and 128×128
/// meshes rendered wrongly with 100 and 256 nodes per thread while a
/// strike acted in a long block (root cause not found; 50–64 nodes per
/// thread render correctly; tests/gpu.rs covers both sizes).
pub fn workgroup_size(ctx: &GpuContext, capacity: usize) -> u32 {
    if ctx.adapter.is_software() {
        (capacity.div_ceil(80) as u32)
            .next_power_of_two()
            .clamp(64, WORKGROUP_SIZE)
    } else {
        WORKGROUP_SIZE
    }
}
