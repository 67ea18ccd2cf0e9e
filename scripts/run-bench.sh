#!/usr/bin/env bash
# Runs every benchmark under bench/ (each writes a readable report to bench/results/). Benchmarks that
# start network services run inside a private network namespace, like the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
# Benchmarks measure the bundles as installed.
npm run build >/dev/null
files=("$@")
((${#files[@]})) || files=(bench/*.ts)
for f in "${files[@]}"; do
  echo "== $f"
  unshare -n bash -c 'ip link set lo up; ip route add 224.0.0.0/4 dev lo; exec node --import tsx "$1"' bench "$f"
done
