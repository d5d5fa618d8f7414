// Checks beyond the schema: things that are well-formed but cannot mean what the author wants.
import { SpecError } from '../errors.ts';
import { parameterisedLabel } from '../observe/classifiers.ts';
import { isMeshConfigMap, parseMeshConfig } from '../istio/mesh-config.ts';
import type { Expectation, K8sObject, LoadSpec, ResourceRef, SourcePos, SpecWarning } from './types.ts';
import { locateField } from './resources.ts';
import { formatPath, type PathSegment } from './yaml-source.ts';
import type { Scenario } from './scenario.ts';
import { field, isRecord, list, record, valueText } from './untyped.ts';
import { must } from '../must.ts';
import { isValidWeight, MAX_WEIGHT, weightShares } from '../istio/networking/weights.ts';
import { unparsableTagValues } from '../istio/telemetry/telemetry.ts';

/** Labels each classifier can put on a response (kept in step with src/observe/classifiers.ts). */
export const CLASSIFIER_LABELS: Record<string, string[]> = {
  status: ['status', 'class', 'error'],
  envoy: ['flag', 'denied', 'reset'],
  bookinfo: ['reviews.version', 'reviews', 'ratings', 'details'],
  // and `<service>.version`, `<service>.status` for every service of the scenario (echoLabels)
  echo: ['service', 'version', 'pod'],
};

/**
 * The labels the echo classifier gives for the services of a scenario and an experiment, and for the external hosts
 * whose stand-ins answer as echoes (ExternalHost: `api.openai.com.version` is `external`).
 */
export function echoLabels(scenario: Scenario, resources: ResourceRef[]): string[] {
  const external = [...scenario.resources, ...resources].filter((r) => r.object.kind === 'ExternalHost').map((r) => r.object.metadata.name.toLowerCase());
  const services = new Set([...scenario.services, ...resources.filter((r) => r.object.kind === 'Service').map((r) => r.object.metadata.name), ...external]);
  return [...services].flatMap((s) => [`${s}.version`, `${s}.status`]);
}
/** Labels the load itself adds. */
export const LOAD_LABELS = ['request'];

/** Short service name of an Istio host: reviews, reviews.default, reviews.default.svc.cluster.local → reviews. */
export function shortHost(host: string): string {
  return /^([^.]+)(\.default(\.svc(\.cluster\.local)?)?)?$/.exec(host)?.[1] ?? host;
}

function fieldError(ref: ResourceRef, path: string, message: string): SpecError {
  const o = ref.object;
  return new SpecError(message, locateField(o, path) ?? ref.source, `${o.kind} ${o.metadata.name}: ${path}`);
}

/**
 * Route weights Istio refuses, for every target: not an integer (the CRD's int32: a string or 80.5 is refused by the
 * API server), negative (istio/istio pkg/config/validation validateWeight: "weight %d < 0"), or several destinations
 * whose weights add up to 0 (validateHTTPRouteDestinations / validateRouteDestinations: "total destination weight = 0").
 */
export function weightErrors(resources: ResourceRef[]): SpecError[] {
  const errors: SpecError[] = [];
  for (const ref of resources) {
    if (ref.object.kind !== 'VirtualService') continue;
    for (const protocol of ['http', 'tcp', 'tls'] as const) {
      list(field(ref.object.spec, protocol)).forEach((rule, i) => {
        const routes = list(field(rule, 'route'));
        let valid = true;
        for (const [j, route] of routes.entries()) {
          const weight = field(route, 'weight');
          if (isValidWeight(weight)) continue;
          valid = false;
          const path = `spec.${protocol}[${i}].route[${j}].weight`;
          const why =
            typeof weight !== 'number'
              ? `expected an integer, found ${typeof weight === 'string' ? JSON.stringify(weight) : describeValue(weight)} (Istio's weight is an int32)`
              : !Number.isInteger(weight)
                ? `expected an integer, found ${weight} (Istio's weight is an int32)`
                : weight < 0
                  ? `must be 0 or more, found ${weight} (Istio refuses it: weight ${weight} < 0)`
                  : `must be at most ${MAX_WEIGHT} (an int32), found ${weight}`;
          errors.push(fieldError(ref, path, why));
        }
        if (valid && routes.length > 1 && routes.every((r) => !field(r, 'weight'))) {
          errors.push(
            fieldError(
              ref,
              `spec.${protocol}[${i}].route`,
              'the weights of several destinations add up to 0; Istio refuses this (total destination weight = 0)',
            ),
          );
        }
      });
    }
  }
  return errors;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : valueText(value);
}

