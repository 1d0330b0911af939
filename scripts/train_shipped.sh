#!/usr/bin/env bash
# Retrains the shipped trained instruments (instruments/trained_*.json)
# from the dev corpus with the trainer's default settings, one after the
# other, and prints each report's metrics (Rust ports of metrics.py, full
# length, at the target's level). Reports go to out/shipped/NAME.report/
# (the instruments folder keeps only the instrument files).
#
#   scripts/train_shipped.sh [NAME ...]     # default: all of them
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=../shared/corpus
cargo build --release --quiet
bin=target/release/neirosynth
declare -A sources=(
  [trained_marimba]="marimba_C4 marimba_C5"
  [trained_harp]="harp_C4"
  [trained_nylon_guitar]="nylon_guitar_E4"
  [trained_tubular_bells]="tubular_bells_C4"
  [trained_high_tom]="drum_hitom_D3"
  [trained_low_tom]="drum_lowtom_A2"
  [trained_kick]="drum_kick_C2"
  [trained_cello]="cello_E3"
)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(trained_marimba trained_harp trained_nylon_guitar trained_tubular_bells trained_high_tom trained_low_tom trained_kick trained_cello)
mkdir -p out/shipped
for name in "${names[@]}"; do
  files=()
  for s in ${sources[$name]}; do files+=("$corpus/$s.wav"); done
  t0=$(date +%s)
  "$bin" train "${files[@]}" --out "out/shipped/$name.json" 2> "out/shipped/$name.log"
  cp "out/shipped/$name.json" "instruments/$name.json"
  echo "$name: trained in $(( $(date +%s) - t0 )) s"
  python3 - "out/shipped/$name.json.report/metrics.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for t in m["targets"]:
    x = t["metrics"]
    print(f"  {t['file'].split('/')[-1]}: log-mel {x['logmel_l1_db']:.2f} dB, partials "
          f"{x['partials_cents'] if x['partials_cents'] is None else round(x['partials_cents'], 1)} cents, MR-STFT {x['mrstft']:.2f}")
PY
done
