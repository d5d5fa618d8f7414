// Building a command of the pinned istio.io/istio module (istioctl, pilot-discovery) into the tools cache, shared by
// istioctl-build.ts and istiod-build.ts (the rest of a Go tool build is go-tool.ts).
import { $, echo } from 'zx';
import { istioctlPin, istioctlVersion } from '../src/targets/kube/istioctl.ts';
import { buildStaged, missingOrExit, requireGo } from './go-tool.ts';

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
  const missing = missingOrExit([{ label: `${name} ${istioctlVersion}`, binary }]);
  await requireGo(missing);
  // Version ldflags as Istio's own build sets them (common/scripts/report_build_info.sh).
  const pkg = 'istio.io/istio/pkg/version';
  const ldflags = [
    '-s -w',
    `-X ${pkg}.buildVersion=${istioctlVersion}`,
    `-X ${pkg}.buildGitRevision=${istioctlPin.commit}`,
    `-X ${pkg}.buildStatus=Clean`,
    `-X ${pkg}.buildTag=${istioctlPin.release}`,
  ].join(' ');
  echo(`building ${name} ${istioctlVersion} from ${istioctlPin.module}@${istioctlPin.moduleVersion} (${options.expect})`);
  const seconds = await buildStaged(binary, async (staging) => {
    const env = { ...process.env, GOBIN: staging, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' };
    await $({ stdio: 'inherit', env })`go install -ldflags ${ldflags} ${istioctlPin.module}/${options.command}@${istioctlPin.moduleVersion}`;
  });
  echo(`${name} ${istioctlVersion} built in ${seconds} s: ${binary}`);
  echo((await $`${binary} ${options.versionArgs}`).stdout.trim());
}