/**
 * Istio weights are relative (the sum-to-100 rule was relaxed in 2022): warn, showing the effective shares. Rules with
 * a weight Istio refuses get no warning (weightErrors reports them), so a share is never negative.
 */
export function weightWarnings(resources: ResourceRef[]): SpecWarning[] {
  const warnings: SpecWarning[] = [];
  for (const ref of resources) {
    if (ref.object.kind !== 'VirtualService') continue;
    const http = list(field(ref.object.spec, 'http'));
    http.forEach((rule, i) => {
      const routes = list(field(rule, 'route'));
      if (routes.length < 2 || !routes.every((r) => isValidWeight(field(r, 'weight')))) return;
      const weights = routes.map((r) => field(r, 'weight') as number | undefined); // isValidWeight: undefined or a number
      const sum = weights.reduce<number>((a, b) => a + (b ?? 0), 0);
      const percent = weightShares(weights);
      if (sum === 100 || !percent) return;
      const shares = routes
        .map((r, j) => `${valueText(field(r, 'destination', 'subset') ?? field(r, 'destination', 'host') ?? `route[${j}]`)} ${(percent[j] ?? 0).toFixed(1)} %`)
        .join(', ');
      const path = `spec.http[${i}].route`;
      warnings.push({
        source: locateField(ref.object, path) ?? ref.source,
        path: `VirtualService ${ref.object.metadata.name}: ${path}`,
        message: `weights sum to ${sum}, not 100; Istio treats them as relative shares, so traffic goes ${shares}`,
      });
    });
  }
  return warnings;
}

/**
 * Fields Istio accepts with a warning and then ignores: `outlierDetection.consecutiveErrors` (istio/istio
 * pkg/config/validation/validation.go validateOutlierDetection warns "outlier detection consecutive errors is
 * deprecated, use consecutiveGatewayErrors or consecutive5xxErrors instead"; cluster_traffic_policy.go
 * applyOutlierDetection never reads it), in a rule's policy, its port-level settings and its subsets' policies.
 */
export function deprecatedFieldWarnings(resources: ResourceRef[]): SpecWarning[] {
  const warnings: SpecWarning[] = [];
  for (const ref of resources) {
    if (ref.object.kind !== 'DestinationRule') continue;
    const policies: [string, unknown][] = [['spec.trafficPolicy', field(ref.object.spec, 'trafficPolicy')]];
    list(field(ref.object.spec, 'subsets')).forEach((s, i) => policies.push([`spec.subsets[${i}].trafficPolicy`, field(s, 'trafficPolicy')]));
    for (const [at, policy] of [...policies]) {
      list(field(policy, 'portLevelSettings')).forEach((p, i) => policies.push([`${at}.portLevelSettings[${i}]`, p]));
    }
    for (const [at, policy] of policies) {
      const consecutiveErrors = field(policy, 'outlierDetection', 'consecutiveErrors');
      if (consecutiveErrors === undefined || consecutiveErrors === 0) continue;
      const path = `${at}.outlierDetection.consecutiveErrors`;
      warnings.push({
        source: locateField(ref.object, path) ?? ref.source,
        path: `DestinationRule ${ref.object.metadata.name}: ${path}`,
        message:
          "outlier detection consecutive errors is deprecated, use consecutiveGatewayErrors or consecutive5xxErrors instead (Istio ignores it: Envoy's default of 5 consecutive 5xx applies)",
      });
    }
  }
  return warnings;
}

/**
 * CUSTOM AuthorizationPolicies whose provider the mesh config (the scenario's `istio` ConfigMap of istio-system) does
 * not define: istiod accepts them and writes their rules as a DENY (builder.go getBadCustomDenyRules), so every
 * request they match is refused with `RBAC: access denied` — a typo that fails closed, silently on the cluster side.
 */
