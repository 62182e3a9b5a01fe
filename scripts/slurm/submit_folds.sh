#!/usr/bin/env bash
# Submits the folds of one `ser train` run to Slurm: one array task per fold
# (train_folds.sbatch), then `ser train` over the finished folds to write the aggregate
# (train_collect.sbatch) behind it with --dependency=afterany.
#
#   scripts/slurm/submit_folds.sh --config CFG.json [--set KEY=VALUE ...] [--folds N] \
#       [-- SBATCH_OPTIONS...]
#
# The fold count comes from `ser train --config CFG [--set ...] --list-folds`; --folds N gives
# it instead (for a ser without --list-folds). Run it from the folder the config's relative
# paths start from. Options after `--` go to both sbatch calls.
# Environment: SER (build/ser by default), SER_SLURM_LOGS (folder for the job logs),
# SER_SLURM_MAX_PARALLEL (at most this many folds at once).
# Prints:  folds_job=<id>  folds=<n>  aggregate_job=<id>  (one per line).
set -euo pipefail

die() { echo "submit_folds.sh: $*" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

config=""
folds=""
train_args=()
sbatch_opts=()
while (($#)); do
  case $1 in
    --config | -c) (($# >= 2)) || die "--config needs a value"; config=$2; shift 2 ;;
    --config=*) config=${1#--config=}; shift ;;
    --set) (($# >= 2)) || die "--set needs KEY=VALUE"; train_args+=(--set "$2"); shift 2 ;;
    --set=*) train_args+=(--set "${1#--set=}"); shift ;;
    --folds) (($# >= 2)) || die "--folds needs a number"; folds=$2; shift 2 ;;
    --folds=*) folds=${1#--folds=}; shift ;;
    --fold | --fold=*) die "$1: this script submits every fold" ;;
    --) shift; sbatch_opts=("$@"); break ;;
    -h | --help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (only --config, --set, --folds; sbatch options after --)" ;;
  esac
done
[[ -n $config ]] || die "usage: submit_folds.sh --config CFG.json [--set k=v ...] [--folds N] [-- sbatch options]"
[[ -f $config ]] || die "no config file '$config'"
for a in "${train_args[@]}"; do
  [[ $a != *[[:space:]]* ]] || die "argument '$a' has white space; TRAIN_ARGS is split at spaces"
done

SER=${SER:-build/ser}
[[ -x $SER ]] || SER=$(command -v "$SER" 2>/dev/null) || die "no ser binary (set SER=...)"
[[ $SER == /* ]] || SER=$PWD/$SER
export SER TRAIN_CONFIG=$config TRAIN_ARGS="${train_args[*]}"

if [[ -z $folds ]]; then
  folds=$("$SER" train --config "$config" "${train_args[@]}" --list-folds 2>/dev/null | tail -n 1 | tr -d '[:space:]') ||
    die "ser train --list-folds failed (an older ser? give the count with --folds N)"
fi
[[ $folds =~ ^[0-9]+$ ]] && ((folds > 0)) || die "bad fold count '$folds'"

out_opts=()
if [[ -n ${SER_SLURM_LOGS:-} ]]; then
  mkdir -p "$SER_SLURM_LOGS"
  out_opts=(--output="$SER_SLURM_LOGS/slurm-%A_%a.out")
fi
array="0-$((folds - 1))${SER_SLURM_MAX_PARALLEL:+%$SER_SLURM_MAX_PARALLEL}"
jid=$(sbatch --parsable --export=ALL --array="$array" "${out_opts[@]}" "${sbatch_opts[@]}" \
  "$here/train_folds.sbatch") || die "sbatch of the fold array failed"
jid=${jid%%;*}
[[ -n ${SER_SLURM_LOGS:-} ]] && out_opts=(--output="$SER_SLURM_LOGS/slurm-%j.out")
aid=$(sbatch --parsable --export=ALL --dependency="afterany:$jid" "${out_opts[@]}" "${sbatch_opts[@]}" \
  "$here/train_collect.sbatch") || die "sbatch of the aggregate job failed (array job $jid is queued)"
aid=${aid%%;*}
echo "folds_job=$jid"
echo "folds=$folds"
echo "aggregate_job=$aid"
