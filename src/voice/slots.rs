//! The voice slots of an engine, whatever runs the meshes: ids, the slot a
//! new note goes into (stealing), the master gain ramp and the mix in slot
//! order. Both engines keep one [`Slots`] and differ only in how the
//! voices' meshes are stepped.
//!
//! # Real-time safety
//! After [`Slots::new`], nothing here allocates, locks or does I/O.

use std::sync::Arc;

use super::control::VoiceState;
use super::mesh::Mesh;
use super::program::Voice;
use crate::instrument::{Instrument, NotePlan};
use crate::types::NoteRequest;

/// Instruments a voice let go of (its previous instrument and morph
/// target), to be dropped off the real-time thread.
pub type Retired = (Option<Arc<Instrument>>, Option<Arc<Instrument>>);

/// The voice slots of an engine on mesh back-end `M`.
pub struct Slots<M> {
    voices: Vec<Voice<M>>,
    max_voices: usize,
    next_id: i32,
    master_gain: f32,
    master_target: f32,
    /// Frames left of a timed master gain glide (0: the next block ramps).
    master_left: u64,
}

impl<M: Mesh> Slots<M> {
    /// `voices` slots (spare ones included), at most `max_voices` sounding.
    pub fn new(voices: Vec<Voice<M>>, max_voices: usize) -> Self {
        Self {
            voices,
            max_voices,
            next_id: 1,
            master_gain: 1.0,
            master_target: 1.0,
            master_left: 0,
        }
    }

    /// Number of sounding voices.
    pub fn active_voices(&self) -> usize {
        self.voices.iter().filter(|v| v.is_active()).count()
    }

    /// The voice with id `id`, if sounding.
    pub fn voice_mut(&mut self, id: i32) -> Option<&mut Voice<M>> {
        self.voices.iter_mut().find(|v| v.is_active() && v.id == id)
    }

    /// All voice slots.
    pub fn voices(&self) -> &[Voice<M>] {
        &self.voices
    }

    /// All voice slots, mutable.
    pub fn voices_mut(&mut self) -> &mut [Voice<M>] {
        &mut self.voices
    }

    /// Sets the master gain (linear), ramped over the next block.
    pub fn set_master_gain(&mut self, g: f32) {
        self.master_target = g.max(0.0);
        self.master_left = 0;
    }

    /// Moves the master gain (linear) to `g` linearly over `frames` frames.
    pub fn set_master_gain_over(&mut self, g: f32, frames: u64) {
        self.master_target = g.max(0.0);
        self.master_left = frames;
    }

    /// Frames left of a timed master gain glide (0: none).
    pub fn master_frames_left(&self) -> u64 {
        self.master_left
    }

    /// The master gain the engine ramps toward.
    pub fn master_gain_target(&self) -> f32 {
        self.master_target
    }

    /// The master gain ramp of the next block of `frames` frames (from,
    /// to); the block after starts where it ends.
    pub fn next_master_ramp(&mut self, frames: usize) -> (f32, f32) {
        let from = self.master_gain;
        let frames = frames as u64;
        let to = if self.master_left > frames {
            let share = frames as f32 / self.master_left as f32;
            self.master_left -= frames;
            from + (self.master_target - from) * share
        } else {
            self.master_left = 0;
            self.master_target
        };
        self.master_gain = to;
        (from, to)
    }

    /// A fresh voice id (positive, below 2^24).
    pub fn allocate_id(&mut self) -> i32 {
        loop {
            let id = self.next_id;
            self.next_id = if self.next_id >= (1 << 24) - 1 {
                1
            } else {
                self.next_id + 1
            };
            if !self.voices.iter().any(|v| v.is_active() && v.id == id) {
                return id;
            }
        }
    }

    /// Starts voice `id` in the slot [`pick_slot`] chooses. Returns the
    /// instruments the slot held before, the id of a voice cut without a
    /// fade (never `id` itself), and whether a voice was stolen.
    ///
    /// # Real-time safety
    /// No allocation, lock or I/O.
    pub fn start_voice(
        &mut self,
        id: i32,
        inst: Arc<Instrument>,
        plan: NotePlan,
        req: &NoteRequest,
        sample_rate: f64,
        frame: u64,
    ) -> (Retired, Option<i32>, bool) {
        let (slot, stolen, cut) = pick_slot(&mut self.voices, self.max_voices, id);
        let old = self.voices[slot].start(id, inst, plan, req, sample_rate, frame);
        (old, cut.filter(|&c| c != id), stolen)
    }

    /// Clears every voice's end flag before a block.
    pub fn begin_block(&mut self) {
        for v in &mut self.voices {
            v.just_ended = false;
        }
    }

    /// Ids of voices that ended during the last block.
    pub fn ended_voices(&self) -> impl Iterator<Item = i32> + '_ {
        self.voices.iter().filter(|v| v.just_ended).map(|v| v.id)
    }
}

/// Adds a voice's output (`out_l`, `out_r`) into the mix.
pub fn mix_into(left: &mut [f32], right: &mut [f32], out_l: &[f32], out_r: &[f32]) {
    for (o, s) in left.iter_mut().zip(out_l) {
        *o += s;
    }
    for (o, s) in right.iter_mut().zip(out_r) {
        *o += s;
    }
}

/// Applies a master gain ramp (from, to) over the block, reaching `to` at
/// its last frame.
pub fn apply_master_ramp(left: &mut [f32], right: &mut [f32], (g0, g1): (f32, f32)) {
    let inv = 1.0 / left.len().max(1) as f32;
    for (j, (l, r)) in left.iter_mut().zip(right.iter_mut()).enumerate() {
        let g = g0 + (g1 - g0) * (j + 1) as f32 * inv;
        *l *= g;
        *r *= g;
    }
}

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
