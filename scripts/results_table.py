#!/usr/bin/env python3
"""Markdown rows for docs/RESULTS.md from run directories' metrics.json (written by ser train).

    scripts/results_table.py runs/ablation/*   > rows.md

One row per run: name, WA and UAR (mean +- population std over folds), pooled UAR, macro-F1, the
mean over folds of the chosen point's inner-CV UAR (a validation number: it never sees a test
fold, so recipes are compared on it) and the hyper-parameters the inner search chose per fold
(value: number of folds).
"""
import json
import os
import sys
from collections import Counter


def row(run_dir):
    path = os.path.join(run_dir, "metrics.json")
    if not os.path.exists(path):
        return None
    m = json.load(open(path))
    s = m["summary"]
    chosen = Counter()
    inner = [f["search"]["inner_uar"] for f in m.get("folds", []) if "search" in f]
    inner_text = f"{sum(inner) / len(inner):.3f}" if inner else "-"
    for f in m.get("folds", []):
        point = f.get("search", {}).get("chosen")
        if point:
            chosen[", ".join(f"{k.split('.')[-1]}={v}" for k, v in point.items())] += 1
    pick = "; ".join(f"{k} ({n})" for k, n in sorted(chosen.items())) or "-"

    def ms(key):
        return f"{s[key]['mean']:.3f} ± {s[key]['std']:.3f}"

    return (f"| {os.path.basename(run_dir.rstrip('/'))} | {ms('accuracy')} | {ms('balanced_accuracy')} | "
            f"{m['pooled']['balanced_accuracy']:.3f} | {ms('macro_f1')} | {inner_text} | {pick} |")


print("| run | WA | UAR | pooled UAR | macro-F1 | inner UAR | chosen (folds) |")
print("|---|---|---|---|---|---|---|")
for d in sys.argv[1:]:
    r = row(d)
    if r:
        print(r)
