//! MIDI mapping: the preset (channel → instrument, bend range, velocity
//! curve, controller assignments) and per-channel state (program, bend,
//! sustain, held notes). The same handling serves MIDI ports and OSC `/midi`.
//!
//! The preset format is documented in `patches/README.md` ("MIDI preset");
//! `patches/presets/midi_map.json` is an example. Without a preset: every
//! channel plays bank index 0 (or its program change), bend ±2 semitones,
//! linear velocity, CC1 → morph (toward the channel's target, if any),
//! CC74 → strike x, CC64 → sustain.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::control::midi::VelocityCurve;
use crate::types::VoiceParam;

/// Why a MIDI preset is refused (the messages name the file and the field).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MidiMapError {
    /// The preset file cannot be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The preset file is read but refused.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: Box<MidiMapError>,
    },
    /// The text is not JSON.
    #[error("not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// The JSON does not have the preset's fields and types.
    #[error(transparent)]
    Fields(serde_json::Error),
    /// `format` is not `neirosynth-midi-map`.
    #[error("format is `{0}`, expected `neirosynth-midi-map`")]
    Format(String),
    /// A format version this build does not read.
    #[error("unsupported version {0} (this build reads 1)")]
    Version(u32),
    /// A pitch-bend range outside 0..48 semitones.
    #[error("{what} {value} is outside 0..48 semitones")]
    BendRange {
        /// The field.
        what: &'static str,
        /// Its value.
        value: f32,
    },
    /// A velocity curve name that does not exist.
    #[error("unknown velocity curve `{0}` (linear, soft, hard)")]
    VelocityCurve(String),
    /// A channel outside 1..16.
    #[error("channel {0} is not 1..16")]
    Channel(u8),
    /// A controller number outside 0..127.
    #[error("cc {0} is not 0..127")]
    Controller(u8),
    /// A controller assigned to a parameter that does not exist.
    #[error("cc {cc}: unknown param `{param}`")]
    UnknownParam {
        /// The controller.
        cc: u8,
        /// The parameter named.
        param: String,
    },
    /// A controller's `min` or `max` is not a finite number.
    #[error("cc {0}: min and max must be numbers")]
    NotANumber(u8),
}

/// An instrument named in a preset: by name or bank index.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum InstSel {
    /// Bank index.
    Index(usize),
    /// Name.
    Name(String),
}

/// What a controller drives.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CcParam {
    /// Morph amount toward the channel's target.
    Morph,
    /// Strike position x of later notes.
    StrikeX,
    /// Strike position y of later notes.
    StrikeY,
    /// Sustain pedal.
    Sustain,
    /// A voice parameter of the channel's voices.
    Voice(VoiceParam),
}

/// One controller assignment.
#[derive(Clone, Debug, PartialEq)]
pub struct CcMap {
    /// Controller number.
    pub cc: u8,
    /// What it drives.
    pub param: CcParam,
    /// Value at controller 0.
    pub min: f64,
    /// Value at controller 127.
    pub max: f64,
    /// Morph target for channels without their own.
    pub target: Option<InstSel>,
    /// Sustain: pedal down at ≥ this.
    pub threshold: u8,
}

/// Settings of one channel.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChannelMap {
    /// Instrument the channel plays.
    pub instrument: Option<InstSel>,
    /// Instrument the morph controller moves toward.
    pub morph_target: Option<InstSel>,
    /// Bend range override.
    pub bend_range: Option<f32>,
    /// Velocity curve override.
    pub velocity_curve: Option<VelocityCurve>,
}

/// A MIDI preset.
#[derive(Clone, Debug, PartialEq)]
pub struct MidiMap {
    /// Free text.
    pub name: String,
    /// Bend range, semitones.
    pub bend_range: f32,
    /// Velocity curve.
    pub velocity_curve: VelocityCurve,
    /// Per-channel settings, index 0 = MIDI channel 1.
    pub channels: [ChannelMap; 16],
    /// Controller assignments (all channels).
    pub cc: Vec<CcMap>,
}

