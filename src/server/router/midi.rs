//! The router's MIDI: notes, bend, controllers (the MIDI map's targets),
//! pressure and program changes, from a port or `/midi`; MPE zones
//! (per-note bend, pressure and CC74 on member channels, manager channel
//! messages for the whole zone, release velocity).

use std::sync::Arc;

use super::error::RouterError;
use super::state::{midi_key, Output, Router};
use crate::control::midi::{bend_to_semitones, MidiEvent};
use crate::engine::command::EngineCommand;
use crate::instrument::Instrument;
use crate::server::midi_map::{CcParam, InstSel, RpnAction};
use crate::server::mpe::{release_damping, Role};
use crate::types::VoiceParam;
use crate::types::{ExciteShape, NoteRequest};

impl Router {
    /// Handles a MIDI event (from a port or `/midi`).
    pub fn midi_event(
        &mut self,
        ev: MidiEvent,
        frame: Option<u64>,
        out: &mut Output,
    ) -> Result<(), RouterError> {
        match ev {
            MidiEvent::NoteOn {
                channel,
                note,
                velocity,
            } if velocity > 0 => self.midi_note_on(channel, note, velocity, frame, out)?,
            MidiEvent::NoteOn { channel, note, .. } => {
                self.midi_note_off(channel, note, 64, frame, out)?
            }
            MidiEvent::NoteOff {
                channel,
                note,
                velocity,
            } => self.midi_note_off(channel, note, velocity, frame, out)?,
            MidiEvent::PitchBend { channel, value } => {
                let semis = bend_to_semitones(value, self.midi.bend_range(channel)) as f64;
                self.midi.set_bend(channel, semis);
                // A manager's bend moves every note of its zone.
                for (&id, v) in self
                    .voices
                    .iter()
                    .filter(|(_, v)| v.channel.is_some_and(|c| self.midi.reaches(channel, c)))
                {
                    let bend = self.midi.note_bend(v.channel.unwrap_or(channel));
                    let value = (v.note + bend).min(v.plan.max_note);
                    Self::push(
                        out,
                        frame,
                        EngineCommand::Set {
                            id,
                            param: VoiceParam::Pitch,
                            value,
                        },
                    );
                }
            }
            MidiEvent::ControlChange {
                channel,
                controller,
                value,
            } => self.midi_control(channel, controller, value, frame, out)?,
            MidiEvent::ChannelPressure { channel, pressure } => {
                if self.midi.role(channel) == Role::Plain {
                    // Pressure swells the voices of the channel: gain 1..2.
                    let g = 1.0 + pressure as f64 / 127.0;
                    for (&id, _) in self
                        .voices
                        .iter()
                        .filter(|(_, v)| v.channel == Some(channel))
                    {
                        Self::push(
                            out,
                            frame,
                            EngineCommand::Set {
                                id,
                                param: VoiceParam::Gain,
                                value: g,
                            },
                        );
                    }
                } else {
                    // MPE: per note on a member channel, the whole zone on the manager.
                    self.midi.set_pressure(channel, pressure);
                    for (id, bowed) in self.zone_voices(channel) {
                        let t = self.midi.map.mpe.pressure_for(bowed);
                        self.voice_params(id, &[(t.param, t.value(pressure))], frame, out)?;
                    }
                }
            }
            MidiEvent::ProgramChange { channel, program } => {
                if (program as usize) < self.bank.instruments.len() {
                    self.midi.set_program(channel, program as usize);
                    self.service.touch();
                } else {
                    return Err(RouterError::NoProgram {
                        program,
                        count: self.bank.instruments.len(),
                    });
                }
            }
            // Clock, transport, active sensing, SysEx …: nothing to play.
            // (MPE carries per-note pressure as channel pressure.)
            MidiEvent::PolyPressure { .. } | MidiEvent::System { .. } => {}
        }
        Ok(())
    }

