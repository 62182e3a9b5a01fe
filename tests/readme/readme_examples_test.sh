#!/usr/bin/env bash
# Runs every `build/ser ...` example of README.md, as written, on the real corpora, in a scratch
# folder whose path has a space: `[optional]` parts and `# comments` are dropped, `sweep ...`
# continues the sweep above it, and the files an example names (clip.wav, list.csv, alice/...)
# are made first from the corpora. An example that needs an earlier result README does not show
# (runs/ravdess/final, a speaker-normalised run, a baseline) gets it from the command printed as
# "prerequisite". Every example must exit 0.
#
#   tests/readme/readme_examples_test.sh [path/to/ser] [path/to/shared]
#
# Exit 0 passed, 1 failed, 77 skipped (no corpora in ../shared or SER_SHARED_DIR).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
SER=${1:-$repo/build/ser}
[[ $SER == /* ]] || SER=$PWD/$SER
SHARED=${SER_SHARED_DIR:-${2:-$repo/../shared}}
T0=$SECONDS
note() { echo "readme: [$((SECONDS - T0)) s] $*"; }
if [[ ! -d $SHARED/data/ravdess || ! -d $SHARED/data/emodb ]]; then
  echo "readme examples: skipped: no corpora in $SHARED/data (set SER_SHARED_DIR)"
  exit 77
fi
command -v python3 >/dev/null || { echo "readme examples: skipped: needs python3"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ser readme.XXXXXX")
trap '[[ ${SER_README_KEEP:-0} == 1 ]] || rm -rf "$work"' EXIT
cd "$work" || exit 1
mkdir -p build data
ln -s "$SER" build/ser
ln -s "$repo/configs" configs
ln -s "$SHARED/data/ravdess" data/ravdess
ln -s "$SHARED/data/emodb" data/emodb

# The commands, one per line, from README's sh blocks.
python3 - "$repo/README.md" > commands.txt <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
commands, last_sweep = [], None
for block in re.findall(r"```sh\n(.*?)```", text, re.S):
    for cmd in re.sub(r"\\\n\s*", " ", block).splitlines():
        cmd = re.sub(r"\s+#.*$", "", cmd)             # a trailing comment
        cmd = re.sub(r"\s+\[(--|runs/)[^\]]*\]", "", cmd).strip()  # [--optional] parts, not JSON lists
        if not cmd.startswith("build/ser "):
            continue
        if cmd.startswith("build/ser sweep ..."):
            cmd = cmd.replace("...", last_sweep, 1)
        elif cmd.startswith("build/ser sweep "):
            last_sweep = cmd[len("build/ser sweep "):]
        commands.append(cmd)
print("\n".join(commands))
PY
[[ -s commands.txt ]] || { echo "readme examples: no commands found in README.md"; exit 1; }

# Files the examples name.
ravdess=$SHARED/data/ravdess
cp "$SHARED/data/samples/ravdess_03-01-05-02-01-01-12.wav" clip.wav
cp "$SHARED/data/emodb/wav/03a01Fa.flac" other.flac
mkdir -p recordings alice
cp "$ravdess/Actor_02/03-01-03-01-01-01-02.flac" "$ravdess/Actor_02/03-01-04-01-01-01-02.flac" recordings/
printf 'path,label\n%s,\n%s,\n' "$work/clip.wav" "$work/other.flac" > list.csv
printf 'path,label,speaker\n' > my_corpus.csv
for f in 03a01Fa 03a01Nc 03a01Wa 08a01Ab 08a01Ad 08a01Lb; do
  [[ -f $SHARED/data/emodb/wav/$f.flac ]] && echo "$SHARED/data/emodb/wav/$f.flac,x${f:5:1},${f:0:2}" >> my_corpus.csv
done
# path/to/wavlm-base-plus: the tiny WavLM folder of the encoder references stands in for it.
mkdir -p path/to
ln -s "$SHARED/reference/encoders/wavlm-tiny-stable" path/to/wavlm-base-plus
# alice/*.wav: twelve clips of one actor, as WAV.
printf 'path,label,id\n' > alice.csv
i=0
for f in "$ravdess"/Actor_05/*.flac; do
  ((i++ < 12)) || break
  echo "$f,x,a$i" >> alice.csv
done
"$SER" augment --input alice.csv --out alice --ops shift=0 --sr 0 > /dev/null 2>&1 || { echo "readme: could not make alice/"; exit 1; }

prerequisite() {
  note "prerequisite: $*"
  "$@" > prerequisite.log 2>&1 || { cat prerequisite.log; echo "readme examples: prerequisite failed: $*"; exit 1; }
}

failed=0
n=0
while IFS= read -r cmd; do
  n=$((n + 1))
  case $cmd in
    *main/metrics.json*) mkdir -p main && cp runs/ravdess/metrics.json main/metrics.json ;;
  esac
  case $cmd in
    *runs/ravdess/final*) [[ -f runs/ravdess/final/model.json ]] || prerequisite build/ser train --config configs/ravdess.json --final ;;
  esac
  case $cmd in
    *runs/ravdess-speaker-norm*) [[ -f runs/ravdess-speaker-norm/metrics.json ]] || prerequisite build/ser train --config configs/ravdess-speaker-norm.json ;;
  esac
  note "example $n: $cmd"
  eval "$cmd" > out.log 2>&1
  code=$?
  if ((code != 0)); then
    tail -20 out.log
    echo "readme examples: FAILED (exit $code): $cmd"
    failed=$((failed + 1))
  fi
done < commands.txt
note "$n examples, $failed failed"
((failed == 0))
