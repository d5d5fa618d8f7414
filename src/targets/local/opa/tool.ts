// Where opa-envoy (tools/opa-envoy: the Open Policy Agent with Envoy's ext_authz gRPC service, see its main.go) is
// built: the tools cache, keyed by the OPA release and a hash of the tool's source and module files, so a changed
// source is rebuilt rather than a stale binary run. scripts/opa-build.ts builds it; the local target runs it for a
// scenario's OPA Deployments (workload.ts).
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toolPath } from '../../../load/tools.ts';

export const OPA_ENVOY = 'opa-envoy';
/** The OPA release built (github.com/open-policy-agent/opa, from the Go module proxy). */
export const OPA_VERSION = '1.22.4';

export const opaEnvoySourceDir = fileURLToPath(new URL('../../../../tools/opa-envoy/', import.meta.url));

/** `<OPA release>-<first 12 hex digits of sha256 over the tool's .go, go.mod and go.sum files>`. */
export function opaEnvoyVersion(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(opaEnvoySourceDir).filter((f) => /\.go$|^go\.(mod|sum)$/.test(f)).sort()) {
    hash.update(file).update('\0').update(readFileSync(join(opaEnvoySourceDir, file)));
  }
  return `${OPA_VERSION}-${hash.digest('hex').slice(0, 12)}`;
}

/** The binary; MESHPROOF_OPA overrides it. */
export function opaEnvoyPath(): string {
  return process.env.MESHPROOF_OPA || toolPath(OPA_ENVOY, opaEnvoyVersion());
}

export const OPA_BUILD_HINT = 'run `npm run tools` (scripts/ci.d/35-opa.sh builds it with Go from the pinned OPA module)';
