#!/usr/bin/env bash
# Part of `npm run lint`: fails when code, tests, scripts or the README cite a document this repository
# does not contain (the protocol notes and test-bed notes the project started from, their section signs
# and their numbered list of C weaknesses). Cite docs/protocol.md#<anchor> or
# "docs/compatibility.md, row '<area>'" instead, or say in place what is meant.
set -euo pipefail
cd "$(dirname "$0")/.."
# Written so that this file does not match itself.
pattern='PROTOCOL\.md|TESTBED[S]|§ ?[0-9]|\bW[0-9]+\b'
if grep -rnIE --exclude-dir=node_modules --exclude-dir=build "$pattern" src test bench scripts packaging native README.md; then
  echo "check-citations: the lines above cite documents that are not in this repository;" >&2
  echo "cite docs/protocol.md#<anchor> or \"docs/compatibility.md, row '<area>'\", or say what is meant." >&2
  exit 1
fi
