// The objects sandbox-up writes where a cluster's installer, scheduler and kubelet would: istiod's configuration and
// its own Pod and Service, an ingress gateway Pod and Service, one Pod per Deployment replica (status written later
// through the status subresource); and the EndpointSlices kube-controller-manager is expected to write for them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse, stringify } from 'yaml';
import { INSTALLED_METRICS_PROVIDERS } from '../istio/mesh-config.ts';
import { statsInclusions } from '../targets/kube/kind.ts';
import { istioctlVersion } from '../targets/kube/istioctl.ts';
import { hostUrlAnnotation } from '../targets/kube/constants.ts';
import { POD_CIDR_PREFIX } from './layout.ts';

/** A Kubernetes object as JSON. */
export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
};

// The parts of the scenario's manifests the sandbox reads (the scenario's own Kubernetes YAML, which kubectl has
// accepted when it applied them); typed views, not validation.
export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}
export interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
  [key: string]: unknown;
}
export interface PodSpec {
  containers?: Container[];
  serviceAccountName?: string;
  [key: string]: unknown;
}
export interface ServicePortSpec {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
  appProtocol?: string;
}
export interface ServiceSpec {
  selector?: Record<string, string>;
  ports?: ServicePortSpec[];
}
interface DeploymentSpec {
  replicas?: number;
  template?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: PodSpec };
}

export const serviceSpec = (o: KubeObject): ServiceSpec => (o.spec ?? {}) as ServiceSpec;
export const podSpec = (o: KubeObject): PodSpec => (o.spec ?? {}) as PodSpec;
const deploymentSpec = (o: KubeObject): DeploymentSpec => (o.spec ?? {}) as DeploymentSpec;

export const ISTIO_NAMESPACE = 'istio-system';
export const FIELD_MANAGER = 'meshproof-sandbox';
const SANDBOX_LABEL = { 'meshproof.dev/sandbox': 'true' };

/** The objects of a kustomization folder (its `resources` files, in order), in `namespace` unless they name one. */
export function kustomizationObjects(folder: string, namespace: string): KubeObject[] {
  const kustomization = parse(readFileSync(join(folder, 'kustomization.yaml'), 'utf8')) as { resources?: string[] };
  const objects: KubeObject[] = [];
  for (const file of kustomization.resources ?? []) {
    for (const doc of parseAllDocuments(readFileSync(join(folder, file), 'utf8'))) {
      const object = doc.toJS() as KubeObject | null;
      if (!object?.kind) continue;
      object.metadata.namespace ??= namespace;
      objects.push(object);
    }
  }
  return objects;
}

/** Mesh config read by istiod from the `istio` ConfigMap (istiod runs with a --meshConfig path that does not exist). */
export function istioConfigMap(scenarioMesh: Record<string, unknown> = {}): KubeObject {
  // As kind-up installs it: every proxy exports the counters meshproof's expectations read (kind.ts statsInclusions).
  // A scenario's own mesh config (its `istio` ConfigMap, e.g. extensionProviders) is merged in as an installation's
  // --set meshConfig.* would be; its defaultConfig is merged field by field.
  const { defaultConfig, ...rest } = scenarioMesh as { defaultConfig?: Record<string, unknown> };
  const mesh = stringify({
    rootNamespace: ISTIO_NAMESPACE,
    trustDomain: 'cluster.local',
    // Without it istiod writes no istio.stats filter, and the proxies count no istio_requests_total (mesh-config.ts
    // INSTALLED_METRICS_PROVIDERS); a scenario's own defaultProviders replaces it.
    defaultProviders: { metrics: [...INSTALLED_METRICS_PROVIDERS] },
    ...rest,
    defaultConfig: { discoveryAddress: 'istiod.istio-system.svc:15012', proxyStatsMatcher: statsInclusions(), ...defaultConfig },
  });
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'istio', namespace: ISTIO_NAMESPACE, labels: { ...SANDBOX_LABEL } },
    data: { mesh, meshNetworks: 'networks: {}\n' },
  };
}

/** A workload the sandbox makes Pods for: a scenario Deployment, or istiod and the ingress gateway. */
export interface Workload {
  name: string;
  namespace: string;
  replicas: number;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  spec: PodSpec;
}

const service = (name: string, selector: Record<string, string>, ports: object[], annotations?: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  // Labelled with its selector as Istio's charts label them (the gateway Service carries istio=ingressgateway: the kube
  // target finds it by that label).
  metadata: { name, namespace: ISTIO_NAMESPACE, labels: { ...SANDBOX_LABEL, app: name, ...selector }, ...(annotations ? { annotations } : {}) },
  spec: { selector, ports },
});

const serviceAccount = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ServiceAccount',
  metadata: { name, namespace: ISTIO_NAMESPACE, labels: { ...SANDBOX_LABEL } },
});

