#!/usr/bin/env bash
# scripts/encoder_recipe.sh end to end on RAVDESS with the tiny random-weight wav2vec2 of
# ../shared/reference/encoders (layers 0 and 2), in a scratch folder whose path has a space:
# one extraction, one probe per layer from the store, layers.csv / layers.md with every column
# filled and the layer chosen by inner-CV UAR; and the mistakes it must refuse (exit 2).
#   tests/recipes/encoder_recipe_test.sh [path/to/ser] [path/to/shared]
# Exit 0 passed, 1 failed, 77 skipped (no RAVDESS or encoder references).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
SER=${1:-$repo/build/ser}
[[ $SER == /* ]] || SER=$PWD/$SER
SHARED=${SER_SHARED_DIR:-${2:-$repo/../shared}}
checkpoint=$SHARED/reference/encoders/wav2vec2-tiny
if [[ ! -d $SHARED/data/ravdess || ! -f $checkpoint/config.json ]]; then
  echo "encoder recipe: skipped: no RAVDESS or encoder references in $SHARED (set SER_SHARED_DIR)"
  exit 77
fi
command -v python3 >/dev/null || { echo "encoder recipe: skipped: needs python3"; exit 77; }
fail() { echo "encoder recipe: FAILED: $*"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ser recipe.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
mkdir -p data
ln -s "$repo/configs" configs
ln -s "$SHARED/data/ravdess" data/ravdess
export SER

bash "$repo/scripts/encoder_recipe.sh" "$work/no such folder" out >/dev/null 2>&1
[[ $? == 2 ]] || fail "a folder without config.json was not refused with exit 2"
bash "$repo/scripts/encoder_recipe.sh" "$checkpoint" out --layers "0 7" >err.log 2>&1
[[ $? == 2 ]] && grep -q "outside 0..2" err.log || fail "layer 7 of a 2-layer model was not refused: $(tail -n 3 err.log)"

bash "$repo/scripts/encoder_recipe.sh" "$checkpoint" "sweep out" --layers "0 2" >recipe.log 2>&1 ||
  fail "the recipe failed: $(tail -n 20 recipe.log)"
python3 - "sweep out" <<'PY' || fail "layers.csv / layers.md: see above"
import csv, os, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(out, "layers.csv"))))
assert [r["layer"] for r in rows] == ["0", "2"], rows
for r in rows:
    for k in ("uar_mean", "pooled_uar", "uar_ci_low", "uar_ci_high", "pooled_wa", "pooled_macro_f1", "inner_cv_uar"):
        v = float(r[k])
        assert 0 < v < 1, (k, v)
    assert float(r["uar_ci_low"]) <= float(r["pooled_uar"]) <= float(r["uar_ci_high"]), r
    assert r["n"] == "1440", r
md = open(os.path.join(out, "layers.md")).read()
assert "Layer chosen by inner-CV UAR (no test data)" in md and "| 2 |" in md, md
PY
# One extraction: the store has every layer, each run used two of its blocks' columns.
grep -q '"layer02.mean"' "sweep out/features/meta.json" || fail "the store lacks layer02"
grep -q '"feature_columns"' "sweep out/runs/layer02/fold-1/model.json" || fail "the layer-2 model has no feature_columns"
[[ $(grep -c "encoding every layer once" recipe.log) == 1 ]] || fail "more than one extraction"
echo "encoder recipe: passed ($(grep -c '^== layer' recipe.log) layers probed)"
