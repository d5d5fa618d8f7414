#!/usr/bin/env bash
# The sandbox cluster's binaries (test/sandbox): istiod (pilot-discovery of the istio module istioctl is pinned to;
# it reuses istioctl's Go build cache, so it runs after 40-istioctl.sh) and etcd, kube-apiserver, kube-controller-manager and kubectl through
# the wrapper module tools/k8s, into ${MESHPROOF_TOOLS:-$HOME/.cache/meshproof/tools}; each is reused when present.
# Cold build times measured on the 2-core machine: see docs/sandbox.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

# The sandbox's certificates are made with openssl (src/sandbox/pki.ts); Debian ships it, install it when missing.
if ! command -v openssl >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends openssl >/dev/null
fi

# scripts/tools.sh found every Go tool already built (scripts/tools-present.ts): nothing to build.
if [ "${MESHPROOF_GO_TOOLS_PRESENT:-}" = 1 ]; then exit 0; fi
. scripts/go-path.sh sandbox
node --import tsx scripts/istiod-build.ts
node --import tsx scripts/k8s-build.ts
