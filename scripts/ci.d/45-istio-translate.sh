#!/usr/bin/env bash
# istio-translate (tools/istio-translate): the real istiod's config generation as a batch translator for the
# differential fidelity check (src/fidelity, test/fidelity), built against the istio module istioctl is pinned to into
# ${MESHPROOF_TOOLS:-$HOME/.cache/meshproof/tools}, reused while its source is unchanged. It runs after 40-istioctl.sh,
# which downloads the module and fills the Go build cache it reuses. Build times: see docs/fidelity.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
# scripts/tools.sh found every Go tool already built (scripts/tools-present.ts): nothing to build.
if [ "${MESHPROOF_GO_TOOLS_PRESENT:-}" = 1 ]; then exit 0; fi

. scripts/go-path.sh istio-translate
node --import tsx scripts/istio-translate-build.ts
