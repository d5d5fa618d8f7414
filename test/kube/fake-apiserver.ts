// TEST DOUBLE — not a Kubernetes API server. An HTTP-level stand-in that implements exactly the calls the kube target
// makes (discovery, server-side apply, get/list/delete/replace/create with label selectors, pods, the pod proxy, pod
// port-forward over WebSocket) and checks requests the way a real API server does (bearer token, content types,
// fieldManager, label syntax, resourceVersion and uid preconditions, apply conflicts). Behind it, a simulated istiod
// serves /debug/syncz (pushes after each Istio config change, proxies ACK after a delay) and sidecars serve
// Prometheus text on :15090. Every request is recorded for assertions.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { parse as parseYaml } from 'yaml';
import { WebSocketServer, type WebSocket } from 'ws';
import { field, list } from '../../src/spec/untyped.ts';
import { must } from '../../src/must.ts';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string;
  body: string;
  authorization: string;
  /** Request headers other than Authorization (e.g. what a relay forwards). */
  headers?: Record<string, string>;
}

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    generation?: number;
    [k: string]: unknown;
  };
  [k: string]: unknown;
};

interface Resource {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

const core = (plural: string, kind: string, namespaced = true): Resource => ({ group: '', version: 'v1', plural, kind, namespaced });
const istio = (group: string, version: string, plural: string, kind: string): Resource => ({ group, version, plural, kind, namespaced: true });

const coreResources: Resource[] = [
  core('pods', 'Pod'),
  core('services', 'Service'),
  core('configmaps', 'ConfigMap'),
  core('namespaces', 'Namespace', false),
  { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true },
];

const istioResources: Resource[] = [
  ...['v1', 'v1beta1', 'v1alpha3'].flatMap((v) => [
    istio('networking.istio.io', v, 'virtualservices', 'VirtualService'),
    istio('networking.istio.io', v, 'destinationrules', 'DestinationRule'),
    istio('networking.istio.io', v, 'gateways', 'Gateway'),
    istio('networking.istio.io', v, 'serviceentries', 'ServiceEntry'),
    istio('networking.istio.io', v, 'sidecars', 'Sidecar'),
  ]),
  istio('networking.istio.io', 'v1alpha3', 'envoyfilters', 'EnvoyFilter'),
  ...['v1', 'v1beta1'].flatMap((v) => [
    istio('security.istio.io', v, 'authorizationpolicies', 'AuthorizationPolicy'),
    istio('security.istio.io', v, 'peerauthentications', 'PeerAuthentication'),
    istio('security.istio.io', v, 'requestauthentications', 'RequestAuthentication'),
  ]),
];

export const fakeToken = 'meshproof-test-token';

// Label syntax as the API server validates it (k8s.io/apimachinery validation: qualified names, label values).
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const labelName = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function labelProblems(labels: Record<string, string> | undefined): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(labels ?? {})) {
    const slash = key.lastIndexOf('/');
    const prefix = slash >= 0 ? key.slice(0, slash) : '';
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    if ((prefix && (!dnsSubdomain.test(prefix) || prefix.length > 253)) || !labelName.test(name) || name.length > 63)
      problems.push(`metadata.labels: Invalid value: "${key}"`);
    if (typeof value !== 'string' || value.length > 63 || !labelValue.test(value)) problems.push(`metadata.labels: Invalid value: "${value}"`);
  }
  return problems;
}

/** Does `labels` satisfy a Kubernetes label selector (equality, inequality, existence, set-based)? */
export function selectorMatches(selector: string, labels: Record<string, string> = {}): boolean {
  const terms = selector.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  return terms.every((raw) => {
    const term = raw.trim();
    if (term === '') return true;
    // Every group of these patterns takes part in a match.
    const [, setKey = '', operator, list = ''] = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term) ?? [];
    if (operator !== undefined) {
      const values = list.split(',').map((v) => v.trim());
      const value = labels[setKey];
      const has = value !== undefined && values.includes(value);
      return operator === 'in' ? has : !has;
    }
    const [, unequalKey = '', unequalValue] = /^([^\s!=]+)\s*!=\s*(.*)$/.exec(term) ?? [];
    if (unequalValue !== undefined) return labels[unequalKey] !== unequalValue;
    const [, equalKey = '', equalValue] = /^([^\s!=]+)\s*==?\s*(.*)$/.exec(term) ?? [];
    if (equalValue !== undefined) return labels[equalKey] === equalValue;
    const absentKey = /^!([^\s!=]+)$/.exec(term)?.[1];
    if (absentKey !== undefined) return !(absentKey in labels);
    return term in labels;
  });
}

/** The part of Istio's CRD OpenAPI schemas the tests exercise: route weights are integers (int32). */
function schemaProblems(body: Obj): { field: string; message: string }[] {
  const problems: { field: string; message: string }[] = [];
  if (body.kind !== 'VirtualService') return problems;
  list(field(body.spec, 'http')).forEach((rule, i) =>
    list(field(rule, 'route')).forEach((route, j) => {
      const weight = field(route, 'weight');
      if (weight !== undefined && !Number.isInteger(weight)) {
        const at = `spec.http[${i}].route[${j}].weight`;
        problems.push({ field: at, message: `Invalid value: "${typeof weight}": ${at} in body must be of type integer: "${typeof weight}"` });
      }
    }),
  );
  return problems;
}

function status(code: number, reason: string, message: string, details?: unknown) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, message, code, ...(details ? { details } : {}) };
}

