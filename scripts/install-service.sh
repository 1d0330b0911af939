#!/usr/bin/env bash
# Installs neirosynth as a systemd service (run as root, from the source tree):
#   - a system user `neirosynth` (in group `audio`),
#   - the binary: target/release/neirosynth (built with `cargo build --release`
#     if missing) to /usr/local/bin/neirosynth,
#   - the shipped instruments to /var/lib/neirosynth/instruments (kept if present),
#   - the configuration to /etc/neirosynth/neirosynth.toml (kept if present),
#   - the unit to /etc/systemd/system/neirosynth.service, verified, then enabled
#     and started (pass --no-start to only install).
# Usage: sudo scripts/install-service.sh [--no-start]
set -euo pipefail
cd "$(dirname "$0")/.."
start=1
[ "${1:-}" = "--no-start" ] && start=0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-service.sh: run as root (sudo)" >&2
  exit 1
fi
if [ ! -x target/release/neirosynth ]; then
  cargo build --release --locked
fi
if ! id neirosynth >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/neirosynth --no-create-home \
    --shell /usr/sbin/nologin --user-group neirosynth
fi
getent group audio >/dev/null && usermod -a -G audio neirosynth
install -D -m 0755 target/release/neirosynth /usr/local/bin/neirosynth
install -d -m 0750 -o neirosynth -g neirosynth /var/lib/neirosynth
if [ ! -d /var/lib/neirosynth/instruments ]; then
  cp -r instruments /var/lib/neirosynth/instruments
  chown -R neirosynth:neirosynth /var/lib/neirosynth/instruments
fi
install -d -m 0755 /etc/neirosynth
if [ ! -e /etc/neirosynth/neirosynth.toml ]; then
  install -m 0644 packaging/systemd/neirosynth.toml /etc/neirosynth/neirosynth.toml
fi
# Refuse a configuration the server would refuse.
/usr/local/bin/neirosynth config --print --config /etc/neirosynth/neirosynth.toml >/dev/null
install -m 0644 packaging/systemd/neirosynth.service /etc/systemd/system/neirosynth.service
systemd-analyze verify /etc/systemd/system/neirosynth.service
systemctl daemon-reload
if [ "$start" -eq 1 ]; then
  systemctl enable --now neirosynth.service
  systemctl --no-pager status neirosynth.service || true
fi
