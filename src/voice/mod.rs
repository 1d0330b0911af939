//! The voice: one backend-free program that every mesh back-end runs.
//!
//! A voice is a note on a mesh: controls and their smoothing, excitation
//! scheduling, pickups, the output chain (DC blocker, radiation filter,
//! gain and pan) and its end (release, silence, fade). All of that is
//! written once here ([`program::Voice`]); what a back-end does is run the
//! mesh steps ([`mesh::Mesh`]): the CPU engine on state buffers in memory
//! (`crate::engine::voice`), the GPU engine in per-voice slots of its
//! dispatch (`crate::gpu::voice`).
//!
//! - `control`: timing constants, life states, smoothed parameters.
//! - `excitation`: strike, pluck and noise.
//! - `bow`: the friction bow (its node, force and velocity per step).
//! - `output`: pickup taps, DC blocker, radiation, gains, end detection.
//! - `mesh`: the back-end interface.
//! - `modulation`: per-voice modulators (LFOs, smoothed noise) on its parameters.
//! - `program`: the voice program.
//! - `setters`: its control setters.
//! - `walk`: one block's walk (delay, control ticks, runs of samples), for every back-end.
//! - `slots`: an engine's voice slots (ids, stealing, master gain, mix), for either engine.

pub mod bow;
pub mod control;
pub mod excitation;
pub mod mesh;
pub mod modulation;
pub mod output;
pub mod program;
pub mod setters;
pub mod slots;
pub mod walk;

pub use control::{
    velocity_amplitude, VoiceState, CONTROL_PERIOD, FREE_FADE, MAX_EXCITATIONS, SILENCE,
    SILENCE_HOLD, SMOOTHING_TIME,
};
pub use mesh::Mesh;
pub use modulation::{ModRefusal, Modulators};
pub use program::{morph_compatible, Restart, Voice};
pub use slots::{apply_master_ramp, mix_into, pick_slot, Retired, Slots};
