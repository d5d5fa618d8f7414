#!/usr/bin/env bash
# opa-envoy (tools/opa-envoy): the Open Policy Agent with Envoy's ext_authz gRPC service, which the local target runs
# for a scenario's OPA Deployment (CUSTOM AuthorizationPolicies, examples/researchflow). Built from the Go module proxy
# into ${MESHPROOF_TOOLS:-$HOME/.cache/meshproof/tools}, reused while its source is unchanged. About 1 minute cold.
set -euo pipefail
cd "$(dirname "$0")/../.."
# scripts/tools.sh found every Go tool already built (scripts/tools-present.ts): nothing to build.
if [ "${MESHPROOF_GO_TOOLS_PRESENT:-}" = 1 ]; then exit 0; fi

. scripts/go-path.sh opa-envoy
node --import tsx scripts/opa-build.ts