/** Ownership paths an object's content gives: labels/annotations by key, data by key, spec by top-level field. */
function fieldPaths(obj: Obj): Map<string, string> {
  const paths = new Map<string, string>();
  for (const [k, v] of Object.entries(obj.metadata.labels ?? {})) paths.set(`metadata.labels.${k}`, JSON.stringify(v));
  for (const [k, v] of Object.entries(obj.metadata.annotations ?? {})) paths.set(`metadata.annotations.${k}`, JSON.stringify(v));
  for (const top of Object.keys(obj)) {
    if (top === 'apiVersion' || top === 'kind' || top === 'metadata' || top === 'status') continue;
    const value = obj[top];
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) paths.set(`${top}.${k}`, JSON.stringify(v));
    } else {
      paths.set(top, JSON.stringify(value));
    }
  }
  return paths;
}

function setPath(obj: Obj, path: string, value: unknown): void {
  const [a = '', b = '', ...rest] = path.split('.');
  if (a === 'metadata') {
    obj.metadata[b] = { ...(obj.metadata[b] as object | undefined), [rest.join('.')]: value };
    return;
  }
  if (!path.includes('.')) obj[a] = value;
  else obj[a] = { ...(obj[a] as object | undefined), [[b, ...rest].join('.')]: value };
}

function deletePath(obj: Obj, path: string): void {
  const [a = '', b = '', ...rest] = path.split('.');
  const nested = path.includes('.');
  const holder = a === 'metadata' ? obj.metadata[b] : !nested ? undefined : obj[a];
  if (a !== 'metadata' && !nested) {
    delete obj[a];
    return;
  }
  if (holder && typeof holder === 'object') delete (holder as Record<string, unknown>)[a === 'metadata' ? rest.join('.') : [b, ...rest].join('.')];
}

interface ManagedEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
}

function toFieldsV1(paths: Iterable<string>): Record<string, unknown> {
  // FieldsV1: nested objects of `f:<field>` keys, {} at the leaves.
  type Fields = { [key: string]: Fields };
  const root: Fields = {};
  for (const path of paths) {
    const [a, b, ...rest] = path.split('.');
    const tail = a === 'metadata' || b === undefined ? rest.join('.') : [b, ...rest].join('.');
    if (a === 'metadata') ((root['f:metadata'] ??= {})[`f:${b}`] ??= {})[`f:${tail}`] = {};
    else if (b === undefined) root[`f:${a}`] = {};
    else (root[`f:${a}`] ??= {})[`f:${tail}`] = {};
  }
  return root;
}

function fromFieldsV1(fields: Record<string, unknown>): string[] {
  const paths: string[] = [];
  for (const [a, av] of Object.entries(fields ?? {})) {
    const top = a.slice(2);
    if (top === 'metadata') {
      for (const [b, bv] of Object.entries(av as Record<string, object>)) for (const c of Object.keys(bv)) paths.push(`metadata.${b.slice(2)}.${c.slice(2)}`);
    } else if (av && typeof av === 'object' && Object.keys(av).length > 0) {
      for (const b of Object.keys(av)) paths.push(`${top}.${b.slice(2)}`);
    } else paths.push(top);
  }
  return paths;
}

export interface FakeProxy {
  pod: string;
  namespace: string;
  type: 'sidecar' | 'router';
}

export interface FakeApiServerOptions {
  istioInstalled?: boolean;
  /** Delay between a config change and istiod's push (ms). */
  pushDelayMs?: number;
  /** Delay between a push and the proxies' ACK (ms). */
  ackDelayMs?: number;
}

