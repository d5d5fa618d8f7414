#!/usr/bin/env -S npx tsx
// Build the pinned istioctl from the Go module proxy into the tools cache; reuse it when it is already there.
//   npx tsx scripts/istioctl-build.ts            build (or say where the existing build is)
//   npx tsx scripts/istioctl-build.ts --print    print the binary's path only
import { pinnedIstioctlPath } from '../src/targets/kube/istioctl.ts';
import { buildIstioCommand } from './istio-go-build.ts';

await buildIstioCommand({
  name: 'istioctl',
  command: 'istioctl/cmd/istioctl',
  binary: pinnedIstioctlPath(),
  expect: 'several minutes on a cold Go cache',
  versionArgs: ['version', '--remote=false'],
});
