#!/usr/bin/env -S npx tsx
// Build tools/istio-translate (istiod's config generation as a batch translator, src/fidelity) against the istio.io/istio
// module version istioctl and istiod are pinned to, into the tools cache; reuse it when that version of its source is
// already built. It builds in a temporary module whose go.mod is istio's own (renamed, requiring the pin), so the
// dependency versions are exactly istiod's and the repository holds no Go module for it.
//   npx tsx scripts/istio-translate-build.ts            build (or say where the existing build is)
//   npx tsx scripts/istio-translate-build.ts --print    print the binary's path only
import { $, echo, fs, os, path } from 'zx';
import { ISTIO_TRANSLATE, istioTranslatePath, istioTranslateSource, istioTranslateVersion } from '../src/fidelity/istio-translate-tool.ts';
import { istioctlPin, istioctlVersion } from '../src/targets/kube/istioctl.ts';
import { buildStaged, missingOrExit, pruneOlderBuilds, requireGo } from './go-tool.ts';

const binary = istioTranslatePath();
const missing = missingOrExit([{ label: `istio-translate ${istioTranslateVersion()}`, binary }]);
await requireGo(missing);

const pin = `${istioctlPin.module}@${istioctlPin.moduleVersion}`;
const modCache = (await $`go env GOMODCACHE`).stdout.trim();
const moduleDir = path.join(modCache, pin);
if (!fs.existsSync(moduleDir)) await $({ stdio: 'inherit', env: { ...process.env, GOFLAGS: '-mod=mod' } })`go mod download ${pin}`;

const work = await fs.mkdtemp(path.join(os.tmpdir(), 'istio-translate-'));
try {
  const goMod = (await fs.readFile(path.join(moduleDir, 'go.mod'), 'utf8')).replace(/^module istio\.io\/istio$/m, 'module meshproof.dev/istio-translate');
  await fs.writeFile(path.join(work, 'go.mod'), `${goMod}\nrequire ${istioctlPin.module} ${istioctlPin.moduleVersion}\n`);
  await fs.copyFile(path.join(moduleDir, 'go.sum'), path.join(work, 'go.sum'));
  await fs.chmod(path.join(work, 'go.sum'), 0o644);
  await fs.copyFile(istioTranslateSource, path.join(work, 'main.go'));
  echo(`building istio-translate ${istioTranslateVersion()} against ${pin} (seconds when istiod's build is in the Go cache; about 10 minutes cold on 2 cores)`);
  // GOSUMDB=off: the pin itself is not in istio's go.sum; it comes from the module cache istioctl's build filled.
  const seconds = await buildStaged(binary, async (staging) => {
    await $({
      cwd: work,
      stdio: 'inherit',
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod -buildvcs=false', GOSUMDB: 'off' },
    })`go build -trimpath -ldflags ${'-s -w'} -o ${path.join(staging, 'istio-translate')} .`;
  });
  await pruneOlderBuilds(binary, `${ISTIO_TRANSLATE}-${istioctlVersion}-`);
  echo(`istio-translate built in ${seconds} s: ${binary}`);
} finally {
  await fs.remove(work);
}
