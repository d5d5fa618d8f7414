#!/usr/bin/env bash
# k6 for the k6 driver's tests (test/load): the pinned k6, built with xk6 from the Go module proxy into
# ${MESHPROOF_TOOLS:-$HOME/.cache/meshproof/tools}/k6-<version>/k6, reused when present.
# Cold build on the 2-core machine: about 2 min for xk6 plus about 7 min for k6 (docs/load-models.md).
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    echo "go is required to build k6; install it from Debian (apt-get install golang-go) or https://go.dev/dl" >&2
    exit 1
  fi
fi
npx tsx scripts/k6-build.ts
