// Pitfalls `validate` can point out before a run (issue: the user's journey, item 6): configurations that Istio accepts
// but that do not do what the experiment expects of them. Warnings, not errors: an experiment may mean to show one.
import type { Expectation, LoadSpec, ResourceRef, SpecWarning } from './types.ts';
import type { K8sObject } from './types.ts';
import { locateField } from './resources.ts';
import { shortHost } from './semantics.ts';
import { isLocalRateLimitFilter, parseLocalRateLimits } from '../istio/ratelimit/parse.ts';
import { field, list, valueText } from './untyped.ts';
import { weightShares } from '../istio/networking/weights.ts';

function at(ref: ResourceRef, path: string): SpecWarning['source'] {
  return locateField(ref.object, path) ?? ref.source;
}

function name(object: K8sObject): string {
  return `${object.kind} ${object.metadata.name}`;
}

function retriesExpected(e: Expectation, host: string): boolean {
  if (e.kind !== 'retries' || shortHost(e.service) !== host) return false;
  return (e.count.min ?? 0) > 0 || (e.count.approx ?? 0) > 0;
}

/** (a) An injected abort on a rule with retries: the fault filter answers before the router, so aborts are never retried. */
function abortWithRetries(apply: ResourceRef[], expect: Expectation[]): SpecWarning[] {
  const warnings: SpecWarning[] = [];
  for (const ref of apply) {
    if (ref.object.kind !== 'VirtualService') continue;
    list(field(ref.object.spec, 'http')).forEach((rule, i) => {
      if (!field(rule, 'fault', 'abort') || !field(rule, 'retries') || (field(rule, 'retries', 'attempts') ?? 0) === 0) return;
      const hosts = list(field(ref.object.spec, 'hosts')).map((h) => shortHost(String(h)));
      const expecting = expect.filter((e) => hosts.some((h) => retriesExpected(e, h)));
      const path = `spec.http[${i}].retries`;
      warnings.push({
        source: at(ref, path),
        path: `${name(ref.object)}: ${path}`,
        message:
          "the rule also injects an abort: Envoy's fault filter answers before the router, so injected aborts are never retried (istio/istio#13705)" +
          (expecting.length ? `; ${expecting.map((e) => `"${e.title}"`).join(', ')} expects retries that will not happen` : ''),
      });
    });
  }
  return warnings;
}

/**
 * (b) Gateway binding: load through the ingress gateway meets a host's VirtualService only if it is bound to the gateway
 * (`gateways` names it); a VirtualService bound only to a gateway does not apply to calls between sidecars.
 */
function gatewayBinding(apply: ResourceRef[], load: LoadSpec | undefined): SpecWarning[] {
  if (!load) return [];
  const throughGateway = load.requests.some((r) => r.service === undefined);
  const outside = new Set(load.requests.flatMap((r) => (r.service !== undefined ? [r.service] : [])));
  const gatewayHosts = new Set<string>();
  for (const ref of apply) {
    if (ref.object.kind === 'VirtualService' && list(field(ref.object.spec, 'gateways')).some((g) => g !== 'mesh')) {
      for (const h of list(field(ref.object.spec, 'hosts'))) gatewayHosts.add(shortHost(String(h)));
    }
  }
  const warnings: SpecWarning[] = [];
  for (const ref of apply) {
    if (ref.object.kind !== 'VirtualService') continue;
    const gateways = list(field(ref.object.spec, 'gateways')).map(String);
    const hosts = list(field(ref.object.spec, 'hosts')).map((h) => shortHost(String(h)));
    const meshBound = gateways.length === 0 || gateways.includes('mesh');
    const gatewayOnly = gateways.length > 0 && !gateways.includes('mesh');
    // Requests from outside straight to a service's pods meet neither kind: no sidecar of theirs routes them.
    if (gatewayOnly && !throughGateway && outside.size > 0) {
      warnings.push({
        source: at(ref, 'spec.gateways'),
        path: `${name(ref.object)}: spec.gateways`,
        message: `bound only to ${gateways.join(', ')}, but no request of the load enters through the ingress gateway, so it routes none of them`,
      });
    }
    // A host the gateway receives from outside ("*" or a name the gateway's own VirtualServices do not cover) is
    // routed at the gateway only by VirtualServices bound to it.
    if (meshBound && throughGateway && hosts.some((h) => h === '*') && !gatewayHosts.has('*')) {
      warnings.push({
        source: at(ref, 'spec.hosts'),
        path: `${name(ref.object)}: spec.hosts`,
        message:
          'hosts "*" without gateways binds only to the sidecars ("mesh"): the load enters through the ingress gateway, which routes by the VirtualServices bound to it',
      });
    }
  }
  return warnings;
}

