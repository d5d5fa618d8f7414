// What a run proved, per service (issue 19 item 4): for each Istio resource an experiment applied, the behaviours its
// fields decide (a retry policy, a timeout, a fault, a split, a connection pool, an authorization policy...), the
// services they apply to, and whether an expectation of the same experiment exercised each one — a retry policy applied
// but never checked is unverified. And the run's service graph: the calls between workloads and services the proxies
// counted (istio_requests_total), with request counts, error shares and response flags.
import type { CounterSample } from '../observe/types.ts';
import { resourceId } from '../spec/resources.ts';
import type { Expectation, K8sObject } from '../spec/types.ts';

export const BEHAVIOURS = [
  'routing',
  'traffic split',
  'retries',
  'timeout',
  'fault abort',
  'fault delay',
  'header operations',
  'rewrite',
  'connection pool',
  'outlier detection',
  'load balancer',
  'client TLS',
  'authorization',
  'peer authentication',
  'request authentication',
  'local rate limit',
  'CORS',
  'metrics',
] as const;
export type Behaviour = (typeof BEHAVIOURS)[number];

export interface CoveredBehaviour {
  behaviour: Behaviour;
  /** `Kind/namespace/name` and the field that decides it, e.g. `spec.http[0].retries`. */
  resource: string;
  field: string;
  /** Experiments that applied it. */
  experiments: string[];
  /** Titles of the expectations that exercised it (in those experiments). */
  verifiedBy: string[];
  status: 'verified' | 'unverified';
}

export interface ServiceCoverage {
  /** A Service's short name, or `namespace <ns>` for a namespace-wide policy. */
  service: string;
  behaviours: CoveredBehaviour[];
  verified: number;
  total: number;
}

export interface ServiceEdge {
  /** Calling workload (source_workload), e.g. `productpage-v1` or `istio-ingressgateway`. */
  source: string;
  /** Called Service (destination_service_name), e.g. `reviews`. */
  destination: string;
  requests: number;
  /** Share of responses with a 5xx code or none (0: reset). */
  errorShare: number;
  /** Requests by Envoy response flag (`-` left out). */
  flags: Record<string, number>;
}

export interface RunCoverage {
  services: ServiceCoverage[];
  graph: ServiceEdge[];
}

/** What one experiment contributes: its resources, its expectations, its counters. */
export interface CoverageInput {
  name: string;
  resources: K8sObject[];
  expectations: Expectation[];
  counters: CounterSample[];
}

interface Found {
  behaviour: Behaviour;
  services: string[];
  resource: string;
  field: string;
}

const shortName = (host: string) => (host.split('.', 1)[0] ?? host).toLowerCase();
const idOf = resourceId;

/** The Services a workload selector names (its `app` label), or the namespace when it selects every workload. */
function selected(o: K8sObject, labels: Record<string, string> | undefined): string[] {
  if (labels?.app) return [labels.app];
  return [`namespace ${o.metadata.namespace ?? 'default'}`];
}

function virtualServiceBehaviours(o: K8sObject): Found[] {
  const out: Found[] = [];
  const spec = (o.spec ?? {}) as { hosts?: string[]; http?: Record<string, unknown>[] };
  const id = idOf(o);
  (spec.http ?? []).forEach((rule, i) => {
    const routes = (rule.route as { destination?: { host?: string }; weight?: number }[] | undefined) ?? [];
    const destinations = [
      ...new Set(
        routes
          .map((r) => r.destination?.host)
          .filter((h): h is string => !!h)
          .map(shortName),
      ),
    ];
    const services = destinations.length > 0 ? destinations : (spec.hosts ?? []).filter((h) => h !== '*').map(shortName);
    const at = `spec.http[${i}]`;
    const add = (behaviour: Behaviour, field: string) => out.push({ behaviour, services, resource: id, field: `${at}.${field}` });
    if (rule.match !== undefined || (spec.http ?? []).length > 1 || routes.some((r) => (r.destination as { subset?: string } | undefined)?.subset))
      add('routing', rule.match !== undefined ? 'match' : 'route');
    if (routes.length > 1) add('traffic split', 'route[].weight');
    if (rule.retries !== undefined) add('retries', 'retries');
    if (rule.timeout !== undefined) add('timeout', 'timeout');
    const fault = rule.fault as { abort?: unknown; delay?: unknown } | undefined;
    if (fault?.abort !== undefined) add('fault abort', 'fault.abort');
    if (fault?.delay !== undefined) add('fault delay', 'fault.delay');
    if (rule.headers !== undefined) add('header operations', 'headers');
    if (rule.rewrite !== undefined) add('rewrite', 'rewrite');
    if (rule.corsPolicy !== undefined) add('CORS', 'corsPolicy');
  });
  return out;
}

