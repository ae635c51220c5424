#!/bin/bash
# Splits one `studio index` run over a Slurm job array and merges the parts when all succeed.
#   cluster/slurm/submit.sh N OUT -- <studio index arguments without --out>
# e.g.
#   cluster/slurm/submit.sh 8 /scratch/in1k-clip -- --model vit-b16.json --layer block_10 \
#       --sae clip-24k.safetensors --data /datasets/imagenet/train --provider cuda
# Parts go to OUT.parts/ (kept after the merge: delete them once the index is checked).
# Extra sbatch options for both jobs: SBATCH_INDEX_OPTS / SBATCH_MERGE_OPTS, e.g. "--gres=gpu:1 -p gpu".
# Prints the two job ids.
set -euo pipefail

count=${1:?usage: submit.sh N OUT -- <studio index arguments>}
out=${2:?usage: submit.sh N OUT -- <studio index arguments>}
shift 2
[ "${1:-}" = "--" ] && shift
here=$(cd "$(dirname "$0")" && pwd)
parts_dir="$out.parts"
logs="$parts_dir/logs"
mkdir -p "$logs"

# shellcheck disable=SC2086
array_id=$(sbatch --parsable --array="0-$((count - 1))" ${SBATCH_INDEX_OPTS:-} \
  -o "$logs/index-%a.out" -e "$logs/index-%a.err" \
  "$here/studio-index.sbatch" "$parts_dir" -- "$@")
array_id=${array_id%%;*}
# shellcheck disable=SC2086
merge_id=$(sbatch --parsable --dependency="afterok:$array_id" --kill-on-invalid-dep=yes ${SBATCH_MERGE_OPTS:-} \
  -o "$logs/merge.out" -e "$logs/merge.err" \
  "$here/studio-merge.sbatch" "$out" "$parts_dir" "$count")
merge_id=${merge_id%%;*}
echo "index array: $array_id (parts in $parts_dir, logs in $logs)"
echo "merge: $merge_id (after every part succeeds) -> $out"
