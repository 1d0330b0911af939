//! What a mesh back-end does for the voice program.
//!
//! The program ([`super::Voice`]) decides everything a note does; the
//! back-end holds the mesh state and runs its steps: the CPU engine
//! (`crate::engine::voice::CpuMesh`: the scheme kernel on state buffers) or
//! the GPU engine (`crate::gpu::voice::GpuMesh`: a slot of the GPU state,
//! stepped by the block's dispatch). The program calls these hooks on the
//! control side of a block; running the steps is the engine's loop.
//!
//! # Real-time safety
//! Every hook is called on the real-time thread: no allocation, lock or I/O.

use super::excitation::Excitation;
use super::output::VoiceFault;
use crate::instrument::radiation::RadiationFilter;
use crate::physics::scheme::{BodyMaps, DampingControl, SchemeParams};
use crate::types::ExciteShape;

/// A mesh back-end: the state of one voice slot's mesh.
pub trait Mesh {
    /// Padded nodes the slot holds.
    fn capacity(&self) -> usize;

    /// A new note starts in the slot: its mesh is at rest; `radiation` is
    /// the note's radiation filter (for the back-end's output chain).
    fn reset(&mut self, radiation: &RadiationFilter);

    /// The coefficients in effect change: `maps` (blended toward `morph`'s
    /// maps by its amount), the scheme's scalars `params` (`b` not yet
    /// scaled by the damping) and the damping control, as
    /// [`crate::physics::scheme::fill_coefficients`] takes them.
    fn set_coefficients(
        &mut self,
        maps: &BodyMaps,
        morph: Option<(&BodyMaps, f32)>,
        params: &SchemeParams,
        damping: DampingControl,
    );

    /// The displacement buffers (current, previous) an excitation's setup
    /// writes into (a pluck displaces them at once).
    fn excitation_state(&mut self) -> (&mut [f32], &mut [f32]);

    /// Why the voice's circuit breaker (its output chain) cut it, if it did.
    fn fault(&self) -> Option<VoiceFault>;

    /// Excitation `e` of `shape` was set up on [`excitation_state`](Self::excitation_state).
    fn excited(&mut self, e: &Excitation, shape: ExciteShape);
}
