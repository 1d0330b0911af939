//! ALSA's own error messages, routed into our log.
//!
//! alsa-lib prints its diagnostics straight to stderr (`ALSA lib
//! confmisc.c:855:(parse_card) cannot find card '0'` …, a dozen lines on a
//! machine without a sound card) before the server can say in one line what
//! happened. [`route_to_log`] installs a handler, for the calling thread
//! (alsa-lib's per-thread `snd_lib_error_set_local`: the network thread
//! opens, retries and enumerates devices and MIDI ports), that formats each
//! message and logs it at `debug` level instead.
//!
//! Control side only: it formats and logs, so it must never be installed on
//! a real-time thread.

use std::ffi::{c_char, c_int, CStr};

use alsa_sys::__va_list_tag;

unsafe extern "C" {
    /// C's `vsnprintf`, for the message's `printf` format and arguments.
    fn vsnprintf(
        buf: *mut c_char,
        size: usize,
        fmt: *const c_char,
        ap: *mut __va_list_tag,
    ) -> c_int;
}

/// Formats one alsa-lib message and logs it at `debug` level.
unsafe extern "C" fn log_message(
    file: *const c_char,
    line: c_int,
    function: *const c_char,
    err: c_int,
    fmt: *const c_char,
    args: *mut __va_list_tag,
) {
    let mut buf = [0 as c_char; 512];
    // SAFETY: alsa-lib passes a valid format and its matching va_list; the
    // buffer is bounded and NUL-terminated by vsnprintf.
    let text = unsafe {
        if fmt.is_null() {
            String::new()
        } else {
            vsnprintf(buf.as_mut_ptr(), buf.len(), fmt, args);
            CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned()
        }
    };
    // SAFETY: alsa-lib passes NUL-terminated static strings (or null).
    let name = |p: *const c_char| unsafe {
        if p.is_null() {
            String::new()
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    };
    tracing::debug!(
        "ALSA {}:{line} ({}): {text}{}",
        name(file),
        name(function),
        if err != 0 {
            format!(" (error {err})")
        } else {
            String::new()
        }
    );
}

/// Routes alsa-lib's messages on the calling thread into the log (`debug`)
/// instead of stderr.
pub fn route_to_log() {
    // SAFETY: installs a function with the exact signature alsa-lib expects
    // for its thread-local handler.
    unsafe {
        alsa_sys::snd_lib_error_set_local(Some(log_message));
    }
}
