//! What the router keeps for running as a service: when it started (for
//! `/status`'s uptime), the state that survives a restart (instruments
//! loaded or reloaded, master gain, MIDI program changes; see
//! [`crate::server::state`]) with a change counter, and what a `SIGHUP`
//! applies: an instruments folder rescan, a new MIDI preset, a master gain.

use std::path::Path;
use std::sync::Arc;

use super::state::{Output, Router};
use crate::engine::command::EngineCommand;
use crate::instrument::bank::Bank;
use crate::server::midi_map::MidiMap;
use crate::server::state::SavedState;

/// What an instruments folder rescan did.
#[derive(Debug, Default)]
pub struct Rescan {
    /// Instruments loaded or replaced.
    pub loaded: usize,
    /// Files refused, each with its reason.
    pub refused: Vec<String>,
}

impl Router {
    /// Counts changes of the saved state (save when it moves).
    pub fn state_generation(&self) -> u64 {
        self.service.generation
    }

    /// The state to save.
    pub fn saved_state(&self) -> SavedState {
        let names = &self.bank.instruments;
        SavedState {
            instruments: self.service.loaded.clone(),
            master_gain: self.service.master_gain,
            midi_programs: (0u8..16)
                .filter_map(|c| {
                    let i = self.midi.program(c)?;
                    Some((c, names.get(i)?.name().to_string()))
                })
                .collect(),
            ..SavedState::default()
        }
    }

    /// Restores a saved state: loads its instruments, sets the master gain
    /// and the program changes. Returns what could not be restored.
    pub fn restore(&mut self, saved: &SavedState, out: &mut Output) -> Vec<String> {
        let mut problems = Vec::new();
        for name in &saved.instruments {
            match self.load_named(name) {
                Ok(n) => self.service.loaded(&n),
                Err(e) => problems.push(format!("instrument `{name}`: {e}")),
            }
        }
        self.set_master_gain(saved.master_gain, out);
        for (channel, name) in &saved.midi_programs {
            match self.bank.index_of(name) {
                Some(i) => self.midi.set_program(*channel, i),
                None => problems.push(format!(
                    "MIDI channel {}: no instrument `{name}`",
                    channel + 1
                )),
            }
        }
        problems
    }

    /// Sets the master gain (now).
    pub fn set_master_gain(&mut self, gain: f32, out: &mut Output) {
        self.service.set_gain(gain);
        Self::push(out, None, EngineCommand::MasterGain(gain));
    }

    /// Rescans `dir` (the configured instruments folder, which becomes the
    /// bank's): every instrument that loads and fits is added or replaced;
    /// instruments already resident stay. An unreadable folder changes
    /// nothing (the voices playing go on).
    pub fn rescan(&mut self, dir: &Path) -> std::io::Result<Rescan> {
        let (bank, errors) = Bank::load_dir(dir)?;
        let mut report = Rescan {
            refused: errors.iter().map(|e| e.to_string()).collect(),
            ..Rescan::default()
        };
        self.bank.dir = dir.to_path_buf();
        for inst in bank.instruments {
            if inst.max_buffer_len() > self.cfg.voice_capacity {
                report.refused.push(format!(
                    "{}: mesh larger than the voice buffers of this server (restart to load it)",
                    inst.name()
                ));
                continue;
            }
            self.bank.upsert(inst);
            report.loaded += 1;
        }
        Ok(report)
    }

    /// Replaces the MIDI preset (the channels' state, program changes
    /// included, stays; the zones become the preset's).
    pub fn set_midi_map(&mut self, map: MidiMap) {
        self.midi.zones = map.mpe.zones;
        self.midi.map = map;
    }

    /// Loads (or reloads) the bank's instrument `name` from its folder;
    /// returns its name.
    pub(super) fn load_named(&mut self, name: &str) -> Result<String, super::RouterError> {
        let path = self.bank.path_for(name)?;
        let inst = Bank::load_file(&path)?;
        if inst.max_buffer_len() > self.cfg.voice_capacity {
            return Err(super::RouterError::MeshTooLarge(inst.name().to_string()));
        }
        let n = inst.name().to_string();
        self.bank.upsert(Arc::new(inst));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::midi::MidiEvent;
    use crate::control::reply::EngineKind;
    use crate::server::router::RouterConfig;

    fn router(tag: &str) -> (Router, std::path::PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("neirosynth-persist-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good_small.json");
        for name in ["a", "b"] {
            std::fs::copy(&good, dir.join(format!("{name}.json"))).unwrap();
        }
        let (bank, errors) = Bank::load_dir(&dir).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        let cfg = RouterConfig {
            sample_rate: 48_000.0,
            block: 256,
            voices: 4,
            bend_headroom: 2.0,
            allow_quit: false,
            fixed_reply: None,
            engine: EngineKind::Cpu,
            voice_capacity: bank.max_buffer_len(),
            first_picked_id: 1,
        };
        (Router::standalone(bank, cfg, MidiMap::default()), dir)
    }

    #[test]
    fn the_saved_state_follows_changes_and_restores() {
        let (mut r, dir) = router("save");
        let mut out = Output::default();
        let g0 = r.state_generation();
        r.midi_event(
            MidiEvent::ProgramChange {
                channel: 2,
                program: 1,
            },
            None,
            &mut out,
        )
        .unwrap();
        r.set_master_gain(0.5, &mut out);
        r.load_named("a").map(|n| r.service.loaded(&n)).unwrap();
        assert!(r.state_generation() > g0, "changes are counted");
        let saved = r.saved_state();
        assert_eq!(saved.master_gain, 0.5);
        assert_eq!(saved.instruments, ["a"]);
        assert_eq!(saved.midi_programs, [(2, "b".to_string())]);

        // A fresh router gets it all back; what is gone is reported.
        let (mut fresh, dir2) = router("restore");
        let mut with_missing = saved.clone();
        with_missing.instruments.push("gone".into());
        let mut out = Output::default();
        let problems = fresh.restore(&with_missing, &mut out);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("gone"), "{problems:?}");
        assert_eq!(fresh.saved_state(), saved);
        assert!(out
            .commands
            .iter()
            .any(|t| matches!(t.command, EngineCommand::MasterGain(g) if g == 0.5)));
        assert_eq!(fresh.midi.program(2), Some(1));
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&dir2);
    }

    #[test]
    fn a_rescan_of_an_unreadable_folder_changes_nothing() {
        let (mut r, dir) = router("rescan");
        std::fs::copy(dir.join("a.json"), dir.join("c.json")).unwrap();
        let scan = r.rescan(&dir).unwrap();
        assert_eq!((scan.loaded, r.bank.instruments.len()), (3, 3));
        let gone = dir.join("nowhere");
        assert!(r.rescan(&gone).is_err());
        assert_eq!(r.bank.instruments.len(), 3, "the bank stays");
        assert_eq!(r.bank.dir, dir, "and its folder");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
