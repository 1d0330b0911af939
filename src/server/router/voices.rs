//! The router's voice commands: `/note/on|off`, `/voice/*`, `/excite`,
//! `/pickup`, `/morph`, `/master/gain`; planning a voice and checking a
//! morph against the stability certificate.

use std::sync::Arc;

use super::error::RouterError;
use super::state::{note_key, Output, Router, VoiceInfo};
use crate::audio::stats::SharedStats;
use crate::control::command::{Command, VoiceParam};
use crate::engine::command::EngineCommand;
use crate::engine::voice::{morph_compatible, NoteRequest};
use crate::instrument::Instrument;
use crate::server::preset::VoiceControls;

impl Router {
    /// Handles a voice command.
    pub(super) fn route_voice(
        &mut self,
        cmd: Command,
        frame: Option<u64>,
        out: &mut Output,
    ) -> Result<(), RouterError> {
        match cmd {
            Command::NoteOn {
                inst,
                note,
                velocity,
            } => {
                let (i, inst) = self.instrument(&inst)?;
                let mut req = inst.note_request(note as f64, velocity);
                req.key = note_key(i, note as f64);
                self.start_voice(None, inst, req, None, frame, out)?;
            }
            Command::NoteOff { inst, note } => {
                let (i, _) = self.instrument(&inst)?;
                Self::push(
                    out,
                    frame,
                    EngineCommand::NoteOff {
                        key: note_key(i, note as f64),
                    },
                );
            }
            Command::VoiceNew {
                id,
                inst,
                note,
                velocity,
                params,
            } => {
                let (_, inst) = self.instrument(&inst)?;
                let mut req = inst.note_request(note as f64, velocity);
                let f = &inst.file;
                let mut pick = [
                    f.pickups.left[0] as f32,
                    f.pickups.left[1] as f32,
                    f.pickups.right[0] as f32,
                    f.pickups.right[1] as f32,
                ];
                let (mut x, mut y) = (f.excitation.x as f32, f.excitation.y as f32);
                let mut morph = None;
                for &(p, v) in &params {
                    match p {
                        VoiceParam::Gain => req.gain = v,
                        VoiceParam::Pan => req.pan = v,
                        VoiceParam::Pitch => req.note = v as f64,
                        VoiceParam::Damping => req.damping = v,
                        VoiceParam::Brightness => req.brightness = v,
                        VoiceParam::BowForce => req.bow_force = v,
                        VoiceParam::BowVelocity => req.bow_velocity = v,
                        VoiceParam::X => x = v,
                        VoiceParam::Y => y = v,
                        VoiceParam::PickupLx => pick[0] = v,
                        VoiceParam::PickupLy => pick[1] = v,
                        VoiceParam::PickupRx => pick[2] = v,
                        VoiceParam::PickupRy => pick[3] = v,
                        VoiceParam::Morph => morph = Some(v),
                    }
                }
                req.excite = Some((f.excitation.shape, x, y));
                req.pickups = Some(pick);
                let id = self.start_voice(id, inst, req, None, frame, out)?;
                if let Some(t) = morph {
                    Self::push(
                        out,
                        frame,
                        EngineCommand::Set {
                            id,
                            param: VoiceParam::Morph,
                            value: t as f64,
                        },
                    );
                }
            }
            Command::VoiceSet { id, params } => self.voice_params(id, &params, frame, out)?,
            Command::VoiceRelease { id } => {
                self.known_voice(id)?;
                Self::push(out, frame, EngineCommand::Release(id));
            }
            Command::VoiceFree { id } => {
                self.known_voice(id)?;
                Self::push(out, frame, EngineCommand::Free(id));
            }
            Command::VoiceFreeAll => Self::push(out, frame, EngineCommand::FreeAll),
            Command::Excite {
                id,
                x,
                y,
                amplitude,
                width,
                shape,
            } => {
                let info = self.known_voice(id)?;
                let width = width
                    .unwrap_or(info.inst.file.excitation.width as f32)
                    .max(0.005);
                Self::push(
                    out,
                    frame,
                    EngineCommand::Excite {
                        id,
                        shape,
                        x,
                        y,
                        amplitude,
                        width,
                    },
                );
            }
            Command::Pickup { id, lx, ly, rx, ry } => {
                self.known_voice(id)?;
                let pos = [lx as f64, ly as f64, rx as f64, ry as f64];
                Self::push(out, frame, EngineCommand::Pickups { id, pos });
            }
            Command::Morph {
                id,
                inst,
                t,
                seconds,
            } => {
                let info = self.known_voice(id)?.clone();
                let (_, target) = self.instrument(&inst)?;
                self.check_morph(&info, &target)?;
                Self::push(
                    out,
                    frame,
                    EngineCommand::Morph {
                        id,
                        target: Some(target),
                        t: t as f64,
                        seconds: seconds.map(|s| s as f64),
                    },
                );
            }
            // `track` notes the gain (presets, the state file).
            Command::MasterGain { gain } => Self::push(out, frame, EngineCommand::MasterGain(gain)),
            other => unreachable!("{} is not a voice command", other.address()),
        }
        Ok(())
    }

