//! MIDI mapping: the preset (channel → instrument, bend range, velocity
//! curve, CC targets) and per-channel state (bend, sustain, held notes).
//! The same handling serves MIDI ports and OSC `/midi`.
//!
//! Mapping (documented in the README): note on/off with the velocity curve;
//! pitch bend ± `bend_range` semitones per channel (MPE: every channel bends
//! its own voices); CC64 sustain; CC1 → morph toward the channel's
//! `morph_target`; CC74 → strike position x of later notes; channel
//! pressure → gain 1..2 of the channel's voices; program change → the
//! channel's instrument (bank index).

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::control::midi::VelocityCurve;

/// A MIDI preset (JSON, see `patches/presets/midi_map.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MidiMap {
    /// Pitch-bend range, semitones (default 2).
    #[serde(default = "default_bend")]
    pub bend_range: f32,
    /// Velocity curve.
    #[serde(default, with = "curve_name")]
    pub velocity_curve: VelocityCurve,
    /// Per-channel settings (1-based MIDI channel numbers as keys "1".."16").
    #[serde(default)]
    pub channels: std::collections::BTreeMap<String, ChannelMap>,
}

/// Settings of one MIDI channel.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelMap {
    /// Instrument (name) this channel plays.
    #[serde(default)]
    pub instrument: Option<String>,
    /// Instrument CC1 morphs toward.
    #[serde(default)]
    pub morph_target: Option<String>,
}

fn default_bend() -> f32 {
    2.0
}

mod curve_name {
    use super::VelocityCurve;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(c: &VelocityCurve, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(c.name())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<VelocityCurve, D::Error> {
        let name = String::deserialize(d)?;
        VelocityCurve::from_name(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown velocity curve `{name}` (linear, soft, hard)"
            ))
        })
    }
}

impl Default for MidiMap {
    fn default() -> Self {
        Self {
            bend_range: 2.0,
            velocity_curve: VelocityCurve::Linear,
            channels: Default::default(),
        }
    }
}

impl MidiMap {
    /// Reads a preset file; the error names the file and the problem.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let map: MidiMap =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if !map.bend_range.is_finite() || !(0.0..=48.0).contains(&map.bend_range) {
            return Err(format!(
                "{}: bend_range {} is outside 0..48",
                path.display(),
                map.bend_range
            ));
        }
        for k in map.channels.keys() {
            match k.parse::<u8>() {
                Ok(1..=16) => {}
                _ => return Err(format!("{}: channel `{k}` is not 1..16", path.display())),
            }
        }
        Ok(map)
    }
}

/// Per-channel MIDI state.
pub struct MidiState {
    /// The preset.
    pub map: MidiMap,
    program: [Option<usize>; 16],
    instrument_names: [Option<String>; 16],
    bend: [f64; 16],
    sustain: [bool; 16],
    sustained: [HashSet<u8>; 16],
    held: [HashSet<u8>; 16],
    morph: [Option<f64>; 16],
    strike_x: [Option<f32>; 16],
}

impl MidiState {
    /// Fresh state for a preset.
    pub fn new(map: MidiMap) -> Self {
        let mut instrument_names: [Option<String>; 16] = Default::default();
        for (k, c) in &map.channels {
            if let Ok(ch @ 1..=16) = k.parse::<usize>() {
                instrument_names[ch - 1] = c.instrument.clone();
            }
        }
        Self {
            map,
            program: [None; 16],
            instrument_names,
            bend: [0.0; 16],
            sustain: [false; 16],
            sustained: Default::default(),
            held: Default::default(),
            morph: [None; 16],
            strike_x: [None; 16],
        }
    }

    /// The preset's instrument name for `channel` (0-based), if any.
    pub fn preset_instrument(&self, channel: u8) -> Option<&str> {
        self.instrument_names[channel as usize & 15].as_deref()
    }

    /// Bank index the channel plays: program change, else 0.
    pub fn instrument_for(&self, channel: u8) -> usize {
        self.program[channel as usize & 15].unwrap_or(0)
    }

    /// Sets the channel's program (bank index).
    pub fn set_program(&mut self, channel: u8, index: usize) {
        self.program[channel as usize & 15] = Some(index);
    }

    /// Resolves preset instrument names to bank indices.
    pub fn resolve(&mut self, index_of: impl Fn(&str) -> Option<usize>) -> Vec<String> {
        let mut missing = Vec::new();
        for ch in 0..16 {
            if let Some(name) = self.instrument_names[ch].clone() {
                match index_of(&name) {
                    Some(i) => self.program[ch] = Some(i),
                    None => missing.push(name),
                }
            }
        }
        missing
    }

    /// Current bend of the channel, semitones.
    pub fn bend(&self, channel: u8) -> f64 {
        self.bend[channel as usize & 15]
    }
    /// Sets the channel's bend.
    pub fn set_bend(&mut self, channel: u8, semitones: f64) {
        self.bend[channel as usize & 15] = semitones;
    }
    /// Records a held note.
    pub fn note_on(&mut self, channel: u8, note: u8) {
        let c = channel as usize & 15;
        self.held[c].insert(note);
        self.sustained[c].remove(&note);
    }
    /// A note-off: true when the voice should be released now (false while sustained).
    pub fn note_off(&mut self, channel: u8, note: u8) -> bool {
        let c = channel as usize & 15;
        self.held[c].remove(&note);
        if self.sustain[c] {
            self.sustained[c].insert(note);
            false
        } else {
            true
        }
    }
    /// Sets the sustain pedal; returns the notes to release when it goes up.
    pub fn set_sustain(&mut self, channel: u8, on: bool) -> Vec<u8> {
        let c = channel as usize & 15;
        self.sustain[c] = on;
        if on {
            Vec::new()
        } else {
            let mut v: Vec<u8> = self.sustained[c].drain().collect();
            v.sort_unstable();
            v
        }
    }
    /// Sets the CC1 morph amount.
    pub fn set_morph_amount(&mut self, channel: u8, t: f64) {
        self.morph[channel as usize & 15] = Some(t);
    }
    /// The CC1 morph amount, if set.
    pub fn morph_amount(&self, channel: u8) -> Option<f64> {
        self.morph[channel as usize & 15]
    }
    /// The morph target of the channel (preset).
    pub fn morph_target(&self, channel: u8) -> Option<&str> {
        self.map
            .channels
            .get(&(channel as usize + 1).to_string())?
            .morph_target
            .as_deref()
    }
    /// Sets the strike position of later notes (CC74).
    pub fn set_strike_x(&mut self, channel: u8, x: f32) {
        self.strike_x[channel as usize & 15] = Some(x);
    }
    /// The CC74 strike position, if set.
    pub fn strike_x(&self, channel: u8) -> Option<f32> {
        self.strike_x[channel as usize & 15]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sustain holds note-offs until the pedal goes up.
    #[test]
    fn sustain_defers_note_off() {
        let mut s = MidiState::new(MidiMap::default());
        s.note_on(0, 60);
        s.set_sustain(0, true);
        assert!(!s.note_off(0, 60));
        assert_eq!(s.set_sustain(0, false), vec![60]);
        s.note_on(0, 61);
        assert!(s.note_off(0, 61));
    }
}
