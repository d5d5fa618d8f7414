// Differences that can change behaviour between two Envoy configurations of one proxy (both already reduced by
// loadEnvoyConfig to the fields the data plane executes). Resources are matched by name. Inside them a list is compared
// the way Envoy reads it:
// - in order where Envoy takes the first match or runs each in turn: routes of a virtual host, http_filters,
//   listener_filters, transport_socket_matches, header operations;
// - by key where Envoy selects by content and not position: filter chains by their filter_chain_match (Envoy's
//   FilterChainManager picks the most specific match), virtual hosts by name (selected by domain), weighted clusters
//   by cluster name;
// - as sets where order and repetition mean nothing: domains, endpoints, header matchers (all must match), SAN
//   matchers, retriable status codes, and the comma-separated `retry_on` conditions.
import type { EnvoyConfig } from '../envoy/model/index.ts';
import { field as fieldOf, jsonText, valueText } from '../spec/untyped.ts';

export interface Drift {
  proxy: string;
  resourceType: 'listener' | 'route' | 'cluster' | 'endpoint';
  /** The resource's name (a cluster name for endpoints). */
  name: string;
  /** Where inside the resource, e.g. `virtual_hosts[reviews:9080].routes[0].route.timeout`; empty for the resource. */
  path: string;
  builtin: unknown;
  istiod: unknown;
}

const ABSENT = Symbol('absent');

type Rule = { kind: 'ordered' } | { kind: 'set' } | { kind: 'keyed'; key: (item: unknown) => string };

const field = (name: string) => (item: unknown) => valueText(fieldOf(item, name) ?? canonical(item));

/** How each list field is compared; lists not named here are compared in order. */
const LIST_RULES: Record<string, Rule> = {
  filter_chains: { kind: 'keyed', key: (c) => canonical((c as { filter_chain_match?: unknown }).filter_chain_match ?? {}) },
  virtual_hosts: { kind: 'keyed', key: field('name') },
  clusters: { kind: 'keyed', key: field('name') },
  domains: { kind: 'set' },
  endpoints: { kind: 'set' },
  lb_endpoints: { kind: 'set' },
  headers: { kind: 'set' },
  query_parameters: { kind: 'set' },
  match_subject_alt_names: { kind: 'set' },
  retriable_status_codes: { kind: 'set' },
  server_names: { kind: 'set' },
  prefix_ranges: { kind: 'set' },
  application_protocols: { kind: 'set' },
  source_prefix_ranges: { kind: 'set' },
};

/** Comma-separated lists whose order does not matter. */
const COMMA_SETS = new Set(['retry_on']);

/** Every difference between the built-in and istiod's configuration of one proxy. */
export function compareConfigs(proxy: string, builtin: EnvoyConfig, istiod: EnvoyConfig): Drift[] {
  const drifts: Drift[] = [];
  const sections = [
    ['listener', 'listeners', 'name'],
    ['route', 'routes', 'name'],
    ['cluster', 'clusters', 'name'],
    ['endpoint', 'endpoints', 'cluster_name'],
  ] as const;
  for (const [resourceType, key, nameField] of sections) {
    const byName = (list: readonly unknown[]) => new Map(list.map((r) => [String((r as Record<string, unknown>)[nameField]), r]));
    const ours = byName(builtin[key]);
    const theirs = byName(istiod[key]);
    for (const name of [...new Set([...ours.keys(), ...theirs.keys()])].sort()) {
      const push = (path: string, b: unknown, i: unknown) => drifts.push({ proxy, resourceType, name, path, builtin: b, istiod: i });
      const a = ours.has(name) ? ours.get(name) : ABSENT;
      const b = theirs.has(name) ? theirs.get(name) : ABSENT;
      if (a === ABSENT || b === ABSENT) push('', a, b);
      else diff(a, b, '', push);
    }
  }
  return drifts;
}

/** Every difference between one part of a resource on both sides (e.g. the HTTP filters of one filter chain), found
 * by the same list rules; `path` names the part inside the resource; a list given as the part is compared in order. */
export function comparePart(proxy: string, resourceType: Drift['resourceType'], name: string, path: string, builtin: unknown, istiod: unknown): Drift[] {
  const drifts: Drift[] = [];
  diff(builtin, istiod, path, (at, b, i) => drifts.push({ proxy, resourceType, name, path: at, builtin: b, istiod: i }));
  return drifts;
}

/** `proxy resourceType name path: builtin X, istiod Y` */
export function formatDrift(d: Drift): string {
  const at = d.path ? ` ${d.path}` : '';
  return `${d.proxy} ${d.resourceType} ${d.name}${at}: builtin ${show(d.builtin)}, istiod ${show(d.istiod)}`;
}

function diff(a: unknown, b: unknown, path: string, push: (path: string, a: unknown, b: unknown) => void, fieldName = ''): void {
  if (a === ABSENT || b === ABSENT) {
    push(path, a, b);
    return;
  }
  if (COMMA_SETS.has(fieldName) && typeof a === 'string' && typeof b === 'string') {
    const set = (s: string) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
        .sort()
        .join(',');
    if (set(a) !== set(b)) push(path, a, b);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    diffList(a, b, path, push, LIST_RULES[fieldName] ?? { kind: 'ordered' });
    return;
  }
  if (isObject(a) && isObject(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      diff(k in a ? a[k] : ABSENT, k in b ? b[k] : ABSENT, path ? `${path}.${k}` : k, push, k);
    }
    return;
  }
  if (canonical(a) !== canonical(b)) push(path, a, b);
}

function diffList(a: unknown[], b: unknown[], path: string, push: (path: string, a: unknown, b: unknown) => void, rule: Rule): void {
  if (rule.kind === 'ordered') {
    for (let i = 0; i < Math.max(a.length, b.length); i++) diff(i < a.length ? a[i] : ABSENT, i < b.length ? b[i] : ABSENT, `${path}[${i}]`, push);
    return;
  }
  if (rule.kind === 'set') {
    const ours = new Map(a.map((x) => [canonical(x), x]));
    const theirs = new Map(b.map((x) => [canonical(x), x]));
    for (const [k, x] of ours) if (!theirs.has(k)) push(`${path}{${short(k)}}`, x, ABSENT);
    for (const [k, x] of theirs) if (!ours.has(k)) push(`${path}{${short(k)}}`, ABSENT, x);
    return;
  }
  const ours = new Map(a.map((x) => [rule.key(x), x]));
  const theirs = new Map(b.map((x) => [rule.key(x), x]));
  for (const k of [...new Set([...ours.keys(), ...theirs.keys()])].sort()) {
    diff(ours.has(k) ? ours.get(k) : ABSENT, theirs.has(k) ? theirs.get(k) : ABSENT, `${path}[${short(k)}]`, push);
  }
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** JSON with object keys sorted and set-like lists sorted, so equal content has one text. */
export function canonical(x: unknown, fieldName = ''): string {
  if (Array.isArray(x)) {
    const items = x.map((v) => canonical(v));
    if (LIST_RULES[fieldName]?.kind === 'set' || LIST_RULES[fieldName]?.kind === 'keyed') items.sort();
    return `[${items.join(',')}]`;
  }
  if (isObject(x)) {
    return `{${Object.keys(x)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(x[k], k)}`)
      .join(',')}}`;
  }
  return jsonText(x) ?? 'undefined';
}

function short(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function show(x: unknown): string {
  return x === ABSENT ? 'absent' : short(canonical(x));
}