/** The mesh config a scenario's `istio` ConfigMap of istio-system carries (empty when it has none). */
export function scenarioMeshConfig(objects: KubeObject[]): Record<string, unknown> {
  const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'istio' && o.metadata.namespace === ISTIO_NAMESPACE);
  const mesh = (configMap?.data as Record<string, string> | undefined)?.mesh;
  return mesh ? ((parse(mesh) as Record<string, unknown> | null) ?? {}) : {};
}

/**
 * istio-system: namespace, mesh config, istiod's and the ingress gateway's ServiceAccounts and Services. With
 * `gatewayHostUrl`, the gateway Service says where this host reaches the gateway (meshproof.dev/host-url), as kind-up's
 * cluster says it of its mapped NodePort: the kube target's load then goes there, not through port-forward tunnels.
 */
export function istioSystemObjects(scenarioMesh: Record<string, unknown> = {}, gatewayHostUrl?: string): KubeObject[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ISTIO_NAMESPACE, labels: { ...SANDBOX_LABEL } } },
    istioConfigMap(scenarioMesh),
    serviceAccount('istiod'),
    serviceAccount('istio-ingressgateway-service-account'),
    service('istiod', { app: 'istiod', 'istio.io/rev': 'default' }, [
      { name: 'grpc-xds', port: 15010, protocol: 'TCP' },
      { name: 'https-dns', port: 15012, protocol: 'TCP' },
      { name: 'https-webhook', port: 443, targetPort: 15017, protocol: 'TCP' },
      { name: 'http-monitoring', port: 15014, protocol: 'TCP' },
    ]),
    service(
      'istio-ingressgateway',
      { app: 'istio-ingressgateway', istio: 'ingressgateway' },
      [
        { name: 'status-port', port: 15021, targetPort: 15021, protocol: 'TCP' },
        { name: 'http2', port: 80, targetPort: 8080, protocol: 'TCP' },
        { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' },
      ],
      gatewayHostUrl === undefined ? undefined : { [hostUrlAnnotation]: gatewayHostUrl },
    ),
  ];
}

/** istiod (labelled istio.io/rev=default: istioctl looks for it) and the ingress gateway, as workloads. */
export function istioWorkloads(): Workload[] {
  return [
    {
      name: 'istiod',
      namespace: ISTIO_NAMESPACE,
      replicas: 1,
      labels: { app: 'istiod', istio: 'pilot', 'istio.io/rev': 'default' },
      spec: {
        serviceAccountName: 'istiod',
        containers: [
          {
            name: 'discovery',
            image: `meshproof.local/pilot-discovery:${istioctlVersion}`,
            ports: [15010, 15012, 15014, 15017].map((containerPort) => ({ containerPort, protocol: 'TCP' })),
          },
        ],
      },
    },
    {
      name: 'istio-ingressgateway',
      namespace: ISTIO_NAMESPACE,
      replicas: 1,
      labels: {
        app: 'istio-ingressgateway',
        istio: 'ingressgateway',
        'istio.io/rev': 'default',
        'security.istio.io/tlsMode': 'istio',
        'service.istio.io/canonical-name': 'istio-ingressgateway',
      },
      annotations: { 'sidecar.istio.io/inject': 'false' },
      spec: {
        serviceAccountName: 'istio-ingressgateway-service-account',
        containers: [
          {
            name: 'istio-proxy',
            image: `meshproof.local/proxyv2:${istioctlVersion}`,
            ports: [8080, 8443, 15021, 15090].map((containerPort) => ({ containerPort, protocol: 'TCP' })),
          },
        ],
      },
    },
  ];
}

export function deploymentWorkloads(objects: KubeObject[]): Workload[] {
  return objects
    .filter((o) => o.kind === 'Deployment')
    .map((d) => {
      const spec = deploymentSpec(d);
      return {
        name: d.metadata.name,
        namespace: d.metadata.namespace ?? 'default',
        replicas: spec.replicas ?? 1,
        labels: spec.template?.metadata?.labels ?? {},
        annotations: spec.template?.metadata?.annotations,
        spec: spec.template?.spec ?? {},
      };
    });
}

/**
 * A workload's pods as Istio's sidecar injector leaves them (what istiod and the kube target's preflight look at): an
 * `istio-proxy` container with Envoy's stats port, the `sidecar.istio.io/status` annotation, and the labels the
 * injector adds — `security.istio.io/tlsMode: istio` is what makes istiod send mTLS to the endpoint
 * (pilot/pkg/serviceregistry/kube/controller endpoint builder) and the canonical service labels.
 */
