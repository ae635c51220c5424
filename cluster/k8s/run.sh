#!/bin/bash
# Applies the split indexing run of studio-index.yaml, waits for every part, then runs the merge.
#   cluster/k8s/run.sh [MANIFEST] [TIMEOUT]   (defaults: studio-index.yaml beside this script, 48h)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
manifest=${1:-$here/studio-index.yaml}
timeout=${2:-48h}
# Documents 1-2 (ConfigMap, index Job) first; the merge Job only after the index Job completes.
kubectl apply -f <(awk 'BEGIN{d=1} /^---/{d++; if (d==3) exit} {print}' "$manifest")
kubectl wait --for=condition=complete --timeout="$timeout" job/studio-index
kubectl apply -f <(awk 'BEGIN{d=1} /^---/{d++; next} d==3{print}' "$manifest")
kubectl wait --for=condition=complete --timeout="$timeout" job/studio-merge
kubectl logs job/studio-merge | tail -n 5
