#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for ser: installs the Debian packages it builds against,
# configures and builds Release into build/. Safe to re-run.
#   scripts/bootstrap.sh            install packages (apt-get, as root or via sudo) and build
#   SER_SKIP_APT=1 scripts/bootstrap.sh   build only
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake ninja-build pkg-config
  libsndfile1-dev libsoxr-dev libfftw3-dev libeigen3-dev libtorch-dev
  libcli11-dev nlohmann-json3-dev libspdlog-dev libgtest-dev libbenchmark-dev
  libsvm-dev liblinear-dev liblbfgs-dev
  librsvg2-bin  # rsvg-convert: the tests render every SVG plot to PNG
  zlib1g-dev    # the tests read the encoder references' .npz archives
  libopenblas0-pthread)  # LibTorch multiplies matrices with libblas.so.3: OpenBLAS is ~15x the reference BLAS

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${SER_SKIP_APT:-0}" != 1 ] && [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "bootstrap: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Corpora live in data/ (see data/README.md). Where the team's shared corpora sit beside the
# checkout, link them in rather than copying.
for corpus in ravdess emodb; do
  if [ ! -e "data/$corpus" ] && [ -d "../shared/data/$corpus" ]; then
    ln -s "../../shared/data/$corpus" "data/$corpus"
    echo "bootstrap: linked data/$corpus -> ../shared/data/$corpus"
  fi
done

jobs=$(nproc)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$jobs"
echo "bootstrap: built $(pwd)/build/ser"
