#!/usr/bin/env bash
# Parity at real sizes: random-weight wav2vec2-base (group-norm extractor, post-LN; 95 M
# parameters) and wav2vec2-large (layer-norm extractor, pre-LN; 317 M) made by
# scripts/make_encoder_fixtures.py with torchaudio 0.13.1 as the oracle, every hidden state of
# 0.5 s, 3 s and 20 s clips compared frame by frame (<= 1e-4 of each layer's max |value|).
# Needs Debian's python3-numpy, python3-torch, python3-torchaudio; about 10 minutes on 2 cores.
#   bench/encoder_parity.sh [build dir] [base|large|both]
set -euo pipefail
BUILD=${1:-build}
WHICH=${2:-both}
here=$(cd "$(dirname "$0")" && pwd)
/usr/bin/python3 -c "import numpy, torch, torchaudio" 2>/dev/null ||
  { echo "SKIP: needs python3-numpy, python3-torch and python3-torchaudio (apt-get install)"; exit 0; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for size in base large; do
  [[ $WHICH == both || $WHICH == "$size" ]] || continue
  /usr/bin/python3 "$here/../scripts/make_encoder_fixtures.py" --size "$size" "$dir/$size"
  SER_ENCODER_PARITY_DIR="$dir/$size" "$BUILD/tests/test_encoder_fixtures" --gtest_filter='EncoderParityOptIn.*' |
    grep -E "parameters, worst|OK|FAILED|Failure|h[0-9]+$"
done
