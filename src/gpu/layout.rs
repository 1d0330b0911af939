//! The block kernel's WGSL sources, and the Rust twins of its structs
//! (plain old data, uploaded with `bytemuck`). `tests/gpu.rs` checks every
//! size and field offset against naga's layout of both kernels.
//!
//! The kernel is written once, in `shaders/voice_block.wgsl`; each variant
//! appends the few functions that say where the auxiliary field is read
//! from (`shaders/voice_block_global.wgsl`: global memory;
//! `shaders/voice_block_wg.wgsl`: workgroup memory). The sources are joined
//! here at build time (WGSL declarations may come in any order).

use bytemuck::{Pod, Zeroable};

/// The WGSL source of the block kernel (global memory): the shared kernel
/// and the global-memory variant's functions.
pub const VOICE_BLOCK_WGSL: &str = concat!(
    include_str!("../../shaders/voice_block.wgsl"),
    "\n",
    include_str!("../../shaders/voice_block_global.wgsl"),
);

/// The WGSL source of the workgroup-memory block kernel: the shared kernel
/// and the workgroup-memory variant's functions.
pub const VOICE_BLOCK_WG_WGSL: &str = concat!(
    include_str!("../../shaders/voice_block.wgsl"),
    "\n",
    include_str!("../../shaders/voice_block_wg.wgsl"),
);

/// Every kernel of the crate: (name, assembled source).
pub const SHADERS: &[(&str, &str)] = &[
    ("voice_block", VOICE_BLOCK_WGSL),
    ("voice_block_wg", VOICE_BLOCK_WG_WGSL),
];

/// Every file of `shaders/`: (file name, text), the parts [`SHADERS`] are
/// joined from.
pub const SHADER_FILES: &[(&str, &str)] = &[
    (
        "voice_block.wgsl",
        include_str!("../../shaders/voice_block.wgsl"),
    ),
    (
        "voice_block_global.wgsl",
        include_str!("../../shaders/voice_block_global.wgsl"),
    ),
    (
        "voice_block_wg.wgsl",
        include_str!("../../shaders/voice_block_wg.wgsl"),
    ),
];

/// Floats of workgroup memory the workgroup-memory kernel holds (the WGSL
/// `WG_FLOATS`): meshes whose padded layout is at most this long use it.
pub const WG_FLOATS: usize = 7936;

/// Longest excitation window (must equal the WGSL `Window` arrays).
pub const WINDOW_TAPS: usize = crate::engine::excitation::MAX_WINDOW;

/// Strike windows one voice can have in a block (the WGSL `MAX_STRIKES`).
pub const MAX_STRIKES: usize = 4;

/// Floats per step of a bow in the forces (force, velocity, `g`).
pub const BOW_FLOATS: usize = 3;
/// Threads per workgroup on a hardware GPU (the WGSL `WG` override's default).
pub const WORKGROUP_SIZE: u32 = 256;

/// What one workgroup renders this block: one voice.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct VoiceHeader {
    /// Nodes across.
    pub width: u32,
    /// Nodes down.
    pub height: u32,
    /// Row stride of the padded layout.
    pub stride: u32,
    /// Padded nodes.
    pub len: u32,
    /// Offset (floats) of the level's maps in the bank buffer.
    pub maps: u32,
    /// Offset of the morph target's maps (= `maps` without a morph).
    pub morph_maps: u32,
    /// Offset (floats) of the voice slot's state.
    pub state: u32,
    /// Floats per state field of a slot.
    pub cap: u32,
    /// Offset (floats) of the voice's output (two per sample).
    pub out: u32,
    /// Output samples to simulate.
    pub samples: u32,
    /// Steps per output sample.
    pub oversample: u32,
    /// Which buffer of each pair is current at the block's start.
    pub flip: u32,
    /// Non-zero: clear the state first (the voice started).
    pub reset: u32,
    /// Index of the voice's first coefficient update.
    pub first_update: u32,
    /// Coefficient updates this block.
    pub n_updates: u32,
    /// Updates applied before the plucks (a start's coefficients).
    pub n_pre: u32,
    /// Index of the voice's first window (plucks, then strikes).
    pub first_window: u32,
    /// Plucks to apply at the block's start.
    pub n_plucks: u32,
    /// Strike windows acting during the block.
    pub n_strikes: u32,
    /// Index of the voice's first sample taps.
    pub first_tap: u32,
    /// `a + b` in effect at the block's start.
    pub ab: f32,
    /// `b` in effect at the block's start.
    pub b: f32,
    /// Padded index of the bowed node (0: no bow this block).
    pub bow_node: u32,
    /// Index in the forces of the bow's steps ([`BOW_FLOATS`] per step:
    /// force, velocity, `g`).
    pub bow_steps: u32,
}

/// A coefficient update (a control tick that moved pitch, damping or morph).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct CoefUpdate {
    /// Output sample (of the block) before which it applies.
    pub at: u32,
    /// Non-zero: blend toward the header's morph maps.
    pub morph: u32,
    /// `a`.
    pub a: f32,
    /// `b` with the damping scale applied.
    pub b: f32,
    /// `κk²`.
    pub kk: f32,
    /// Time step.
    pub k: f32,
    /// Damping scale.
    pub scale: f32,
    /// Extra σ₀ (release).
    pub extra: f32,
    /// Morph amount.
    pub t: f32,
    /// `a + b`.
    pub ab: f32,
    /// Padding.
    pub pad0: u32,
    /// Padding.
    pub pad1: u32,
}

/// The two pickups of one output sample (bilinear weights).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct TapPair {
    /// Left pickup's first node.
    pub il: u32,
    /// Left weights.
    pub wl: [f32; 4],
    /// Right pickup's first node.
    pub ir: u32,
    /// Right weights.
    pub wr: [f32; 4],
}

/// An excitation window: a pluck (scale) or a strike (per-step forces).
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Window {
    /// Padded index of the window's first node.
    pub origin: u32,
    /// Taps across.
    pub nx: u32,
    /// Taps down.
    pub ny: u32,
    /// Index of the strike's first force in the force buffer.
    pub force: u32,
    /// A pluck's displacement scale.
    pub scale: f32,
    /// Padding.
    pub pad: [u32; 3],
    /// Weights across.
    pub wx: [f32; WINDOW_TAPS],
    /// Weights down.
    pub wy: [f32; WINDOW_TAPS],
}

impl Default for Window {
    fn default() -> Self {
        Self::zeroed()
    }
}
