//! MIDI input ports (`--midi`): their callbacks hand the raw bytes to the
//! network thread through a channel; the router plays them there.

use super::options::MidiSelect;
use super::router::{Output, Router};

/// The open MIDI input ports and the channel their bytes arrive on.
pub struct MidiInput {
    /// Kept open while the server runs.
    _connections: Vec<midir::MidiInputConnection<()>>,
    rx: crossbeam_channel::Receiver<Vec<u8>>,
}

impl MidiInput {
    /// Opens the ports `sel` asks for. A machine without a MIDI system, or
    /// a port that cannot be opened, only warns.
    pub fn start(sel: &MidiSelect) -> Self {
        let (tx, rx) = crossbeam_channel::bounded::<Vec<u8>>(1024);
        Self {
            _connections: connect(sel, tx),
            rx,
        }
    }

    /// Plays every message that arrived since the last call.
    pub fn drain(&self, router: &mut Router, out: &mut Output) {
        while let Ok(bytes) = self.rx.try_recv() {
            // System messages, clock and sysex are ignored.
            if let Ok(ev) = crate::control::midi::parse(&bytes) {
                if let Err(e) = router.midi_event(ev, None, out) {
                    tracing::warn!("MIDI: {e}");
                }
            }
        }
    }
}

fn connect(
    sel: &MidiSelect,
    tx: crossbeam_channel::Sender<Vec<u8>>,
) -> Vec<midir::MidiInputConnection<()>> {
    let mut conns = Vec::new();
    if *sel == MidiSelect::None {
        return conns;
    }
    let probe = match midir::MidiInput::new("neirosynth") {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!("MIDI: no MIDI system ({e}); continuing without MIDI");
            return conns;
        }
    };
    let ports = probe.ports();
    for port in ports {
        let name = probe.port_name(&port).unwrap_or_default();
        if let MidiSelect::Named(want) = sel {
            if !name.contains(want.as_str()) {
                continue;
            }
        }
        let Ok(input) = midir::MidiInput::new("neirosynth") else {
            continue;
        };
        let tx = tx.clone();
        match input.connect(
            &port,
            "neirosynth-in",
            move |_t, bytes, _| drop(tx.try_send(bytes.to_vec())),
            (),
        ) {
            Ok(c) => {
                tracing::info!("MIDI: listening on `{name}`");
                conns.push(c);
            }
            Err(e) => tracing::warn!("MIDI: cannot open `{name}`: {e}"),
        }
    }
    if conns.is_empty() {
        match sel {
            MidiSelect::Named(n) => tracing::warn!("MIDI: no input port matches `{n}`"),
            _ => tracing::info!("MIDI: no input ports"),
        }
    }
    conns
}
