//! The router's service state: when it started (for `/status`'s
//! uptime), the instruments loaded or reloaded by name, the master gain,
//! and a counter of changes to what the state file saves.

use std::time::{Duration, Instant};

/// The router's service state.
#[derive(Debug, Clone)]
pub(super) struct ServiceState {
    started: Instant,
    pub(super) loaded: Vec<String>,
    pub(super) master_gain: f32,
    pub(super) generation: u64,
}

impl Default for ServiceState {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            loaded: Vec::new(),
            master_gain: 1.0,
            generation: 0,
        }
    }
}

impl ServiceState {
    /// An instrument was loaded or reloaded by name.
    pub(super) fn loaded(&mut self, name: &str) {
        if !self.loaded.iter().any(|n| n == name) {
            self.loaded.push(name.to_string());
        }
        self.generation += 1;
    }

    /// The master gain changed.
    pub(super) fn set_gain(&mut self, gain: f32) {
        self.master_gain = gain;
        self.generation += 1;
    }

    /// Something else that is saved (a program change) changed.
    pub(super) fn touch(&mut self) {
        self.generation += 1;
    }

    /// Time since the router started.
    pub(super) fn uptime(&self) -> Duration {
        self.started.elapsed()
    }
}
