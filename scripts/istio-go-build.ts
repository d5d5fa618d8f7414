// Building a command of the pinned istio.io/istio module (istioctl, pilot-discovery) into the tools cache, shared by
// istioctl-build.ts and istiod-build.ts: `--print` prints the path, a present build is reused, a build goes to a
// staging folder and moves into place only when complete (an interrupted build is never taken for a finished one).
import { $, argv, echo, fs, path, which } from 'zx';
import { istioctlPin, istioctlVersion } from '../src/targets/kube/istioctl.ts';

export async function buildIstioCommand(options: {
  /** The command's name in messages, e.g. pilot-discovery. */
  name: string;
  /** Its package inside the module, e.g. pilot/cmd/pilot-discovery. */
  command: string;
  binary: string;
  /** How long a build takes, for the message while it runs. */
  expect: string;
  /** Arguments that print its version once built. */
  versionArgs: string[];
}): Promise<void> {
  const { name, binary } = options;
  if (argv.print) {
    echo(binary);
    process.exit(0);
  }
  if (fs.existsSync(binary)) {
    echo(`${name} ${istioctlVersion} present: ${binary}`);
    process.exit(0);
  }
  if (!(await which('go', { nothrow: true }))) {
    echo(`go is not installed: ${name} is built from source with the Go toolchain (https://go.dev/doc/install).`);
    process.exit(1);
  }
  // Version ldflags as Istio's own build sets them (common/scripts/report_build_info.sh).
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
  echo(`building ${name} ${istioctlVersion} from ${istioctlPin.module}@${istioctlPin.moduleVersion} (${options.expect})`);
  const started = Date.now();
  $.env = { ...process.env, GOBIN: staging, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' };
  await $({ stdio: 'inherit' })`go install -ldflags ${ldflags} ${istioctlPin.module}/${options.command}@${istioctlPin.moduleVersion}`;
  await fs.remove(dir);
  await fs.move(staging, dir);
  echo(`${name} ${istioctlVersion} built in ${Math.round((Date.now() - started) / 1000)} s: ${binary}`);
  echo((await $`${binary} ${options.versionArgs}`).stdout.trim());
}
