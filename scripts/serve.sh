#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the server with
# the shipped instruments. Without a sound card it says so and runs on the
# silent `null` back-end; without a GPU it runs on the native CPU engine.
# Arguments are passed to `neirosynth serve` (e.g. --audio jack, --port 0).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release --locked
exec target/release/neirosynth serve --instruments instruments "$@"
