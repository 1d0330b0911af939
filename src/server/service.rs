//! Running as a service: what the binary hands the server for it (the
//! `SIGHUP` reload, systemd's notify socket and watchdog interval), and
//! the `SIGHUP` flag itself.
//!
//! Nothing here reads the environment: `NOTIFY_SOCKET` and
//! `WATCHDOG_USEC` are systemd's interface, read by the binary and passed
//! in as [`ServiceOptions`].

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::config::Setting;

/// What a `SIGHUP` re-reads: the settings a running server applies live,
/// and every setting (to say which changes need a restart).
#[derive(Debug, Clone)]
pub struct Reloaded {
    /// The instruments folder (rescanned).
    pub instruments: PathBuf,
    /// The MIDI preset (reloaded; none: the default map).
    pub midi_map: Option<PathBuf>,
    /// The master gain, linear (applied when it differs from the last
    /// configuration's).
    pub master_gain: f32,
    /// Every setting in force, as [`super::config::effective`] lists them.
    pub settings: Vec<(String, Setting)>,
}

/// Re-reads the configuration (the binary's: the file merged with the
/// command line, the log level applied); `Err` says why it cannot.
pub type Reloader = Box<dyn FnMut() -> Result<Reloaded, String> + Send>;

/// The service side of `serve` (all off by default).
#[derive(Clone, Default)]
pub struct ServiceOptions {
    /// Re-reads the configuration on `SIGHUP` (see [`catch_hangup`]).
    pub reload: Option<Arc<Mutex<Reloader>>>,
    /// The settings the server starts with (a reload says which changed).
    pub settings: Vec<(String, Setting)>,
    /// systemd's notify socket (`NOTIFY_SOCKET`): `READY=1` once serving,
    /// `WATCHDOG=1` while the engine makes progress.
    pub notify_socket: Option<PathBuf>,
    /// systemd's watchdog interval (`WATCHDOG_USEC`): pings go at half of it.
    pub watchdog: Option<Duration>,
}

impl std::fmt::Debug for ServiceOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceOptions")
            .field("reload", &self.reload.is_some())
            .field("settings", &self.settings.len())
            .field("notify_socket", &self.notify_socket)
            .field("watchdog", &self.watchdog)
            .finish()
    }
}

/// Set by the `SIGHUP` handler, taken by the control loop.
static HANGUP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_hangup(_: libc::c_int) {
    HANGUP.store(true, Ordering::Relaxed);
}

/// Makes `SIGHUP` mean "reload the configuration" (it only sets a flag
/// that [`take_hangup`] reads). Install it after any handler that would
/// make `SIGHUP` quit.
pub fn catch_hangup() -> std::io::Result<()> {
    // SAFETY: a zeroed sigaction is valid; the handler only stores to an
    // atomic, which is async-signal-safe.
    let rc = unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_hangup as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGHUP, &sa, std::ptr::null_mut())
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Whether a `SIGHUP` arrived since the last call.
pub fn take_hangup() -> bool {
    HANGUP.swap(false, Ordering::Relaxed)
}
