#!/usr/bin/env -S npx tsx
// Build tools/opa-envoy (OPA with Envoy's ext_authz gRPC service) into the tools cache from the Go module proxy, with
// the module versions tools/opa-envoy/go.sum pins; reuse it when this version of its source is already built.
//   npx tsx scripts/opa-build.ts            build (or say where the existing build is)
//   npx tsx scripts/opa-build.ts --print    print the binary's path only
import { $, argv, echo, fs, path, which } from 'zx';
import { OPA_ENVOY, OPA_VERSION, opaEnvoyPath, opaEnvoySourceDir, opaEnvoyVersion } from '../src/targets/local/opa/tool.ts';

const binary = opaEnvoyPath();
if (argv.print) {
  echo(binary);
  process.exit(0);
}
if (fs.existsSync(binary)) {
  echo(`opa-envoy ${opaEnvoyVersion()} present: ${binary}`);
  process.exit(0);
}
if (!(await which('go', { nothrow: true }))) {
  echo('go is not installed: opa-envoy is built from source with the Go toolchain (https://go.dev/doc/install).');
  process.exit(1);
}

const dir = path.dirname(binary);
const staging = `${dir}.partial`;
await fs.remove(staging);
await fs.mkdirp(staging);
echo(`building opa-envoy ${opaEnvoyVersion()} (OPA ${OPA_VERSION}; about 1 minute on 2 cores once the modules are downloaded)`);
const started = Date.now();
await $({
  cwd: opaEnvoySourceDir,
  stdio: 'inherit',
  env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly -buildvcs=false' },
})`go build -trimpath -ldflags ${'-s -w'} -o ${path.join(staging, OPA_ENVOY)} .`;
await fs.remove(dir);
await fs.move(staging, dir);
// Builds of earlier versions of the source (about 60 MB each) are no longer run by anything in this clone.
const parent = path.dirname(dir);
for (const entry of await fs.readdir(parent)) {
  if (entry.startsWith(`${OPA_ENVOY}-`) && entry !== path.basename(dir) && !entry.endsWith('.partial')) await fs.remove(path.join(parent, entry));
}
echo(`opa-envoy built in ${Math.round((Date.now() - started) / 1000)} s: ${binary}`);