/** (c) A distribution over a service's versions whose expected weights differ from the split the applied routes give. */
function splitMismatch(apply: ResourceRef[], expect: Expectation[]): SpecWarning[] {
  const subsetVersion = new Map<string, string>(); // "host/subset" -> version label
  for (const { object } of apply) {
    const host = field(object.spec, 'host');
    if (object.kind !== 'DestinationRule' || typeof host !== 'string') continue;
    for (const s of list(field(object.spec, 'subsets'))) {
      const name = field(s, 'name');
      const version = field(s, 'labels', 'version');
      if (name && typeof version === 'string') subsetVersion.set(`${shortHost(host)}/${valueText(name)}`, version);
    }
  }
  const warnings: SpecWarning[] = [];
  for (const e of expect) {
    if (e.kind !== 'distribution' || !e.of.endsWith('.version') || e.where) continue;
    const service = e.of.slice(0, -'.version'.length);
    for (const ref of apply) {
      if (ref.object.kind !== 'VirtualService' || !list(field(ref.object.spec, 'hosts')).some((h) => shortHost(String(h)) === service)) continue;
      const rules = list(field(ref.object.spec, 'http'));
      // Only a VirtualService whose single rule takes every request gives a split that applies to all of them.
      if (rules.length !== 1 || field(rules[0], 'match') !== undefined) continue;
      const routes = list(field(rules[0], 'route'));
      if (routes.length === 0) continue;
      const shares = weightShares(
        routes.map((r) => {
          const weight = field(r, 'weight');
          return typeof weight === 'number' ? weight : undefined;
        }),
      );
      if (!shares) continue;
      const split = new Map<string, number>();
      let known = true;
      for (const [j, r] of routes.entries()) {
        const subset = field(r, 'destination', 'subset');
        const version =
          subset !== undefined ? subsetVersion.get(`${shortHost(valueText(field(r, 'destination', 'host') ?? service))}/${valueText(subset)}`) : undefined;
        if (version === undefined) known = false;
        else split.set(version, (split.get(version) ?? 0) + (shares[j] ?? 0));
      }
      if (!known) continue;
      const expectedTotal = Object.values(e.weights).reduce((a, b) => a + b, 0);
      const versions = new Set([...split.keys(), ...Object.keys(e.weights)]);
      const off = [...versions].filter((v) => Math.abs((split.get(v) ?? 0) - (100 * (e.weights[v] ?? 0)) / expectedTotal) > e.tolerance);
      if (off.length === 0) continue;
      const routed = [...split.entries()].map(([v, w]) => `${v} ${+w.toFixed(1)} %`).join(', ');
      warnings.push({
        source: e.source,
        path: `${e.title}: weights`,
        message: `the applied ${name(ref.object)} sends ${routed}; the expected weights differ by more than the ± ${e.tolerance} points for ${off.join(', ')}, so this expectation should fail`,
      });
    }
  }
  return warnings;
}

/** (d) A local rate-limit filter that never limits (filter_enabled / filter_enforced left at Envoy's 0 % default). */
function rateLimitNotEnforced(apply: ResourceRef[]): SpecWarning[] {
  const warnings: SpecWarning[] = [];
  for (const ref of apply) {
    if (!isLocalRateLimitFilter(ref.object)) continue;
    let limits;
    try {
      limits = parseLocalRateLimits(ref.object, ref.source);
    } catch {
      continue; // a filter the local target refuses is reported as an error elsewhere
    }
    for (const limit of limits) {
      for (const finding of limit.findings) {
        if (!/filter_enabled|filter_enforced/.test(finding)) continue;
        warnings.push({ source: ref.source, path: `${name(ref.object)}: local rate limit ${limit.statPrefix}`, message: finding });
      }
    }
  }
  return warnings;
}

/**
 * The Bookinfo services a request can reach (samples/bookinfo/src/productpage/productpage.py routes; reviews v2 and v3
 * call ratings): through the gateway by path, or straight to a service (`service:`) and what that service calls.
 */
export function bookinfoReach(path: string, service?: string): Set<string> {
  const p = path.split('?')[0] ?? path;
  const from = (s: string): string[] => (s === 'reviews' ? ['reviews', 'ratings'] : [s]);
  if (service !== undefined && service !== 'productpage') return new Set(from(service));
  if (p === '/productpage') return new Set(['productpage', 'details', 'reviews', 'ratings']);
  const api = /^\/api\/v1\/products\/[^/]+(\/reviews|\/ratings)?$/.exec(p);
  if (api) return new Set(['productpage', ...(api[1] === '/reviews' ? from('reviews') : api[1] === '/ratings' ? ['ratings'] : ['details'])]);
  return new Set(['productpage']);
}

/** (e) An expectation about a Bookinfo service that no request of the load reaches. */
function unreachedServices(load: LoadSpec | undefined, expect: Expectation[], scenario: string): SpecWarning[] {
  if (!load || scenario !== 'bookinfo') return [];
  const reached = new Set(load.requests.flatMap((r) => [...bookinfoReach(r.path, r.service)]));
  const warnings: SpecWarning[] = [];
  for (const e of expect) {
    const service =
      e.kind === 'retries' || (e.kind === 'denied' && e.service !== undefined) || (e.kind === 'flags' && e.service !== undefined)
        ? e.service
        : e.kind === 'distribution' && e.of.endsWith('.version')
          ? e.of.slice(0, -'.version'.length)
          : undefined;
    if (service === undefined) continue;
    const name = shortHost(service);
    if (!['productpage', 'details', 'reviews', 'ratings'].includes(name) || reached.has(name)) continue;
    warnings.push({
      source: e.source,
      path: `${e.title}: service`,
      message: `no request of the load reaches ${name} (it reaches ${[...reached].sort().join(', ')}), so this expectation sees no traffic`,
    });
  }
  return warnings;
}

export function pitfallWarnings(apply: ResourceRef[], load: LoadSpec | undefined, expect: Expectation[], scenario = 'bookinfo'): SpecWarning[] {
  return [
    ...abortWithRetries(apply, expect),
    ...gatewayBinding(apply, load),
    ...splitMismatch(apply, expect),
    ...rateLimitNotEnforced(apply),
    ...unreachedServices(load, expect, scenario),
  ];
}
