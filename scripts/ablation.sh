#!/usr/bin/env bash
# The accuracy ablation of docs/RESULTS.md: every feature set x normalisation x model on RAVDESS
# speaker 6-fold and Emo-DB leave-one-speaker-out, plus the best recipes under random 5-fold.
# Classic models pick C by inner speaker-grouped CV (train.search) on each fold's training part;
# torch models use the fixed settings of configs/*-model-a.json. Each run's command line is
# printed before it runs; metrics land in runs/ablation/<name>/metrics.json. The ablation ran
# before features.fmax existed: it analyses the whole band (fmax 0), whatever the configs say.
#   scripts/ablation.sh [classic|random|mlp|model_a|all] > ablation.log
set -euo pipefail
cd "$(dirname "$0")/.."
SER=${SER:-build/ser}
what=${1:-all}

run() {  # name base-config overrides...
  local name=$1 base=$2
  shift 2
  local cmd=("$SER" train --config "$base" --no-progress --set runs_dir=runs/ablation --set "name=$name" --set features.fmax=0 "$@")
  echo "== $name: ${cmd[*]}"
  local t0=$SECONDS
  "${cmd[@]}" 2>&1 | grep -E "^run |^  |error" || true
  echo "   ($((SECONDS - t0)) s)"
}

grid_logreg='{"model.logreg_c": [0.01, 0.1, 1.0]}'
grid_svm='{"model.svm_c": [1, 10, 100]}'

for corpus in ravdess emodb; do
  base=configs/$corpus.json
  for set in functionals issa193 issa193+functionals; do
    store="features.out=runs/features/$corpus-${set/+/-}"
    for norm in global speaker; do
      if [[ $what == classic || $what == all ]]; then
        run "$corpus-$set-$norm-logreg" "$base" --set "features.set=$set" --set "$store" --set "features.normalize=$norm" \
          --set 'model={"architecture": "logreg", "logreg_multi_class": "multinomial"}' --set "train.search=$grid_logreg"
        run "$corpus-$set-$norm-svm" "$base" --set "features.set=$set" --set "$store" --set "features.normalize=$norm" \
          --set 'model={"architecture": "svm"}' --set "train.search=$grid_svm"
      fi
    done
  done
done

if [[ $what == random || $what == all ]]; then
  for corpus in ravdess emodb; do
    for model in logreg svm; do
      grid=$grid_logreg model_json='{"architecture": "logreg", "logreg_multi_class": "multinomial"}'
      [[ $model == svm ]] && grid=$grid_svm model_json='{"architecture": "svm"}'

      run "$corpus-random5-functionals-global-$model" configs/$corpus.json --set protocol.name=random_kfold --set protocol.k=5 \
        --set features.set=functionals --set "features.out=runs/features/$corpus-functionals" --set features.normalize=global \
        --set "model=$model_json" --set "train.search=$grid"
    done
  done
fi

for arch in mlp model_a; do
  [[ $what == "$arch" || $what == all ]] || continue
  for set in issa193 functionals; do
    for corpus in emodb ravdess; do
      for norm in global speaker; do
        run "$corpus-$set-$norm-$arch" "configs/$corpus-model-a.json" --set "features.set=$set" \
          --set "features.out=runs/features/$corpus-$set" --set "features.normalize=$norm" --set "model.architecture=$arch"
      done
    done
  done
done
