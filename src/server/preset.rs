//! Presets: the state of a voice's controls and of the master section
//! under a name ([`Preset`], its JSON file format), and the controls the
//! router tracks for every voice it started ([`VoiceControls`]), from which
//! `/preset/save` takes them.
//!
//! A preset stores every parameter that acts on a running voice except
//! `pitch`, which it stores as the voice's *bend* (its pitch minus the
//! note it started with), so a preset recalled on every voice of an
//! instrument bends each voice by the same amount instead of putting them
//! all on one note. It also stores the voice's morph target and amount,
//! its modulators and the master gain.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::engine::command::EngineCommand;
use crate::types::{ModShape, ModSpec, NoteRequest, VoiceParam, MAX_MODULATORS, MOD_PHASE_RANGE};

/// Version of the preset file format.
pub const PRESET_VERSION: u32 = 1;

/// Why a preset file is refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PresetError {
    /// Reading, writing, renaming or removing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a preset (JSON syntax or fields).
    #[error("{path}: not a preset file: {reason}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// One stored modulator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresetModulator {
    /// The parameter's name.
    pub param: String,
    /// Its wave.
    pub shape: ModShape,
    /// Hz.
    pub rate: f32,
    /// In the parameter's units.
    pub depth: f32,
    /// Start phase in cycles; absent: the phase runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<f32>,
}

/// A preset, as stored in `<preset-dir>/<name>.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    /// [`PRESET_VERSION`].
    pub version: u32,
    /// Voice parameters by name (those acting on a running voice, but
    /// `pitch` and `morph`).
    pub voice: BTreeMap<String, f64>,
    /// Pitch minus the voice's note, semitones.
    pub bend: f64,
    /// The morph target's instrument name, if the voice had one.
    #[serde(default)]
    pub morph_target: Option<String>,
    /// The morph amount, 0..1.
    #[serde(default)]
    pub morph: f64,
    /// The voice's modulators.
    #[serde(default)]
    pub modulators: Vec<PresetModulator>,
    /// The master gain, linear.
    pub master_gain: f32,
}

/// Parameters a preset stores by name: those acting on a running voice
/// but pitch (stored as the bend) and morph (with its target).
fn stored(p: VoiceParam) -> bool {
    p.acts_on_running_voice() && !matches!(p, VoiceParam::Pitch | VoiceParam::Morph)
}

/// A finite value, clamped into `param`'s range.
fn in_range(param: VoiceParam, v: f64) -> f64 {
    let r = param.range();
    v.clamp(*r.start() as f64, *r.end() as f64)
}

impl Preset {
    /// The preset of a voice with `controls`, started at `note`, with the
    /// master gain `master_gain`.
    pub fn capture(controls: &VoiceControls, note: f64, master_gain: f32) -> Self {
        let voice = VoiceParam::ALL
            .into_iter()
            .filter(|&p| stored(p))
            .map(|p| (p.name().to_owned(), controls.get(p)))
            .collect();
        Self {
            version: PRESET_VERSION,
            voice,
            bend: controls.get(VoiceParam::Pitch) - note,
            morph_target: controls.morph_target.clone(),
            morph: controls.get(VoiceParam::Morph),
            modulators: controls
                .mods
                .iter()
                .map(|m| PresetModulator {
                    param: m.param.name().to_owned(),
                    shape: m.shape,
                    rate: m.rate,
                    depth: m.depth,
                    phase: m.phase,
                })
                .collect(),
            master_gain,
        }
    }

