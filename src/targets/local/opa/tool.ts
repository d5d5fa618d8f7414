// Where opa-envoy (tools/opa-envoy: the Open Policy Agent with Envoy's ext_authz gRPC service, see its main.go) is
// built: the tools cache, keyed by the OPA release and a hash of the tool's source and module files, so a changed
// source is rebuilt rather than a stale binary run. scripts/opa-build.ts builds it; the local target runs it for a
// scenario's OPA Deployments (workload.ts).
import { fileURLToPath } from 'node:url';
import { goSourceHash, toolPath } from '../../../load/tools.ts';

export const OPA_ENVOY = 'opa-envoy';
/** The OPA release built (github.com/open-policy-agent/opa, from the Go module proxy). */
export const OPA_VERSION = '1.22.4';

export const opaEnvoySourceDir = fileURLToPath(new URL('../../../../tools/opa-envoy/', import.meta.url));

/** `<OPA release>-<first 12 hex digits of sha256 over the tool's .go, go.mod and go.sum files>`. */
export function opaEnvoyVersion(): string {
  return `${OPA_VERSION}-${goSourceHash(opaEnvoySourceDir)}`;
}

/** The binary; MESHPROOF_OPA overrides it. */
export function opaEnvoyPath(): string {
  return process.env.MESHPROOF_OPA || toolPath(OPA_ENVOY, opaEnvoyVersion());
}

export const OPA_BUILD_HINT = 'run `npm run tools` (scripts/ci.d/35-opa.sh builds it with Go from the pinned OPA module)';
