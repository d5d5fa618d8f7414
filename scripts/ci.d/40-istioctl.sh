#!/usr/bin/env bash
# The pinned istioctl, built from the Go module proxy into ${MESHPROOF_TOOLS:-$HOME/.cache/meshproof/tools}
# (reused when present). test/kube/istioctl.test.ts runs `istioctl analyze --use-kube=false` with it.
# Cold build measured on the 2-core machine: see docs/kube.md ("istioctl").
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v go >/dev/null 2>&1; then
  echo "go is required to build istioctl; install it from Debian (apt-get install golang-go) or https://go.dev/dl" >&2
  exit 1
fi
npx tsx scripts/istioctl-build.ts
