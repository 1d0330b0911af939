#!/usr/bin/env python3
"""The corpus quality table of an eval_corpus.sh run, in Markdown.

    python3 scripts/corpus_table.py OUT_DIR [METRICS_JSON]

Reads OUT_DIR/metrics.json (or METRICS_JSON: `metrics.py --batch --json`
output), ../shared/corpus/manifest.json (families) and
../shared/eval/references.json (the sine and modal references), and prints
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
    path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(out, "metrics.json")
    rows = json.load(open(path))["files"]
    manifest = {f["file"]: f for f in json.load(open(os.path.join(SHARED, "corpus", "manifest.json")))["files"]}
    refs = {r["file"]: r for r in json.load(open(os.path.join(SHARED, "eval", "references.json")))}
    table = []
    for r in rows:
        name = os.path.basename(r["target"])
        fam = manifest.get(name, {}).get("family", "?")
        ref = refs.get(name, {})
        table.append(dict(
            name=name[:-4], family=fam, mel=r["logmel_l1_db"], part=r["partials_cents"],
            mr=r["mrstft"], sine=ref.get("sine", {}).get("logmel_l1_db"),
            modal=ref.get("modal", {}).get("logmel_l1_db")))
    table.sort(key=lambda t: (t["family"], t["name"]))
    f2 = lambda v: "–" if v is None else f"{v:.2f}"
    print("| file | family | log-mel dB | sine ref | modal ref | partials cents | MR-STFT |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for t in table:
        print(f"| {t['name']} | {t['family']} | {f2(t['mel'])} | {f2(t['sine'])} | {f2(t['modal'])} "
              f"| {t['part']:.1f} | {t['mr']:.2f} |")
    med = lambda k, ts: statistics.median(t[k] for t in ts)
    print(f"| **median** | | **{med('mel', table):.2f}** | {med('sine', table):.2f} "
          f"| {med('modal', table):.2f} | **{med('part', table):.1f}** | {med('mr', table):.2f} |")
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
