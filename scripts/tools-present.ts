#!/usr/bin/env -S npx tsx
// Whether every Go tool the tests use is already built in the tools cache, checked in one process: scripts/tools.sh
// then skips the Go steps of scripts/ci.d, each of which would start its own build script (about a second apiece
// through tsx) only to find its binary there. The paths are the ones those build scripts check
// (test/tools/tools-present.test.ts compares them with each script's --print).
//   node --import tsx scripts/tools-present.ts           exit 0 when all are present (saying so), 1 when any is missing
//   node --import tsx scripts/tools-present.ts --print   the paths, one per line
import { existsSync } from 'node:fs';
import { istioTranslatePath } from '../src/fidelity/istio-translate-tool.ts';
import { k6BuildPath } from '../src/load/tools.ts';
import { etcdPath, kubeApiserverPath, kubeControllerManagerPath, kubectlPath, kwokPath, pinnedIstiodPath } from '../src/sandbox/binaries.ts';
import { pinnedIstioctlPath } from '../src/targets/kube/istioctl.ts';
import { opaEnvoyPath } from '../src/targets/local/opa/tool.ts';

/** Each build script (scripts/*-build.ts) with the binaries it builds. */
export const goToolBuilds: { script: string; binaries: () => string[] }[] = [
  { script: 'k6-build.ts', binaries: () => [k6BuildPath()] },
  { script: 'opa-build.ts', binaries: () => [opaEnvoyPath()] },
  { script: 'istioctl-build.ts', binaries: () => [pinnedIstioctlPath()] },
  { script: 'istio-translate-build.ts', binaries: () => [istioTranslatePath()] },
  { script: 'istiod-build.ts', binaries: () => [pinnedIstiodPath()] },
  { script: 'k8s-build.ts', binaries: () => [etcdPath(), kubeApiserverPath(), kubeControllerManagerPath(), kubectlPath(), kwokPath()] },
];

if (import.meta.url === `file://${process.argv[1]}`) {
  const binaries = goToolBuilds.flatMap((b) => b.binaries());
  if (process.argv.includes('--print')) {
    console.log(binaries.join('\n'));
    process.exit(0);
  }
  const missing = binaries.filter((b) => !existsSync(b));
  if (missing.length > 0) {
    console.log(`not built yet: ${missing.join(', ')}; the build steps run`);
    process.exit(1);
  }
  console.log(`every Go tool is built (${binaries.length}): ${binaries.join(', ')}`);
}
