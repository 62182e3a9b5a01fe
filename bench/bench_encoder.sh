#!/usr/bin/env bash
# A base-sized wav2vec2 forward on a 3 s clip: ser (LibTorch C++) against PyTorch-Python
# (torchaudio's wav2vec2_base, the same architecture), with the same threads, printed as a ratio.
# Needs Debian's python3-numpy, python3-torch and python3-torchaudio; the weights are random.
#   bench/bench_encoder.sh [build dir] [threads]
set -euo pipefail
BUILD=${1:-build}
THREADS=${2:-2}
here=$(cd "$(dirname "$0")" && pwd)
/usr/bin/python3 -c "import numpy, torch, torchaudio" 2>/dev/null ||
  { echo "SKIP: needs python3-numpy, python3-torch and python3-torchaudio (apt-get install)"; exit 0; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 "$here/make_random_encoder.py" "$dir/w2v2-base" > /dev/null
export OMP_NUM_THREADS=$THREADS
ser_line=$("$BUILD/bench/bench_encoder" "$dir/w2v2-base" 3 3)
echo "$ser_line"
py=$(/usr/bin/python3 - "$THREADS" <<'PY'
import sys, time, torch, torchaudio
torch.set_num_threads(int(sys.argv[1]))
m = torchaudio.models.wav2vec2_base().eval()
x = torch.randn(1, 48000) * 0.1
with torch.inference_mode():
    m.extract_features(x)
    best = 1e30
    for _ in range(3):
        t0 = time.perf_counter(); m.extract_features(x); best = min(best, time.perf_counter() - t0)
print(f"{best:.4f}")
PY
)
ser_s=$(echo "$ser_line" | sed -E 's/.*best ([0-9.]+) s.*/\1/')
printf "PyTorch-Python (torchaudio wav2vec2_base, %s threads): best %.3f s -> ser is %.2fx its speed\n" \
  "$THREADS" "$py" "$(echo "$py / $ser_s" | bc -l)"
