// kube-controller-manager in the sandbox: which of its controllers run, its flags, and how sandbox-up knows the
// EndpointSlice controller has caught up with the pods it wrote.
import type { EndpointSliceObject } from './objects.ts';

/** Its kubeconfig's context (the user system:kube-controller-manager, a static token of its own). */
export const CONTROLLER_MANAGER_CONTEXT = 'kube-controller-manager';

/**
 * The controllers the sandbox needs (names as `kube-controller-manager --help` lists them). Not run: the Deployment and
 * ReplicaSet controllers — sandbox-up writes the Pods as the sidecar injector leaves them, with the pod IPs the local
 * mesh plays, and no scheduler or kubelet would take pods a ReplicaSet made; node lifecycle, taints and pod garbage
 * collection, which would evict or delete pods of a node whose kubelet (kwok) stops.
 */
export const SANDBOX_CONTROLLERS = [
  // Services → EndpointSlices: what istiod's Kubernetes registry reads (pilot/pkg/serviceregistry/kube/controller).
  'endpointslice-controller',
  // Services → Endpoints: what the API server's services/proxy reads.
  'endpoints-controller',
  // A `default` ServiceAccount in every namespace (istioctl asks for a token of istio-system's).
  'serviceaccount-controller',
  // The `kube-root-ca.crt` ConfigMap in every namespace.
  'root-ca-certificate-publisher-controller',
  // A deleted namespace is emptied and removed (without it a deleted namespace stays Terminating).
  'namespace-controller',
  // Objects whose owner is gone: a deleted Service's EndpointSlices (the EndpointSlice controller leaves them to it).
  'garbage-collector-controller',
] as const;

export interface ControllerManagerFiles {
  kubeconfig: string;
  port: number;
  cert: string;
  key: string;
  rootCa: string;
}

export function controllerManagerArgs(f: ControllerManagerFiles): string[] {
  return [
    `--kubeconfig=${f.kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${f.port}`,
    `--tls-cert-file=${f.cert}`,
    `--tls-private-key-file=${f.key}`,
    `--root-ca-file=${f.rootCa}`,
    // Each controller acts as its own ServiceAccount in kube-system (system:controller:<name>), as kubeadm runs it.
    '--use-service-account-credentials=true',
    '--leader-elect=false',
    '--profiling=false',
    `--controllers=${SANDBOX_CONTROLLERS.join(',')}`,
  ];
}

/** An EndpointSlice as the API lists it (the fields compared). */
export interface ListedSlice {
  metadata?: { namespace?: string; labels?: Record<string, string> };
  endpoints?: { addresses?: string[]; conditions?: { ready?: boolean } }[];
  ports?: { name?: string; port?: number }[] | null;
}

const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';

/**
 * What the EndpointSlice controller has not written yet, one line per Service: `expected` are the slices the pods
 * imply (objects.ts endpointSlices), `listed` what the API server holds. A Service is done when the controller's
 * slices list exactly its expected addresses, all ready, with the expected ports.
 */
export function endpointSlicesPending(expected: EndpointSliceObject[], listed: ListedSlice[]): string[] {
  const pending: string[] = [];
  for (const want of expected) {
    const service = want.metadata.labels?.['kubernetes.io/service-name'] ?? want.metadata.name;
    const namespace = want.metadata.namespace ?? 'default';
    const mine = listed.filter(
      (s) =>
        s.metadata?.namespace === namespace &&
        s.metadata.labels?.['kubernetes.io/service-name'] === service &&
        s.metadata.labels['endpointslice.kubernetes.io/managed-by'] === CONTROLLER_NAME,
    );
    const wantAddresses = want.endpoints.flatMap((e) => e.addresses).sort();
    const ready = mine.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready === true).flatMap((e) => e.addresses ?? [])).sort();
    const wantPorts = want.ports.map((p) => `${p.name}:${p.port}`).sort();
    // An empty slice of a Service without ready pods has `ports: null`; compare ports only where pods are listed.
    const ports = [
      ...new Set(mine.filter((s) => (s.endpoints ?? []).length > 0).flatMap((s) => (s.ports ?? []).map((p) => `${p.name ?? ''}:${p.port ?? ''}`))),
    ].sort();
    const label = `${namespace}/${service}`;
    if (mine.length === 0) pending.push(`${label}: no EndpointSlice from the controller yet`);
    else if (ready.join() !== wantAddresses.join()) pending.push(`${label}: ready addresses [${ready.join(', ')}], expected [${wantAddresses.join(', ')}]`);
    else if (wantAddresses.length > 0 && ports.join() !== wantPorts.join())
      pending.push(`${label}: ports [${ports.join(', ')}], expected [${wantPorts.join(', ')}]`);
  }
  return pending;
}
