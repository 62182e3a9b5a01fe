#!/usr/bin/env bash
# Peak memory (max RSS of the whole process) of `ser extract` with a base-sized wav2vec2 on one
# long file (default 10 minutes of 16 kHz audio), with the default 30 s chunks, every layer
# pooled, with and without the frame store. Target: under 2 GB. The weights are random.
# Needs Debian's python3-numpy (to write the random model) and /usr/bin/time.
#   bench/bench_encoder_memory.sh [build dir] [minutes]
set -euo pipefail
BUILD=${1:-build}
MINUTES=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
/usr/bin/python3 -c "import numpy" 2>/dev/null || { echo "SKIP: needs python3-numpy (apt-get install)"; exit 0; }
[[ -x /usr/bin/time ]] || { echo "SKIP: needs /usr/bin/time (apt-get install time)"; exit 0; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 "$here/make_random_encoder.py" "$dir/w2v2-base" > /dev/null
# Speech-like test signal: a gliding harmonic tone with noise, seeded.
/usr/bin/python3 - "$dir/long.wav" "$MINUTES" <<'PY'
import sys, wave
import numpy as np
sr, n = 16000, int(float(sys.argv[2]) * 60 * 16000)
t = np.arange(n) / sr
f0 = 150 + 50 * np.sin(2 * np.pi * 0.3 * t)
x = 0.2 * np.sin(2 * np.pi * np.cumsum(f0) / sr) + 0.02 * np.random.default_rng(1).standard_normal(n)
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(sr)
    w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
PY
printf 'path,label\n%s,x\n' "$dir/long.wav" > "$dir/m.csv"
for frames in "" "--frames"; do
  /usr/bin/time -f "%M %e" -o "$dir/time" "$BUILD/ser" extract --dataset manifest --manifest "$dir/m.csv" \
    --out "$dir/store" --features encoder --set features.encoder.checkpoint="$dir/w2v2-base" --no-cache \
    --no-progress --jobs 1 $frames > "$dir/log" 2>&1 || { cat "$dir/log"; exit 1; }
  read -r kb secs < "$dir/time"
  printf "ser extract, wav2vec2-base (13 hidden states, mean), %s min file, 30 s chunks%s: peak RSS %.0f MB, %.0f s (%.1fx real time)\n" \
    "$MINUTES" "${frames:+, frame store}" "$(echo "$kb / 1024" | bc -l)" "$secs" "$(echo "$MINUTES * 60 / $secs" | bc -l)"
done
ls -la "$dir/store/frames.npy" | awk '{printf "frames.npy: %.0f MB\n", $5 / 1048576}'