export function customProviderWarnings(resources: ResourceRef[]): SpecWarning[] {
  const meshMap = resources.find((r) => isMeshConfigMap(r.object));
  let providers: Set<string>;
  try {
    providers = new Set(meshMap ? parseMeshConfig(meshMap.object).extensionProviders.keys() : []);
  } catch {
    return []; // the mesh config's own errors are reported where it is checked
  }
  const warnings: SpecWarning[] = [];
  for (const ref of resources) {
    if (ref.object.kind !== 'AuthorizationPolicy' || field(ref.object.spec, 'action') !== 'CUSTOM') continue;
    const name = field(ref.object.spec, 'provider', 'name');
    if (typeof name !== 'string' || name === '' || providers.has(name)) continue;
    const path = 'spec.provider.name';
    const known = providers.size > 0 ? `it defines ${[...providers].join(', ')}` : 'it defines none';
    warnings.push({
      source: locateField(ref.object, path) ?? ref.source,
      path: `AuthorizationPolicy ${ref.object.metadata.name}: ${path}`,
      message: `no extension provider ${JSON.stringify(name)} in the scenario's mesh config (${known}): on the local target, and on a cluster whose installation does not define it, istiod turns this policy into a DENY of every request its rules match; define it in meshConfig.extensionProviders (the istio ConfigMap of istio-system)`,
    });
  }
  return warnings;
}

/**
 * Telemetry tag overrides Envoy cannot parse as CEL (istio/proxy istio_stats.cc getOrCreateExpression): istiod accepts
 * them (validateTelemetryMetrics does not parse values), and the proxies then drop the standard tag or add no new one —
 * e.g. the Mixer-era `response.code | "unknown"` removes response_code from the metric.
 */
export function telemetryWarnings(resources: ResourceRef[]): SpecWarning[] {
  const warnings: SpecWarning[] = [];
  for (const ref of resources) {
    if (ref.object.kind !== 'Telemetry') continue;
    for (const u of unparsableTagValues(ref.object)) {
      const tag = u.path.split('.').at(-2) ?? '';
      warnings.push({
        source: locateField(ref.object, u.path) ?? ref.source,
        path: `Telemetry ${ref.object.metadata.name}: ${u.path}`,
        message: `${JSON.stringify(u.value)} is not a CEL expression (${u.why}): Envoy's istio_stats filter cannot parse it and ${u.standard ? `drops the ${tag} label from the metric` : `adds no ${tag} label`}`,
      });
    }
  }
  return warnings;
}

/**
 * The subsets of the most specific wildcard DestinationRule host covering `host` (a short name is taken in the
 * default namespace), as istiod picks a rule when no rule names the host exactly (model/config.go
 * MostSpecificHostMatch).
 */
function wildcardSubsets(subsets: Map<string, Set<string>>, host: string): Set<string> | undefined {
  const fqdn = host.includes('.') ? host : `${host}.default.svc.cluster.local`;
  let best: string | undefined;
  for (const h of subsets.keys()) {
    if (!h.startsWith('*') || !fqdn.endsWith(h.slice(1))) continue;
    if (best === undefined || h.length > best.length) best = h;
  }
  return best === undefined ? undefined : subsets.get(best);
}

function definedSubsets(resources: ResourceRef[]): Map<string, Set<string>> {
  const subsets = new Map<string, Set<string>>();
  for (const { object } of resources) {
    const specHost = field(object.spec, 'host');
    if (object.kind !== 'DestinationRule' || typeof specHost !== 'string') continue;
    const host = shortHost(specHost);
    const set = subsets.get(host) ?? new Set<string>();
    for (const s of list(field(object.spec, 'subsets'))) {
      const name = field(s, 'name');
      if (name) set.add(valueText(name));
    }
    subsets.set(host, set);
  }
  return subsets;
}

/** Istio's DNS-1123 label: lower-case letters, digits and "-", starting and ending alphanumeric, at most 63 long. */
function isDns1123Label(name: string): boolean {
  return name.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name);
}

/** Why a subset name is refused by Istio, or undefined when it is accepted. */
function subsetNameProblem(name: unknown): string | undefined {
  if (name === undefined || name === null || name === '') return 'subset name cannot be empty (Istio refuses it)';
  if (typeof name !== 'string') return `expected a string, found ${describeValue(name)}`;
  if (isDns1123Label(name)) return undefined;
  return `subset name ${JSON.stringify(name)} is not a DNS-1123 label (lower-case letters, digits and "-", starting and ending with a letter or digit, at most 63 characters); Istio refuses it`;
}

