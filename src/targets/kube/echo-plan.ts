// `--deploy-echo`: what the kube target applies into a test namespace in place of the user's own workloads — the
// scenario folder's Deployments with meshproof's echo image (labels, ports, env and the meshproof.dev/echo annotation
// kept), its Services and other namespaced objects, and its Istio baseline, each moved from the folder's namespace to
// the test namespace (docs/kube.md "Echo workloads in a test namespace").
import { SpecError } from '../../errors.ts';
import { displayPath } from '../../spec/resources.ts';
import { isScenarioPath, loadScenario } from '../../spec/scenario.ts';
import type { K8sObject, ResourceRef } from '../../spec/types.ts';
import { field } from '../../spec/untyped.ts';
import { echoEnv } from '../../echo/identity.ts';

/** Labels and annotations of the test namespace: injection on, and who made it (meshproof cleanup reads them). */
export const echoRunLabel = 'meshproof.dev/echo-run';
export const echoOwnerPidAnnotation = 'meshproof.dev/owner-pid';
export const echoOwnerHostAnnotation = 'meshproof.dev/owner-host';

/** The image `--echo-image` defaults to: built from deploy/echo/Dockerfile and loaded into the cluster (no registry). */
export const defaultEchoImage = 'meshproof/echo:dev';

/** `meshproof-echo-<last 4 characters of the run id>`: a DNS label, distinct for runs started apart. */
export function echoNamespaceFor(runId: string): string {
  const short = runId
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(-4);
  return `meshproof-echo-${short}`;
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function checkEchoNamespace(name: string): void {
  if (!dnsLabel.test(name))
    throw new SpecError(`${JSON.stringify(name)} is not a namespace name (a DNS label: lower-case letters, digits and '-')`, undefined, '--echo-namespace');
  if (['default', 'kube-system', 'kube-public', 'kube-node-lease', 'istio-system'].includes(name)) {
    throw new SpecError(`--deploy-echo deletes its namespace at the end of the run; give one of its own, not ${name}`, undefined, '--echo-namespace');
  }
}

/** Moves names from the folder's namespace to the test namespace, in objects and in the strings that name it. */
export class NamespaceMapping {
  constructor(
    /** The folder's namespace (where its objects' metadata put them; `default` when none is named). */
    readonly from: string,
    readonly to: string,
    /** The folder's Service names: `<service>.<from>` host names move too. */
    private readonly services: string[],
  ) {}

  /** An object's namespace: the folder's (or none) becomes the test namespace; istio-system and others stay. */
  namespaceOf(namespace: string | undefined): string {
    return namespace === undefined || namespace === this.from ? this.to : namespace;
  }

  /**
   * A copy with its namespace moved and every string that names the folder's namespace rewritten: host names
   * (`backend.shop`, `backend.shop.svc.cluster.local`, also inside the echo annotation's call URLs), principals
   * (`cluster.local/ns/shop/sa/x`), `<namespace>/<name>` references (a VirtualService's `gateways`, a Gateway's and a
   * Sidecar's `hosts`), and an AuthorizationPolicy's `namespaces`/`notNamespaces`.
   */
  object<T extends K8sObject>(object: T): T {
    const copy = structuredClone(object);
    if (copy.kind !== 'Namespace') copy.metadata.namespace = this.namespaceOf(copy.metadata.namespace);
    for (const key of Object.keys(copy)) {
      if (key === 'apiVersion' || key === 'kind' || key === 'metadata') continue;
      (copy as Record<string, unknown>)[key] = this.value(copy[key], key);
    }
    const annotations = copy.metadata.annotations;
    if (annotations) copy.metadata.annotations = this.value(annotations, 'annotations') as Record<string, string>;
    return copy;
  }

  private value(value: unknown, key: string): unknown {
    if (typeof value === 'string') return this.string(value, key);
    if (Array.isArray(value)) return value.map((v) => this.value(v, key));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.value(v, k)]));
    }
    return value;
  }

  private string(text: string, key: string): string {
    const { from, to } = this;
    if ((key === 'namespaces' || key === 'notNamespaces') && text === from) return to;
    let out = text.replace(new RegExp(`\\bns/${escape(from)}/`, 'g'), `ns/${to}/`);
    out = out.replace(new RegExp(`\\.${escape(from)}\\.svc\\b`, 'g'), `.${to}.svc`);
    if (this.services.length > 0) {
      const names = this.services.map(escape).join('|');
      out = out.replace(new RegExp(`(^|[^-a-z0-9.])(${names})\\.${escape(from)}(?=$|[:/?\\s"'])`, 'g'), `$1$2.${to}`);
    }
    if ((key === 'gateways' || key === 'hosts') && out.startsWith(`${from}/`)) out = `${to}/${out.slice(from.length + 1)}`;
    return out;
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** What --deploy-echo installs, in apply order, and the namespace mapping for the experiments' own resources. */
export interface EchoPlan {
  namespace: K8sObject;
  /** ServiceAccounts, ConfigMaps, Services and the like first, then the Deployments, then the Istio baseline. */
  objects: K8sObject[];
  deployments: K8sObject[];
  mapping: NamespaceMapping;
  /** Objects of the folder left out, and why (shown as progress). */
  skipped: string[];
}

const clusterScoped = new Set([
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
]);
const isIstioKind = (o: K8sObject) => /^(networking|security|telemetry|extensions)\.istio\.io\//.test(o.apiVersion);
const where = (r: ResourceRef) => `${displayPath(r.source.file)}:${r.source.line}`;

export interface EchoPlanOptions {
  scenario: string;
  namespace: string;
  image: string;
  runId: string;
  owner: { pid: number; host: string };
}

/** The test namespace's objects for a scenario folder; bad input (not a folder, several namespaces, ...) is a SpecError. */
export function planEchoDeployment(options: EchoPlanOptions): EchoPlan {
  const { scenario, namespace, image, runId } = options;
  if (!isScenarioPath(scenario)) {
    throw new SpecError(
      `--deploy-echo deploys a scenario folder of your own Deployments and Services; the experiments use the built-in scenario ${scenario}, whose workloads are Bookinfo's own apps (deploy it with scripts/kind-up.ts)`,
      undefined,
      '--deploy-echo',
    );
  }
  checkEchoNamespace(namespace);
  const { resources } = loadScenario(scenario);
  const skipped: string[] = [];
  const used: ResourceRef[] = [];
  for (const r of resources) {
    const o = r.object;
    if (o.apiVersion.startsWith('meshproof.dev/')) {
      throw new SpecError(
        `${where(r)}: ${o.kind} ${o.metadata.name} is meshproof's own kind (a local stand-in), which no API server takes; --deploy-echo cannot install this scenario`,
        undefined,
        '--deploy-echo',
      );
    }
    if (o.kind === 'Namespace') {
      skipped.push(`Namespace ${o.metadata.name} (the test namespace ${namespace} takes its place)`);
    } else if (o.metadata.namespace === 'istio-system') {
      if (o.kind === 'ConfigMap' && o.metadata.name === 'istio')
        skipped.push('ConfigMap istio-system/istio (the mesh config belongs to the installation; meshproof does not change it)');
      else
        throw new SpecError(
          `${where(r)}: ${o.kind} istio-system/${o.metadata.name} would change the whole mesh, not only the test namespace; --deploy-echo installs the folder's own namespace only (apply it in the experiments instead, where it is restored)`,
          undefined,
          '--deploy-echo',
        );
    } else if (clusterScoped.has(o.kind)) {
      throw new SpecError(
        `${where(r)}: ${o.kind} ${o.metadata.name} is cluster-wide; --deploy-echo installs the folder's own namespace only`,
        undefined,
        '--deploy-echo',
      );
    } else {
      used.push(r);
    }
  }
  const namespaces = [...new Set(used.map((r) => r.object.metadata.namespace ?? 'default'))];
  if (namespaces.length > 1) {
    const examples = namespaces.map((ns) => {
      const r = used.find((u) => (u.object.metadata.namespace ?? 'default') === ns);
      return `${ns} (e.g. ${r ? `${r.object.kind} ${r.object.metadata.name} at ${where(r)}` : '?'})`;
    });
    throw new SpecError(
      `--deploy-echo moves the scenario's namespace into one test namespace, but ${displayPath(scenario)} spans ${namespaces.length}: ${examples.join(', ')}; give every object one namespace (a kustomization's \`namespace:\` does)`,
      undefined,
      '--deploy-echo',
    );
  }
  const services = used.filter((r) => r.object.kind === 'Service').map((r) => r.object);
  const mapping = new NamespaceMapping(
    namespaces[0] ?? 'default',
    namespace,
    services.map((s) => s.metadata.name),
  );
  const label = (o: K8sObject): K8sObject => ({ ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, [echoRunLabel]: runId } } });
  const deployments: K8sObject[] = [];
  const plain: K8sObject[] = [];
  const istio: K8sObject[] = [];
  for (const { object } of used) {
    const mapped = label(mapping.object(object));
    if (object.kind === 'Deployment') deployments.push(echoDeployment(mapped, services, image));
    else if (isIstioKind(object)) istio.push(mapped);
    else plain.push(mapped);
  }
  if (deployments.length === 0)
    throw new SpecError(`${displayPath(scenario)} has no Deployment: --deploy-echo would deploy no workload`, undefined, '--deploy-echo');
  const namespaceObject: K8sObject = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: namespace,
      labels: { 'istio-injection': 'enabled', [echoRunLabel]: runId },
      annotations: { [echoOwnerPidAnnotation]: String(options.owner.pid), [echoOwnerHostAnnotation]: options.owner.host },
    },
  };
  return { namespace: namespaceObject, objects: [...plain, ...deployments, ...istio], deployments, mapping, skipped };
}

