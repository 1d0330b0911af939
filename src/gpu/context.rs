//! Adapter selection: which GPU the GPU engine runs on, and why.

use std::fmt;

/// Why the GPU engine cannot run.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// No Vulkan adapter at all.
    #[error("no Vulkan adapter found")]
    NoAdapter,
    /// Only software adapters, and a hardware one was required.
    #[error("only a software adapter ({0}), not used for real time")]
    SoftwareOnly(String),
    /// The device could not be opened.
    #[error("cannot open {adapter}: {reason}")]
    Device {
        /// The adapter's name.
        adapter: String,
        /// What wgpu said.
        reason: String,
    },
    /// The mesh or bank does not fit the device's limits.
    #[error("{0}")]
    Limits(String),
    /// The device failed or was lost while rendering.
    #[error("GPU failure: {0}")]
    Failed(String),
}

/// A name and type of an adapter, for logs and reports.
#[derive(Clone, Debug)]
pub struct AdapterSummary {
    /// The adapter's name (e.g. "llvmpipe (LLVM 19.1.7, 256 bits)").
    pub name: String,
    /// Discrete, integrated, virtual, CPU or other.
    pub device_type: wgpu::DeviceType,
    /// The driver's name and version.
    pub driver: String,
}

impl AdapterSummary {
    fn of(info: &wgpu::AdapterInfo) -> Self {
        Self {
            name: info.name.clone(),
            device_type: info.device_type,
            driver: format!("{} {}", info.driver, info.driver_info),
        }
    }
    /// True for a software rasteriser (llvmpipe/lavapipe, SwiftShader).
    pub fn is_software(&self) -> bool {
        let n = self.name.to_ascii_lowercase();
        self.device_type == wgpu::DeviceType::Cpu
            || n.contains("llvmpipe")
            || n.contains("lavapipe")
            || n.contains("swiftshader")
    }
}

impl fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({:?}, {})",
            self.name,
            self.device_type,
            self.driver.trim()
        )
    }
}

/// An opened GPU: device, queue and the adapter they came from (cheap to
/// clone: handles).
#[derive(Clone)]
pub struct GpuContext {
    /// The device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// The adapter.
    pub adapter: AdapterSummary,
    /// The device's limits.
    pub limits: wgpu::Limits,
}

fn rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

impl GpuContext {
    /// Every Vulkan adapter of this machine.
    pub fn adapters() -> Vec<AdapterSummary> {
        super::driver_messages::quietly(|| {
            pollster::block_on(instance().enumerate_adapters(wgpu::Backends::VULKAN))
        })
        .iter()
        .map(|a| AdapterSummary::of(&a.get_info()))
        .collect()
    }

    /// Opens the best Vulkan adapter: hardware first; a software adapter
    /// only with `allow_software` (`--engine gpu`, tests).
    pub fn new(allow_software: bool) -> Result<Self, GpuError> {
        let mut adapters = super::driver_messages::quietly(|| {
            pollster::block_on(instance().enumerate_adapters(wgpu::Backends::VULKAN))
        });
        if adapters.is_empty() {
            return Err(GpuError::NoAdapter);
        }
        adapters.sort_by_key(|a| rank(a.get_info().device_type));
        let adapter = adapters.swap_remove(0);
        let summary = AdapterSummary::of(&adapter.get_info());
        if summary.is_software() && !allow_software {
            return Err(GpuError::SoftwareOnly(summary.to_string()));
        }
        let limits = adapter.limits();
        let desc = wgpu::DeviceDescriptor {
            label: Some("neirosynth"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        };
        let (device, queue) =
            pollster::block_on(adapter.request_device(&desc)).map_err(|e| GpuError::Device {
                adapter: summary.name.clone(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            device,
            queue,
            adapter: summary,
            limits,
        })
    }
}

fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::VULKAN;
    wgpu::Instance::new(desc)
}