    /// Reads a preset from JSON, checked: known parameters, finite values
    /// (clamped into their ranges), at most [`MAX_MODULATORS`] modulators.
    pub fn from_json(text: &str, path: &str) -> Result<Self, PresetError> {
        let bad = |reason: String| PresetError::Format {
            path: path.to_owned(),
            reason,
        };
        let mut p: Preset = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        if p.version != PRESET_VERSION {
            return Err(bad(format!(
                "version {} (this server reads {PRESET_VERSION})",
                p.version
            )));
        }
        for (name, v) in p.voice.iter_mut() {
            let param = VoiceParam::from_name(name)
                .filter(|&q| stored(q))
                .ok_or_else(|| bad(format!("unknown voice parameter \"{name}\"")))?;
            if !v.is_finite() {
                return Err(bad(format!("{name} is not a finite number")));
            }
            *v = in_range(param, *v);
        }
        let finite = [p.bend, p.morph, p.master_gain as f64];
        if finite.iter().any(|v| !v.is_finite()) {
            return Err(bad("bend, morph and master_gain must be finite".into()));
        }
        p.morph = p.morph.clamp(0.0, 1.0);
        p.master_gain = p.master_gain.clamp(0.0, 4.0);
        if p.modulators.len() > MAX_MODULATORS {
            return Err(bad(format!("more than {MAX_MODULATORS} modulators")));
        }
        p.modulators().map_err(bad)?;
        Ok(p)
    }

    /// The preset as pretty JSON.
    pub fn to_json(&self) -> String {
        // A plain struct of strings and numbers always serialises.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The stored voice parameters with their values.
    pub fn values(&self) -> impl Iterator<Item = (VoiceParam, f64)> + '_ {
        self.voice
            .iter()
            .filter_map(|(n, &v)| VoiceParam::from_name(n).map(|p| (p, v)))
    }

    /// The stored modulators, checked.
    pub fn modulators(&self) -> Result<Vec<ModSpec>, String> {
        self.modulators
            .iter()
            .map(|m| {
                let param = VoiceParam::from_name(&m.param)
                    .filter(|p| p.acts_on_running_voice())
                    .ok_or_else(|| format!("modulator of unknown parameter \"{}\"", m.param))?;
                let nums = [m.rate, m.depth, m.phase.unwrap_or(0.0)];
                if nums.iter().any(|v| !v.is_finite()) {
                    return Err(format!("modulator of {}: not finite", m.param));
                }
                let d = ModSpec::depth_range(param);
                Ok(ModSpec {
                    param,
                    shape: m.shape,
                    rate: m.rate.clamp(0.0, *crate::types::MOD_RATE_RANGE.end()),
                    depth: m.depth.clamp(*d.start(), *d.end()),
                    phase: m
                        .phase
                        .map(|p| p.clamp(*MOD_PHASE_RANGE.start(), *MOD_PHASE_RANGE.end())),
                })
            })
            .collect()
    }
}

/// The controls of one voice as the router last set them: what
/// `/preset/save` stores.
#[derive(Clone, Debug, PartialEq)]
pub struct VoiceControls {
    /// Values by the parameter's position in [`VoiceParam::ALL`].
    values: [f64; VoiceParam::ALL.len()],
    /// The morph target's name.
    pub morph_target: Option<String>,
    /// Running modulators, in the order they were set.
    pub mods: Vec<ModSpec>,
}

fn index(p: VoiceParam) -> usize {
    VoiceParam::ALL.iter().position(|&q| q == p).unwrap_or(0)
}

impl VoiceControls {
    /// The controls of a voice started with `req`, on an instrument whose
    /// pickups are `file_pickups` (`[lx, ly, rx, ry]`) where `req` names none.
    pub fn from_request(req: &NoteRequest, file_pickups: [f64; 4]) -> Self {
        let mut c = Self {
            values: [0.0; VoiceParam::ALL.len()],
            morph_target: None,
            mods: Vec::new(),
        };
        let pk = req.pickups.map_or(file_pickups, |p| p.map(|v| v as f64));
        let (x, y) = req.excite.map_or((0.5, 0.5), |(_, x, y)| (x, y));
        for p in VoiceParam::ALL {
            let v = match p {
                VoiceParam::Gain => req.gain as f64,
                VoiceParam::Pan => req.pan as f64,
                VoiceParam::Pitch => req.note,
                VoiceParam::Damping => req.damping as f64,
                VoiceParam::Morph => 0.0,
                VoiceParam::X => x as f64,
                VoiceParam::Y => y as f64,
                VoiceParam::PickupLx => pk[0],
                VoiceParam::PickupLy => pk[1],
                VoiceParam::PickupRx => pk[2],
                VoiceParam::PickupRy => pk[3],
                VoiceParam::Brightness => req.brightness as f64,
                VoiceParam::BowForce => req.bow_force as f64,
                VoiceParam::BowVelocity => req.bow_velocity as f64,
            };
            c.values[index(p)] = v;
        }
        c
    }