interface ContainerView {
  name?: string;
  ports?: { name?: string; containerPort?: number }[];
  env?: unknown[];
  resources?: unknown;
}

const matches = (labels: Record<string, string>, selector: Record<string, string> | undefined) =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

/**
 * The Deployment with the echo image: its first container only (the local target runs one per pod), with its name,
 * ports, env and resources, the echo's identity in env (pod and namespace from the Downward API, the behaviour from
 * the meshproof.dev/echo annotation), `imagePullPolicy: IfNotPresent` (an image loaded into the nodes, not pulled).
 */
function echoDeployment(deployment: K8sObject, services: K8sObject[], image: string): K8sObject {
  const copy = structuredClone(deployment);
  const template = (field(copy.spec, 'template') ?? {}) as { metadata?: { labels?: Record<string, string> }; spec?: Record<string, unknown> };
  const labels = template.metadata?.labels ?? {};
  const podSpec = template.spec ?? {};
  const [first = {}] = (podSpec.containers ?? []) as ContainerView[];
  const selecting = services
    .filter((s) => matches(labels, field(s.spec, 'selector') as Record<string, string> | undefined))
    .map((s) => s.metadata.name)
    .sort();
  const port = servingPort(first, services, selecting);
  const env = echoEnv({
    services: selecting,
    app: labels.app ?? labels['app.kubernetes.io/name'] ?? deployment.metadata.name,
    version: labels.version ?? labels['app.kubernetes.io/version'] ?? 'unknown',
    port,
  });
  const container = {
    name: first.name ?? 'echo',
    image,
    imagePullPolicy: 'IfNotPresent',
    ports: first.ports ?? [{ name: 'http', containerPort: port }],
    env: [...(first.env ?? []).filter((e) => !String(field(e, 'name')).startsWith('MESHPROOF_ECHO_')), ...env],
    ...(first.resources !== undefined ? { resources: first.resources } : {}),
  };
  // The pod keeps what places and names it; what the user's own image needed (volumes, probes, init containers,
  // commands) is not the echo's.
  const keep = ['serviceAccountName', 'serviceAccount', 'nodeSelector', 'tolerations', 'affinity', 'securityContext', 'imagePullSecrets'];
  template.spec = { ...Object.fromEntries(keep.filter((k) => podSpec[k] !== undefined).map((k) => [k, podSpec[k]])), containers: [container] };
  return copy;
}

/** The port the echo listens on, as the local target picks it: a container port named http…, the first one, else the first selecting Service's. */
function servingPort(container: ContainerView, services: K8sObject[], selecting: string[]): number {
  const ports = container.ports ?? [];
  const named = ports.find((p) => typeof p.name === 'string' && p.name.startsWith('http'));
  const chosen = named ?? ports[0];
  if (chosen?.containerPort !== undefined) return chosen.containerPort;
  const service = services.find((s) => s.metadata.name === selecting[0]);
  const [p] = (field(service?.spec, 'ports') ?? []) as { port?: number; targetPort?: number | string }[];
  return typeof p?.targetPort === 'number' ? p.targetPort : (p?.port ?? 8080);
}
