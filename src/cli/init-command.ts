// `meshproof init <service>`: a starting experiment for one service of a scenario, which validates and runs as written:
// how to reach the service, the baseline's expectations about it (every response a 200; an even split over its
// versions when the pages show them), and a sequential load whose budget the sample-size planner says can decide them.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { stringify } from 'yaml';
import { SpecError } from '../errors.ts';
import { planSampleSizes } from '../assertions/plan.ts';
import { loadExperimentText } from '../spec/load.ts';
import { isScenarioPath, loadScenario, type Scenario } from '../spec/scenario.ts';
import { field, list, valueText } from '../spec/untyped.ts';
import { ExitCode } from '../errors.ts';
import { say } from './output.ts';
import { must } from '../must.ts';

export interface InitOptions {
  scenario?: string;
  out?: string;
  force?: boolean;
}

/** How Bookinfo's pages reach each service through the ingress gateway (productpage.py's routes). */
const bookinfoEntry: Record<string, string> = {
  productpage: '/productpage',
  details: '/api/v1/products/0',
  reviews: '/productpage',
  ratings: '/api/v1/products/0/ratings',
};

/** The Bookinfo services whose `<service>.version` a client can see (an echo scenario shows every service's). */
const visibleVersions = new Set(['reviews']);

/** `spec.scenario` as the written file must say it: a built-in name as is, a folder relative to the file. */
function scenarioFrom(out: string, scenarioName: string): string {
  if (!isScenarioPath(scenarioName)) return scenarioName;
  const rel = relative(dirname(out), resolve(scenarioName)) || '.';
  return rel.startsWith('.') || isAbsolute(rel) ? rel : `./${rel}`;
}

/** A host's service name: `reviews` of `reviews.default.svc.cluster.local`. */
const shortName = (host: string) => host.split('.', 1)[0] ?? host;

/**
 * How the load reaches a service of a user's scenario: through the ingress gateway when a VirtualService bound to a
 * Gateway routes a path (or everything) to it, as the service's users would; else straight to the service — which a
 * STRICT PeerAuthentication of its namespace (or the mesh) refuses to a client outside the mesh, so that is an error
 * saying what to add.
 */
function entryOf(scenario: Scenario, service: string): { path: string; service?: string } {
  for (const { object } of scenario.resources) {
    if (object.kind !== 'VirtualService') continue;
    const gateways = list(field(object.spec, 'gateways')).filter((g): g is string => typeof g === 'string' && g !== 'mesh');
    if (gateways.length === 0) continue;
    for (const rule of list(field(object.spec, 'http'))) {
      if (!list(field(rule, 'route')).some((d) => shortName(valueText(field(d, 'destination', 'host') ?? '')) === service)) continue;
      const matches = list(field(rule, 'match'));
      if (matches.length === 0) return { path: '/' };
      const prefix = matches.map((m) => field(m, 'uri', 'prefix') ?? field(m, 'uri', 'exact')).find((p): p is string => typeof p === 'string');
      if (prefix !== undefined) return { path: prefix };
    }
  }
  const namespace = scenario.resources.find((r) => r.object.kind === 'Service' && r.object.metadata.name === service)?.object.metadata.namespace ?? 'default';
  const strict = scenario.resources.some(
    ({ object }) =>
      object.kind === 'PeerAuthentication' &&
      field(object.spec, 'mtls', 'mode') === 'STRICT' &&
      field(object.spec, 'selector') === undefined &&
      [namespace, 'istio-system'].includes(object.metadata.namespace ?? 'default'),
  );
  if (strict) {
    throw new SpecError(
      `service "${service}" takes only mutual TLS (a STRICT PeerAuthentication of namespace ${namespace}) and no Gateway route leads to it, so a load from outside the mesh cannot reach it; route a path to it from the ingress gateway in the scenario, or start from a service the gateway reaches`,
      undefined,
      'service',
    );
  }
  return { path: '/', service };
}

/** Open-model rate of a written experiment when nothing caps the service's concurrency. */
const INIT_RATE = 200;
/** Closed-model connections of a written experiment for a service whose DestinationRule caps its pool. */
const INIT_CONNECTIONS = 16;

/**
 * The smallest concurrency a DestinationRule of the service (its traffic policy, a subset's, or a port's) allows its
 * callers (tcp.maxConnections,
 * http.http2MaxRequests — Envoy's max_requests for every HTTP version — and a waiting queue of
 * http1MaxPendingRequests beyond the connections), or undefined when none caps it. An open-model load can exceed it
 * whenever responses lag (a catch-up burst on a busy machine sends many requests at once) and the caller's sidecar
 * then answers 503 UO: a verdict about the machine, not the mesh.
 */
