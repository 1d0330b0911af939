#!/usr/bin/env bash
# Installs the system packages neirosynth needs (Debian/Ubuntu), if missing:
# ALSA headers for cpal, JACK headers for cpal's `jack` feature (--audio jack),
# pkg-config to find them, jackd2 (a JACK server: the tests run one with its
# dummy driver, a sound-card-free clock), the Vulkan loader and Mesa's
# lavapipe (a software Vulkan GPU: the GPU engine's tests run on it), the
# clients our users play the server with, so that the tests drive it through
# them: supercollider-language (sclang, headless: no scsynth or display),
# puredata-core (pd -nogui) and liblo-tools (oscsend, oscsendfile, oscdump);
# curl (an OSCQuery client's GET of the server's HTTP tree, tests/oscquery.rs);
# util-linux and iproute2 (unshare, ip: tests/mdns.rs browses `--advertise`
# inside a private network namespace, loopback only);
# python-osc for the Python and TouchDesigner patches' tests, numpy and scipy
# for the evaluation metric; systemd (systemd-analyze verifies the service
# unit, packaging/systemd/neirosynth.service). Under CI (CI=true) a test whose tool is missing
# fails. Uses sudo when not root.
set -euo pipefail
PKGS=(pkg-config libasound2-dev libjack-jackd2-dev jackd2 libvulkan1 mesa-vulkan-drivers
  supercollider-language puredata-core liblo-tools curl util-linux iproute2 systemd)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if command -v python3 >/dev/null 2>&1 && ! python3 -c "import pythonosc" 2>/dev/null; then
  python3 -m pip install --quiet python-osc || echo "warning: python-osc not installed; the Python and TouchDesigner patch tests fail under CI=true" >&2
fi
# numpy and scipy run ../shared/eval/metrics.py, the reference the Rust
# metrics are tested against (tests/train_loss.rs) and the corpus scorer.
if command -v python3 >/dev/null 2>&1 && ! python3 -c "import numpy, scipy" 2>/dev/null; then
  python3 -m pip install --quiet numpy scipy || echo "warning: numpy/scipy not installed; the metrics.py comparison will be skipped (and fail under CI=true)" >&2
fi