function destinationRuleBehaviours(o: K8sObject): Found[] {
  const spec = (o.spec ?? {}) as { host?: string; trafficPolicy?: Record<string, unknown>; subsets?: { trafficPolicy?: Record<string, unknown> }[] };
  const services = spec.host ? [shortName(spec.host)] : [];
  const out: Found[] = [];
  const policies: [string, Record<string, unknown> | undefined][] = [
    ['spec.trafficPolicy', spec.trafficPolicy],
    ...(spec.subsets ?? []).map((s, i): [string, Record<string, unknown> | undefined] => [`spec.subsets[${i}].trafficPolicy`, s.trafficPolicy]),
  ];
  for (const [at, policy] of policies) {
    if (!policy) continue;
    const add = (behaviour: Behaviour, field: string) => out.push({ behaviour, services, resource: idOf(o), field: `${at}.${field}` });
    if (policy.connectionPool !== undefined) add('connection pool', 'connectionPool');
    if (policy.outlierDetection !== undefined) add('outlier detection', 'outlierDetection');
    if (policy.loadBalancer !== undefined) add('load balancer', 'loadBalancer');
    if (policy.tls !== undefined) add('client TLS', 'tls');
  }
  return out;
}

/** The behaviours each resource's fields decide, with the services they apply to. */
export function resourceBehaviours(o: K8sObject): Found[] {
  const spec = (o.spec ?? {}) as Record<string, unknown>;
  const selectorOf = (key: 'selector' | 'workloadSelector') =>
    (spec[key] as { matchLabels?: Record<string, string>; labels?: Record<string, string> } | undefined) ?? {};
  switch (o.kind) {
    case 'VirtualService':
      return virtualServiceBehaviours(o);
    case 'DestinationRule':
      return destinationRuleBehaviours(o);
    case 'AuthorizationPolicy':
      return [
        {
          behaviour: 'authorization',
          services: selected(o, selectorOf('selector').matchLabels),
          resource: idOf(o),
          field: spec.action ? 'spec.action' : 'spec.rules',
        },
      ];
    case 'PeerAuthentication':
      return [{ behaviour: 'peer authentication', services: selected(o, selectorOf('selector').matchLabels), resource: idOf(o), field: 'spec.mtls' }];
    case 'RequestAuthentication':
      return [{ behaviour: 'request authentication', services: selected(o, selectorOf('selector').matchLabels), resource: idOf(o), field: 'spec.jwtRules' }];
    case 'Telemetry':
      // A Telemetry's metrics overrides change the proxies' istio_* series; a selector-less one its whole namespace.
      return spec.metrics === undefined
        ? []
        : [{ behaviour: 'metrics', services: selected(o, selectorOf('selector').matchLabels), resource: idOf(o), field: 'spec.metrics' }];
    case 'EnvoyFilter':
      return JSON.stringify(spec).includes('local_ratelimit')
        ? [{ behaviour: 'local rate limit', services: selected(o, selectorOf('workloadSelector').labels), resource: idOf(o), field: 'spec.configPatches' }]
        : [];
    default:
      return [];
  }
}

const FLAG_BEHAVIOURS: Record<string, Behaviour[]> = {
  FI: ['fault abort'],
  DI: ['fault delay'],
  UO: ['connection pool'],
  URX: ['retries'],
  UT: ['timeout'],
  RL: ['local rate limit'],
  UH: ['outlier detection'],
  NR: ['routing'],
  NC: ['routing'],
  UAEX: ['authorization'],
};