/** Bookinfo as the scenario deploys it, with istiod and the ingress gateway, every sidecar exporting what meshproof reads. */
export function bookinfoSeed(): Obj[] {
  const proxyConfig = 'proxyStatsMatcher:\n  inclusionPrefixes: [cluster.outbound]\n  inclusionRegexps: [".*http_local_rate_limit.*"]\n';
  const pod = (name: string, app: string, version: string): Obj => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      labels: { app, version, 'security.istio.io/tlsMode': 'istio' },
      annotations: { 'sidecar.istio.io/status': '{"containers":["istio-proxy"]}', 'proxy.istio.io/config': proxyConfig },
    },
    spec: {
      containers: [
        { name: app, image: `docker.io/istio/examples-bookinfo-${app}-${version}:1.20.3` },
        { name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.28.0' },
      ],
    },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  });
  const service = (app: string): Obj => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: app, namespace: 'default', labels: { app, service: app } },
    spec: { ports: [{ name: 'http', port: 9080 }], selector: { app } },
  });
  return [
    ...['details', 'ratings', 'reviews', 'productpage'].map(service),
    pod('details-v1-5f4d7c8b9-a1b2c', 'details', 'v1'),
    pod('ratings-v1-7d8f9c6b5-d3e4f', 'ratings', 'v1'),
    pod('reviews-v1-6c8d9f7b4-g5h6i', 'reviews', 'v1'),
    pod('reviews-v2-8b9c7d6f5-j7k8l', 'reviews', 'v2'),
    pod('reviews-v3-9c7d8b6f4-m9n0o', 'reviews', 'v3'),
    pod('productpage-v1-7f6d5c4b3-p1q2r', 'productpage', 'v1'),
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'istiod-6d7c8b9f5-s3t4u', namespace: 'istio-system', labels: { app: 'istiod', istio: 'pilot' } },
      spec: { containers: [{ name: 'discovery', image: 'docker.io/istio/pilot:1.28.0', ports: [{ name: 'http-monitoring', containerPort: 15014 }] }] },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'istio-ingressgateway-5c6d7b8f9-v5w6x',
        namespace: 'istio-system',
        labels: { app: 'istio-ingressgateway', istio: 'ingressgateway' },
        annotations: { 'sidecar.istio.io/status': '{}' },
      },
      spec: { containers: [{ name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.28.0' }] },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'istio-ingressgateway', namespace: 'istio-system', labels: { app: 'istio-ingressgateway', istio: 'ingressgateway' } },
      spec: { type: 'NodePort', ports: [{ name: 'http2', port: 80, targetPort: 8080, nodePort: 30080 }] },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'istio', namespace: 'istio-system' },
      data: { mesh: 'defaultConfig:\n  proxyStatsMatcher:\n    inclusionPrefixes: [cluster.outbound]\n    inclusionRegexps: [".*http_local_rate_limit.*"]\n' },
    },
  ];
}

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  /** Called for each request before it is handled; return 'drop' to leave it unanswered and unprocessed. */
  onRequest?: (req: RecordedRequest, index: number) => 'drop' | 'after' | void;
  /** Called after a request that onRequest answered 'after' was processed, before the answer is sent. */
  onProcessed?: (req: RecordedRequest, index: number) => void;
  private store = new Map<string, Obj>();
  private rv = 1;
  private server = http.createServer((req, res) => void this.handle(req, res));
  private readonly sockets = new Set<net.Socket>();
  private wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => (protocols.has('v4.channel.k8s.io') ? 'v4.channel.k8s.io' : false) });
  private backends = new Map<string, http.Server>();
  private backendPorts = new Map<string, number>();
  private counter = 0;
  private pushTimer?: NodeJS.Timeout;
  private syncState = new Map<string, Record<string, { sent?: string; acked?: string }>>();
  private timers = new Set<NodeJS.Timeout>();
  /** Proxies (pod.namespace) that never ACK, or that istiod never pushes to. */
  readonly stuck = new Set<string>();
  readonly unpushed = new Set<string>();
  /** Per pod: Prometheus text served on :15090/stats/prometheus. */
  readonly stats = new Map<string, string>();
  /**
   * The API server's own refusal of service-proxy requests (authorization 403, APF 429, ...), answered as a Status
   * before anything is proxied.
   */
  serviceProxyRefusal?: { code: number; reason: string; message: string };
  /** Answer of the gateway to any request through a port-forward. */
  gatewayBody = 'gateway ok';
  istioInstalled: boolean;
  port = 0;

  constructor(private readonly options: FakeApiServerOptions = {}) {
    this.istioInstalled = options.istioInstalled ?? true;
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket as net.Socket, head));
    // Upgraded sockets (port-forward tunnels, some left half-open by killed clients) are not covered by
    // closeAllConnections(); track every socket so stop() can always finish.
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    clearTimeout(this.pushTimer);
    for (const c of this.wss.clients) c.terminate();
    for (const b of this.backends.values()) {
      b.closeAllConnections();
      b.close();
    }
    this.server.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A kubeconfig (YAML) whose context `context` points at this server. */
  kubeconfig(context = 'kind-meshproof'): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      `current-context: ${context}`,
      'clusters:',
      `- name: fake\n  cluster:\n    server: ${this.url}\n    insecure-skip-tls-verify: true`,
      'users:',
      `- name: tester\n  user:\n    token: ${fakeToken}`,
      'contexts:',
      `- name: ${context}\n  context:\n    cluster: fake\n    user: tester`,
      `- name: staging\n  context:\n    cluster: fake\n    user: tester`,
      '',
    ].join('\n');
  }

  // ---- state --------------------------------------------------------------------------------------------------

  private resourcesServed(): Resource[] {
    return this.istioInstalled ? [...coreResources, ...istioResources] : coreResources;
  }

  private keyOf(r: Resource, namespace: string | undefined, name: string): string {
    // Istio kinds are stored once per group whatever version addresses them, as a real API server does.
    return `${r.group}/${r.plural}/${namespace ?? ''}/${name}`;
  }

  /** Replace the whole state with `objects` (server fields are filled in) and reset istiod. */
  reset(objects: Obj[]): void {
    this.store.clear();
    this.requests.length = 0;
    for (const o of objects) {
      const r = this.resourceFor(o.apiVersion, o.kind);
      if (!r) throw new Error(`fake: unknown kind ${o.apiVersion} ${o.kind}`);
      const copy = structuredClone(o);
      copy.metadata.uid = randomUUID();
      copy.metadata.resourceVersion = String(++this.rv);
      copy.metadata.creationTimestamp = '2026-01-01T00:00:00Z';
      copy.metadata.managedFields ??= [
        {
          manager: 'kubectl-client-side-apply',
          operation: 'Update',
          apiVersion: o.apiVersion,
          time: '2026-01-01T00:00:00Z',
          fieldsType: 'FieldsV1',
          fieldsV1: toFieldsV1(fieldPaths(copy).keys()),
        },
      ];
      this.store.set(this.keyOf(r, o.metadata.namespace, o.metadata.name), copy);
    }
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    clearTimeout(this.pushTimer);
    this.pushTimer = undefined;
    this.syncState.clear();
    this.stuck.clear();
    this.unpushed.clear();
    this.serviceProxyRefusal = undefined;
    this.pushNow(true);
  }

  objects(): Obj[] {
    return [...this.store.values()].map((o) => structuredClone(o));
  }

  /** Another client's update of an existing object (a new resourceVersion; istiod reacts as to any update). */
  update(object: Obj): void {
    const r = this.resourceFor(object.apiVersion, object.kind);
    if (!r) throw new Error(`fake: unknown kind ${object.apiVersion} ${object.kind}`);
    const key = this.keyOf(r, object.metadata.namespace, object.metadata.name);
    const live = this.store.get(key);
    if (!live) throw new Error(`fake: no ${object.kind} ${object.metadata.name} to update`);
    const next = structuredClone(object);
    this.stamp(next, live);
    this.store.set(key, next);
    this.configChanged(r, live, next);
  }

  find(kind: string, namespace: string | undefined, name: string): Obj | undefined {
    return this.objects().find((o) => o.kind === kind && o.metadata.name === name && (o.metadata.namespace ?? '') === (namespace ?? ''));
  }

  proxies(): FakeProxy[] {
    return this.objects()
      .filter((o) => o.kind === 'Pod' && o.metadata.annotations?.['sidecar.istio.io/status'])
      .map((o) => ({ pod: o.metadata.name, namespace: o.metadata.namespace!, type: o.metadata.labels?.istio === 'ingressgateway' ? 'router' : 'sidecar' }));
  }

  // ---- istiod ------------------------------------------------------------------------------------------------

  private pushVersion(): string {
    return `${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}/${++this.counter}`;
  }

  private pushNow(initial = false): void {
    const version = this.pushVersion();
    for (const p of this.proxies()) {
      const id = `${p.pod}.${p.namespace}`;
      if (!initial && this.unpushed.has(id)) continue;
      const state = this.syncState.get(id) ?? {};
      for (const type of ['cds', 'lds', 'rds', 'eds']) {
        const nonce = version + randomUUID();
        state[type] = { sent: nonce, acked: initial ? nonce : state[type]?.acked };
      }
      this.syncState.set(id, state);
      if (initial || this.stuck.has(id)) continue;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        for (const s of Object.values(state)) s.acked = s.sent;
      }, this.options.ackDelayMs ?? 30);
      this.timers.add(timer);
    }
  }

  /**
   * istiod pushes after a change of an Istio object, except an update that leaves the spec as it was and carries no
   * `istio.io` label or annotation key before or after (pilot/pkg/bootstrap/config_compare.go, needsPush).
   */
  private configChanged(r: Resource, prev?: Obj, next?: Obj): void {
    if (!r.group.endsWith('istio.io')) return;
    if (prev && next) {
      const keys = [prev, next].flatMap((o) => [...Object.keys(o.metadata.labels ?? {}), ...Object.keys(o.metadata.annotations ?? {})]);
      if (!keys.some((k) => k.includes('istio.io')) && JSON.stringify(sortedKeys(prev.spec)) === JSON.stringify(sortedKeys(next.spec))) return;
    }
    clearTimeout(this.pushTimer);
    this.pushTimer = setTimeout(() => this.pushNow(), this.options.pushDelayMs ?? 20);
  }

  private syncz(): string {
    const field = { cds: 'cluster', lds: 'listener', rds: 'route', eds: 'endpoint' } as Record<string, string>;
    return JSON.stringify(
      this.proxies().map((p) => {
        const id = `${p.pod}.${p.namespace}`;
        const out: Record<string, string> = { cluster_id: 'Kubernetes', proxy: id, proxy_type: p.type, istio_version: '1.28.0' };
        for (const [type, s] of Object.entries(this.syncState.get(id) ?? {})) {
          if (s.sent) out[`${field[type]}_sent`] = s.sent;
          if (s.acked) out[`${field[type]}_acked`] = s.acked;
        }
        return out;
      }),
    );
  }

  // ---- HTTP ---------------------------------------------------------------------------------------------------

  private resourceFor(apiVersion: string, kind: string): Resource | undefined {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    return this.resourcesServed().find((r) => r.group === group && r.version === version && r.kind === kind);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: String(req.headers['content-type'] ?? ''),
      body: Buffer.concat(chunks).toString('utf8'),
      authorization: String(req.headers.authorization ?? ''),
      headers: Object.fromEntries(
        Object.entries(req.headers)
          .filter(([k]) => k !== 'authorization')
          .map(([k, v]) => [k, String(v)]),
      ),
    };
    const index = this.requests.push(record) - 1;
    const hook = this.onRequest?.(record, index);
    if (hook === 'drop') return; // the caller is being killed: the request never reaches "etcd"
    const send = (code: number, body: unknown, type = 'application/json') => {
      if (hook === 'after') this.onProcessed?.(record, index);
      if (res.destroyed) return;
      res.writeHead(code, { 'Content-Type': type });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (record.authorization !== `Bearer ${fakeToken}`) return send(401, status(401, 'Unauthorized', 'Unauthorized'));
    try {
      const [code, body, type] = this.route(record, url);
      send(code, body, type);
    } catch (error) {
      send(500, status(500, 'InternalError', (error as Error).message));
    }
  }

  private route(r: RecordedRequest, url: URL): [number, unknown, string?] {
    const p = r.path;
    if (p === '/version') return [200, { major: '1', minor: '33', gitVersion: 'v1.33.1' }];
    const [pod, podNamespace = '', podName = '', podPort, podPath = ''] =
      /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/:]+):(\d+)\/proxy\/(.*)$/.exec(url.pathname) ?? [];
    if (pod !== undefined) return this.podProxy(podNamespace, podName, Number(podPort), podPath);
    const [service, serviceNamespace = '', serviceName = '', servicePort = '', servicePath = '/'] =
      /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/:]+):([^/]+)\/proxy(\/.*)?$/.exec(url.pathname) ?? [];
    if (service !== undefined) return this.serviceProxy(serviceNamespace, serviceName, servicePort, `${servicePath}${url.search}`, r);
    if (p === '/api/v1') return [200, this.discovery('', 'v1')];
    const [apis, apiGroup = '', apiVersion = ''] = /^\/apis\/([^/]+)\/([^/]+)$/.exec(p) ?? [];
    if (apis !== undefined) {
      const list = this.discovery(apiGroup, apiVersion);
      return list.resources.length > 0 ? [200, list] : [404, status(404, 'NotFound', 'the server could not find the requested resource')];
    }
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/.exec(p);
    if (!m) return [404, status(404, 'NotFound', `no route ${p}`)];
    const group = m[2] ?? '';
    const version = m[1] ?? m[3];
    const resource = this.resourcesServed().find((x) => x.group === group && x.version === version && x.plural === m[5]);
    if (!resource) return [404, status(404, 'NotFound', 'the server could not find the requested resource')];
    const namespace = resource.namespaced ? m[4] : undefined;
    const name = m[6] ? decodeURIComponent(m[6]) : undefined;
    if (!name) {
      if (r.method === 'GET') return this.list(resource, namespace, r.query);
      if (r.method === 'POST') return this.create(resource, namespace, r);
      return [405, status(405, 'MethodNotAllowed', r.method)];
    }
    if (resource.namespaced && !namespace) return [404, status(404, 'NotFound', 'namespaced resource addressed without a namespace')];
    switch (r.method) {
      case 'GET':
        return this.get(resource, namespace, name);
      case 'PATCH':
        return this.apply(resource, namespace, name, r);
      case 'PUT':
        return this.replace(resource, namespace, name, r);
      case 'DELETE':
        return this.remove(resource, namespace, name, r);
      default:
        return [405, status(405, 'MethodNotAllowed', r.method)];
    }
  }

  private discovery(group: string, version: string) {
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: group ? `${group}/${version}` : version,
      resources: this.resourcesServed()
        .filter((r) => r.group === group && r.version === version)
        .map((r) => ({
          name: r.plural,
          singularName: r.kind.toLowerCase(),
          namespaced: r.namespaced,
          kind: r.kind,
          verbs: ['create', 'delete', 'get', 'list', 'patch', 'update'],
        })),
    };
  }

  private notFound(r: Resource, name: string): [number, unknown] {
    return [404, status(404, 'NotFound', `${r.plural}.${r.group || 'core'} "${name}" not found`, { name, group: r.group, kind: r.plural })];
  }

  private view(o: Obj, r: Resource): Obj {
    const copy = structuredClone(o);
    copy.apiVersion = r.group ? `${r.group}/${r.version}` : r.version;
    return copy;
  }

  private get(r: Resource, namespace: string | undefined, name: string): [number, unknown] {
    const o = this.store.get(this.keyOf(r, namespace, name));
    return o ? [200, this.view(o, r)] : this.notFound(r, name);
  }

  private list(r: Resource, namespace: string | undefined, query: Record<string, string>): [number, unknown] {
    let items = [...this.store.entries()]
      .filter(([k]) => k.startsWith(`${r.group}/${r.plural}/${namespace === undefined ? '' : `${namespace}/`}`))
      .map(([, o]) => o)
      .filter((o) => !query.labelSelector || selectorMatches(query.labelSelector, o.metadata.labels));
    if (query.fieldSelector) {
      const [selected, value] = query.fieldSelector.split('=');
      items = items.filter((o) => (selected === 'status.phase' ? field(o.status, 'phase') === value : true));
    }
    items.sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
    const start = Number(query.continue ?? 0);
    const limit = Number(query.limit ?? 0) || items.length;
    const page = items.slice(start, start + limit);
    const next = start + limit < items.length ? String(start + limit) : undefined;
    return [
      200,
      {
        apiVersion: r.group ? `${r.group}/${r.version}` : 'v1',
        kind: `${r.kind}List`,
        metadata: { resourceVersion: String(this.rv), ...(next ? { continue: next } : {}) },
        items: page.map((o) => this.view(o, r)),
      },
    ];
  }

  private parseBody(r: RecordedRequest): Obj {
    const parsed = (r.contentType.startsWith('application/apply-patch+yaml') ? parseYaml(r.body) : JSON.parse(r.body)) as Obj;
    if (!parsed || typeof parsed !== 'object' || !parsed.metadata) throw new Error('body is not an object with metadata');
    return parsed;
  }

  private checkBody(res: Resource, namespace: string | undefined, name: string | undefined, body: Obj): [number, unknown] | undefined {
    const expected = res.group ? `${res.group}/${res.version}` : res.version;
    if (body.apiVersion !== expected || body.kind !== res.kind)
      return [400, status(400, 'BadRequest', `the API version in the data (${body.apiVersion}) does not match the expected API version (${expected})`)];
    if (name !== undefined && body.metadata.name !== name) return [400, status(400, 'BadRequest', 'the name of the object does not match the name on the URL')];
    if (res.namespaced && body.metadata.namespace !== undefined && body.metadata.namespace !== namespace) {
      return [400, status(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request')];
    }
    const typeErrors = schemaProblems(body);
    if (typeErrors.length > 0) {
      return [
        422,
        status(422, 'Invalid', `${res.kind}.${res.group} "${body.metadata.name}" is invalid: ${typeErrors.map((e) => `${e.field}: ${e.message}`).join(', ')}`, {
          causes: typeErrors.map((e) => ({ reason: 'FieldValueTypeInvalid', ...e })),
        }),
      ];
    }
    const problems = labelProblems(body.metadata.labels);
    if (problems.length > 0)
      return [
        422,
        status(422, 'Invalid', `${res.kind} "${body.metadata.name}" is invalid`, {
          causes: problems.map((m) => ({ reason: 'FieldValueInvalid', message: m, field: 'metadata.labels' })),
        }),
      ];
    return undefined;
  }

  private stamp(o: Obj, prior?: Obj): void {
    o.metadata.uid = prior?.metadata.uid ?? randomUUID();
    o.metadata.creationTimestamp = prior?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    o.metadata.resourceVersion = String(++this.rv);
    o.metadata.generation = (prior?.metadata.generation ?? 0) + (JSON.stringify(prior?.spec) === JSON.stringify(o.spec) && prior ? 0 : 1);
  }

  /** Server-side apply: fields in the applied config become meshproof's; conflicts with other managers are 409s unless forced. */
  private apply(res: Resource, namespace: string | undefined, name: string, r: RecordedRequest): [number, unknown] {
    if (!r.contentType.startsWith('application/apply-patch+yaml')) {
      return [
        415,
        status(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
        ),
      ];
    }
    const manager = r.query.fieldManager;
    if (!manager) return [422, status(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch')];
    const body = this.parseBody(r);
    const bad = this.checkBody(res, namespace, name, body);
    if (bad) return bad;
    const key = this.keyOf(res, namespace, name);
    const live = this.store.get(key);
    const applied = fieldPaths(body);
    if (!live) {
      const created: Obj = { ...structuredClone(body), metadata: { ...structuredClone(body.metadata), namespace } };
      if (!res.namespaced) delete created.metadata.namespace;
      created.metadata.managedFields = [
        {
          manager,
          operation: 'Apply',
          apiVersion: body.apiVersion,
          time: new Date().toISOString(),
          fieldsType: 'FieldsV1',
          fieldsV1: toFieldsV1(applied.keys()),
        },
      ];
      this.stamp(created);
      this.store.set(key, created);
      this.configChanged(res);
      return [201, this.view(created, res)];
    }
    const entries = (live.metadata.managedFields ?? []) as ManagedEntry[];
    const liveValues = fieldPaths(live);
    const conflicts: { manager: string; field: string }[] = [];
    for (const entry of entries) {
      if (entry.manager === manager) continue;
      for (const path of fromFieldsV1(entry.fieldsV1)) {
        if (applied.has(path) && liveValues.has(path) && applied.get(path) !== liveValues.get(path)) conflicts.push({ manager: entry.manager, field: path });
      }
    }
    if (conflicts.length > 0 && r.query.force !== 'true') {
      return [
        409,
        status(
          409,
          'Conflict',
          `Apply failed with ${conflicts.length} conflict(s): ${conflicts.map((c) => `conflict with "${c.manager}": .${c.field}`).join(', ')}`,
          { causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}"`, field: `.${c.field}` })) },
        ),
      ];
    }
    const next = structuredClone(live);
    const previouslyMine = new Set(entries.filter((e) => e.manager === manager && e.operation === 'Apply').flatMap((e) => fromFieldsV1(e.fieldsV1)));
    const ownedByOthers = new Set(entries.filter((e) => e.manager !== manager).flatMap((e) => fromFieldsV1(e.fieldsV1)));
    for (const path of previouslyMine) if (!applied.has(path) && !ownedByOthers.has(path)) deletePath(next, path);
    for (const [path, value] of applied) setPath(next, path, JSON.parse(value));
    const others = entries
      .filter((e) => e.manager !== manager || e.operation !== 'Apply')
      .map((e) => ({ ...e, fieldsV1: toFieldsV1(fromFieldsV1(e.fieldsV1).filter((f) => !applied.has(f))) }))
      .filter((e) => Object.keys(e.fieldsV1).length > 0);
    next.metadata.managedFields = [
      ...others,
      {
        manager,
        operation: 'Apply',
        apiVersion: body.apiVersion,
        time: new Date().toISOString(),
        fieldsType: 'FieldsV1',
        fieldsV1: toFieldsV1(applied.keys()),
      },
    ];
    this.stamp(next, live);
    this.store.set(key, next);
    this.configChanged(res, live, next);
    return [200, this.view(next, res)];
  }

  private replace(res: Resource, namespace: string | undefined, name: string, r: RecordedRequest): [number, unknown] {
    if (!r.contentType.startsWith('application/json')) return [415, status(415, 'UnsupportedMediaType', r.contentType)];
    const body = this.parseBody(r);
    const bad = this.checkBody(res, namespace, name, body);
    if (bad) return bad;
    const key = this.keyOf(res, namespace, name);
    const live = this.store.get(key);
    if (!live) return this.notFound(res, name);
    if (body.metadata.resourceVersion !== undefined && body.metadata.resourceVersion !== live.metadata.resourceVersion) {
      return [
        409,
        status(
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${res.plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        ),
      ];
    }
    if (body.metadata.uid !== undefined && body.metadata.uid !== live.metadata.uid)
      return [409, status(409, 'Conflict', 'Precondition failed: UID in precondition does not match')];
    const next: Obj = structuredClone(body);
    next.metadata.namespace = namespace;
    if (!res.namespaced) delete next.metadata.namespace;
    if (live.status !== undefined && res.kind !== 'ConfigMap') next.status = live.status; // status subresource: PUT ignores status
    next.metadata.managedFields = body.metadata.managedFields ?? live.metadata.managedFields;
    this.stamp(next, live);
    this.store.set(key, next);
    this.configChanged(res, live, next);
    return [200, this.view(next, res)];
  }

  private create(res: Resource, namespace: string | undefined, r: RecordedRequest): [number, unknown] {
    if (!r.contentType.startsWith('application/json')) return [415, status(415, 'UnsupportedMediaType', r.contentType)];
    const body = this.parseBody(r);
    const bad = this.checkBody(res, namespace, undefined, body);
    if (bad) return bad;
    const key = this.keyOf(res, namespace, body.metadata.name);
    if (this.store.has(key)) return [409, status(409, 'AlreadyExists', `${res.plural} "${body.metadata.name}" already exists`)];
    if (body.metadata.resourceVersion !== undefined) return [400, status(400, 'BadRequest', 'resourceVersion should not be set on objects to be created')];
    const created: Obj = structuredClone(body);
    created.metadata.namespace = namespace;
    if (!res.namespaced) delete created.metadata.namespace;
    created.metadata.managedFields ??= [
      {
        manager: r.query.fieldManager ?? 'unknown',
        operation: 'Update',
        apiVersion: body.apiVersion,
        time: new Date().toISOString(),
        fieldsType: 'FieldsV1',
        fieldsV1: toFieldsV1(fieldPaths(created).keys()),
      },
    ];
    this.stamp(created);
    this.store.set(key, created);
    this.configChanged(res);
    return [201, this.view(created, res)];
  }

  private remove(res: Resource, namespace: string | undefined, name: string, r: RecordedRequest): [number, unknown] {
    const key = this.keyOf(res, namespace, name);
    const live = this.store.get(key);
    if (!live) return this.notFound(res, name);
    if (r.body) {
      if (!r.contentType.startsWith('application/json')) return [415, status(415, 'UnsupportedMediaType', r.contentType)];
      const options = JSON.parse(r.body) as { preconditions?: { uid?: string; resourceVersion?: string } };
      if (options.preconditions?.uid && options.preconditions.uid !== live.metadata.uid) {
        return [
          409,
          status(409, 'Conflict', `Precondition failed: UID in precondition: ${options.preconditions.uid}, UID in object meta: ${live.metadata.uid}`),
        ];
      }
    }
    this.store.delete(key);
    this.configChanged(res);
    return [200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, kind: res.plural, uid: live.metadata.uid } }];
  }

  private podProxy(namespace: string, pod: string, port: number, path: string): [number, unknown, string?] {
    const o = this.store.get(`/pods/${namespace}/${pod}`);
    if (!o) return [404, status(404, 'NotFound', `pods "${pod}" not found`)];
    if (o.metadata.labels?.app === 'istiod') {
      // istiod's debug handlers answer unauthenticated callers only from localhost (pilot/pkg/xds/debug.go), and the
      // API server does not forward the caller's token: through the pod proxy they are refused.
      return [401, '', 'text/plain'];
    }
    // The path arrives as sent: an encoded `stats%2Fprometheus` is not Envoy's stats path.
    if (port === 15090 && path === 'stats/prometheus') {
      return [200, this.stats.get(pod) ?? defaultStats(o), 'text/plain; version=0.0.4'];
    }
    return [404, `envoy: no ${path} on port ${port}`, 'text/plain'];
  }

  /**
   * The API server's service proxy: it dials one ready pod of the Service at its IP, as a client without a sidecar.
   * A sidecar whose effective PeerAuthentication is STRICT resets that plaintext connection, and the API server answers
   * 503 "error trying to reach service: ..." (k8s.io/apimachinery pkg/util/proxy/transport.go). Otherwise the pod's
   * app answers: /status/<code> with that code (text), /json/<code> with that code and a JSON error body, anything else
   * 200 with a JSON echo of the request.
   */
  private serviceProxy(namespace: string, name: string, port: string, pathAndQuery: string, r: RecordedRequest): [number, unknown, string?] {
    if (this.serviceProxyRefusal) {
      const { code, reason, message } = this.serviceProxyRefusal;
      return [code, status(code, reason, message)];
    }
    const service = this.store.get(`/services/${namespace}/${name}`);
    if (!service) return [404, status(404, 'NotFound', `services "${name}" not found`, { name, kind: 'services' })];
    const servicePort = (list(field(service.spec, 'ports')) as { name?: string; port: number; targetPort?: number | string }[]).find(
      (p) => String(p.port) === port || p.name === port,
    );
    if (!servicePort) return [503, status(503, 'ServiceUnavailable', `no endpoints available for service "${name}:${port}"`)];
    const selector = (field(service.spec, 'selector') ?? {}) as Record<string, string>;
    const pods = this.objects().filter(
      (o) =>
        o.kind === 'Pod' &&
        o.metadata.namespace === namespace &&
        Object.entries(selector).every(([k, v]) => o.metadata.labels?.[k] === v) &&
        list(field(o.status, 'conditions')).some((c) => field(c, 'type') === 'Ready' && field(c, 'status') === 'True'),
    );
    if (pods.length === 0) return [503, status(503, 'ServiceUnavailable', `no endpoints available for service "${name}"`)];
    const pod = must(pods[0], 'pod');
    const targetPort = Number(servicePort.targetPort ?? servicePort.port);
    const sidecar = list(field(pod.spec, 'containers')).some((c) => field(c, 'name') === 'istio-proxy');
    if (sidecar && this.mtlsMode(namespace, pod.metadata.labels ?? {}, targetPort) === 'STRICT') {
      return [
        503,
        status(
          503,
          'ServiceUnavailable',
          `error trying to reach service: read tcp 10.244.0.1:41532->10.244.0.17:${targetPort}: read: connection reset by peer`,
        ),
      ];
    }
    const code = /^\/status\/(\d{3})/.exec(pathAndQuery)?.[1];
    if (code) return [Number(code), `status ${code} from ${pod.metadata.name}`, 'text/plain'];
    const jsonCode = /^\/json\/(\d{3})/.exec(pathAndQuery)?.[1];
    if (jsonCode) return [Number(jsonCode), { error: `status ${jsonCode} from ${pod.metadata.name}` }];
    return [200, { pod: pod.metadata.name, method: r.method, path: pathAndQuery, contentType: r.contentType, body: r.body, headers: r.headers }];
  }

  /**
   * Effective mTLS mode of a workload's port (Istio PeerAuthentication): a workload policy (selector) in its namespace
   * (portLevelMtls first), else the namespace policy, else the mesh policy in the root namespace; UNSET inherits;
   * nothing set is PERMISSIVE.
   */
  private mtlsMode(namespace: string, labels: Record<string, string>, port: number): string {
    const policies = this.objects().filter((o) => o.kind === 'PeerAuthentication');
    const modeOf = (p: Obj | undefined, withPort: boolean): string | undefined => {
      const portMode = withPort ? field(p?.spec, 'portLevelMtls', String(port), 'mode') : undefined;
      const mode = (portMode ?? field(p?.spec, 'mtls', 'mode')) as string | undefined;
      return mode && mode !== 'UNSET' ? mode : undefined;
    };
    const workload = policies.find(
      (p) =>
        p.metadata.namespace === namespace &&
        field(p.spec, 'selector', 'matchLabels') &&
        Object.entries(field(p.spec, 'selector', 'matchLabels') as Record<string, string>).every(([k, v]) => labels[k] === v),
    );
    const namespaced = policies.find((p) => p.metadata.namespace === namespace && !field(p.spec, 'selector'));
    const mesh = policies.find((p) => p.metadata.namespace === 'istio-system' && !field(p.spec, 'selector'));
    return modeOf(workload, true) ?? modeOf(namespaced, false) ?? modeOf(mesh, false) ?? 'PERMISSIVE';
  }

  // ---- port-forward (WebSocket, v4.channel.k8s.io) -------------------------------------------------------------

  private upgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const [, namespace, name] = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward$/.exec(url.pathname) ?? [];
    const record: RecordedRequest = {
      method: 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: '',
      body: '',
      authorization: String(req.headers.authorization ?? ''),
    };
    const index = this.requests.push(record) - 1;
    const hook = this.onRequest?.(record, index);
    if (hook === 'drop') return;
    if (hook === 'after') this.onProcessed?.(record, index);
    if (namespace === undefined || name === undefined || record.authorization !== `Bearer ${fakeToken}` || !this.store.has(`/pods/${namespace}/${name}`)) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    const port = Number(url.searchParams.get('ports'));
    this.wss.handleUpgrade(req, socket, head, (ws) => void this.bridge(ws, namespace, name, port));
  }

  private async bridge(ws: WebSocket, namespace: string, pod: string, port: number): Promise<void> {
    const portBytes = Buffer.from([port & 0xff, port >> 8]);
    ws.send(Buffer.concat([Buffer.from([0]), portBytes]));
    ws.send(Buffer.concat([Buffer.from([1]), portBytes]));
    const backend = await this.backend(namespace, pod, port);
    if (backend === undefined) {
      ws.send(Buffer.concat([Buffer.from([1]), Buffer.from(`error forwarding port ${port} to pod ${pod}: connection refused`)]));
      ws.close();
      return;
    }
    const tcp = net.connect(backend, '127.0.0.1');
    const pending: Buffer[] = [];
    let connected = false;
    tcp.on('connect', () => {
      connected = true;
      for (const b of pending) tcp.write(b);
    });
    ws.on('message', (data: Buffer) => {
      if (data[0] !== 0) return;
      const payload = data.subarray(1);
      if (connected) tcp.write(payload);
      else pending.push(payload);
    });
    tcp.on('data', (d) => ws.readyState === ws.OPEN && ws.send(Buffer.concat([Buffer.from([0]), d])));
    tcp.on('close', () => ws.close());
    tcp.on('error', () => ws.close());
    ws.on('close', () => tcp.destroy());
  }

  /** The in-pod server a port-forward reaches: istiod's monitoring port, or the gateway's HTTP port. */
  private async backend(namespace: string, pod: string, port: number): Promise<number | undefined> {
    const o = this.store.get(`/pods/${namespace}/${pod}`);
    const isIstiod = o?.metadata.labels?.app === 'istiod' && port === 15014;
    const isGateway = o?.metadata.labels?.istio === 'ingressgateway' && port === 8080;
    // Envoy's Prometheus listener of a pod with a proxy (the kube target reads counters through port-forward).
    const isStats = port === 15090 && o !== undefined && o.metadata.labels?.app !== 'istiod';
    if (!isIstiod && !isGateway && !isStats) return undefined;
    const key = isIstiod ? 'istiod' : isGateway ? 'gateway' : `stats/${namespace}/${pod}`;
    const known = this.backendPorts.get(key);
    if (known) return known;
    const server = http.createServer((req, res) => {
      if (isIstiod && req.url?.startsWith('/debug/syncz')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(this.syncz());
      } else if (isIstiod && req.url === '/version') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('1.28.0-0123456789abcdef0123456789abcdef01234567-Clean');
      } else if (isGateway) {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end(this.gatewayBody);
      } else if (isStats && req.url === '/stats/prometheus') {
        res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
        const live = this.store.get(`/pods/${namespace}/${pod}`);
        res.end(this.stats.get(pod) ?? (live ? defaultStats(live) : ''));
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port0 = (server.address() as net.AddressInfo).port;
    this.backends.set(key, server);
    this.backendPorts.set(key, port0);
    return port0;
  }
}

/** A JSON value with object keys in order, so that two equal specs print alike. */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortedKeys((value as Record<string, unknown>)[k])]),
    );
  return value ?? null;
}

function defaultStats(pod: Obj): string {
  const app = pod.metadata.labels?.app ?? 'unknown';
  return [
    '# TYPE envoy_cluster_upstream_rq_retry counter',
    `envoy_cluster_upstream_rq_retry{cluster_name="outbound|9080|v1|ratings.default.svc.cluster.local"} 3`,
    '# TYPE istio_requests_total counter',
    `istio_requests_total{reporter="destination",destination_workload="${app}",response_code="200"} 10`,
    '',
  ].join('\n');
}
