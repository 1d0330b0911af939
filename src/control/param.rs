//! Value ranges of the OSC contract: the voice parameters (their table,
//! [`VoiceParam`], lives in the bottom layer, [`crate::types`], where the
//! engine uses it too) and the ranges of the other arguments. Both [`super::command`] (parsing) and [`super::reply`]
//! (`/inst/info.reply` lists the names) use them.

use std::ops::RangeInclusive;

pub use crate::types::{VoiceParam, GAIN_RANGE, NOTE_RANGE, UNIT_RANGE};

/// Range of `/excite` amplitude, on the same scale as velocity.
pub const AMPLITUDE_RANGE: RangeInclusive<f32> = 0.0..=1.0;
/// Range of `/excite` width, as a share of the mesh size.
pub const WIDTH_RANGE: RangeInclusive<f32> = 0.0..=1.0;
/// Range of `/morph` duration in seconds.
pub const MORPH_SECONDS_RANGE: RangeInclusive<f32> = 0.0..=3600.0;
