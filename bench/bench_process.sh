#!/usr/bin/env bash
# Whole-process timings, start-up included (what a user waits for): `ser --help`, `ser info`, and
# `ser extract` over the first 80 Emo-DB files for issa193 and functionals, cache off. Printed
# as ratios against librosa 0.11 scaled to 80 files (issa193: 159.7 s / 535 files; functionals:
# 90.9 s / 535 files, FUNCTIONALS.md) and against LibTorch's start-up (0.53 s for `ser --help`
# when every command loaded it).
#   bench/bench_process.sh [build/ser] [emodb root]
set -euo pipefail
SER=${1:-build/ser}
ROOT=${2:-../shared/data/emodb}
[ -d "$ROOT" ] || { echo "SKIP: Emo-DB not found at $ROOT"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "path,label,speaker" > "$tmp/m.csv"
find "$ROOT" -name '*.flac' -o -name '*.wav' | sort | head -80 | while read -r f; do echo "$f,x,s" >> "$tmp/m.csv"; done

best_of() {  # best of 3 wall-clock seconds of a command
  local best=1e9
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" > /dev/null 2>&1
    t1=$(date +%s.%N)
    best=$(echo "$t1 - $t0" | bc -l | awk -v b="$best" '{print ($1 < b) ? $1 : b}')
  done
  echo "$best"
}
help=$(best_of "$SER" --help)
info=$(best_of "$SER" info)
printf "ser --help      %6.3f s  (%.0fx faster than 0.53 s with LibTorch loaded)\n" "$help" "$(echo "0.53 / $help" | bc -l)"
printf "ser info        %6.3f s\n" "$info"
for set in issa193 functionals; do
  base=$([ $set = issa193 ] && echo 159.7 || echo 90.9)
  lib=$(echo "$base * 80 / 535" | bc -l)
  for jobs in 1 0; do
    t=$(best_of "$SER" extract --dataset manifest --manifest "$tmp/m.csv" --out "$tmp/out" --no-cache \
          --set features.set=$set --jobs $jobs --no-progress)
    printf "extract %-12s 80 files, %s: %6.2f s  = %5.1fx librosa (%.1f s on one core)\n" "$set" \
      "$([ $jobs = 1 ] && echo "1 thread " || echo "all cores")" "$t" "$(echo "$lib / $t" | bc -l)" "$lib"
  done
done