/** Route destinations of a VirtualService with their field paths (http, tcp and tls routes, and http mirrors). */
function destinations(object: K8sObject): { path: string; destination: unknown }[] {
  const found: { path: string; destination: unknown }[] = [];
  for (const protocol of ['http', 'tcp', 'tls'] as const) {
    list(field(object.spec, protocol)).forEach((rule, i) => {
      list(field(rule, 'route')).forEach((route, j) =>
        found.push({ path: `spec.${protocol}[${i}].route[${j}].destination`, destination: field(route, 'destination') }),
      );
      const mirror = field(rule, 'mirror');
      if (protocol === 'http' && mirror) found.push({ path: `spec.http[${i}].mirror`, destination: mirror });
    });
  }
  return found;
}

/**
 * Subset names must be DNS-1123 labels, both where a DestinationRule defines them and where a VirtualService names
 * them: istio/istio pkg/config/validation validateSubset and validateDestination both call validateSubsetName
 * ("subset name cannot be empty" / "subset name is invalid"). Checked for file references and inline objects alike.
 */
export function subsetNameErrors(resources: ResourceRef[]): SpecError[] {
  const errors: SpecError[] = [];
  for (const ref of resources) {
    if (ref.object.kind === 'DestinationRule') {
      list(field(ref.object.spec, 'subsets')).forEach((subset, k) => {
        const name = field(subset, 'name');
        const problem = subsetNameProblem(name);
        if (problem) errors.push(fieldError(ref, name === undefined ? `spec.subsets[${k}]` : `spec.subsets[${k}].name`, problem));
      });
    } else if (ref.object.kind === 'VirtualService') {
      for (const { path, destination } of destinations(ref.object)) {
        const subset = field(destination, 'subset');
        if (subset === undefined) continue;
        const problem = subsetNameProblem(subset);
        if (problem) errors.push(fieldError(ref, `${path}.subset`, problem));
      }
    }
  }
  return errors;
}

/** Every subset a route names must be defined by a DestinationRule of the experiment or the scenario. */
export function subsetErrors(resources: ResourceRef[], scenario: Scenario): SpecError[] {
  // The experiment's DestinationRules replace the scenario's of the same name.
  const own = new Set(resources.filter((r) => r.object.kind === 'DestinationRule').map((r) => r.object.metadata.name));
  const baseline = scenario.resources.filter((r) => !(r.object.kind === 'DestinationRule' && own.has(r.object.metadata.name)));
  const subsets = definedSubsets([...baseline, ...resources]);
  const errors: SpecError[] = [];
  for (const ref of resources) {
    if (ref.object.kind !== 'VirtualService') continue;
    list(field(ref.object.spec, 'http')).forEach((rule, i) => {
      const mirror = field(rule, 'mirror');
      [...list(field(rule, 'route')), ...(mirror ? [{ destination: mirror }] : [])].forEach((route, j) => {
        const subset = field(route, 'destination', 'subset');
        const destinationHost = field(route, 'destination', 'host');
        if (!subset || typeof destinationHost !== 'string' || subsetNameProblem(subset)) return; // a malformed name: subsetNameErrors
        const host = shortHost(destinationHost);
        const known = subsets.get(host) ?? wildcardSubsets(subsets, host);
        if (!known?.has(valueText(subset))) {
          const list = known && known.size ? `defined for ${host}: ${[...known].join(', ')}` : `no DestinationRule defines subsets for ${host}`;
          errors.push(
            fieldError(
              ref,
              `spec.http[${i}].route[${j}].destination.subset`,
              `subset "${valueText(subset)}" of host ${destinationHost} is not defined (${list})`,
            ),
          );
        }
      });
    });
  }
  return errors;
}

function isLocalRateLimitFilter(object: K8sObject): boolean {
  return object.kind === 'EnvoyFilter' && JSON.stringify(object.spec ?? {}).includes('local_ratelimit');
}

/**
 * Every expectation must refer to something the experiment can observe. `expectations` are in the file's order (an
 * undefined entry is one that failed earlier checks), so an error names `spec.expect[i].<kind>.<field>` and, through
 * `positionOf`, the field's own file:line:col.
 */
