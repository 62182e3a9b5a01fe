#!/usr/bin/env bash
# How a RAVDESS run's fold models answer when the same held-out clips arrive at 16 kHz and 8 kHz
# instead of 48 kHz (docs/RESULTS.md, "Bandwidth"). Each fold model predicts only its own test
# actors, so every answer is held-out. Copies are made once with `ser augment --sr R` (soxr HQ,
# as librosa.resample) into $COPIES/rR/.
#   scripts/rate_agreement.sh RUN [RUN...]      e.g. runs/ravdess runs/ravdess-fmax8k
set -euo pipefail
cd "$(dirname "$0")/.."
SER=${SER:-build/ser}
COPIES=${COPIES:-runs/rate-copies}
ROOT=${ROOT:-data/ravdess}
for r in 16000 8000; do
  if [[ ! -f $COPIES/r$r/manifest.csv ]]; then
    echo "== $SER augment --input $ROOT --dataset ravdess --out $COPIES/r$r --sr $r --ops shift=0 --pcm16"
    "$SER" augment --input "$ROOT" --dataset ravdess --out "$COPIES/r$r" --sr "$r" --ops shift=0 --pcm16
  fi
done
for run in "$@"; do
  out=$run/rate-agreement
  mkdir -p "$out"
  for fold in "$run"/fold-*/; do
    k=$(basename "$fold")
    # The fold's test items: ids of its predictions.csv; the 48 kHz originals and their copies.
    python3 - "$fold/predictions.csv" "$ROOT" "$COPIES" "$out/$k" <<'PY'
import csv, glob, os, sys
pred, root, copies, prefix = sys.argv[1:]
ids = [row["id"] for row in csv.DictReader(open(pred))]
for rate in ("48000", "16000", "8000"):
    with open(f"{prefix}-{rate}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label"])
        for i in ids:
            if rate == "48000":
                path = glob.glob(os.path.join(root, i + ".*"))[0]
            else:
                path = os.path.join(copies, "r" + rate, i + ".shift.1.wav")
            w.writerow([os.path.abspath(path), ""])  # a manifest's relative paths are relative to it
PY
    for rate in 48000 16000 8000; do
      "$SER" predict --model "$fold" --format json --out "$out/$k-$rate.json" "$out/$k-$rate.csv" 2>/dev/null
    done
  done
  python3 - "$out" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
emotions = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry", "06": "fearful", "07": "disgust", "08": "surprised"}
def truth(path):
    return emotions[os.path.basename(path).split("-")[2]]
def uar(pairs):
    per = {}
    for t, p in pairs:
        per.setdefault(t, []).append(t == p)
    return sum(sum(v) / len(v) for v in per.values()) / len(per)
rows = {r: [] for r in ("48000", "16000", "8000")}
for f in sorted(glob.glob(os.path.join(out, "fold-*-48000.json"))):
    for r in rows:
        rows[r] += json.load(open(f.replace("-48000.json", f"-{r}.json")))["items"]
base = rows["48000"]
result = {}
for r, items in rows.items():
    agree = sum(a["label"] == b["label"] for a, b in zip(base, items)) / len(base)
    result[r] = {"items": len(items), "uar": round(uar([(truth(b["path"]), a["label"]) for a, b in zip(items, base)]), 4),
                 "agreement_with_48k": round(agree, 4),
                 "below_trained_bandwidth": sum(i["below_trained_bandwidth"] for i in items),
                 "ood": sum(i["ood"] for i in items)}
json.dump(result, open(os.path.join(out, "summary.json"), "w"), indent=2)
print(out, json.dumps(result))
PY
done