    /// The value of `param`.
    pub fn get(&self, param: VoiceParam) -> f64 {
        self.values[index(param)]
    }

    /// Follows one engine command sent to this voice.
    pub fn track(&mut self, command: &EngineCommand) {
        match command {
            EngineCommand::Set { param, value, .. }
            | EngineCommand::SetOver { param, value, .. } => {
                self.values[index(*param)] = in_range(*param, *value)
            }
            EngineCommand::Pickups { pos, .. } => {
                for (i, p) in [
                    VoiceParam::PickupLx,
                    VoiceParam::PickupLy,
                    VoiceParam::PickupRx,
                    VoiceParam::PickupRy,
                ]
                .into_iter()
                .enumerate()
                {
                    self.values[index(p)] = in_range(p, pos[i]);
                }
            }
            EngineCommand::Morph { target, t, .. } => {
                if let Some(tg) = target {
                    self.morph_target = Some(tg.name().to_owned());
                }
                self.values[index(VoiceParam::Morph)] = t.clamp(0.0, 1.0);
            }
            EngineCommand::Modulate { spec, .. } => {
                match self.mods.iter_mut().find(|m| m.param == spec.param) {
                    Some(m) => *m = *spec,
                    None => self.mods.push(*spec),
                }
            }
            EngineCommand::Unmodulate { param, .. } => {
                self.mods.retain(|m| param.is_some_and(|p| p != m.param));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A captured preset goes through its JSON and back unchanged; a
    /// file's values are clamped into range; unknown parameters, another
    /// version and too many modulators are refused with the reason.
    #[test]
    fn json_round_trip_and_refusals() {
        let mut c = VoiceControls::from_request(&NoteRequest::new(60.0, 0.8), [0.2, 0.3, 0.7, 0.6]);
        c.track(&EngineCommand::Set {
            id: 1,
            param: VoiceParam::Pitch,
            value: 61.25,
        });
        c.track(&EngineCommand::Modulate {
            id: 1,
            spec: ModSpec {
                param: VoiceParam::Pan,
                shape: ModShape::Saw,
                rate: 3.0,
                depth: 0.25,
                phase: Some(0.5),
            },
        });
        let p = Preset::capture(&c, 60.0, 0.8);
        assert_eq!(p.bend, 1.25);
        assert_eq!(p.voice["pickup_ry"], 0.6);
        assert_eq!(Preset::from_json(&p.to_json(), "p").unwrap(), p);
        assert_eq!(p.modulators().unwrap(), c.mods);

        let text = |voice: &str, version: u32| {
            format!(
                r#"{{"version": {version}, "voice": {{{voice}}}, "bend": 0, "master_gain": 9}}"#
            )
        };
        let clamped = Preset::from_json(&text(r#""gain": 7, "pan": -3"#, 1), "f").unwrap();
        assert_eq!((clamped.voice["gain"], clamped.voice["pan"]), (4.0, -1.0));
        assert_eq!(clamped.master_gain, 4.0);
        let reason = |t: &str| Preset::from_json(t, "f.json").unwrap_err().to_string();
        assert!(reason(&text(r#""colour": 1"#, 1)).contains("unknown voice parameter \"colour\""));
        assert!(reason(&text(r#""x": 0.5"#, 1)).contains("unknown voice parameter \"x\""));
        assert!(reason(&text("", 2)).contains("version 2"));
        assert!(reason("{").starts_with("f.json: not a preset file"));
    }
}
