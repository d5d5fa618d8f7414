#!/usr/bin/env -S npx tsx
// Build the sandbox cluster's etcd, kube-apiserver, kube-controller-manager and kubectl from the Go module proxy, through the wrapper module
// tools/k8s (it pins k8s.io/kubernetes and its staging modules), and kwok (its node and the kubelet's port-forward)
// with its own go.mod (`go install sigs.k8s.io/kwok/cmd/kwok@<pin>`, so its dependencies never change the others'),
// into the tools cache; each binary that is already there is reused. Each is moved into place only when its build is
// complete.
//   npx tsx scripts/k8s-build.ts            build what is missing (or say where the existing builds are)
//   npx tsx scripts/k8s-build.ts --print    print the binaries' paths only
import { $, echo, path } from 'zx';
import {
  ETCD_VERSION,
  KUBERNETES_VERSION,
  KWOK_VERSION,
  etcdPath,
  kubeApiserverPath,
  kubeControllerManagerPath,
  kubectlPath,
  kwokPath,
} from '../src/sandbox/binaries.ts';
import { buildStaged, missingOrExit, requireGo } from './go-tool.ts';

const moduleDir = path.resolve(import.meta.dirname, '..', 'tools', 'k8s');
const [major, minor] = KUBERNETES_VERSION.replace(/^v/, '').split('.');

// Version ldflags as Kubernetes' own build sets them (hack/lib/version.sh, kube::version::ldflags), or /version and
// `kubectl version` report v0.0.0-master.
const kubeLdflags = ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']
  .flatMap((pkg) => [
    `-X ${pkg}.gitVersion=${KUBERNETES_VERSION}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`,
  ])
  .join(' ');

const targets: { name: string; version: string; binary: string; pkg: string; ldflags: string; install?: boolean }[] = [
  { name: 'etcd', version: ETCD_VERSION, binary: etcdPath(), pkg: 'go.etcd.io/etcd/server/v3', ldflags: '-s -w' },
  {
    name: 'kube-apiserver',
    version: KUBERNETES_VERSION,
    binary: kubeApiserverPath(),
    pkg: 'k8s.io/kubernetes/cmd/kube-apiserver',
    ldflags: `-s -w ${kubeLdflags}`,
  },
  {
    name: 'kube-controller-manager',
    version: KUBERNETES_VERSION,
    binary: kubeControllerManagerPath(),
    pkg: 'k8s.io/kubernetes/cmd/kube-controller-manager',
    ldflags: `-s -w ${kubeLdflags}`,
  },
  { name: 'kubectl', version: KUBERNETES_VERSION, binary: kubectlPath(), pkg: 'k8s.io/kubernetes/cmd/kubectl', ldflags: `-s -w ${kubeLdflags}` },
  { name: 'kwok', version: KWOK_VERSION, binary: kwokPath(), pkg: `sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}`, ldflags: '-s -w', install: true },
];

const missing = missingOrExit(targets.map((t) => ({ label: `${t.name} ${t.version}`, binary: t.binary })));
await requireGo(missing);

for (const t of targets.filter((t) => missing.some((m) => m.binary === t.binary))) {
  echo(`building ${t.name} ${t.version} (${t.pkg}, ${t.install ? 'its own go.mod' : 'module tools/k8s'}; kube-apiserver takes minutes on a cold Go cache)`);
  const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' };
  const seconds = await buildStaged(t.binary, async (staging) => {
    if (t.install) await $({ cwd: staging, stdio: 'inherit', env: { ...env, GOBIN: staging } })`go install -trimpath -ldflags ${t.ldflags} ${t.pkg}`;
    else await $({ cwd: moduleDir, stdio: 'inherit', env })`go build -trimpath -ldflags ${t.ldflags} -o ${path.join(staging, t.name)} ${t.pkg}`;
  });
  echo(`${t.name} ${t.version} built in ${seconds} s: ${t.binary}`);
}