/** The behaviours an expectation exercises, and the service it is about when it names one. */
export function expectationBehaviours(e: Expectation): { behaviours: Behaviour[]; service?: string } {
  switch (e.kind) {
    case 'distribution':
      // A distribution of a CORS response header's value (a `header:access-control-...` classifier's label) checks CORS.
      return {
        behaviours: /access-control|allow-(origin|methods|headers)|max-age|cors/i.test(e.of) ? ['CORS'] : ['routing', 'traffic split', 'load balancer'],
      };
    case 'status': {
      if (e.flag) return { behaviours: FLAG_BEHAVIOURS[e.flag] ?? [] };
      const code = e.code ?? '';
      if (code === '429') return { behaviours: ['local rate limit'] };
      if (code === '403' || code === '401') return { behaviours: ['authorization', 'request authentication', 'peer authentication'] };
      if (code === '504') return { behaviours: ['timeout'] };
      if (code.startsWith('5')) return { behaviours: ['fault abort', 'retries', 'connection pool', 'outlier detection', 'timeout', 'peer authentication'] };
      return { behaviours: ['routing', 'rewrite', 'header operations', 'peer authentication', 'client TLS'] };
    }
    case 'retries':
      return { behaviours: ['retries'], service: e.service };
    case 'rateLimited':
      return { behaviours: ['local rate limit'] };
    case 'denied':
      return { behaviours: ['authorization', 'request authentication', 'peer authentication'], service: e.service };
    case 'latency':
      return { behaviours: e.delayed ? ['fault delay'] : ['fault delay', 'timeout'] };
    case 'flags':
      return { behaviours: FLAG_BEHAVIOURS[e.flag] ?? [], service: e.service };
    case 'counter': {
      const n = e.name;
      const out: Behaviour[] = [];
      if (/retry/.test(n)) out.push('retries');
      if (/overflow|pending/.test(n)) out.push('connection pool');
      if (/outlier|ejection/.test(n)) out.push('outlier detection');
      if (/rbac/.test(n)) out.push('authorization');
      if (/rate_limit|ratelimit/.test(n)) out.push('local rate limit');
      if (/timeout/.test(n)) out.push('timeout');
      if (/^istio_/.test(n)) out.push('metrics');
      return { behaviours: out };
    }
    case 'reconcile':
      return { behaviours: [] };
    case 'sticky':
      return { behaviours: ['load balancer'] };
  }
}

function serviceGraph(experiments: CoverageInput[]): ServiceEdge[] {
  const edges = new Map<string, { source: string; destination: string; requests: number; errors: number; flags: Record<string, number> }>();
  for (const e of experiments) {
    for (const c of e.counters) {
      if (c.name !== 'istio_requests_total' || c.labels.reporter === 'destination') continue;
      const source = c.labels.source_workload ?? c.proxy;
      const destination = c.labels.destination_service_name ?? c.labels.destination_service ?? 'unknown';
      const key = `${source}\u0000${destination}`;
      let edge = edges.get(key);
      if (!edge) edges.set(key, (edge = { source, destination, requests: 0, errors: 0, flags: {} }));
      edge.requests += c.value;
      const code = c.labels.response_code ?? '';
      if (code.startsWith('5') || code === '0') edge.errors += c.value;
      const flags = c.labels.response_flags;
      if (flags && flags !== '-') for (const f of flags.split(',')) edge.flags[f] = (edge.flags[f] ?? 0) + c.value;
    }
  }
  return [...edges.values()]
    .filter((e) => e.requests > 0)
    .map((e) => ({ source: e.source, destination: e.destination, requests: e.requests, errorShare: e.errors / e.requests, flags: e.flags }))
    .sort((a, b) => a.source.localeCompare(b.source) || a.destination.localeCompare(b.destination));
}

/** Per service, every behaviour the run's experiments applied, verified when an expectation of the same experiment exercised it. */
export function runCoverage(experiments: CoverageInput[]): RunCoverage {
  const byKey = new Map<string, CoveredBehaviour & { service: string }>();
  for (const experiment of experiments) {
    const exercised = experiment.expectations.map((e) => ({ title: e.title, ...expectationBehaviours(e) }));
    for (const resource of experiment.resources) {
      for (const found of resourceBehaviours(resource)) {
        for (const service of found.services) {
          const key = `${service}\u0000${found.resource}\u0000${found.field}\u0000${found.behaviour}`;
          let entry = byKey.get(key);
          if (!entry)
            byKey.set(
              key,
              (entry = {
                service,
                behaviour: found.behaviour,
                resource: found.resource,
                field: found.field,
                experiments: [],
                verifiedBy: [],
                status: 'unverified',
              }),
            );
          if (!entry.experiments.includes(experiment.name)) entry.experiments.push(experiment.name);
          for (const e of exercised) {
            if (!e.behaviours.includes(found.behaviour)) continue;
            if (e.service !== undefined && shortName(e.service) !== service && !service.startsWith('namespace ')) continue;
            const title = `${experiment.name}: ${e.title}`;
            if (!entry.verifiedBy.includes(title)) entry.verifiedBy.push(title);
            entry.status = 'verified';
          }
        }
      }
    }
  }
  const services = new Map<string, CoveredBehaviour[]>();
  for (const { service, ...behaviour } of byKey.values()) services.set(service, [...(services.get(service) ?? []), behaviour]);
  return {
    services: [...services]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([service, behaviours]) => ({ service, behaviours, verified: behaviours.filter((b) => b.status === 'verified').length, total: behaviours.length })),
    graph: serviceGraph(experiments),
  };
}
