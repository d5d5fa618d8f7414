// The binaries the sandbox cluster runs, all built from the Go module proxy into the tools cache (src/load/tools.ts):
// kube-apiserver, kube-controller-manager and kubectl (scripts/k8s-build.ts, wrapper module tools/k8s), etcd (same script) and istiod
// (scripts/istiod-build.ts, the istio.io/istio version istioctl is pinned to).
import { toolPath } from '../load/tools.ts';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { istioctlPin, istioctlVersion } from '../targets/kube/istioctl.ts';

/** The Kubernetes release tools/k8s/go.mod requires (its staging modules are the matching v0.x.y). */
export const KUBERNETES_VERSION = 'v1.36.1';
/** The etcd release Kubernetes v1.36.1 pins (its go.mod requires go.etcd.io/etcd/server/v3 at this version). */
export const ETCD_VERSION = 'v3.6.8';

/** kwok (sigs.k8s.io/kwok): the sandbox's node, and port-forward through the kubelet streaming code it embeds. */
export const KWOK_VERSION = 'v0.8.0';

export function kwokPath(): string {
  return toolPath('kwok', KWOK_VERSION);
}

/** kwok's CustomResourceDefinition of PortForward, from the kwok module the build downloads. */
export function kwokPortForwardCrdPath(): string {
  return join(goModCache(), `sigs.k8s.io/kwok@${KWOK_VERSION}`, 'kustomize', 'crd', 'bases', 'kwok.x-k8s.io_portforwards.yaml');
}

export function pinnedIstiodPath(): string {
  return toolPath('pilot-discovery', istioctlVersion);
}

export function kubeApiserverPath(): string {
  return toolPath('kube-apiserver', KUBERNETES_VERSION);
}

export function kubeControllerManagerPath(): string {
  return toolPath('kube-controller-manager', KUBERNETES_VERSION);
}

export function kubectlPath(): string {
  return toolPath('kubectl', KUBERNETES_VERSION);
}

export function etcdPath(): string {
  return toolPath('etcd', ETCD_VERSION);
}

/** Each binary the sandbox needs, with the command that builds it. */
export function sandboxBinaries(): { name: string; path: string; build: string }[] {
  return [
    { name: 'etcd', path: etcdPath(), build: 'npx tsx scripts/k8s-build.ts' },
    { name: 'kube-apiserver', path: kubeApiserverPath(), build: 'npx tsx scripts/k8s-build.ts' },
    { name: 'kube-controller-manager', path: kubeControllerManagerPath(), build: 'npx tsx scripts/k8s-build.ts' },
    { name: 'kubectl', path: kubectlPath(), build: 'npx tsx scripts/k8s-build.ts' },
    { name: 'pilot-discovery', path: pinnedIstiodPath(), build: 'npx tsx scripts/istiod-build.ts' },
    { name: 'kwok', path: kwokPath(), build: 'npx tsx scripts/k8s-build.ts' },
  ];
}

/** The Istio CRDs of the pinned istio module, from the Go module cache (istioctl's build downloads the module). */
function goModCache(): string {
  return process.env.GOMODCACHE || join(process.env.GOPATH?.split(':')[0] || join(homedir(), 'go'), 'pkg', 'mod');
}

export function istioCrdsPath(): string {
  const modCache = goModCache();
  return join(modCache, `${istioctlPin.module}@${istioctlPin.moduleVersion}`, 'manifests', 'charts', 'base', 'files', 'crd-all.gen.yaml');
}