impl Default for MidiMap {
    fn default() -> Self {
        let cc = |cc, param| CcMap {
            cc,
            param,
            min: 0.0,
            max: 1.0,
            target: None,
            threshold: 64,
        };
        Self {
            name: "default".into(),
            bend_range: 2.0,
            velocity_curve: VelocityCurve::Linear,
            channels: Default::default(),
            cc: vec![
                cc(1, CcParam::Morph),
                cc(74, CcParam::StrikeX),
                cc(64, CcParam::Sustain),
            ],
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMap {
    format: String,
    version: u32,
    #[serde(default)]
    name: String,
    #[serde(default = "two")]
    pitch_bend_range: f32,
    #[serde(default)]
    velocity_curve: Option<String>,
    #[serde(default)]
    channels: Vec<FileChannel>,
    #[serde(default)]
    cc: Vec<FileCc>,
}

fn two() -> f32 {
    2.0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileChannel {
    channel: u8,
    #[serde(default)]
    instrument: Option<InstSel>,
    #[serde(default)]
    morph_target: Option<InstSel>,
    #[serde(default)]
    pitch_bend_range: Option<f32>,
    #[serde(default)]
    velocity_curve: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCc {
    cc: u8,
    param: String,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    target: Option<InstSel>,
    #[serde(default)]
    threshold: Option<u8>,
}

/// Removes keys starting with `_` (comments) everywhere.
fn strip_comments(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.retain(|k, _| !k.starts_with('_'));
            m.values_mut().for_each(strip_comments);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip_comments),
        _ => {}
    }
}

fn curve(name: &str) -> Result<VelocityCurve, MidiMapError> {
    VelocityCurve::from_name(name).ok_or_else(|| MidiMapError::VelocityCurve(name.to_string()))
}

fn bend(value: f32, what: &'static str) -> Result<f32, MidiMapError> {
    if value.is_finite() && (0.0..=48.0).contains(&value) {
        Ok(value)
    } else {
        Err(MidiMapError::BendRange { what, value })
    }
}

impl MidiMap {
    /// Reads a preset file; errors name the file and the problem.
    pub fn load(path: &Path) -> Result<Self, MidiMapError> {
        let text = std::fs::read_to_string(path).map_err(|source| MidiMapError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text).map_err(|e| MidiMapError::File {
            path: path.to_path_buf(),
            source: Box::new(e),
        })
    }

    /// Parses a preset.
    pub fn from_json(text: &str) -> Result<Self, MidiMapError> {
        let mut v: serde_json::Value = serde_json::from_str(text).map_err(MidiMapError::Json)?;
        strip_comments(&mut v);
        let f: FileMap = serde_json::from_value(v).map_err(MidiMapError::Fields)?;
        if f.format != "neirosynth-midi-map" {
            return Err(MidiMapError::Format(f.format));
        }
        if f.version != 1 {
            return Err(MidiMapError::Version(f.version));
        }
        let mut map = MidiMap {
            name: f.name,
            bend_range: bend(f.pitch_bend_range, "pitch_bend_range")?,
            velocity_curve: f
                .velocity_curve
                .as_deref()
                .map(curve)
                .transpose()?
                .unwrap_or_default(),
            channels: Default::default(),
            cc: Vec::new(),
        };
        for c in f.channels {
            if !(1..=16).contains(&c.channel) {
                return Err(MidiMapError::Channel(c.channel));
            }
            map.channels[c.channel as usize - 1] = ChannelMap {
                instrument: c.instrument,
                morph_target: c.morph_target,
                bend_range: c
                    .pitch_bend_range
                    .map(|b| bend(b, "pitch_bend_range"))
                    .transpose()?,
                velocity_curve: c.velocity_curve.as_deref().map(curve).transpose()?,
            };
        }
        for c in f.cc {
            if c.cc > 127 {
                return Err(MidiMapError::Controller(c.cc));
            }
            let param = match c.param.as_str() {
                "morph" => CcParam::Morph,
                "strike_x" | "x" => CcParam::StrikeX,
                "strike_y" | "y" => CcParam::StrikeY,
                "sustain" => CcParam::Sustain,
                // Any other voice parameter, by its one name (`VoiceParam`).
                other => match VoiceParam::from_name(other) {
                    Some(p) => CcParam::Voice(p),
                    None => {
                        return Err(MidiMapError::UnknownParam {
                            cc: c.cc,
                            param: other.to_string(),
                        })
                    }
                },
            };
            let (dmin, dmax) = if param == CcParam::Voice(VoiceParam::Pan) {
                (-1.0, 1.0)
            } else {
                (0.0, 1.0)
            };
            let (min, max) = (c.min.unwrap_or(dmin), c.max.unwrap_or(dmax));
            if !min.is_finite() || !max.is_finite() {
                return Err(MidiMapError::NotANumber(c.cc));
            }
            map.cc.push(CcMap {
                cc: c.cc,
                param,
                min,
                max,
                target: c.target,
                threshold: c.threshold.unwrap_or(64).min(127),
            });
        }
        Ok(map)
    }

    /// The bend range of a channel (0-based).
    pub fn bend_range(&self, channel: u8) -> f32 {
        self.channels[channel as usize & 15]
            .bend_range
            .unwrap_or(self.bend_range)
    }

    /// The velocity curve of a channel.
    pub fn velocity_curve(&self, channel: u8) -> VelocityCurve {
        self.channels[channel as usize & 15]
            .velocity_curve
            .unwrap_or(self.velocity_curve)
    }

    /// The assignment of controller `cc`, if any.
    pub fn controller(&self, cc: u8) -> Option<&CcMap> {
        self.cc.iter().find(|c| c.cc == cc)
    }

    /// The morph target of a channel: its own, else the morph controller's.
    pub fn morph_target(&self, channel: u8) -> Option<&InstSel> {
        self.channels[channel as usize & 15]
            .morph_target
            .as_ref()
            .or_else(|| {
                self.cc
                    .iter()
                    .find(|c| c.param == CcParam::Morph)
                    .and_then(|c| c.target.as_ref())
            })
    }
}

/// Per-channel MIDI state.
pub struct MidiState {
    /// The preset.
    pub map: MidiMap,
    program: [Option<usize>; 16],
    bend: [f64; 16],
    sustain: [bool; 16],
    sustained: [Vec<u8>; 16],
    morph: [Option<f64>; 16],
    strike: [(Option<f32>, Option<f32>); 16],
}

impl MidiState {
    /// Fresh state for a preset.
    pub fn new(map: MidiMap) -> Self {
        Self {
            map,
            program: [None; 16],
            bend: [0.0; 16],
            sustain: [false; 16],
            sustained: Default::default(),
            morph: [None; 16],
            strike: [(None, None); 16],
        }
    }

    /// The channel's instrument: its program change, else the preset's, else index 0.
    pub fn instrument_for(&self, channel: u8, index_of: impl Fn(&str) -> Option<usize>) -> usize {
        let c = channel as usize & 15;
        if let Some(p) = self.program[c] {
            return p;
        }
        match &self.map.channels[c].instrument {
            Some(InstSel::Index(i)) => *i,
            Some(InstSel::Name(n)) => index_of(n).unwrap_or(0),
            None => 0,
        }
    }

    /// Sets the channel's program (bank index).
    pub fn set_program(&mut self, channel: u8, index: usize) {
        self.program[channel as usize & 15] = Some(index);
    }
    /// Current bend of the channel, semitones.
    pub fn bend(&self, channel: u8) -> f64 {
        self.bend[channel as usize & 15]
    }
    /// Sets the channel's bend.
    pub fn set_bend(&mut self, channel: u8, semitones: f64) {
        self.bend[channel as usize & 15] = semitones;
    }
    /// A note-on: a re-struck note is no longer waiting for the pedal.
    pub fn note_on(&mut self, channel: u8, note: u8) {
        self.sustained[channel as usize & 15].retain(|&n| n != note);
    }
    /// A note-off: true when the voice should be released now (false while sustained).
    pub fn note_off(&mut self, channel: u8, note: u8) -> bool {
        let c = channel as usize & 15;
        if self.sustain[c] {
            if !self.sustained[c].contains(&note) {
                self.sustained[c].push(note);
            }
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
            std::mem::take(&mut self.sustained[c])
        }
    }
    /// Sets the morph amount (morph controller).
    pub fn set_morph_amount(&mut self, channel: u8, t: f64) {
        self.morph[channel as usize & 15] = Some(t);
    }
    /// The morph amount, if set.
    pub fn morph_amount(&self, channel: u8) -> Option<f64> {
        self.morph[channel as usize & 15]
    }
    /// Sets the strike x of later notes.
    pub fn set_strike_x(&mut self, channel: u8, x: f32) {
        self.strike[channel as usize & 15].0 = Some(x);
    }
    /// Sets the strike y of later notes.
    pub fn set_strike_y(&mut self, channel: u8, y: f32) {
        self.strike[channel as usize & 15].1 = Some(y);
    }
    /// The strike position set by controllers.
    pub fn strike(&self, channel: u8) -> (Option<f32>, Option<f32>) {
        self.strike[channel as usize & 15]
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

    /// The shipped example preset parses, with its overrides.
    #[test]
    fn example_preset_parses() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("patches/presets/midi_map.json");
        let m = MidiMap::load(&p).unwrap();
        assert_eq!(m.channels[0].instrument, Some(InstSel::Name("drum".into())));
        assert_eq!(m.channels[15].instrument, Some(InstSel::Index(0)));
        assert_eq!(m.bend_range(6), 12.0);
        assert_eq!(m.bend_range(0), 2.0);
        assert_eq!(m.velocity_curve(3), VelocityCurve::Soft);
        assert_eq!(m.controller(74).unwrap().param, CcParam::StrikeX);
        assert_eq!(m.morph_target(10), Some(&InstSel::Name("marimba".into())));
    }

    /// A controller drives any voice parameter by its one name (the
    /// `VoiceParam` table), `x`/`y` mean the strike position.
    #[test]
    fn controllers_take_every_voice_parameter_name() {
        let base = r#"{"format": "neirosynth-midi-map", "version": 1"#;
        for (i, p) in VoiceParam::ALL.into_iter().enumerate() {
            let m = MidiMap::from_json(&format!(
                "{base}, \"cc\": [{{\"cc\": {i}, \"param\": \"{}\"}}]}}",
                p.name()
            ))
            .unwrap();
            let expected = match p {
                VoiceParam::X => CcParam::StrikeX,
                VoiceParam::Y => CcParam::StrikeY,
                VoiceParam::Morph => CcParam::Morph,
                other => CcParam::Voice(other),
            };
            assert_eq!(
                m.controller(i as u8).unwrap().param,
                expected,
                "{}",
                p.name()
            );
        }
    }

    /// Bad presets are refused with a reason.
    #[test]
    fn bad_presets_are_refused() {
        let base = r#"{"format": "neirosynth-midi-map", "version": 1"#;
        assert!(
            MidiMap::from_json(&format!("{base}, \"channels\": [{{\"channel\": 17}}]}}"))
                .unwrap_err()
                .to_string()
                .contains("17")
        );
        assert!(MidiMap::from_json(&format!(
            "{base}, \"cc\": [{{\"cc\": 3, \"param\": \"wah\"}}]}}"
        ))
        .unwrap_err()
        .to_string()
        .contains("wah"));
        assert!(
            MidiMap::from_json(&format!("{base}, \"velocity_curve\": \"loud\"}}"))
                .unwrap_err()
                .to_string()
                .contains("loud")
        );
        assert!(MidiMap::from_json(r#"{"format": "x", "version": 1}"#)
            .unwrap_err()
            .to_string()
            .contains("format"));
    }
}
