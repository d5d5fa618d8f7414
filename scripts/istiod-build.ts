#!/usr/bin/env -S npx tsx
// Build istiod (pilot-discovery) from the same istio.io/istio module version as the pinned istioctl, into the tools
// cache; reuse it when it is already there. Run after istioctl-build.ts, it reuses that build's Go cache.
//   npx tsx scripts/istiod-build.ts            build (or say where the existing build is)
//   npx tsx scripts/istiod-build.ts --print    print the binary's path only
import { $, argv, echo, fs, path, which } from 'zx';
import { istioctlPin, istioctlVersion } from '../src/targets/kube/istioctl.ts';
import { pinnedIstiodPath } from '../src/sandbox/binaries.ts';

const binary = pinnedIstiodPath();

if (argv.print) {
  echo(binary);
  process.exit(0);
}

if (fs.existsSync(binary)) {
  echo(`pilot-discovery ${istioctlVersion} present: ${binary}`);
  process.exit(0);
}

if (!(await which('go', { nothrow: true }))) {
  echo('go is not installed: pilot-discovery is built from source with the Go toolchain (https://go.dev/doc/install).');
  process.exit(1);
}

// Version ldflags as Istio's own build sets them (common/scripts/report_build_info.sh), identical to istioctl's.
const pkg = 'istio.io/istio/pkg/version';
const ldflags = [
  '-s -w',
  `-X ${pkg}.buildVersion=${istioctlVersion}`,
  `-X ${pkg}.buildGitRevision=${istioctlPin.commit}`,
  `-X ${pkg}.buildStatus=Clean`,
  `-X ${pkg}.buildTag=${istioctlPin.release}`,
].join(' ');

const dir = path.dirname(binary);
const staging = `${dir}.partial`;
await fs.remove(staging);
await fs.mkdirp(staging);

echo(`building pilot-discovery ${istioctlVersion} from ${istioctlPin.module}@${istioctlPin.moduleVersion} (minutes; about 10 on a cold Go cache)`);
const started = Date.now();
$.env = { ...process.env, GOBIN: staging, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' };
await $({ stdio: 'inherit' })`go install -ldflags ${ldflags} ${istioctlPin.module}/pilot/cmd/pilot-discovery@${istioctlPin.moduleVersion}`;

// Move into place only when complete, so an interrupted build is never mistaken for a finished one.
await fs.remove(dir);
await fs.move(staging, dir);
const seconds = Math.round((Date.now() - started) / 1000);
echo(`pilot-discovery ${istioctlVersion} built in ${seconds} s: ${binary}`);
echo((await $`${binary} version --short`).stdout.trim());