export function asInjected(w: Workload): Workload {
  const proxy = {
    name: 'istio-proxy',
    image: `meshproof.local/proxyv2:${istioctlVersion}`,
    ports: [{ name: 'http-envoy-prom', containerPort: 15090, protocol: 'TCP' }],
  };
  return {
    ...w,
    labels: {
      ...w.labels,
      'security.istio.io/tlsMode': 'istio',
      'service.istio.io/canonical-name': w.labels.app ?? w.name,
      'service.istio.io/canonical-revision': w.labels.version ?? 'latest',
    },
    annotations: {
      ...w.annotations,
      'sidecar.istio.io/status': JSON.stringify({ initContainers: [], containers: ['istio-proxy'], volumes: [], imagePullSecrets: null, revision: 'default' }),
      'kubectl.kubernetes.io/default-container': w.spec.containers?.[0]?.name ?? 'istio-proxy',
    },
    spec: { ...w.spec, containers: [...(w.spec.containers ?? []), proxy] },
  };
}

export interface PlannedPod {
  object: KubeObject;
  ip: string;
}

/** One Pod per replica, `<workload>-sandbox-<n>`, each with its own address from the pod range, in workload order. */
export function plannedPods(workloads: Workload[]): PlannedPod[] {
  const pods: PlannedPod[] = [];
  for (const w of workloads) {
    for (let i = 0; i < w.replicas; i++) {
      const host = 10 + pods.length;
      if (host > 254) throw new Error(`more than ${254 - 10 + 1} pods do not fit the sandbox pod range ${POD_CIDR_PREFIX}0/24`);
      const metadata: KubeObject['metadata'] = { name: `${w.name}-sandbox-${i}`, namespace: w.namespace, labels: { ...w.labels, ...SANDBOX_LABEL } };
      if (w.annotations) metadata.annotations = w.annotations;
      pods.push({ ip: `${POD_CIDR_PREFIX}${host}`, object: { apiVersion: 'v1', kind: 'Pod', metadata, spec: w.spec } });
    }
  }
  return pods;
}

/** What a kubelet would report for a started, ready pod at `ip`. */
export function readyStatus(pod: KubeObject, ip: string, now: string): Record<string, unknown> {
  const condition = (type: string) => ({ type, status: 'True', lastTransitionTime: now });
  return {
    phase: 'Running',
    hostIP: '127.0.0.1',
    hostIPs: [{ ip: '127.0.0.1' }],
    podIP: ip,
    podIPs: [{ ip }],
    startTime: now,
    conditions: ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready', 'PodScheduled'].map(condition),
    containerStatuses: (podSpec(pod).containers ?? []).map((c) => ({
      name: c.name,
      image: c.image ?? '',
      imageID: '',
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: now } },
    })),
  };
}

const matches = (labels: Record<string, string> | undefined, selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/**
 * One EndpointSlice per Service with a selector, as kube-controller-manager's EndpointSlice controller will write it:
 * its ports (target ports resolved) and the matching pods, ready. sandbox-up waits until the controller's slices
 * list these addresses (controller-manager.ts endpointSlicesPending).
 */
export interface EndpointSliceObject extends KubeObject {
  addressType: 'IPv4';
  ports: { name: string; port: number; protocol: string; appProtocol?: string }[];
  endpoints: {
    addresses: string[];
    conditions: { ready: boolean; serving: boolean; terminating: boolean };
    targetRef: { kind: 'Pod'; namespace: string; name: string };
  }[];
}

export function endpointSlices(services: KubeObject[], pods: PlannedPod[]): EndpointSliceObject[] {
  const slices: EndpointSliceObject[] = [];
  for (const svc of services) {
    const spec = serviceSpec(svc);
    const selector = spec.selector;
    if (!selector || Object.keys(selector).length === 0) continue;
    const namespace = svc.metadata.namespace ?? 'default';
    const members = pods.filter((p) => p.object.metadata.namespace === namespace && matches(p.object.metadata.labels, selector));
    const ports = (spec.ports ?? []).map((p) => {
      let port = p.port;
      if (typeof p.targetPort === 'number') port = p.targetPort;
      else if (typeof p.targetPort === 'string') {
        const named = members.flatMap((m) => (podSpec(m.object).containers ?? []).flatMap((c) => c.ports ?? [])).find((cp) => cp.name === p.targetPort);
        if (!named) throw new Error(`Service ${namespace}/${svc.metadata.name}: no pod has a container port named ${p.targetPort}`);
        port = named.containerPort;
      }
      return { name: p.name ?? '', port, protocol: p.protocol ?? 'TCP', ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) };
    });
    slices.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: `${svc.metadata.name}-sandbox`,
        namespace,
        labels: { 'kubernetes.io/service-name': svc.metadata.name, 'endpointslice.kubernetes.io/managed-by': 'sandbox.meshproof.dev', ...SANDBOX_LABEL },
      },
      addressType: 'IPv4',
      ports,
      endpoints: members.map((m) => ({
        addresses: [m.ip],
        conditions: { ready: true, serving: true, terminating: false },
        targetRef: { kind: 'Pod', namespace, name: m.object.metadata.name },
      })),
    });
  }
  return slices;
}