    /// The voices (id, bowed) on the channels a message on `channel` reaches.
    fn zone_voices(&self, channel: u8) -> Vec<(i32, bool)> {
        self.voices
            .iter()
            .filter(|(_, v)| v.channel.is_some_and(|c| self.midi.reaches(channel, c)))
            .map(|(&id, v)| (id, v.inst.file.excitation.shape == ExciteShape::Bow))
            .collect()
    }

    fn midi_note_on(
        &mut self,
        channel: u8,
        note: u8,
        velocity: u8,
        frame: Option<u64>,
        out: &mut Output,
    ) -> Result<(), RouterError> {
        let bank = &self.bank;
        let idx = self.midi.instrument_for(channel, |n| bank.index_of(n));
        let inst =
            self.bank
                .instruments
                .get(idx)
                .cloned()
                .ok_or(RouterError::NoChannelInstrument {
                    channel,
                    index: idx,
                })?;
        let vel = self.midi.map.velocity_curve(channel).apply(velocity);
        let mut req = inst.note_request(note as f64 + self.midi.note_bend(channel), vel);
        req.key = midi_key(channel, note);
        let (sx, sy) = self.midi.strike(channel);
        if sx.is_some() || sy.is_some() {
            let e = &inst.file.excitation;
            req.excite = Some((e.shape, sx.unwrap_or(e.x as f32), sy.unwrap_or(e.y as f32)));
        }
        // MPE: the timbre (CC74) sent before the note shapes its start.
        let mut later = None;
        if let (Role::Member(_), Some(t)) = (self.midi.role(channel), self.midi.timbre(channel)) {
            let target = self.midi.map.mpe.timbre_target();
            let v = target.value(t);
            if !seed_request(&mut req, &inst, target.param, v) {
                later = Some((target.param, v));
            }
        }
        self.midi.note_on(channel, note);
        let id = self.start_voice(None, inst, req, Some(channel), frame, out)?;
        // Bends are relative to the key's note (the request's note holds the bend).
        if let Some(v) = self.voices.get_mut(&id) {
            v.note = note as f64;
        }
        if let Some(p) = later {
            self.voice_params(id, &[p], frame, out)?;
        }
        if let (Some(t), Some(target)) = (
            self.midi.morph_amount(channel),
            self.midi_morph_target(channel),
        ) {
            self.morph_if_certified(id, &target, t, frame, out);
        }
        Ok(())
    }

    fn midi_note_off(
        &mut self,
        channel: u8,
        note: u8,
        velocity: u8,
        frame: Option<u64>,
        out: &mut Output,
    ) -> Result<(), RouterError> {
        if !self.midi.note_off(channel, note) {
            return Ok(());
        }
        // MPE release velocity: a quick release (above 64) damps the
        // ring-out more, a slow one less (0 and 64: as the instrument).
        if matches!(self.midi.role(channel), Role::Member(_)) && velocity != 64 && velocity != 0 {
            let scale = release_damping(velocity);
            let ids: Vec<(i32, bool)> = self
                .voices
                .iter()
                .filter(|(_, v)| v.channel == Some(channel) && v.note == note as f64)
                .map(|(&id, v)| (id, v.inst.file.excitation.shape == ExciteShape::Bow))
                .collect();
            for (id, bowed) in ids {
                let t = self.midi.map.mpe.pressure_for(bowed);
                let base = match self.midi.pressure(channel) {
                    Some(p) if t.param == VoiceParam::Damping => t.value(p),
                    _ => 1.0,
                };
                self.voice_params(id, &[(VoiceParam::Damping, base * scale)], frame, out)?;
            }
        }
        Self::push(
            out,
            frame,
            EngineCommand::NoteOff {
                key: midi_key(channel, note),
            },
        );
        Ok(())
    }

