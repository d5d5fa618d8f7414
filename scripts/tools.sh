#!/usr/bin/env bash
# Makes sure every tool the tests use is installed: Debian packages and Go tools built from the Go module proxy
# (pinned versions, cached outside the clone in ${MESHPROOF_TOOLS:-$HOME/.cache/meshproof/tools}). Each step is
# idempotent and returns quickly when its tool is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
for step in scripts/ci.d/*.sh; do
  [ -e "$step" ] || continue
  echo "== tools: $step" >&2
  bash "$step"
done
