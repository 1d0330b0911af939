#!/usr/bin/env bash
# The whole test suite: installs what is missing, then formatting, lints,
# docs and tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps --quiet
cargo test --locked --no-fail-fast