export function observabilityErrors(
  expectations: (Expectation | undefined)[],
  classifiers: string[],
  resources: ResourceRef[],
  scenario: Scenario,
  positionOf?: (path: PathSegment[], options?: { key?: boolean }) => SourcePos,
): SpecError[] {
  const errors: SpecError[] = [];
  const labels = new Set([
    ...LOAD_LABELS,
    ...classifiers.flatMap((c) => CLASSIFIER_LABELS[c] ?? [parameterisedLabel(c)].filter((l): l is string => l !== undefined)),
    ...(classifiers.includes('echo') ? echoLabels(scenario, resources) : []),
  ]);

  const services = new Set(scenario.services);
  const workloads = new Set([...scenario.workloads, 'istio-ingressgateway']);
  const index = new Map<Expectation, number>();
  expectations.forEach((e, i) => e && index.set(e, i));
  // `where.<label>` errors point at the label (a key); other fields at their value.
  const fail = (e: Expectation, field: string | PathSegment[], message: string, key = false) => {
    const inner = Array.isArray(field) ? field : field.startsWith('where.') ? ['where', field.slice('where.'.length)] : field.split('.');
    const path: PathSegment[] = ['spec', 'expect', must(index.get(e), `the position of expectation ${e.kind}`), e.kind, ...inner];
    const source = positionOf?.(path, { key: key || (!Array.isArray(field) && field.startsWith('where.')) }) ?? e.source;
    errors.push(new SpecError(message, source, formatPath(path)));
  };
  const checkLabel = (e: Expectation, field: string, label: string) => {
    if (!labels.has(label)) {
      fail(
        e,
        field,
        `label "${label}" is not produced by the classifiers of this experiment (${classifiers.join(', ')}); known labels: ${[...labels].sort().join(', ')}`,
      );
    }
  };
  const checkService = (e: Expectation, field: string, service: string | undefined) => {
    if (service !== undefined && !services.has(shortHost(service))) {
      fail(e, field, `service "${service}" is not part of scenario ${scenario.name} (services: ${[...services].join(', ')})`);
    }
  };
  for (const e of expectations) {
    if (!e) continue;
    if ('where' in e && e.where) for (const key of Object.keys(e.where)) checkLabel(e, `where.${key}`, key);
    switch (e.kind) {
      case 'distribution': {
        checkLabel(e, 'of', e.of);
        // `<service>.version`: only versions the service's workloads carry can be observed.
        const service = /^([^.]+)\.version$/.exec(e.of)?.[1];
        const versions = service !== undefined && labels.has(e.of) && services.has(service) ? serviceVersions(service, resources, scenario) : undefined;
        if (versions && versions.size > 0) {
          for (const category of Object.keys(e.weights)) {
            if (!versions.has(category)) {
              fail(
                e,
                ['weights', category],
                `${e.of} "${category}" cannot be observed: the workloads of ${service} in scenario ${scenario.name} and this experiment have version ${[...versions].join(', ')}`,
                true,
              );
            }
          }
        }
        break;
      }
      case 'retries':
        checkService(e, 'service', e.service);
        if (e.from !== undefined && !workloads.has(e.from))
          fail(e, 'from', `workload "${e.from}" is not part of scenario ${scenario.name} (workloads: ${[...workloads].join(', ')})`);
        break;
      case 'denied':
      case 'flags':
        checkService(e, 'service', e.service);
        break;
      case 'counter':
        if (e.proxy !== undefined && !workloads.has(e.proxy))
          fail(e, 'proxy', `workload "${e.proxy}" is not part of scenario ${scenario.name} (workloads: ${[...workloads].join(', ')})`);
        break;
      case 'rateLimited': {
        const filters = resources.filter((r) => isLocalRateLimitFilter(r.object));
        if (filters.length === 0) fail(e, 'filter', 'rateLimited needs a local-rate-limit EnvoyFilter in apply; there is none to predict from');
        else if (e.filter !== undefined && !filters.some((r) => r.object.metadata.name === e.filter)) {
          fail(
            e,
            'filter',
            `no local-rate-limit EnvoyFilter named "${e.filter}" is applied (applied: ${filters.map((r) => r.object.metadata.name).join(', ')})`,
          );
        } else if (e.filter === undefined && filters.length > 1) {
          fail(
            e,
            'filter',
            `several local-rate-limit EnvoyFilters are applied (${filters.map((r) => r.object.metadata.name).join(', ')}); name one with filter:`,
          );
        }
        break;
      }
      case 'reconcile':
        if (!workloads.has(e.proxy)) fail(e, 'proxy', `proxy "${e.proxy}" is not part of scenario ${scenario.name} (proxies: ${[...workloads].join(', ')})`);
        break;
      default:
        break;
    }
  }
  return errors;
}

