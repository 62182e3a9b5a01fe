#!/usr/bin/env bash
# The `ser compare` tables behind docs/RESULTS.md's comparisons, from the runs of
# scripts/ablation.sh (runs/ablation/) and of the repeats section (runs/). Every command is
# printed before it runs; JSON copies land in runs/compare/.
#   scripts/compare_claims.sh [ablation|defaults|all]
set -euo pipefail
cd "$(dirname "$0")/.."
SER=${SER:-build/ser}
what=${1:-all}
A=runs/ablation
mkdir -p runs/compare

compare() {  # name runs...
  local name=$1
  shift
  echo "== $name: $SER compare $*"
  "$SER" compare "$@"
  "$SER" compare "$@" --format json --out "runs/compare/$name.json"
  echo
}

if [[ $what == ablation || $what == all ]]; then
  for corpus in ravdess emodb; do
    first=$A/$corpus-issa193-global-logreg
    [[ $corpus == emodb ]] && first=$A/emodb-issa193-global-model_a
    compare "$corpus-speaker-protocol" "$first" $A/$corpus-functionals-global-logreg $A/$corpus-functionals-global-svm \
      $A/$corpus-functionals-global-mlp $A/$corpus-functionals-speaker-logreg $A/$corpus-issa193+functionals-speaker-logreg
    compare "$corpus-random5" $A/$corpus-random5-functionals-global-svm $A/$corpus-random5-functionals-global-logreg
  done
fi
if [[ $what == defaults || $what == all ]]; then
  compare ravdess-defaults runs/ravdess-repeats5 runs/ravdess-model-a-repeats5
  compare emodb-defaults $A/emodb-functionals-global-logreg-wide $A/emodb-issa193-global-model_a
  compare emodb-augmentation runs/emodb-model-a-augmented $A/emodb-issa193-global-model_a
fi
