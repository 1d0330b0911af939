//! The router's MIDI: notes, bend, controllers (the MIDI map's targets),
//! pressure and program changes, from a port or `/midi`.

use std::sync::Arc;

use super::error::RouterError;
use super::state::{midi_key, Output, Router};
use crate::control::midi::{bend_to_semitones, MidiEvent};
use crate::engine::command::EngineCommand;
use crate::instrument::Instrument;
use crate::server::midi_map::{CcParam, InstSel};
use crate::types::VoiceParam;

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
            } if velocity > 0 => {
                let bank = &self.bank;
                let idx = self.midi.instrument_for(channel, |n| bank.index_of(n));
                let inst = self.bank.instruments.get(idx).cloned().ok_or(
                    RouterError::NoChannelInstrument {
                        channel,
                        index: idx,
                    },
                )?;
                let vel = self.midi.map.velocity_curve(channel).apply(velocity);
                let mut req = inst.note_request(note as f64 + self.midi.bend(channel), vel);
                req.key = midi_key(channel, note);
                let (sx, sy) = self.midi.strike(channel);
                if sx.is_some() || sy.is_some() {
                    let e = &inst.file.excitation;
                    req.excite =
                        Some((e.shape, sx.unwrap_or(e.x as f32), sy.unwrap_or(e.y as f32)));
                }
                self.midi.note_on(channel, note);
                let id = self.start_voice(None, inst, req, Some(channel), frame, out)?;
                if let (Some(t), Some(target)) = (
                    self.midi.morph_amount(channel),
                    self.midi_morph_target(channel),
                ) {
                    self.morph_if_certified(id, &target, t, frame, out);
                }
            }
            MidiEvent::NoteOn { channel, note, .. } | MidiEvent::NoteOff { channel, note, .. } => {
                if self.midi.note_off(channel, note) {
                    Self::push(
                        out,
                        frame,
                        EngineCommand::NoteOff {
                            key: midi_key(channel, note),
                        },
                    );
                }
            }
            MidiEvent::PitchBend { channel, value } => {
                let semis = bend_to_semitones(value, self.midi.map.bend_range(channel)) as f64;
                self.midi.set_bend(channel, semis);
                for (&id, v) in self
                    .voices
                    .iter()
                    .filter(|(_, v)| v.channel == Some(channel))
                {
                    let value = (v.note + semis).min(v.plan.max_note);
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
            } => {
                let Some(cc) = self.midi.map.controller(controller).cloned() else {
                    return Ok(());
                };
                let v = cc.min + (cc.max - cc.min) * value as f64 / 127.0;
                let channel_voices: Vec<i32> = self
                    .voices
                    .iter()
                    .filter(|(_, vi)| vi.channel == Some(channel))
                    .map(|(&id, _)| id)
                    .collect();
                match cc.param {
                    CcParam::Sustain => {
                        for note in self.midi.set_sustain(channel, value >= cc.threshold) {
                            Self::push(
                                out,
                                frame,
                                EngineCommand::NoteOff {
                                    key: midi_key(channel, note),
                                },
                            );
                        }
                    }
                    CcParam::Morph => {
                        self.midi.set_morph_amount(channel, v);
                        if let Some(target) = self.midi_morph_target(channel) {
                            for id in channel_voices {
                                self.morph_if_certified(id, &target, v, frame, out);
                            }
                        }
                    }
                    CcParam::StrikeX => self.midi.set_strike_x(channel, v as f32),
                    CcParam::StrikeY => self.midi.set_strike_y(channel, v as f32),
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
            }
            MidiEvent::ChannelPressure { channel, pressure } => {
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
            }
            MidiEvent::ProgramChange { channel, program } => {
                if (program as usize) < self.bank.instruments.len() {
                    self.midi.set_program(channel, program as usize);
                } else {
                    return Err(RouterError::NoProgram {
                        program,
                        count: self.bank.instruments.len(),
                    });
                }
            }
            // Clock, transport, active sensing, SysEx …: nothing to play.
            MidiEvent::PolyPressure { .. } | MidiEvent::System { .. } => {}
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
