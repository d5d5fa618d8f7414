// Where the istio-translate tool (tools/istio-translate/main.go: the real istiod's config generation as a batch
// translator) is built: the tools cache, keyed by the istio pin and a hash of its source, so a changed main.go is
// rebuilt rather than a stale binary run. scripts/istio-translate-build.ts builds it; src/fidelity/istiod-translator.ts
// runs it.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { toolPath } from '../load/tools.ts';
import { istioctlVersion } from '../targets/kube/istioctl.ts';

export const ISTIO_TRANSLATE = 'istio-translate';

export const istioTranslateSource = fileURLToPath(new URL('../../tools/istio-translate/main.go', import.meta.url));

/** `<istio release>-<commit>-<first 12 hex digits of sha256(main.go)>`. */
export function istioTranslateVersion(): string {
  const hash = createHash('sha256').update(readFileSync(istioTranslateSource)).digest('hex').slice(0, 12);
  return `${istioctlVersion}-${hash}`;
}

export function istioTranslatePath(): string {
  return process.env.MESHPROOF_ISTIO_TRANSLATE || toolPath(ISTIO_TRANSLATE, istioTranslateVersion());
}

export const ISTIO_TRANSLATE_BUILD_HINT = 'run `npm run tools` (scripts/ci.d/45-istio-translate.sh builds it with Go from the pinned istio module)';
