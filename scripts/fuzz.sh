#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, ASan + UBSan) in build-fuzz/ and runs each target for a
# fixed time, starting from the kept inputs in fuzz/corpus/<target>/. New inputs go to
# build-fuzz/corpus/<target>/, crash inputs to build-fuzz/crashes/<target>/. Exit 1 on any crash.
#   scripts/fuzz.sh                    60 s for each of audio, manifest, config
#   scripts/fuzz.sh 600 audio          10 minutes of the audio target only
#   SER_FUZZ_MERGE=1 scripts/fuzz.sh   then minimise the found inputs into fuzz/corpus/ (to commit)
# A crash input, once fixed, belongs in fuzz/corpus/<target>/: test_fuzz_inputs replays it forever.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(audio manifest config)

command -v clang++ >/dev/null || { echo "fuzz: needs clang (apt-get install clang)" >&2; exit 2; }
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DSER_FUZZ=ON -DSER_BUILD_TESTS=OFF -DSER_BUILD_BENCH=OFF > build-fuzz.configure.log 2>&1 ||
  { cat build-fuzz.configure.log >&2; exit 1; }
rm -f build-fuzz.configure.log
cmake --build build-fuzz -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

# Leaks inside system decoders (not ser's) are listed in fuzz/lsan.supp.
export LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0"
status=0
for t in "${targets[@]}"; do
  case $t in audio) max_len=65536 ;; *) max_len=4096 ;; esac
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/crashes/$t"
  log="build-fuzz/fuzz-$t.log"
  echo "fuzz: $t for ${seconds}s (log $log)"
  # malloc_limit: a decoder asked for more than 1 GiB for a small input counts as a crash.
  if ! "build-fuzz/fuzz/fuzz_$t" "build-fuzz/corpus/$t" "fuzz/corpus/$t" -max_total_time="$seconds" \
      -max_len=$max_len -timeout=20 -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
      -artifact_prefix="build-fuzz/crashes/$t/" > "$log" 2>&1; then
    status=1
    echo "fuzz: $t FOUND A CRASH: $(ls "build-fuzz/crashes/$t" | head -3) (see $log)" >&2
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  echo "fuzz: $t: $runs executions, $(ls "build-fuzz/corpus/$t" | wc -l) new corpus inputs, $(ls "build-fuzz/crashes/$t" | wc -l) crashes"
  if [ "${SER_FUZZ_MERGE:-0}" = 1 ] && [ $status = 0 ]; then
    mkdir -p "build-fuzz/merged/$t"
    "build-fuzz/fuzz/fuzz_$t" -merge=1 -max_len=$max_len "build-fuzz/merged/$t" "fuzz/corpus/$t" "build-fuzz/corpus/$t" \
      >> "$log" 2>&1
    cp -n "build-fuzz/merged/$t"/* "fuzz/corpus/$t"/ 2>/dev/null || true
  fi
done
exit $status