/** The `version` labels of the pods a Service selects: the scenario's Deployments and any the experiment applies. */
export function serviceVersions(service: string, resources: ResourceRef[], scenario: Scenario): Set<string> {
  const all = [...scenario.resources, ...resources].map((r) => r.object);
  const definition = [...all].reverse().find((o) => o.kind === 'Service' && o.metadata.name === service);
  const selector = field(definition?.spec, 'selector');
  const selects: Record<string, unknown> = isRecord(selector) ? selector : { app: service };
  const versions = new Set<string>();
  for (const o of all) {
    if (o.kind !== 'Deployment') continue;
    const labels = record(field(o.spec, 'template', 'metadata', 'labels'));
    if (!Object.entries(selects).every(([k, v]) => labels[k] === v)) continue;
    // The echo workload reports `version`, else app.kubernetes.io/version (src/targets/local/topology.ts).
    const version = labels.version ?? labels['app.kubernetes.io/version'];
    if (version !== undefined) versions.add(valueText(version));
  }
  return versions;
}

/**
 * Requests sent straight to a service (`service:`) must name a service of the scenario and one of its ports; the port
 * defaults to the Service's first. Fills in the default port.
 */
export function requestTargetErrors(load: LoadSpec, scenario: Scenario, positionOf: (path: (string | number)[]) => SourcePos): SpecError[] {
  const errors: SpecError[] = [];
  const single = load.requests.length === 1;
  load.requests.forEach((request, i) => {
    if (request.service === undefined) return;
    const base = single ? ['spec', 'load', 'request'] : ['spec', 'load', 'requests', i];
    const field = (name: string) => `${base.join('.').replace(/\.(\d+)/g, '[$1]')}.${name}`;
    const ports = scenario.servicePorts[request.service];
    if (ports === undefined) {
      errors.push(
        new SpecError(
          `service "${request.service}" is not part of scenario ${scenario.name} (services: ${scenario.services.join(', ')})`,
          positionOf([...base, 'service']),
          field('service'),
        ),
      );
      return;
    }
    if (request.port === undefined) {
      if (ports.length === 0)
        errors.push(new SpecError(`service "${request.service}" declares no port; give port:`, positionOf([...base, 'service']), field('port')));
      else request.port = ports[0];
    } else if (!ports.includes(request.port)) {
      errors.push(
        new SpecError(
          `service "${request.service}" has no port ${request.port} (its ports: ${ports.join(', ')})`,
          positionOf([...base, 'port']),
          field('port'),
        ),
      );
    }
  });
  return errors;
}

/**
 * What the chosen load driver cannot do, refused before anything is applied: for the experiment's own driver, or for
 * `driver` when the command line overrides it (--driver). The autocannon driver gives each connection a whole number
 * of requests per second (autocannon's overallRate, lib/run.js distributeNums), so its rate is an integer >= 1; k6's
 * constant-arrival-rate takes any positive rate.
 */
export function driverErrors(load: LoadSpec, positionOf: (path: (string | number)[]) => SourcePos, override?: 'autocannon' | 'k6'): SpecError[] {
  const driver = override ?? load.driver;
  const chosen = override !== undefined && override !== load.driver ? ` (--driver ${override})` : '';
  const errors: SpecError[] = [];
  if (driver === 'autocannon' && load.model.kind === 'open' && (!Number.isInteger(load.model.rate) || load.model.rate < 1)) {
    errors.push(
      new SpecError(
        `the autocannon driver${chosen} sends whole requests per second (got rate ${load.model.rate}); use an integer rate >= 1, or driver: k6`,
        positionOf(['spec', 'load', 'rate']),
        'spec.load.rate',
      ),
    );
  }
  return errors;
}
