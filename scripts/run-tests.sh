#!/usr/bin/env bash
# Runs the test files inside a private network namespace: multicast and TCP traffic of the tests
# (and of the C tools they start) never leaves it. Unix sockets (libvirtd) still work across it.
# A private mount namespace puts a scratch tmpfs over the daemon's state directory, so the fence
# history our daemons record during the tests stays out of the machine's own.
# A test that hangs fails after FVD_TEST_TIMEOUT_MS (default 20 min; the longest test takes about 4), and
# a file whose tests are over exits even if something it started still holds the event loop: one stuck
# test cannot hold the whole run past its time.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob globstar
files=("$@")
((${#files[@]})) || files=(test/**/*.test.ts)
mkdir -p /var/lib/fence-virtd
exec unshare -n -m --propagation private bash -c '
  mount -t tmpfs -o mode=0700 fence-virtd-tests /var/lib/fence-virtd
  ip link set lo up
  ip route add 224.0.0.0/4 dev lo
  ip -6 route add ff00::/8 dev lo table local 2>/dev/null || true
  exec node --import tsx --test --test-concurrency=1 --test-force-exit --test-timeout="$0" "$@"
' "${FVD_TEST_TIMEOUT_MS:-1200000}" "${files[@]}"
