#!/usr/bin/env bash
# The Slurm recipes (scripts/slurm/) against a real single-node Slurm started for the test:
#   1. a `ser sweep` grid submitted with submit_sweep.sh (array + dependent collect) gives the
#      same results.csv as the same sweep run locally (every metric column compared exactly;
#      run paths and seconds left out);
#   2. a local sweep SIGKILLed (its whole process group) after its first task finished and
#      then re-run resumes to that same results.csv;
#   3. the folds of one run submitted with submit_folds.sh (array + dependent aggregate) give
#      the same predictions.csv as a local `ser train`;
#   4. a corpus extracted in 3 shards with submit_extract.sh (array + dependent merge) gives the
#      same store files, byte for byte, as one local `ser extract`.
#
#   tests/cluster/slurm_sweep_test.sh [path/to/ser]      (default: build/ser)
#
# Exit 0 passed, 1 failed, 77 skipped (not root, or no Slurm/munge; SER_CLUSTER_INSTALL=1 lets it
# try apt-get first). SER_CLUSTER_KEEP=1 keeps the scratch folder. Needs python3 (stdlib only).
set -uo pipefail

T0=$SECONDS
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
slurm_dir=$repo/scripts/slurm
SER=${1:-${SER:-$repo/build/ser}}
[[ $SER == /* ]] || SER=$PWD/$SER

skip() { echo "slurm test: skipped: $*"; exit 77; }
note() { echo "slurm test: [$((SECONDS - T0)) s] $*"; }

# ---- prerequisites ------------------------------------------------------------------------
[[ $(id -u) -eq 0 ]] || skip "needs root (the test cluster runs SlurmUser=root)"
command -v python3 >/dev/null || skip "needs python3 (to write the test corpus)"
tools=(slurmctld slurmd munged munge unmunge sbatch squeue sinfo scontrol scancel)
missing() {
  local t m=()
  for t in "${tools[@]}"; do command -v "$t" >/dev/null || m+=("$t"); done
  echo "${m[*]}"
}
if [[ -n $(missing) && ${SER_CLUSTER_INSTALL:-0} == 1 ]] && command -v apt-get >/dev/null; then
  note "installing slurm-wlm and munge (missing: $(missing))"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null 2>&1 || true
fi
[[ -z $(missing) ]] || skip "missing $(missing) (apt-get install slurm-wlm munge, or SER_CLUSTER_INSTALL=1)"

W=$(mktemp -d /tmp/ser-slurm-test.XXXXXX)
bg_pid=""
cleanup() {
  local rc=$?
  [[ -n $bg_pid ]] && kill -KILL -- "-$bg_pid" 2>/dev/null
  bash "$slurm_dir/cluster.sh" stop "$W/cluster" >/dev/null 2>&1
  if [[ ${SER_CLUSTER_KEEP:-0} == 1 ]]; then
    echo "slurm test: kept $W"
  else
    rm -rf "$W"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
  echo "slurm test: FAILED: $*"
  local f
  for f in "$W"/logs/*.out "$W"/cluster/log/slurmctld.log "$W"/cluster/log/slurmd.log; do
    [[ -f $f ]] || continue
    echo "---- $f (last lines)"
    tail -n 20 "$f"
  done
  exit 1
}

[[ -x $SER ]] || fail "no ser binary at $SER"
"$SER" sweep --help >/dev/null 2>&1 || fail "$SER has no working 'sweep' subcommand"

# ---- cluster ------------------------------------------------------------------------------
t=$SECONDS
conf_line=$(bash "$slurm_dir/cluster.sh" start "$W/cluster" 2>"$W/cluster-start.err") ||
  fail "cluster did not start: $(cat "$W/cluster-start.err")"
eval "$conf_line"
export SLURM_CONF
[[ $SLURM_CONF == "$W/cluster/slurm.conf" ]] || fail "cluster.sh printed '$conf_line'"
note "cluster up in $((SECONDS - t)) s ($(sinfo -h -N -o '%N %T %c CPUs'))"

# ---- corpus and base config ---------------------------------------------------------------
# 3 "emotions" as tones (220/440/880 Hz plus a harmonic), 4 speakers whose pitch is shifted by
# up to +-37% (so classes overlap across speakers and speaker normalisation matters), 2 clips
# per emotion and speaker, 16 kHz, 0.5 s, with seeded noise: metrics that are not all 1.0.
cd "$W" || fail "cd $W"
python3 - "$W/corpus" <<'EOF' || fail "could not write the corpus"
import math, os, random, struct, sys, wave
root = sys.argv[1]
os.makedirs(os.path.join(root, "clips"))
rng = random.Random(7)
sr, n = 16000, 8000
rows = ["path,label,speaker"]
for s in range(4):
    for label, f0 in (("low", 220.0), ("mid", 440.0), ("high", 880.0)):
        for c in range(2):
            f = f0 * (1 + 0.25 * (s - 1.5)) * (1 + 0.05 * c)
            amp = 0.3 + 0.1 * s
            frames = bytearray()
            for i in range(n):
                v = amp * math.sin(2 * math.pi * f * i / sr) + 0.3 * amp * math.sin(4 * math.pi * f * i / sr)
                v += rng.gauss(0, 0.8 * amp)
                frames += struct.pack("<h", max(-32767, min(32767, int(v * 32767))))
            path = os.path.join(root, "clips", f"spk{s}_{label}{c}.wav")
            with wave.open(path, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(sr)
                w.writeframes(bytes(frames))
            rows.append(f"{path},{label},spk{s}")
with open(os.path.join(root, "manifest.csv"), "w") as fh:
    fh.write("\n".join(rows) + "\n")
EOF
# train.search gives every fold an inner (speaker-grouped) validation UAR. It searches
# logreg_multi_class, not logreg_c, because logreg_c is what the sweep's grid varies.
cat >"$W/base.json" <<EOF
{
  "name": "tones",
  "dataset": "manifest",
  "manifest": "$W/corpus/manifest.csv",
  "runs_dir": "$W/runs",
  "features": {"set": "issa193", "out": "$W/features", "normalize": "global"},
  "protocol": {"name": "speaker_kfold", "speaker_table": [["spk0"], ["spk1"], ["spk2"], ["spk3"]]},
  "model": {"architecture": "logreg", "logreg_c": 1.0},
  "train": {"search": {"model.logreg_multi_class": ["ovr", "multinomial"]}, "search_folds": 3, "seed": 42}
}
EOF
# shellcheck disable=SC2054  # the commas are ser's value lists
grid=(--grid model.logreg_c=0.1,1 --grid features.normalize=global,speaker)
export SER SER_SLURM_LOGS=$W/logs

list=$("$SER" sweep --config base.json "${grid[@]}" --name sweep-slurm --list) || fail "ser sweep --list failed"
n=$(printf '%s\n' "$list" | grep -cE $'^[0-9]+\t')
[[ $n == 4 ]] || fail "ser sweep --list printed $n tasks, not 4: $list"
[[ $(printf '%s\n' "$list" | grep -E $'^[0-9]+\t' | cut -f1 | tr '\n' ' ') == "0 1 2 3 " ]] ||
  fail "ser sweep --list indices are not 0..3: $list"

# wait_jobs TIMEOUT ID...: until none of the jobs is in squeue; then every one (and every array
# task) must have ended COMPLETED with exit code 0.
wait_jobs() {
  local limit=$1 ids errs=0
  shift
  ids=$(IFS=,; echo "$*")
  local t=$SECONDS
  while :; do
    local q
    if q=$(squeue -h -j "$ids" -o '%i %T' 2>/dev/null); then
      [[ -z $q ]] && break
      errs=0
    else
      ((++errs < 10)) || fail "squeue keeps failing (controller down?)"
    fi
    ((SECONDS - t < limit)) || { scancel "${@}" 2>/dev/null; fail "jobs $ids still queued after $limit s: $q"; }
    sleep 1
  done
  local id line bad=""
  for id in "$@"; do
    while read -r line; do
      [[ -z $line ]] && continue
      [[ $line == *JobState=COMPLETED* && $line == *" ExitCode=0:0"* ]] ||
        bad+="$(grep -oE '(JobId|ArrayTaskId|JobState|ExitCode)=[^ ]+' <<<"$line" | tr '\n' ' ')"$'\n'
    done < <(scontrol -o show job "$id" 2>&1)
  done
  [[ -z $bad ]] || fail "jobs did not all complete:"$'\n'"$bad"
}

# ---- 1. the sweep on the cluster, then locally --------------------------------------------
# The cluster goes first, so its tasks (two at a time here) extract the features concurrently.
t=$SECONDS
sub=$(bash "$slurm_dir/submit_sweep.sh" --config base.json "${grid[@]}" --name sweep-slurm 2>&1) ||
  fail "submit_sweep.sh failed: $sub"
sweep_job=$(sed -n 's/^sweep_job=//p' <<<"$sub")
collect_job=$(sed -n 's/^collect_job=//p' <<<"$sub")
[[ $sweep_job =~ ^[0-9]+$ && $collect_job =~ ^[0-9]+$ && $(sed -n 's/^tasks=//p' <<<"$sub") == 4 ]] ||
  fail "submit_sweep.sh printed: $sub"
wait_jobs 300 "$sweep_job" "$collect_job"
[[ -f $W/runs/sweep-slurm/results.csv ]] || fail "the collect job wrote no runs/sweep-slurm/results.csv"
note "cluster sweep (array $sweep_job, 4 tasks, collect $collect_job) done in $((SECONDS - t)) s"

t=$SECONDS
"$SER" sweep --config base.json "${grid[@]}" --name sweep-local >"$W/local.log" 2>&1 ||
  fail "local ser sweep failed: $(tail -n 20 "$W/local.log")"
[[ -f $W/runs/sweep-local/results.csv ]] || fail "local sweep wrote no runs/sweep-local/results.csv"
note "local sweep done in $((SECONDS - t)) s"

# compare_results A.csv NAME_A B.csv NAME_B: same header, same rows, every cell equal once the
# sweep names are replaced and the columns that legitimately differ (paths, seconds) dropped.
compare_results() {
  python3 - "$@" <<'EOF'
import csv, re, sys
a_path, a_name, b_path, b_name = sys.argv[1:5]
def load(path, name):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        sys.exit(f"{path} is empty")
    norm = lambda c: c.replace(name, "<SWEEP>")
    return rows[0], [[norm(c) for c in r] for r in rows[1:]]
ha, ra = load(a_path, a_name)
hb, rb = load(b_path, b_name)
if ha != hb:
    sys.exit(f"headers differ:\n  {ha}\n  {hb}")
varies = re.compile(r"path|dir|second|secs|time|duration|elapsed|wall|date|started|_at$|host|pid", re.I)
drop = [i for i, h in enumerate(ha) if varies.search(h)]
keep = [i for i in range(len(ha)) if i not in drop]
metric = [i for i in keep if re.search(r"uar|acc|f1|recall|precision|loss|score|metric", ha[i], re.I)]
if not metric:
    sys.exit(f"no metric column found in {ha}")
if len(ra) != len(rb) or len(ra) != 4:
    sys.exit(f"row counts differ or are not 4: {len(ra)} vs {len(rb)}")
bad = []
for k, (x, y) in enumerate(zip(ra, rb)):
    if len(x) != len(ha) or len(y) != len(ha):
        bad.append(f"row {k}: {len(x)}/{len(y)} cells for {len(ha)} columns")
        continue
    for i in keep:
        if x[i] != y[i]:
            bad.append(f"row {k} column {ha[i]}: {x[i]!r} vs {y[i]!r}")
    for i in metric:
        if x[i].strip() == "":
            bad.append(f"row {k} column {ha[i]}: empty")
    if "status" in ha and x[ha.index("status")] != "finished":
        bad.append(f"row {k}: status {x[ha.index('status')]!r}, not 'finished'")
if bad:
    sys.exit("results differ:\n  " + "\n  ".join(bad[:20]))
print(f"{len(ra)} rows equal in {len(keep)} columns ({len(metric)} metric: "
      f"{', '.join(ha[i] for i in metric)}); left out: {', '.join(ha[i] for i in drop) or 'none'}")
EOF
}
cmp_out=$(compare_results "$W/runs/sweep-slurm/results.csv" sweep-slurm "$W/runs/sweep-local/results.csv" sweep-local 2>&1) ||
  fail "cluster vs local results.csv: $cmp_out"$'\n'"$(head -n 5 "$W/runs/sweep-slurm/results.csv" "$W/runs/sweep-local/results.csv")"
note "cluster == local: $cmp_out"

# ---- 2. kill and resume -------------------------------------------------------------------
# A fresh sweep in its own process group, SIGKILLed as soon as one combination has its
# metrics.json; if it was too quick (all four already done), once more under another name.
finished_tasks() { find "$W/runs/$1" -mindepth 2 -maxdepth 2 -name metrics.json 2>/dev/null | wc -l; }
resumed=""
for attempt in 1 2 3; do
  name=sweep-resume$attempt
  setsid "$SER" sweep --config base.json "${grid[@]}" --name "$name" >"$W/$name-killed.log" 2>&1 &
  bg_pid=$!
  t=$SECONDS
  while (($(finished_tasks "$name") < 1)); do
    kill -0 "$bg_pid" 2>/dev/null || break
    ((SECONDS - t < 120)) || fail "the background sweep finished no task in 120 s"
    sleep 0.02
  done
  kill -KILL -- "-$bg_pid" 2>/dev/null
  wait "$bg_pid" 2>/dev/null
  bg_pid=""
  done_before=$(finished_tasks "$name")
  if ((done_before >= 1 && done_before < 4)) && [[ ! -f $W/runs/$name/results.csv ]]; then
    resumed=$name
    break
  fi
  note "attempt $attempt: the sweep had $done_before of 4 tasks finished when killed; again"
done
[[ -n $resumed ]] || fail "could not kill a sweep between its first and last task in 3 attempts"
"$SER" sweep --config base.json "${grid[@]}" --name "$resumed" >"$W/$resumed.log" 2>&1 ||
  fail "re-run after SIGKILL failed: $(tail -n 20 "$W/$resumed.log")"
cmp_out=$(compare_results "$W/runs/sweep-local/results.csv" sweep-local "$W/runs/$resumed/results.csv" "$resumed" 2>&1) ||
  fail "resumed vs uninterrupted results.csv: $cmp_out"
note "killed after $done_before of 4 tasks, resumed: equals the uninterrupted sweep"

# ---- 3. the folds of one run --------------------------------------------------------------
fold_count=(--folds 4)
if "$SER" train --help 2>&1 | grep -q -- '--list-folds'; then
  fold_count=()  # submit_folds.sh asks ser train --list-folds
  lf=$("$SER" train --config base.json --list-folds 2>/dev/null | tail -n 1)
  [[ $lf == 4 ]] || fail "ser train --list-folds printed '$lf', not 4"
fi
t=$SECONDS
sub=$(bash "$slurm_dir/submit_folds.sh" --config base.json --set name=folds-slurm "${fold_count[@]}" 2>&1) ||
  fail "submit_folds.sh failed: $sub"
folds_job=$(sed -n 's/^folds_job=//p' <<<"$sub")
aggregate_job=$(sed -n 's/^aggregate_job=//p' <<<"$sub")
[[ $folds_job =~ ^[0-9]+$ && $aggregate_job =~ ^[0-9]+$ && $(sed -n 's/^folds=//p' <<<"$sub") == 4 ]] ||
  fail "submit_folds.sh printed: $sub"
wait_jobs 300 "$folds_job" "$aggregate_job"
[[ -f $W/runs/folds-slurm/metrics.json ]] || fail "the aggregate job wrote no runs/folds-slurm/metrics.json"
for k in 1 2 3 4; do
  grep -q "ser train fold $k " "$W"/logs/slurm-"${folds_job}"_*.out || fail "no array task trained fold $k"
done
# Sibling folds share the run (its lock shared, each fold's exclusive): none waits for another.
! grep -q "waiting for it to end" "$W"/logs/slurm-"${folds_job}"_*.out || fail "fold tasks queued on the run's lock"
"$SER" train --config base.json --set name=folds-local --no-progress >"$W/folds-local.log" 2>&1 ||
  fail "local ser train failed: $(tail -n 20 "$W/folds-local.log")"
cmp -s "$W/runs/folds-slurm/predictions.csv" "$W/runs/folds-local/predictions.csv" ||
  fail "predictions.csv of the fold array differs from the local run's"
note "fold array ($([[ ${#fold_count[@]} -eq 0 ]] && echo --list-folds || echo --folds 4)) + aggregate in $((SECONDS - t)) s: predictions.csv equals the local run's"

# ---- 4. sharded extraction ----------------------------------------------------------------
t=$SECONDS
cat >"$W/extract.json" <<EOF
{"dataset": "manifest", "manifest": "$W/corpus/manifest.csv", "features": {"set": "issa193", "out": "$W/sharded", "cache": false}}
EOF
sub=$(bash "$slurm_dir/submit_extract.sh" --config extract.json --shards 3 2>&1) || fail "submit_extract.sh failed: $sub"
shards_job=$(sed -n 's/^shards_job=//p' <<<"$sub")
merge_job=$(sed -n 's/^merge_job=//p' <<<"$sub")
[[ $shards_job =~ ^[0-9]+$ && $merge_job =~ ^[0-9]+$ && $(sed -n 's/^shards=//p' <<<"$sub") == 3 ]] ||
  fail "submit_extract.sh printed: $sub"
wait_jobs 300 "$shards_job" "$merge_job"
for k in 1 2 3; do
  [[ -f $W/sharded/shards/$k-of-3/features.npy ]] || fail "no shard $k store"
done
"$SER" extract --config extract.json --set features.out="$W/whole" --no-progress >"$W/whole.log" 2>&1 ||
  fail "local ser extract failed: $(tail -n 20 "$W/whole.log")"
for f in features.npy index.csv audio.csv; do
  cmp -s "$W/sharded/$f" "$W/whole/$f" || fail "$f of the merged shards differs from one process's"
done
grep -q '"merged_from_shards": 3' "$W/sharded/meta.json" || fail "meta.json of the merge does not record 3 shards"
note "3 extraction shards + merge in $((SECONDS - t)) s: the store equals one process's, byte for byte"

echo "slurm test: passed in $((SECONDS - T0)) s"
exit 0
