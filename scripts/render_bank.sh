#!/usr/bin/env bash
# Renders every instrument of the bank (instruments/*.json) at its reference
# note and a few other notes to out/bank/NAME_NOTE.wav (3 s, velocity 0.8)
# with the command line's `render`. Works from the repository root (it moves
# there itself).
#
#   scripts/render_bank.sh                  # reference note + 36 48 60 72 84 96
#   NOTES="40 52" scripts/render_bank.sh    # reference note + 40 52
set -euo pipefail
cd "$(dirname "$0")/.."

extra_notes=${NOTES:-"36 48 60 72 84 96"}
out=out/bank
mkdir -p "$out"

shopt -s nullglob
files=(instruments/*.json)
if ((${#files[@]} == 0)); then
    echo "render_bank: no instruments in instruments/" >&2
    exit 1
fi

# Build once, so the loop below only runs the binary.
cargo build --release --quiet

count=0
for file in "${files[@]}"; do
    # The files are pretty-printed by examples/make_bank.rs: one top-level
    # field per line, indented by two spaces.
    name=$(sed -n 's/^  "name": "\([^"]*\)",$/\1/p' "$file")
    ref=$(sed -n 's/^  "reference_note": \([0-9.]*\),$/\1/p' "$file")
    if [[ -z "$name" || -z "$ref" ]]; then
        echo "render_bank: $file: cannot read name or reference_note" >&2
        exit 1
    fi
    ref=${ref%.0}
    notes=("$ref")
    for n in $extra_notes; do
        [[ "$n" == "$ref" ]] || notes+=("$n")
    done
    for note in "${notes[@]}"; do
        cargo run --release --quiet -- render --instrument "$name" --note "$note" \
            --velocity 0.8 --duration 3 --out "$out/${name}_${note}.wav"
        count=$((count + 1))
    done
done
echo "render_bank: $count files in $out/"
