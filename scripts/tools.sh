#!/usr/bin/env bash
# Makes sure every tool the tests use is installed: Debian packages and Go tools built from the Go module proxy
# (pinned versions, cached outside the clone in ${MESHPROOF_TOOLS:-$HOME/.cache/meshproof/tools}). Each step is
# idempotent and returns quickly when its tool is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
# One process checks every Go tool's cached build at once; when all are there, the Go steps skip their own checks
# (a build script each, about a second apiece through tsx). Debian packages are checked by their steps as before.
if node --import tsx scripts/tools-present.ts; then export MESHPROOF_GO_TOOLS_PRESENT=1; fi
for step in scripts/ci.d/*.sh; do
  [ -e "$step" ] || continue
  echo "== tools: $step" >&2
  bash "$step"
done
