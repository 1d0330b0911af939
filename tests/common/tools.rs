//! External tools the tests drive (sclang, pd, liblo, python-osc, Vulkan).
//!
//! Locally a test whose tool is missing is skipped and says why; under CI
//! (`CI=true`) it fails: a test that passes by skipping proves nothing.
#![allow(dead_code)]

use std::process::{Command, Stdio};

/// Whether this run is under CI (`CI` set to `true` or `1`).
pub fn under_ci() -> bool {
    matches!(
        std::env::var("CI")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Ok("true") | Ok("1")
    )
}

/// Whether `program args…` can be started and exits 0.
pub fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Whether `program` is on the PATH (it may not have a harmless flag to run).
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// `true` when `available`; otherwise fails the test under CI, or prints
/// `skipped: <what> (<install>)` and returns `false` so the caller returns.
pub fn require(available: bool, what: &str, install: &str) -> bool {
    if available {
        return true;
    }
    if under_ci() {
        panic!(
            "{what} is missing under CI (CI=true), where a missing tool is a failure: {install}"
        );
    }
    eprintln!("skipped: {what} is missing ({install}); under CI=true this test fails");
    false
}
