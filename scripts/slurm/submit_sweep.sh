#!/usr/bin/env bash
# Submits a `ser sweep` to Slurm: one array task per grid combination (sweep.sbatch), then the
# summary (collect.sbatch) behind it with --dependency=afterany.
#
#   scripts/slurm/submit_sweep.sh --config BASE.json --grid KEY=V1,V2 [--grid ...] \
#       [--corpora ravdess,emodb] [--name NAME] [-- SBATCH_OPTIONS...]
#
# Run it from the folder the config's relative paths start from (the jobs run there).
# Everything but --config is handed to `ser sweep` as it is; options after `--` go to both
# sbatch calls (e.g. -- --partition=cpu --time=1:00:00).
# Environment: SER (the binary; build/ser by default), SER_SLURM_LOGS (folder for the job logs;
# the submit folder by default), SER_SLURM_MAX_PARALLEL (at most this many tasks at once).
# Prints:  sweep_job=<id>  tasks=<n>  collect_job=<id>  (one per line).
set -euo pipefail

die() { echo "submit_sweep.sh: $*" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

config=""
sweep_args=()
sbatch_opts=()
while (($#)); do
  case $1 in
    --config | -c) (($# >= 2)) || die "--config needs a value"; config=$2; shift 2 ;;
    --config=*) config=${1#--config=}; shift ;;
    --list | --task | --task=* | --collect) die "$1 is for ser sweep itself; this script submits every task" ;;
    --) shift; sbatch_opts=("$@"); break ;;
    -h | --help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) sweep_args+=("$1"); shift ;;
  esac
done
[[ -n $config ]] || die "usage: submit_sweep.sh --config BASE.json [sweep flags...] [-- sbatch options]"
[[ -f $config ]] || die "no config file '$config'"
for a in "${sweep_args[@]}"; do
  [[ $a != *[[:space:]]* ]] || die "argument '$a' has white space; SWEEP_ARGS is split at spaces"
done

SER=${SER:-build/ser}
[[ -x $SER ]] || SER=$(command -v "$SER" 2>/dev/null) || die "no ser binary (set SER=...)"
[[ $SER == /* ]] || SER=$PWD/$SER
export SER SWEEP_CONFIG=$config SWEEP_ARGS="${sweep_args[*]}"

list=$("$SER" sweep --config "$config" "${sweep_args[@]}" --list) || die "ser sweep --list failed"
n=$(printf '%s\n' "$list" | grep -cE $'^[0-9]+\t' || true)
((n > 0)) || die "ser sweep --list printed no tasks"

out_opts=()
if [[ -n ${SER_SLURM_LOGS:-} ]]; then
  mkdir -p "$SER_SLURM_LOGS"
  out_opts=(--output="$SER_SLURM_LOGS/slurm-%A_%a.out")
fi
array="0-$((n - 1))${SER_SLURM_MAX_PARALLEL:+%$SER_SLURM_MAX_PARALLEL}"
jid=$(sbatch --parsable --export=ALL --array="$array" "${out_opts[@]}" "${sbatch_opts[@]}" \
  "$here/sweep.sbatch") || die "sbatch of the sweep array failed"
jid=${jid%%;*}
[[ -n ${SER_SLURM_LOGS:-} ]] && out_opts=(--output="$SER_SLURM_LOGS/slurm-%j.out")
cid=$(sbatch --parsable --export=ALL --dependency="afterany:$jid" "${out_opts[@]}" "${sbatch_opts[@]}" \
  "$here/collect.sbatch") || die "sbatch of the collect job failed (array job $jid is queued)"
cid=${cid%%;*}
echo "sweep_job=$jid"
echo "tasks=$n"
echo "collect_job=$cid"
