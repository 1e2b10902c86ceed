#!/usr/bin/env bash
# A sharded `spinpath scan` on a SLURM cluster: one job-array task per shard, then a merge job that
# starts when every task has succeeded (`--dependency=afterok`). The merged folder equals, file for
# file, the folder of the same scan run in one piece.
#
# Usage:
#   scan-array.sh submit SHARDS OUT RUNFILE [SCAN OPTIONS...]   # on the login node: sbatch the jobs
#   scan-array.sh local  SHARDS OUT RUNFILE [SCAN OPTIONS...]   # no SLURM: shards as local processes
#
# SCAN OPTIONS are those of `spinpath scan` (`--param NAME=FROM:TO:N`, `--samples`, `--sampling`,
# `--seed`); do not give `--shard` or `-o`. Shard K writes OUT/shard-K; the merge writes OUT/merged.
# Tasks use `--resume`, so a re-queued task whose shard has finished does nothing.
#
# Example (3 shards of a 2-parameter grid of 30 × 30 points, 4 cores per task):
#   SBATCH_OPTS="--time=01:00:00 --cpus-per-task=4" examples/slurm/scan-array.sh submit 3 \
#     results/scan examples/spin-engine.toml \
#     --param spin_accumulation_meV=0:10:30 --param P.dimer_energy_meV=-4:2:30
#
# Environment: SPINPATH (the spinpath program, default `spinpath` on PATH), SBATCH_OPTS (extra
# options for both sbatch calls: partition, account, time, --cpus-per-task; spinpath uses all the
# cores SLURM gives a task), RAYON_NUM_THREADS (threads per task, default: all cores),
# SPINPATH_COMMAND (`scan`, the default, or `ensemble` for a device ensemble, docs/ensembles.md:
#   SPINPATH_COMMAND=ensemble scan-array.sh local 4 results/ens examples/ensemble.toml --samples 10000).
set -euo pipefail

mode=${1:?usage: scan-array.sh submit|local SHARDS OUT RUNFILE [SCAN OPTIONS...]}
shards=${2:?number of shards}
out=${3:?output folder}
runfile=${4:?run file}
shift 4
spinpath=${SPINPATH:-spinpath}
command=${SPINPATH_COMMAND:-scan}
case $command in scan | ensemble) ;; *)
  echo "scan-array.sh: SPINPATH_COMMAND must be scan or ensemble, got '$command'" >&2
  exit 2
  ;;
esac

if ! [[ $shards =~ ^[1-9][0-9]*$ ]]; then
  echo "scan-array.sh: SHARDS must be a positive integer, got '$shards'" >&2
  exit 2
fi
mkdir -p "$out"

quoted=$(printf ' %q' "$@")
shard_cmd() { # $1: the shard index (a number or a shell variable reference)
  echo "$(printf '%q' "$spinpath") $command $(printf '%q' "$runfile")$quoted --shard $1/$shards -o $(printf '%q' "$out")/shard-$1 --resume"
}
merge_cmd() {
  local dirs=""
  for ((k = 0; k < shards; k++)); do dirs+=" $(printf '%q' "$out")/shard-$k"; done
  echo "$(printf '%q' "$spinpath") $command merge$dirs -o $(printf '%q' "$out")/merged --force"
}

case $mode in
submit)
  # shellcheck disable=SC2086 # SBATCH_OPTS is a list of options
  array=$(sbatch --parsable ${SBATCH_OPTS:-} --job-name=spinpath-scan \
    --array=0-$((shards - 1)) --output="$out/slurm-%A_%a.out" \
    --wrap "$(shard_cmd '$SLURM_ARRAY_TASK_ID')")
  # shellcheck disable=SC2086
  merge=$(sbatch --parsable ${SBATCH_OPTS:-} --job-name=spinpath-merge \
    --dependency=afterok:"${array%%;*}" --output="$out/slurm-merge-%j.out" \
    --wrap "$(merge_cmd)")
  echo "submitted array job $array ($shards shards) and merge job $merge: results in $out/merged"
  ;;
local)
  pids=()
  for ((k = 0; k < shards; k++)); do
    bash -c "$(shard_cmd "$k")" >"$out/shard-$k.log" 2>&1 &
    pids+=($!)
  done
  failed=0
  for k in "${!pids[@]}"; do
    if ! wait "${pids[$k]}"; then
      echo "scan-array.sh: shard $k/$shards failed, see $out/shard-$k.log" >&2
      failed=1
    fi
  done
  if ((failed)); then exit 1; fi
  bash -c "$(merge_cmd)"
  ;;
*)
  echo "scan-array.sh: unknown mode '$mode' (submit or local)" >&2
  exit 2
  ;;
esac
