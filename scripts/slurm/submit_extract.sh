#!/usr/bin/env bash
# Extracts a corpus's features on many nodes: an array of N `ser extract --shard K/N` tasks
# (extract_shards.sbatch), then `ser extract --merge` behind it (--dependency=afterok), which
# assembles the same store one process would have written.
#
#   scripts/slurm/submit_extract.sh --config CFG.json --shards N [--set KEY=VALUE ...] [--frames]
#       [--allow-failures] [-- SBATCH_OPTIONS...]
#
# Run it from the folder the config's relative paths start from. Options after `--` go to both
# sbatch calls (e.g. --partition=gpu --gres=gpu:1 for a speech encoder). A shard with files that
# cannot be read fails (and so the merge never runs) unless --allow-failures is given.
# Environment: SER (build/ser by default), SER_SLURM_LOGS (folder for the job logs),
# SER_SLURM_MAX_PARALLEL (at most this many shards at once).
# Prints:  shards_job=<id>  shards=<n>  merge_job=<id>  (one per line).
set -euo pipefail

die() { echo "submit_extract.sh: $*" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

config=""
shards=""
extract_args=()
sbatch_opts=()
while (($#)); do
  case $1 in
    --config | -c) (($# >= 2)) || die "--config needs a value"; config=$2; shift 2 ;;
    --config=*) config=${1#--config=}; shift ;;
    --shards) (($# >= 2)) || die "--shards needs a number"; shards=$2; shift 2 ;;
    --shards=*) shards=${1#--shards=}; shift ;;
    --set) (($# >= 2)) || die "--set needs KEY=VALUE"; extract_args+=(--set "$2"); shift 2 ;;
    --set=*) extract_args+=(--set "${1#--set=}"); shift ;;
    --frames | --allow-failures) extract_args+=("$1"); shift ;;
    --shard | --shard=* | --merge) die "$1: this script submits every shard and the merge" ;;
    --) shift; sbatch_opts=("$@"); break ;;
    -h | --help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (only --config, --shards, --set, --frames, --allow-failures; sbatch options after --)" ;;
  esac
done
[[ -n $config && -n $shards ]] || die "usage: submit_extract.sh --config CFG.json --shards N [--set k=v ...] [-- sbatch options]"
[[ -f $config ]] || die "no config file '$config'"
[[ $shards =~ ^[0-9]+$ ]] && ((shards > 0 && shards <= 100000)) || die "bad shard count '$shards'"
for a in "${extract_args[@]}"; do
  [[ $a != *[[:space:]]* ]] || die "argument '$a' has white space; EXTRACT_ARGS is split at spaces"
done

SER=${SER:-build/ser}
[[ -x $SER ]] || SER=$(command -v "$SER" 2>/dev/null) || die "no ser binary (set SER=...)"
[[ $SER == /* ]] || SER=$PWD/$SER
export SER EXTRACT_CONFIG=$config EXTRACT_SHARDS=$shards EXTRACT_ARGS="${extract_args[*]}"

out_opts=()
if [[ -n ${SER_SLURM_LOGS:-} ]]; then
  mkdir -p "$SER_SLURM_LOGS"
  out_opts=(--output="$SER_SLURM_LOGS/slurm-%A_%a.out")
fi
array="1-$shards${SER_SLURM_MAX_PARALLEL:+%$SER_SLURM_MAX_PARALLEL}"
jid=$(EXTRACT_MERGE=0 sbatch --parsable --export=ALL --array="$array" "${out_opts[@]}" "${sbatch_opts[@]}" \
  "$here/extract_shards.sbatch") || die "sbatch of the shard array failed"
jid=${jid%%;*}
[[ -n ${SER_SLURM_LOGS:-} ]] && out_opts=(--output="$SER_SLURM_LOGS/slurm-%j.out")
mid=$(EXTRACT_MERGE=1 sbatch --parsable --export=ALL --dependency="afterok:$jid" "${out_opts[@]}" "${sbatch_opts[@]}" \
  "$here/extract_shards.sbatch") || die "sbatch of the merge job failed (array job $jid is queued)"
mid=${mid%%;*}
echo "shards_job=$jid"
echo "shards=$shards"
echo "merge_job=$mid"
