#!/usr/bin/env bash
# Runs the test files inside a private network namespace: multicast and TCP traffic of the tests
# (and of the C tools they start) never leaves it. Unix sockets (libvirtd) still work across it.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob globstar
files=("$@")
((${#files[@]})) || files=(test/**/*.test.ts)
exec unshare -n bash -c '
  ip link set lo up
  ip route add 224.0.0.0/4 dev lo
  ip -6 route add ff00::/8 dev lo table local 2>/dev/null || true
  exec node --import tsx --test --test-concurrency=1 "$@"
' run-tests "${files[@]}"