    fn midi_control(
        &mut self,
        channel: u8,
        controller: u8,
        value: u8,
        frame: Option<u64>,
        out: &mut Output,
    ) -> Result<(), RouterError> {
        if self.midi.rpn_control(channel, controller, value) != RpnAction::NotRpn {
            return Ok(());
        }
        // MPE: CC74 on a member channel is the note's timbre.
        if controller == 74 && matches!(self.midi.role(channel), Role::Member(_)) {
            self.midi.set_timbre(channel, value);
            let t = self.midi.map.mpe.timbre_target();
            for (id, _) in self.zone_voices(channel) {
                self.voice_params(id, &[(t.param, t.value(value))], frame, out)?;
            }
            return Ok(());
        }
        let Some(cc) = self.midi.map.controller(controller).cloned() else {
            return Ok(());
        };
        let v = cc.min + (cc.max - cc.min) * value as f64 / 127.0;
        // On an MPE manager channel: every channel of the zone.
        let channels: Vec<u8> = (0..16).filter(|&c| self.midi.reaches(channel, c)).collect();
        let channel_voices: Vec<i32> = self.zone_voices(channel).into_iter().map(|v| v.0).collect();
        match cc.param {
            CcParam::Sustain => {
                for (c, note) in self.midi.set_sustain(channel, value >= cc.threshold) {
                    Self::push(
                        out,
                        frame,
                        EngineCommand::NoteOff {
                            key: midi_key(c, note),
                        },
                    );
                }
            }
            CcParam::Morph => {
                for &c in &channels {
                    self.midi.set_morph_amount(c, v);
                }
                if let Some(target) = self.midi_morph_target(channel) {
                    for id in channel_voices {
                        self.morph_if_certified(id, &target, v, frame, out);
                    }
                }
            }
            CcParam::StrikeX => {
                for &c in &channels {
                    self.midi.set_strike_x(c, v as f32);
                }
            }
            CcParam::StrikeY => {
                for &c in &channels {
                    self.midi.set_strike_y(c, v as f32);
                }
            }
            CcParam::Voice(param) => {
                for id in channel_voices {
                    let value = if param == VoiceParam::Pitch {
                        v.min(self.voices[&id].plan.max_note)
                    } else {
                        v
                    };
                    Self::push(out, frame, EngineCommand::Set { id, param, value });
                }
            }
        }
        Ok(())
    }

    /// Queues a morph of voice `id` toward `target` when the certificate allows it.
    fn morph_if_certified(
        &self,
        id: i32,
        target: &Arc<Instrument>,
        t: f64,
        frame: Option<u64>,
        out: &mut Output,
    ) {
        let Some(info) = self.voices.get(&id) else {
            return;
        };
        if self.check_morph(info, target).is_ok() {
            Self::push(
                out,
                frame,
                EngineCommand::Morph {
                    id,
                    target: Some(target.clone()),
                    t,
                    seconds: None,
                },
            );
        }
    }

    fn midi_morph_target(&self, channel: u8) -> Option<Arc<Instrument>> {
        match self.midi.map.morph_target(channel)? {
            InstSel::Index(i) => self.bank.instruments.get(*i).cloned(),
            InstSel::Name(n) => self.bank.get(n).cloned(),
        }
    }
}

/// Puts an MPE expression value into a note's request when the request
/// has a field for it (false: set it on the voice once started).
fn seed_request(req: &mut NoteRequest, inst: &Instrument, param: VoiceParam, v: f32) -> bool {
    let e = &inst.file.excitation;
    let (shape, x, y) = req.excite.unwrap_or((e.shape, e.x as f32, e.y as f32));
    match param {
        VoiceParam::Gain => req.gain = v,
        VoiceParam::Pan => req.pan = v,
        VoiceParam::Damping => req.damping = v,
        VoiceParam::Brightness => req.brightness = v,
        VoiceParam::BowForce => req.bow_force = v,
        VoiceParam::BowVelocity => req.bow_velocity = v,
        VoiceParam::X => req.excite = Some((shape, v, y)),
        VoiceParam::Y => req.excite = Some((shape, x, v)),
        _ => return false,
    }
    true
}
