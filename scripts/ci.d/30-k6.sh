#!/usr/bin/env bash
# k6 for the k6 driver's tests (test/load): the pinned k6 with meshproof's extension (tools/xk6-meshproof), built
# with xk6 from the Go module proxy into ${MESHPROOF_TOOLS:-$HOME/.cache/meshproof/tools}/k6-<version>-<extension
# source hash>/k6, reused when present.
# Cold build on the 2-core machine: about 2 min for xk6 plus about 7 min for k6 (docs/load-models.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
# scripts/tools.sh found every Go tool already built (scripts/tools-present.ts): nothing to build.
if [ "${MESHPROOF_GO_TOOLS_PRESENT:-}" = 1 ]; then exit 0; fi

. scripts/go-path.sh k6
node --import tsx scripts/k6-build.ts