function poolCapacity(scenario: Scenario, service: string): number | undefined {
  const caps: number[] = [];
  for (const { object } of scenario.resources) {
    if (object.kind !== 'DestinationRule' || shortName(valueText(field(object.spec, 'host') ?? '')) !== service) continue;
    // The rule's own policy, its subsets', and the port-level settings of each (any of them can cap a pool).
    const policies = [field(object.spec, 'trafficPolicy'), ...list(field(object.spec, 'subsets')).map((subset) => field(subset, 'trafficPolicy'))];
    const pools = policies.flatMap((policy) => [
      field(policy, 'connectionPool'),
      ...list(field(policy, 'portLevelSettings')).map((port) => field(port, 'connectionPool')),
    ]);
    for (const pool of pools) {
      const number = (v: unknown) => (typeof v === 'number' && v > 0 ? v : undefined);
      const connections = number(field(pool, 'tcp', 'maxConnections'));
      const pending = number(field(pool, 'http', 'http1MaxPendingRequests'));
      const requests = number(field(pool, 'http', 'http2MaxRequests'));
      if (connections !== undefined) caps.push(connections + (pending ?? 0));
      if (requests !== undefined) caps.push(requests);
    }
  }
  return caps.length > 0 ? Math.min(...caps) : undefined;
}

export function initExperiment(service: string, scenarioName = 'bookinfo', outFile = `${service}-baseline.yaml`): { name: string; text: string } {
  const scenario = loadScenario(scenarioName);
  const out = resolve(outFile);
  if (!scenario.services.includes(service)) {
    throw new SpecError(`scenario ${scenarioName} has no service "${service}" (it has: ${scenario.services.join(', ')})`, undefined, 'service');
  }
  const versions = scenario.workloads
    .filter((w) => w.startsWith(`${service}-v`))
    .map((w) => w.slice(service.length + 1))
    .sort();
  const name = `${service}-baseline`;
  const path = scenarioName === 'bookinfo' ? bookinfoEntry[service] : undefined;
  const request = path ? { path } : entryOf(scenario, service);
  const capacity = poolCapacity(scenario, service);
  const model = capacity === undefined ? { rate: INIT_RATE } : { connections: Math.min(INIT_CONNECTIONS, capacity) };
  // No split is expected of the baseline: with no VirtualService, Envoy's LEAST_REQUEST balancing favours the faster
  // versions as concurrency grows (reviews v1, which calls no ratings, took 45 % at 200 req/s), so an even split is
  // not what the mesh promises. A route with weights is what makes a split an expectation.
  const expect: Record<string, unknown>[] = [{ status: { code: 200, ratio: { min: 0.99 } } }];
  const experiment = (budget: number) => ({
    apiVersion: 'meshproof.dev/v1alpha1',
    kind: 'Experiment',
    metadata: {
      name,
      description:
        `The baseline of ${service} in scenario ${scenarioFrom(out, scenarioName)}: every response a 200.` +
        (versions.length > 1
          ? ` No VirtualService routes ${service} yet, so Envoy's least-request balancing spreads it over ${versions.join(', ')}, favouring the faster ones; to expect a split, route it with weights under spec.apply and add a distribution${visibleVersions.has(service) || scenarioName !== 'bookinfo' ? ` of ${service}.version` : ''} under spec.expect.`
          : ' Add the Istio resources to try under spec.apply, and what they must change under spec.expect.') +
        (capacity === undefined
          ? ''
          : ` A DestinationRule caps ${service}'s pool at ${capacity} requests at once, so the load is ${model.connections} connections each sending when its last answer is back (closed model), which the pool always takes; an open-model rate can burst past it and be refused with 503 UO.`),
      tags: ['init', service],
    },
    spec: {
      scenario: scenarioFrom(out, scenarioName),
      apply: [],
      load: { request, ...model, until: 'verdict', budget },
      expect,
    },
  });
  // The budget the planner says decides every expectation if the mesh behaves as the baseline should, with room.
  const probe = must(loadExperimentText(stringify(experiment(1_000_000)), out)[0], 'the probe experiment');
  const needed = Math.max(100, ...planSampleSizes(probe).map((p) => p.neededRequests ?? 0));
  const budget = Math.ceil((needed * 1.5) / 100) * 100;
  const text = `# yaml-language-server: $schema=../schema/experiment.schema.json\n# Written by \`meshproof init ${service}\`. Validate with \`meshproof validate\`, run with \`meshproof run\`.\n${stringify(experiment(budget))}`;
  return { name, text };
}

export async function initCommand(service: string, options: InitOptions): Promise<number> {
  const out = options.out ?? `${service}-baseline.yaml`;
  const { text } = initExperiment(service, options.scenario ?? 'bookinfo', out);
  if (existsSync(out) && !options.force) throw new SpecError(`${out} exists; pass --force to overwrite it, or --out another file`, undefined, '--out');
  mkdirSync(dirname(resolve(out)), { recursive: true });
  writeFileSync(out, text);
  say(`wrote ${out}: a starting experiment for ${service}; next: meshproof validate ${out} && meshproof run ${out}`);
  return ExitCode.ok;
}
