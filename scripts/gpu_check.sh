#!/usr/bin/env bash
# The GPU measurement, in one run on a machine with a hardware GPU.
#
# The device machine has no network (no crates.io), so it cannot build:
#   1. here:   bash scripts/gpu_check.sh prepare
#      builds the release binary and the GPU test binary (stripped) into
#      gpu_bin/ (git-ignored; about 30 MB);
#   2. device: run(command="bash scripts/gpu_check.sh run", carry=["gpu_bin"],
#      timeout_s=540)
#      prints, and writes to $OUT (or out/gpu_check) as gpu_check.txt:
#      - the adapter and driver (nvidia-smi, vulkaninfo --summary if present);
#      - `cargo test --release --test gpu` at 1 s of audio per instrument
#        (NEIROSYNTH_GPU_TEST_FRAMES=48000): GPU equals CPU on hardware;
#      - `neirosynth bench --engine gpu` at 64×64 and 128×128: block round
#        trip (median, p99) at 1, 64 and 256 voices, then the most voices in
#        real time (doubling until a block takes longer than its audio);
#      - the server (`scripts/bench_server.py --engine gpu --seconds 30`):
#        the most 64×64 voices it sustains for 30 s with no underrun.
# Each step has its own time limit so that one slow step cannot eat the
# device budget (15 minutes a session, at most 10 a command).
set -uo pipefail
cd "$(dirname "$0")/.."

prepare() {
  set -e
  cargo build --release --locked
  local test_bin
  test_bin=$(cargo test --release --locked --test gpu --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "gpu" and m.get("executable"):
        print(m["executable"])')
  rm -rf gpu_bin && mkdir -p gpu_bin
  strip -o gpu_bin/neirosynth target/release/neirosynth
  strip -o gpu_bin/gpu_tests "$test_bin"
  du -sh gpu_bin
  echo 'now: run(command="bash scripts/gpu_check.sh run", carry=["gpu_bin"], timeout_s=540)'
}

run_checks() {
  local out="${OUT:-out/gpu_check}"
  mkdir -p "$out" target/release
  [ -x gpu_bin/neirosynth ] || { echo "gpu_bin/ missing: run 'bash scripts/gpu_check.sh prepare' here and carry gpu_bin"; exit 2; }
  cp gpu_bin/neirosynth target/release/neirosynth # where bench_server.py looks
  local bin=target/release/neirosynth
  {
    echo "== machine"; date -u; nproc
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | head -3
    command -v vulkaninfo >/dev/null && timeout 20 vulkaninfo --summary 2>&1 | grep -E "deviceName|driverInfo|apiVersion" | head -6

    echo "== GPU equals CPU, 1 s of audio per instrument (tests/gpu.rs)"
    NEIROSYNTH_GPU_TEST_FRAMES=48000 timeout 180 gpu_bin/gpu_tests --test-threads 1 2>&1 | tail -25

    for mesh in 64 128; do
      echo "== bench --engine gpu, mesh ${mesh}x${mesh}: block round trip"
      for voices in 1 64 256; do
        timeout 60 "$bin" bench --engine gpu --mesh "$mesh" --voices "$voices" --seconds 2 2>&1 |
          grep -E "^voices_realtime=|engine: gpu on" | sed "s/^/voices=$voices /"
      done
      echo "== bench --engine gpu, mesh ${mesh}x${mesh}: most voices in real time"
      voices=256
      while [ "$voices" -le 8192 ]; do
        line=$(timeout 60 "$bin" bench --engine gpu --mesh "$mesh" --voices "$voices" --seconds 2 2>&1 | grep "^voices_realtime=")
        echo "voices=$voices $line"
        rt=$(sed -E 's/^voices_realtime=([0-9.]+).*/\1/' <<<"$line")
        [ -n "$rt" ] && python3 -c "import sys; sys.exit(0 if $rt >= $voices else 1)" || break
        voices=$((voices * 2))
      done
    done

    echo "== server: most 64x64 voices sustained 30 s, GPU engine"
    timeout 300 python3 scripts/bench_server.py --engine gpu --seconds 30 --min 16 --max 1024 2>&1 | tail -15
  } 2>&1 | tee "$out/gpu_check.txt"
}

case "${1:-}" in
  prepare) prepare ;;
  run) run_checks ;;
  *) echo "usage: bash scripts/gpu_check.sh prepare|run (see the comment at the top)"; exit 2 ;;
esac
