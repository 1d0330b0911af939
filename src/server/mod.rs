//! `neirosynth serve`: the long-running server (control side). The router
//! turns OSC and MIDI into engine commands; the engine thread renders; an
//! audio back-end plays.

pub mod midi_map;
pub mod router;
pub mod runtime;
pub mod stats;
