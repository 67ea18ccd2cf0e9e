#!/usr/bin/env bash
# `npm run bench`: ours beside the C fence_virtd, every figure in one run (bench/run.ts), inside a
# private network namespace like the tests. Other benchmarks: scripts/run-bench.sh bench/codec.ts ...
set -euo pipefail
cd "$(dirname "$0")/.."
# Benchmarks measure the bundles as installed.
npm run build >/dev/null
files=("$@")
((${#files[@]})) || files=(bench/run.ts)
for f in "${files[@]}"; do
  echo "== $f"
  unshare -n bash -c 'ip link set lo up; ip route add 224.0.0.0/4 dev lo; exec node --import tsx "$1"' bench "$f"
done
