//! The voice slots of an engine, whatever runs the meshes: the slot a new
//! note goes into (stealing), and what a voice lets go of.
//!
//! # Real-time safety
//! Nothing here allocates, locks or does I/O.

use std::sync::Arc;

use super::control::VoiceState;
use super::mesh::Mesh;
use super::program::Voice;
use crate::instrument::Instrument;

/// Instruments a voice let go of (its previous instrument and morph
/// target), to be dropped off the real-time thread.
pub type Retired = (Option<Arc<Instrument>>, Option<Arc<Instrument>>);

/// The slot a voice with `id` goes into: its own slot if it is playing; a
/// free slot while fewer than `max_voices` sound; else the oldest released
/// voice is stolen, else the oldest (free slots then host the newcomer
/// while the victim fades; with none, the victim's slot is cut).
/// Returns (slot, stolen, id of a voice cut without a fade).
///
/// # Real-time safety
/// No allocation.
pub fn pick_slot<M: Mesh>(
    voices: &mut [Voice<M>],
    max_voices: usize,
    id: i32,
) -> (usize, bool, Option<i32>) {
    if let Some(i) = voices.iter().position(|v| v.is_active() && v.id == id) {
        return (i, false, None);
    }
    let sounding = voices
        .iter()
        .filter(|v| v.is_active() && v.state != VoiceState::Fading)
        .count();
    let free = voices.iter().position(|v| !v.is_active());
    if sounding < max_voices {
        if let Some(i) = free {
            return (i, false, None);
        }
    }
    let oldest = |voices: &[Voice<M>], released: bool| {
        voices
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_active() && v.state != VoiceState::Fading)
            .filter(|(_, v)| !released || v.state == VoiceState::Released)
            .min_by_key(|(_, v)| v.started_frame)
            .map(|(i, _)| i)
    };
    let victim = oldest(voices, true).or_else(|| oldest(voices, false));
    match (victim, free) {
        (Some(v), Some(i)) => {
            voices[v].free();
            (i, true, None)
        }
        (Some(v), None) => (v, true, Some(voices[v].id)),
        // Every slot is fading: cut the oldest.
        (None, _) => {
            let i = voices
                .iter()
                .enumerate()
                .min_by_key(|(_, v)| v.started_frame)
                .map_or(0, |(i, _)| i);
            (i, true, Some(voices[i].id))
        }
    }
}