    /// Plans and queues a voice start; returns its id.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn start_voice(
        &mut self,
        id: Option<i32>,
        inst: Arc<Instrument>,
        req: NoteRequest,
        channel: Option<u8>,
        frame: Option<u64>,
        out: &mut Output,
    ) -> Result<i32, RouterError> {
        let plan = inst
            .plan(req.note, self.cfg.bend_headroom, self.cfg.sample_rate)
            .map_err(|reason| RouterError::Plan {
                instrument: inst.name().to_string(),
                reason,
            })?;
        let id = id.unwrap_or_else(|| self.allocate_id());
        let f = &inst.file.pickups;
        let pickups = [f.left[0], f.left[1], f.right[0], f.right[1]];
        self.voices.insert(
            id,
            VoiceInfo {
                inst: inst.clone(),
                plan,
                note: req.note,
                channel,
                controls: VoiceControls::from_request(&req, pickups),
            },
        );
        Self::push(
            out,
            frame,
            EngineCommand::Start {
                id,
                inst,
                plan,
                req,
            },
        );
        // `/voice/started` is sent when the engine starts it (`on_event`).
        Ok(id)
    }

    /// Sets parameters of a running voice (`/voice/set`; MPE expression).
    pub(super) fn voice_params(
        &self,
        id: i32,
        params: &[(VoiceParam, f32)],
        frame: Option<u64>,
        out: &mut Output,
    ) -> Result<(), RouterError> {
        let info = self.known_voice(id)?;
        for &(p, v) in params {
            let v = v as f64;
            // Strike position of a running voice: the next /excite names its own.
            if !p.acts_on_running_voice() {
                continue;
            }
            // Pitch beyond what the voice's plan certifies is clamped and counted.
            if p == VoiceParam::Pitch && v > info.plan.max_note {
                SharedStats::add(&self.stats.clamped, 1);
            }
            let value = if p == VoiceParam::Pitch {
                v.min(info.plan.max_note)
            } else {
                v
            };
            let param = p;
            Self::push(out, frame, EngineCommand::Set { id, param, value });
        }
        Ok(())
    }

    /// Refuses a morph the engine could not run: different mesh at the
    /// voice's level, or a certificate that fails at the target's end.
    pub(super) fn check_morph(
        &self,
        info: &VoiceInfo,
        target: &Instrument,
    ) -> Result<(), RouterError> {
        let (inst, plan) = (&info.inst, &info.plan);
        if !morph_compatible(inst, target, plan) {
            return Err(RouterError::MorphMeshes {
                from: inst.name().to_string(),
                to: target.name().to_string(),
                from_size: (inst.file.mesh.width, inst.file.mesh.height),
                to_size: (target.file.mesh.width, target.file.mesh.height),
            });
        }
        let tp = target.params(
            plan.level,
            plan.oversample,
            plan.max_note,
            self.cfg.sample_rate,
        );
        let mut bound = inst.levels[plan.level].bound;
        bound.value = bound.value.max(target.levels[plan.level].bound.value);
        let a = plan
            .certificate
            .value
            .max(crate::physics::certificate::Certificate::new(bound, &tp).value);
        if a >= crate::physics::certificate::LIMIT * crate::instrument::PLAN_SAFETY {
            return Err(RouterError::MorphUnstable {
                from: inst.name().to_string(),
                to: target.name().to_string(),
                note: info.note,
            });
        }
        Ok(())
    }
}
