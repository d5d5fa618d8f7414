#!/usr/bin/env -S npx tsx
// Build istiod (pilot-discovery) from the same istio.io/istio module version as the pinned istioctl, into the tools
// cache; reuse it when it is already there. Run after istioctl-build.ts, it reuses that build's Go cache.
//   npx tsx scripts/istiod-build.ts            build (or say where the existing build is)
//   npx tsx scripts/istiod-build.ts --print    print the binary's path only
import { pinnedIstiodPath } from '../src/sandbox/binaries.ts';
import { buildIstioCommand } from './istio-go-build.ts';

await buildIstioCommand({
  name: 'pilot-discovery',
  command: 'pilot/cmd/pilot-discovery',
  binary: pinnedIstiodPath(),
  expect: 'minutes; about 10 on a cold Go cache',
  versionArgs: ['version', '--short'],
});
