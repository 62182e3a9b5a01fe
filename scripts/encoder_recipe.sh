#!/usr/bin/env bash
# The layer sweep a researcher runs first with a pretrained speech encoder: every hidden state
# of CHECKPOINT (a Hugging Face wav2vec2 / HuBERT / WavLM folder), mean-pooled over each clip,
# probed by a logistic regression on RAVDESS under the speaker-independent 6-fold protocol
# (configs/ravdess.json: the EmoBox fold table), C chosen per fold by inner speaker-grouped CV
# on the training part (never on test speakers), global standardisation.
#
#   scripts/encoder_recipe.sh CHECKPOINT [OUT_DIR] [--layers "0 4 8"] [--pooling mean|mean+std]
#       [--config CFG] [--jobs N]
#
# One encoder pass writes a store with every layer (OUT_DIR/features, cached); each layer is
# then trained from that store with features.blocks=["layerNN.*"], so the sweep costs one
# extraction. Writes OUT_DIR/layers.csv and OUT_DIR/layers.md (UAR mean +- std over the folds,
# pooled UAR with its 95 % speaker-bootstrap CI, WA, macro-F1, the inner-CV UAR that a layer
# would be chosen by) and the runs under OUT_DIR/runs. Choose a layer by the inner-CV column,
# not by the test column. Compare with EmoBox's RAVDESS table (same folds): frozen
# wav2vec2-base UAR 54.3, WavLM-base 61.6, HuBERT-large 70.0, WavLM-large 72.0.
# Environment: SER (build/ser by default). Needs python3 (standard library) for the table.
set -euo pipefail

die() { echo "encoder_recipe.sh: $*" >&2; exit 2; }
[[ $# -ge 1 && $1 != -* ]] || { sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }
checkpoint=$1
shift
out=runs/encoder-recipe
if [[ $# -ge 1 && $1 != -* ]]; then out=$1; shift; fi
layers=""
pooling=mean
config=configs/ravdess.json
jobs=0
while (($#)); do
  case $1 in
    --layers) (($# >= 2)) || die "--layers needs a list"; layers=$2; shift 2 ;;
    --pooling) (($# >= 2)) || die "--pooling needs mean or mean+std"; pooling=$2; shift 2 ;;
    --config) (($# >= 2)) || die "--config needs a file"; config=$2; shift 2 ;;
    --jobs) (($# >= 2)) || die "--jobs needs a number"; jobs=$2; shift 2 ;;
    *) die "unknown argument '$1'" ;;
  esac
done
[[ -d $checkpoint && -f $checkpoint/config.json ]] || die "'$checkpoint' is not a Hugging Face model folder (no config.json)"
[[ -f $config ]] || die "no config file '$config'"
SER=${SER:-build/ser}
[[ -x $SER ]] || SER=$(command -v "$SER" 2>/dev/null) || die "no ser binary (set SER=...)"
command -v python3 >/dev/null || die "needs python3 for the table"
mkdir -p "$out"

# The hidden states the checkpoint has: ser info --encoder prints "layers 0..L".
info=$("$SER" info --encoder "$checkpoint") || die "ser info --encoder failed"
last=$(sed -nE 's/.*hidden states 0\.\.([0-9]+).*/\1/p' <<<"$info" | head -n 1)
[[ $last =~ ^[0-9]+$ ]] || die "could not read the layer count from: $info"
[[ -n $layers ]] || layers=$(seq -s ' ' 0 "$last")
for l in $layers; do
  [[ $l =~ ^[0-9]+$ && $l -le $last ]] || die "layer '$l' is outside 0..$last"
done

common=(--config "$config" --no-progress --set features.set=encoder --set features.fmax=0
        --set "features.encoder.checkpoint=$(cd "$checkpoint" && pwd)" --set features.encoder.layers=all
        --set "features.encoder.pooling=$pooling" --set "features.out=$out/features" --set "features.jobs=$jobs"
        --set "runs_dir=$out/runs")
echo "== encoding every layer once: $SER extract ${common[*]}"
"$SER" extract "${common[@]}" --set features.normalize=global 2>&1 | grep -vE '^\s*$' | tail -n 3

for l in $layers; do
  name=$(printf 'layer%02d' "$l")
  cmd=("$SER" train "${common[@]}" --set features.from_store=true --set "features.blocks=[\"$name.*\"]"
       --set "name=$name" --set features.normalize=global
       --set 'model={"architecture": "logreg", "logreg_multi_class": "multinomial"}'
       --set 'train.search={"model.logreg_c": [0.001, 0.01, 0.1, 1.0, 10.0]}')
  echo "== $name: ${cmd[*]}"
  "${cmd[@]}" 2>&1 | grep -E '^run |UAR|error' | head -n 4 || true
  [[ -f $out/runs/$name/metrics.json ]] || die "$name: no metrics.json (see the lines above)"
done

python3 - "$out" "$checkpoint" "$pooling" $layers <<'PY'
import csv, json, os, sys
out, checkpoint, pooling, layers = sys.argv[1], sys.argv[2], sys.argv[3], [int(x) for x in sys.argv[4:]]
rows = []
for l in layers:
    m = json.load(open(os.path.join(out, "runs", f"layer{l:02d}", "metrics.json")))
    s, ci = m["summary"], m["ci"]
    rows.append({"layer": l, "uar_mean": s["balanced_accuracy"]["mean"], "uar_std": s["balanced_accuracy"]["std"],
                 "pooled_uar": m["pooled"]["balanced_accuracy"], "uar_ci_low": ci["balanced_accuracy"][0],
                 "uar_ci_high": ci["balanced_accuracy"][1], "pooled_wa": m["pooled"]["accuracy"],
                 "pooled_macro_f1": m["pooled"]["macro_f1"], "inner_cv_uar": (m.get("validation") or {}).get("uar", ""),
                 "n": m["n"]})
with open(os.path.join(out, "layers.csv"), "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
best = max((r for r in rows if r["inner_cv_uar"] != ""), key=lambda r: r["inner_cv_uar"], default=None)
lines = [f"# Layer sweep: {os.path.abspath(checkpoint)}", "",
         f"RAVDESS, speaker-independent 6-fold (EmoBox's folds), {rows[0]['n']} clips; {pooling} pooling of each "
         "hidden state; logistic regression (multinomial), C from {0.001, 0.01, 0.1, 1, 10} by inner "
         "speaker-grouped CV on each fold's training part; global standardisation. UAR = unweighted average recall.",
         "", "| layer | UAR mean +- std (folds) | pooled UAR [95 % CI] | WA | macro-F1 | inner-CV UAR |", "|---|---|---|---|---|---|"]
for r in rows:
    inner = f"{r['inner_cv_uar']:.3f}" if r["inner_cv_uar"] != "" else ""
    lines.append(f"| {r['layer']} | {r['uar_mean']:.3f} +- {r['uar_std']:.3f} | {r['pooled_uar']:.3f} "
                 f"[{r['uar_ci_low']:.3f}, {r['uar_ci_high']:.3f}] | {r['pooled_wa']:.3f} | {r['pooled_macro_f1']:.3f} | {inner} |")
if best:
    lines += ["", f"Layer chosen by inner-CV UAR (no test data): {best['layer']}, test UAR {best['pooled_uar']:.3f}."]
lines += ["", "EmoBox, same folds, frozen encoders: wav2vec2-base 54.3, WavLM-base 61.6, HuBERT-large 70.0, WavLM-large 72.0 UAR."]
open(os.path.join(out, "layers.md"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
