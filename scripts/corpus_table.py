#!/usr/bin/env python3
"""The corpus quality table of an eval_corpus.sh run, in Markdown.

    python3 scripts/corpus_table.py OUT_DIR [--first-second]

Without --first-second: the issue's measure, `metrics.py --batch` at its
default settings (the whole 3 s; OUT_DIR/metrics_full.json), against
../shared/eval/references.json, which is scored the same way. With
--first-second: the first second only (OUT_DIR/metrics.json), against the
sine reference rebuilt and scored on the same second
(OUT_DIR/sine_reference.json from scripts/sine_reference.py; the modal
reference exists only at full length and is left out). Reads
../shared/corpus/manifest.json for the families, and prints
one row per file (sorted by family), the medians per family, the overall
median and mean (and the mean without the crash cymbal, as the eval README
asks), and how many files score a lower log-mel distance than the sine
reference. Standard library only.
"""
import json
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    first = "--first-second" in sys.argv[2:]
    path = os.path.join(out, "metrics.json" if first else "metrics_full.json")
    rows = json.load(open(path))["files"]
    manifest = {f["file"]: f for f in json.load(open(os.path.join(SHARED, "corpus", "manifest.json")))["files"]}
    refs = {r["file"]: r for r in json.load(open(os.path.join(SHARED, "eval", "references.json")))}
    rebuilt = json.load(open(os.path.join(out, "sine_reference.json"))) if first else {}
    table = []
    for r in rows:
        name = os.path.basename(r["target"])
        fam = manifest.get(name, {}).get("family", "?")
        ref = refs.get(name, {})
        if first:
            sine, modal = rebuilt.get(name, {}).get("first_second"), None
        else:
            sine = ref.get("sine", {}).get("logmel_l1_db")
            modal = ref.get("modal", {}).get("logmel_l1_db")
        table.append(dict(
            name=name[:-4], family=fam, mel=r["logmel_l1_db"], part=r["partials_cents"],
            mr=r["mrstft"], sine=sine, modal=modal))
    print("first second; sine reference rebuilt and scored on the same second" if first
          else "whole 3 s (metrics.py defaults), references.json as published")
    print()
    table.sort(key=lambda t: (t["family"], t["name"]))
    f2 = lambda v: "–" if v is None else f"{v:.2f}"
    print("| file | family | log-mel dB | sine ref | modal ref | partials cents | MR-STFT |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for t in table:
        print(f"| {t['name']} | {t['family']} | {f2(t['mel'])} | {f2(t['sine'])} | {f2(t['modal'])} "
              f"| {t['part']:.1f} | {t['mr']:.2f} |")
    def med(k, ts):
        v = [t[k] for t in ts if t[k] is not None]
        return statistics.median(v) if v else None
    print(f"| **median** | | **{med('mel', table):.2f}** | {f2(med('sine', table))} "
          f"| {f2(med('modal', table))} | **{med('part', table):.1f}** | {med('mr', table):.2f} |")
    print()
    print("| family | files | log-mel median | partials median | better than sine |")
    print("| --- | --- | --- | --- | --- |")
    for fam in sorted({t["family"] for t in table}):
        ts = [t for t in table if t["family"] == fam]
        won = sum(1 for t in ts if t["sine"] is not None and t["mel"] < t["sine"])
        print(f"| {fam} | {len(ts)} | {med('mel', ts):.2f} | {med('part', ts):.1f} | {won} of {len(ts)} |")
    won = sum(1 for t in table if t["sine"] is not None and t["mel"] < t["sine"])
    no_crash = [t for t in table if "crash" not in t["name"]]
    print()
    print(f"files: {len(table)}; log-mel median {med('mel', table):.2f} dB, mean "
          f"{statistics.mean(t['mel'] for t in table):.2f} (without the crash "
          f"{statistics.mean(t['mel'] for t in no_crash):.2f}); partials median "
          f"{med('part', table):.1f} cents; better than the sine reference on "
          f"{won} of {len(table)} ({100.0 * won / len(table):.0f} %)")


if __name__ == "__main__":
    main()
