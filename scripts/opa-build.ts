#!/usr/bin/env -S npx tsx
// Build tools/opa-envoy (OPA with Envoy's ext_authz gRPC service) into the tools cache from the Go module proxy, with
// the module versions tools/opa-envoy/go.sum pins; reuse it when this version of its source is already built.
//   npx tsx scripts/opa-build.ts            build (or say where the existing build is)
//   npx tsx scripts/opa-build.ts --print    print the binary's path only
import { $, echo, path } from 'zx';
import { OPA_ENVOY, OPA_VERSION, opaEnvoyPath, opaEnvoySourceDir, opaEnvoyVersion } from '../src/targets/local/opa/tool.ts';
import { buildStaged, missingOrExit, pruneOlderBuilds, requireGo } from './go-tool.ts';

const binary = opaEnvoyPath();
const missing = missingOrExit([{ label: `opa-envoy ${opaEnvoyVersion()}`, binary }]);
await requireGo(missing);

echo(`building opa-envoy ${opaEnvoyVersion()} (OPA ${OPA_VERSION}; about 1 minute on 2 cores once the modules are downloaded)`);
const seconds = await buildStaged(binary, async (staging) => {
  await $({
    cwd: opaEnvoySourceDir,
    stdio: 'inherit',
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly -buildvcs=false' },
  })`go build -trimpath -ldflags ${'-s -w'} -o ${path.join(staging, OPA_ENVOY)} .`;
});
await pruneOlderBuilds(binary, `${OPA_ENVOY}-`);
echo(`opa-envoy built in ${seconds} s: ${binary}`);
