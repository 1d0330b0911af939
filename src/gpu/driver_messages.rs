//! What the Vulkan stack prints to stderr while it is probed, routed into
//! our log.
//!
//! Opening a Vulkan instance loads the driver stack, and parts of it write
//! to stderr directly (libwayland's `error: XDG_RUNTIME_DIR is invalid or
//! not set in the environment.` on a headless machine, once per probe).
//! [`quietly`] runs such a probe with the process's stderr pointed at an
//! unlinked temporary file, then logs what was written at `debug` level, so
//! a newcomer sees our one line about the adapter instead.
//!
//! Control side only, and only around start-up probes: while it runs, any
//! other thread's stderr lands in the log at `debug` level too.

use std::io::{Read, Seek, SeekFrom};
use std::os::fd::AsRawFd;

/// Runs `probe` with stderr captured; what it printed is logged at `debug`.
/// Where stderr cannot be redirected, `probe` runs as is.
pub fn quietly<T>(probe: impl FnOnce() -> T) -> T {
    let Some(mut sink) = temp_file() else {
        return probe();
    };
    // SAFETY: plain descriptor operations on fd 2 and descriptors we own;
    // stderr is restored before returning.
    let saved = unsafe { libc::dup(2) };
    if saved < 0 || unsafe { libc::dup2(sink.as_raw_fd(), 2) } < 0 {
        if saved >= 0 {
            unsafe { libc::close(saved) };
        }
        return probe();
    }
    let result = probe();
    // SAFETY: `saved` is the original stderr, duplicated above.
    unsafe {
        libc::dup2(saved, 2);
        libc::close(saved);
    }
    let mut text = String::new();
    if sink.seek(SeekFrom::Start(0)).is_ok() && sink.read_to_string(&mut text).is_ok() {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            tracing::debug!("Vulkan driver: {line}");
        }
    }
    result
}

/// A temporary file already unlinked (it vanishes with its descriptor).
fn temp_file() -> Option<std::fs::File> {
    let path = std::env::temp_dir().join(format!(
        "neirosynth-stderr-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .ok()?;
    let _ = std::fs::remove_file(&path);
    Some(file)
}
