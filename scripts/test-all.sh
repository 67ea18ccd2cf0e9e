#!/usr/bin/env bash
# The whole test suite from a fresh clone: system components, npm packages, build, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-env.sh
npm ci --no-audit --no-fund
npm run build
npm test
