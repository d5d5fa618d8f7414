#!/usr/bin/env bash
# The pinned istioctl, built from the Go module proxy into ${MESHPROOF_TOOLS:-$HOME/.cache/meshproof/tools}
# (reused when present). test/kube/istioctl.test.ts runs `istioctl analyze --use-kube=false` with it.
# Cold build measured on the 2-core machine: see docs/kube.md ("istioctl").
set -euo pipefail
cd "$(dirname "$0")/../.."
# scripts/tools.sh found every Go tool already built (scripts/tools-present.ts): nothing to build.
if [ "${MESHPROOF_GO_TOOLS_PRESENT:-}" = 1 ]; then exit 0; fi

. scripts/go-path.sh istioctl
node --import tsx scripts/istioctl-build.ts
