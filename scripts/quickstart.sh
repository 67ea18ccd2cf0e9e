#!/usr/bin/env bash
# Newcomer path: install what the daemon needs, build it, and show that it runs.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v libvirtd >/dev/null; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libvirt-daemon libvirt-clients
fi
npm ci --no-audit --no-fund
npm run build
./dist/fence_virtd -V
