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
use crate::server::mpe::{ExpressionTarget, MpeSettings, Role, ZoneSide, Zones};
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
    /// An MPE zone with more than 15 member channels.
    #[error("mpe.{zone}: {members} member channels, at most 15")]
    MpeMembers {
        /// `lower` or `upper`.
        zone: &'static str,
        /// The count given.
        members: u8,
    },
    /// An MPE expression target that is not a voice parameter.
    #[error("mpe.{what}: unknown param `{param}`")]
    MpeParam {
        /// `pressure` or `timbre`.
        what: &'static str,
        /// The parameter named.
        param: String,
    },
    /// An MPE member bend range outside 0..96 semitones, or a target's
    /// `min`/`max` that is not a number.
    #[error("mpe.{0} is out of range")]
    MpeValue(&'static str),
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
    /// MPE: zones in force from the start, member bend range, where
    /// pressure and CC74 go.
    pub mpe: MpeSettings,
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
            mpe: MpeSettings::default(),
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
    #[serde(default)]
    mpe: Option<FileMpe>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMpe {
    #[serde(default)]
    lower: Option<u8>,
    #[serde(default)]
    upper: Option<u8>,
    #[serde(default)]
    pitch_bend_range: Option<f32>,
    #[serde(default)]
    pressure: Option<FileTarget>,
    #[serde(default)]
    timbre: Option<FileTarget>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum FileTarget {
    Name(String),
    Span {
        param: String,
        #[serde(default)]
        min: Option<f32>,
        #[serde(default)]
        max: Option<f32>,
    },
}

impl FileTarget {
    fn target(self, what: &'static str) -> Result<ExpressionTarget, MidiMapError> {
        let (name, min, max) = match self {
            FileTarget::Name(n) => (n, None, None),
            FileTarget::Span { param, min, max } => (param, min, max),
        };
        let param = VoiceParam::from_name(&name).ok_or(MidiMapError::MpeParam {
            what,
            param: name.clone(),
        })?;
        let mut t = ExpressionTarget::new(param);
        t.min = min.unwrap_or(t.min);
        t.max = max.unwrap_or(t.max);
        if !t.min.is_finite() || !t.max.is_finite() {
            return Err(MidiMapError::MpeValue(what));
        }
        Ok(t)
    }
}

impl FileMpe {
    fn settings(self) -> Result<MpeSettings, MidiMapError> {
        let mut s = MpeSettings::default();
        for (zone, side, members) in [
            ("lower", ZoneSide::Lower, self.lower),
            ("upper", ZoneSide::Upper, self.upper),
        ] {
            match members {
                Some(m) if m > 15 => return Err(MidiMapError::MpeMembers { zone, members: m }),
                Some(m) => s.zones.set(side, m),
                None => {}
            }
        }
        if let Some(b) = self.pitch_bend_range {
            if !(b.is_finite() && (0.0..=96.0).contains(&b)) {
                return Err(MidiMapError::MpeValue("pitch_bend_range"));
            }
            s.member_bend_range = b;
        }
        s.pressure = self.pressure.map(|t| t.target("pressure")).transpose()?;
        s.timbre = self.timbre.map(|t| t.target("timbre")).transpose()?;
        Ok(s)
    }
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
            mpe: f
                .mpe
                .map(FileMpe::settings)
                .transpose()?
                .unwrap_or_default(),
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

/// What an RPN data entry did (see [`MidiState::rpn_control`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RpnAction {
    /// The controller is not an RPN select or data entry: map it as usual.
    NotRpn,
    /// Consumed (a select, or data entry for an RPN the server ignores).
    Consumed,
    /// RPN 0: the bend range of the channel (or of a zone's members) changed.
    BendRange,
    /// RPN 6: the MPE Configuration Message set the zones.
    Zones,
}

/// No RPN selected (the "RPN null" 127/127).
const RPN_NULL: u16 = 0x3FFF;

/// Per-channel MIDI state, with the MPE zones and per-note expression.
pub struct MidiState {
    /// The preset.
    pub map: MidiMap,
    /// The MPE zones in force (the preset's, then MPE Configuration Messages).
    pub zones: Zones,
    program: [Option<usize>; 16],
    bend: [f64; 16],
    bend_range: [Option<f32>; 16],
    rpn: [u16; 16],
    rpn_msb: [u8; 16],
    sustain: [bool; 16],
    sustained: [Vec<u8>; 16],
    morph: [Option<f64>; 16],
    strike: [(Option<f32>, Option<f32>); 16],
    pressure: [Option<u8>; 16],
    timbre: [Option<u8>; 16],
}

impl MidiState {
    /// Fresh state for a preset.
    pub fn new(map: MidiMap) -> Self {
        Self {
            zones: map.mpe.zones,
            map,
            program: [None; 16],
            bend: [0.0; 16],
            bend_range: [None; 16],
            rpn: [RPN_NULL; 16],
            rpn_msb: [0; 16],
            sustain: [false; 16],
            sustained: Default::default(),
            morph: [None; 16],
            strike: [(None, None); 16],
            pressure: [None; 16],
            timbre: [None; 16],
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

    /// The channel's program change (bank index), if it had one.
    pub fn program(&self, channel: u8) -> Option<usize> {
        self.program[channel as usize & 15]
    }

    /// Sets the channel's program (bank index).
    pub fn set_program(&mut self, channel: u8, index: usize) {
        self.program[channel as usize & 15] = Some(index);
    }
    /// The channel's MPE role.
    pub fn role(&self, channel: u8) -> Role {
        self.zones.role(channel)
    }
    /// Whether a message on `from` applies to voices on `channel` (the
    /// same channel, or `from` manages `channel`'s zone).
    pub fn reaches(&self, from: u8, channel: u8) -> bool {
        self.zones.reaches(from, channel)
    }
    /// The bend range of a channel (0-based), semitones: as set by RPN 0,
    /// else ±48 (the preset's `mpe.pitch_bend_range`) on MPE member
    /// channels, else the preset's.
    pub fn bend_range(&self, channel: u8) -> f32 {
        let c = channel as usize & 15;
        self.bend_range[c].unwrap_or_else(|| match self.role(channel) {
            Role::Member(_) => self.map.mpe.member_bend_range,
            Role::Manager(_) | Role::Plain => self.map.bend_range(channel),
        })
    }
    /// Current bend of the channel itself, semitones.
    pub fn bend(&self, channel: u8) -> f64 {
        self.bend[channel as usize & 15]
    }
    /// The bend a note on `channel` sounds with: its channel's, plus its
    /// manager channel's on an MPE member channel.
    pub fn note_bend(&self, channel: u8) -> f64 {
        let own = self.bend(channel);
        match self.role(channel) {
            Role::Member(side) => own + self.bend(side.manager()),
            Role::Manager(_) | Role::Plain => own,
        }
    }
    /// Sets the channel's bend.
    pub fn set_bend(&mut self, channel: u8, semitones: f64) {
        self.bend[channel as usize & 15] = semitones;
    }
    /// Registered parameter numbers (CC101/100 select, CC6/38 data entry):
    /// RPN 0 sets the bend range (on an MPE member channel, of all the
    /// zone's members; elsewhere, of the channel), RPN 6 on channel 1 or
    /// 16 is the MPE Configuration Message.
    pub fn rpn_control(&mut self, channel: u8, controller: u8, value: u8) -> RpnAction {
        let c = channel as usize & 15;
        match controller {
            101 => {
                self.rpn[c] = (self.rpn[c] & 0x7F) | (u16::from(value) << 7);
                RpnAction::Consumed
            }
            100 => {
                self.rpn[c] = (self.rpn[c] & !0x7F) | u16::from(value & 0x7F);
                RpnAction::Consumed
            }
            6 | 38 if self.rpn[c] != RPN_NULL => {
                let (msb, cents) = if controller == 6 {
                    self.rpn_msb[c] = value;
                    (value, 0)
                } else {
                    (self.rpn_msb[c], value)
                };
                match self.rpn[c] {
                    0 => {
                        let range = f32::from(msb) + f32::from(cents.min(99)) / 100.0;
                        self.set_bend_range(channel, range);
                        RpnAction::BendRange
                    }
                    6 if controller == 6 => {
                        let before = self.zones;
                        match self.zones.configure(channel, value) {
                            Some(side) => {
                                // Channels that were in the zone and those now in it.
                                self.reset_zone_ranges(&before, side);
                                let now = self.zones;
                                self.reset_zone_ranges(&now, side);
                                RpnAction::Zones
                            }
                            None => RpnAction::Consumed,
                        }
                    }
                    _ => RpnAction::Consumed,
                }
            }
            _ => RpnAction::NotRpn,
        }
    }
    fn set_bend_range(&mut self, channel: u8, range: f32) {
        match self.role(channel) {
            Role::Member(side) => {
                for m in self.zones.members(side) {
                    self.bend_range[m as usize] = Some(range);
                }
            }
            Role::Manager(_) | Role::Plain => self.bend_range[channel as usize & 15] = Some(range),
        }
    }
    /// An MPE Configuration Message resets the zone's bend ranges to the
    /// defaults (members ±48, manager the preset's).
    fn reset_zone_ranges(&mut self, zones: &Zones, side: ZoneSide) {
        self.bend_range[side.manager() as usize] = None;
        for m in zones.members(side) {
            self.bend_range[m as usize] = None;
        }
    }
    /// A note-on: a re-struck note is no longer waiting for the pedal.
    pub fn note_on(&mut self, channel: u8, note: u8) {
        self.sustained[channel as usize & 15].retain(|&n| n != note);
    }
    fn held(&self, channel: u8) -> bool {
        self.sustain[channel as usize & 15]
            || self
                .zones
                .manager_of(channel)
                .is_some_and(|m| self.sustain[m as usize])
    }
    /// A note-off: true when the voice should be released now (false while
    /// sustained by its channel's pedal or its MPE zone's manager's).
    pub fn note_off(&mut self, channel: u8, note: u8) -> bool {
        let c = channel as usize & 15;
        if self.held(channel) {
            if !self.sustained[c].contains(&note) {
                self.sustained[c].push(note);
            }
            false
        } else {
            true
        }
    }
    /// Sets the sustain pedal; returns the (channel, note)s to release when
    /// it goes up. The manager's pedal holds its whole MPE zone.
    pub fn set_sustain(&mut self, channel: u8, on: bool) -> Vec<(u8, u8)> {
        self.sustain[channel as usize & 15] = on;
        let mut released = Vec::new();
        if on {
            return released;
        }
        for c in 0..16u8 {
            if self.reaches(channel, c) && !self.held(c) {
                released.extend(
                    std::mem::take(&mut self.sustained[c as usize])
                        .into_iter()
                        .map(|n| (c, n)),
                );
            }
        }
        released
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
    /// Records a member channel's pressure.
    pub fn set_pressure(&mut self, channel: u8, pressure: u8) {
        self.pressure[channel as usize & 15] = Some(pressure);
    }
    /// The member channel's last pressure, if any.
    pub fn pressure(&self, channel: u8) -> Option<u8> {
        self.pressure[channel as usize & 15]
    }
    /// Records a member channel's timbre (CC74).
    pub fn set_timbre(&mut self, channel: u8, value: u8) {
        self.timbre[channel as usize & 15] = Some(value);
    }
    /// The member channel's last timbre (CC74), if any.
    pub fn timbre(&self, channel: u8) -> Option<u8> {
        self.timbre[channel as usize & 15]
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
        assert_eq!(s.set_sustain(0, false), vec![(0, 60)]);
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

    fn cc(s: &mut MidiState, channel: u8, controller: u8, value: u8) -> RpnAction {
        s.rpn_control(channel, controller, value)
    }

    /// RPN 6 configures zones; RPN 0 sets bend ranges per the MPE spec
    /// (member: all members of the zone; manager: the manager); defaults ±48 / ±2.
    #[test]
    fn rpn_zones_and_bend_ranges() {
        let mut s = MidiState::new(MidiMap::default());
        assert_eq!(s.bend_range(1), 2.0);
        assert_eq!(cc(&mut s, 0, 101, 0), RpnAction::Consumed);
        assert_eq!(cc(&mut s, 0, 100, 6), RpnAction::Consumed);
        assert_eq!(cc(&mut s, 0, 6, 15), RpnAction::Zones);
        assert_eq!(
            s.zones,
            Zones {
                lower: 15,
                upper: 0
            }
        );
        assert_eq!(s.bend_range(0), 2.0);
        assert_eq!(s.bend_range(1), 48.0);
        assert_eq!(s.bend_range(15), 48.0);
        // RPN 0 on a member: all members.
        cc(&mut s, 3, 101, 0);
        cc(&mut s, 3, 100, 0);
        assert_eq!(cc(&mut s, 3, 6, 24), RpnAction::BendRange);
        assert_eq!(s.bend_range(1), 24.0);
        assert_eq!(s.bend_range(15), 24.0);
        assert_eq!(s.bend_range(0), 2.0);
        // On the manager: the manager only; cents via CC38.
        cc(&mut s, 0, 101, 0);
        cc(&mut s, 0, 100, 0);
        cc(&mut s, 0, 6, 12);
        assert_eq!(cc(&mut s, 0, 38, 50), RpnAction::BendRange);
        assert_eq!(s.bend_range(0), 12.5);
        assert_eq!(s.bend_range(2), 24.0);
        // A new configuration resets the ranges; RPN null stops data entry.
        cc(&mut s, 0, 100, 6);
        cc(&mut s, 0, 6, 7);
        assert_eq!(s.bend_range(0), 2.0);
        assert_eq!(s.bend_range(2), 48.0);
        assert_eq!(s.bend_range(9), 2.0);
        cc(&mut s, 0, 101, 127);
        cc(&mut s, 0, 100, 127);
        assert_eq!(cc(&mut s, 0, 6, 3), RpnAction::NotRpn);
        assert_eq!(s.zones.lower, 7);
        // Not a manager channel: RPN 6 means nothing.
        cc(&mut s, 9, 101, 0);
        cc(&mut s, 9, 100, 6);
        assert_eq!(cc(&mut s, 9, 6, 3), RpnAction::Consumed);
        assert_eq!(s.zones.upper, 0);
        assert_eq!(cc(&mut s, 9, 7, 3), RpnAction::NotRpn);
    }

    /// A member note sounds with its own bend plus the manager's; the
    /// manager's pedal holds the zone.
    #[test]
    fn manager_bend_and_sustain_reach_the_zone() {
        let mut map = MidiMap::default();
        map.mpe.zones.set(ZoneSide::Lower, 3);
        let mut s = MidiState::new(map);
        s.set_bend(0, 1.0);
        s.set_bend(2, -5.0);
        s.set_bend(6, 7.0);
        assert_eq!(s.note_bend(2), -4.0);
        assert_eq!(s.note_bend(0), 1.0);
        assert_eq!(s.note_bend(6), 7.0);
        s.set_sustain(0, true);
        assert!(!s.note_off(2, 60));
        assert!(!s.note_off(3, 64));
        assert!(s.note_off(6, 50));
        s.set_sustain(3, true);
        assert_eq!(s.set_sustain(0, false), vec![(2, 60)]);
        assert_eq!(s.set_sustain(3, false), vec![(3, 64)]);
    }

    /// The `mpe` preset key: zones, member bend range, targets by name or span.
    #[test]
    fn mpe_preset_key() {
        let m = MidiMap::from_json(
            r#"{"format": "neirosynth-midi-map", "version": 1, "mpe": {"lower": 10, "upper": 6,
                "pitch_bend_range": 24, "pressure": "gain",
                "timbre": {"param": "bow_velocity", "min": 0.2, "max": 0.8}}}"#,
        )
        .unwrap();
        assert_eq!(m.mpe.zones, Zones { lower: 8, upper: 6 });
        assert_eq!(m.mpe.member_bend_range, 24.0);
        assert_eq!(m.mpe.pressure_for(true).param, VoiceParam::Gain);
        let t = m.mpe.timbre_target();
        assert_eq!((t.param, t.min, t.max), (VoiceParam::BowVelocity, 0.2, 0.8));
        let s = MidiState::new(m);
        assert_eq!(s.bend_range(3), 24.0);
        assert_eq!(s.bend_range(0), 2.0);
        let base = r#"{"format": "neirosynth-midi-map", "version": 1, "mpe": "#;
        for (bad, says) in [
            (r#"{"lower": 16}"#, "16"),
            (r#"{"pressure": "wah"}"#, "wah"),
            (r#"{"pitch_bend_range": 100}"#, "pitch_bend_range"),
            (r#"{"middle": 3}"#, "middle"),
        ] {
            let e = MidiMap::from_json(&format!("{base}{bad}}}")).unwrap_err();
            assert!(e.to_string().contains(says), "{bad}: {e}");
        }
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
