//! The router's modulator and preset commands: `/voice/mod`,
//! `/voice/mod/clear`, `/preset/save|recall|list|delete`; and the controls
//! it tracks for them (every engine command a routed message produces
//! passes through [`Router::track`]).

use std::net::SocketAddr;

use super::error::RouterError;
use super::state::{Output, Router, VoiceInfo};
use crate::control::command::{Command, RecallTarget, VoiceParam, MAX_MODULATORS};
use crate::control::reply;
use crate::engine::command::EngineCommand;
use crate::server::preset::Preset;

impl Router {
    /// Follows an engine command the router sent: the master gain and the
    /// controls of the voice it names (what `/preset/save` stores).
    pub(super) fn track(&mut self, command: &EngineCommand) {
        let id = match command {
            EngineCommand::MasterGain(g) | EngineCommand::MasterGainOver { gain: g, .. } => {
                // The gain it glides to is the one saved (state file, presets).
                self.service.set_gain(*g);
                return;
            }
            EngineCommand::Set { id, .. }
            | EngineCommand::SetOver { id, .. }
            | EngineCommand::Pickups { id, .. }
            | EngineCommand::Morph { id, .. }
            | EngineCommand::Modulate { id, .. }
            | EngineCommand::Unmodulate { id, .. } => *id,
            _ => return,
        };
        if let Some(v) = self.voices.get_mut(&id) {
            v.controls.track(command);
        }
    }

    /// Handles `/voice/mod` and `/voice/mod/clear`.
    pub(super) fn route_modulation(
        &mut self,
        cmd: Command,
        frame: Option<u64>,
        out: &mut Output,
    ) -> Result<(), RouterError> {
        match cmd {
            Command::VoiceMod { id, spec } => {
                let info = self.known_voice(id)?;
                let mods = &info.controls.mods;
                if !mods.iter().any(|m| m.param == spec.param) && mods.len() >= MAX_MODULATORS {
                    return Err(RouterError::TooManyModulators {
                        id,
                        max: MAX_MODULATORS,
                    });
                }
                Self::push(out, frame, EngineCommand::Modulate { id, spec });
            }
            Command::VoiceModClear { id, param } => {
                self.known_voice(id)?;
                Self::push(out, frame, EngineCommand::Unmodulate { id, param });
            }
            other => unreachable!("{} is not a modulator command", other.address()),
        }
        Ok(())
    }

    /// Handles the preset commands; replies go to `to`.
    pub(super) fn route_preset(
        &mut self,
        cmd: Command,
        to: SocketAddr,
        frame: Option<u64>,
        out: &mut Output,
    ) -> Result<(), RouterError> {
        match cmd {
            Command::PresetSave { name, id } => {
                let info = self.known_voice(id)?;
                let preset = Preset::capture(&info.controls, info.note, self.service.master_gain);
                self.presets
                    .save(&name, preset)
                    .map_err(|e| RouterError::PresetFile(e.to_string()))?;
                out.replies
                    .push((to, reply::done("/preset/save", Some(&name))));
            }
            Command::PresetRecall {
                name,
                target,
                seconds,
            } => {
                let preset = self
                    .presets
                    .get(&name)
                    .ok_or_else(|| RouterError::UnknownPreset(name.clone()))?
                    .clone();
                let mut ids: Vec<i32> = match &target {
                    RecallTarget::Voice(id) => {
                        self.known_voice(*id)?;
                        vec![*id]
                    }
                    RecallTarget::Instrument(inst) => {
                        if self.bank.index_of(inst).is_none() {
                            return Err(RouterError::UnknownInstrument(inst.clone()));
                        }
                        self.voices
                            .iter()
                            .filter(|(_, v)| v.inst.name() == inst)
                            .map(|(&id, _)| id)
                            .collect()
                    }
                };
                ids.sort_unstable();
                let seconds = seconds.map(f64::from).filter(|&s| s > 0.0);
                for id in ids {
                    let info = self.voices[&id].clone();
                    self.recall_on(id, &info, &preset, seconds, frame, out);
                }
                let master = match seconds {
                    Some(seconds) => EngineCommand::MasterGainOver {
                        gain: preset.master_gain,
                        seconds,
                    },
                    None => EngineCommand::MasterGain(preset.master_gain),
                };
                Self::push(out, frame, master);
                out.replies
                    .push((to, reply::done("/preset/recall", Some(&name))));
            }
            Command::PresetList => out
                .replies
                .push((to, reply::preset_list_reply(self.presets.names()))),
            Command::PresetDelete { name } => {
                let deleted = self
                    .presets
                    .delete(&name)
                    .map_err(|e| RouterError::PresetFile(e.to_string()))?;
                if !deleted {
                    return Err(RouterError::UnknownPreset(name));
                }
                out.replies
                    .push((to, reply::done("/preset/delete", Some(&name))));
            }
            other => unreachable!("{} is not a preset command", other.address()),
        }
        Ok(())
    }

    /// Queues the commands that move voice `id` to `preset`: at once
    /// (smoothed) or linearly over `seconds`.
    fn recall_on(
        &self,
        id: i32,
        info: &VoiceInfo,
        preset: &Preset,
        seconds: Option<f64>,
        frame: Option<u64>,
        out: &mut Output,
    ) {
        let set = |param, value| match seconds {
            Some(seconds) => EngineCommand::SetOver {
                id,
                param,
                value,
                seconds,
            },
            None => EngineCommand::Set { id, param, value },
        };
        for (param, value) in preset.values() {
            Self::push(out, frame, set(param, value));
        }
        let pitch = (info.note + preset.bend).min(info.plan.max_note);
        Self::push(out, frame, set(VoiceParam::Pitch, pitch));
        // The morph: toward the preset's target where this voice can morph into it.
        let target = preset
            .morph_target
            .as_ref()
            .and_then(|n| self.bank.index_of(n))
            .map(|i| self.bank.instruments[i].clone())
            .filter(|t| self.check_morph(info, t).is_ok());
        match (&preset.morph_target, target) {
            (_, Some(target)) => Self::push(
                out,
                frame,
                EngineCommand::Morph {
                    id,
                    target: Some(target),
                    t: preset.morph,
                    seconds,
                },
            ),
            (Some(name), None) => tracing::warn!(
                "preset recall on voice {id}: cannot morph {} into {name}; the morph is left as it is",
                info.inst.name()
            ),
            (None, None) => Self::push(out, frame, set(VoiceParam::Morph, preset.morph)),
        }
        // Modulators: replaced only where they differ (a replacement cross-fades).
        let mods = preset.modulators().unwrap_or_default();
        if mods != info.controls.mods {
            Self::push(out, frame, EngineCommand::Unmodulate { id, param: None });
            for spec in mods {
                Self::push(out, frame, EngineCommand::Modulate { id, spec });
            }
        }
    }
}
