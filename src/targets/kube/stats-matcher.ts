// Which Envoy stats a proxy exports. Istio keeps only a few prefixes by default; the rest needs the workload's
// `proxy.istio.io/config` annotation (or the mesh's defaultConfig) to set proxyStatsMatcher inclusions.
// Source (istio/istio pkg/bootstrap/config.go getStatsOptions): the effective inclusions are the
// `sidecar.istio.io/statsInclusion{Prefixes,Suffixes,Regexps}` annotation when set, else the ProxyConfig's
// proxyStatsMatcher, plus the required ones: prefixes cluster_manager, listener_manager, server, cluster.xds-grpc,
// wasm; suffixes rbac.allowed, rbac.denied, shadow_allowed, shadow_denied. Envoy matches regexes against the whole name.
import { parse } from 'yaml';

export interface StatsMatcher {
  inclusionPrefixes: string[];
  inclusionSuffixes: string[];
  inclusionRegexps: string[];
}

const requiredPrefixes = ['cluster_manager', 'listener_manager', 'server', 'cluster.xds-grpc', 'wasm'];
const requiredSuffixes = ['rbac.allowed', 'rbac.denied', 'shadow_allowed', 'shadow_denied'];

/** A stat meshproof reads, with an example Envoy name used to test a matcher and to explain what is missing. */
export interface NeededStat {
  what: string;
  example: string;
  /** The inclusion to suggest when it is missing. */
  suggest: { inclusionPrefixes?: string[]; inclusionRegexps?: string[] };
}

export const neededStats: NeededStat[] = [
  {
    what: 'upstream cluster counters (retries, pending overflow, timeouts)',
    example: 'cluster.outbound|9080|v1|reviews.default.svc.cluster.local.upstream_rq_retry',
    suggest: { inclusionPrefixes: ['cluster.outbound'] },
  },
  {
    what: 'local rate limit counters',
    example: 'http_local_rate_limiter.http_local_rate_limit.rate_limited',
    suggest: { inclusionRegexps: ['.*http_local_rate_limit.*'] },
  },
  {
    what: 'RBAC counters',
    example: 'http.inbound_0.0.0.0_9080.rbac.denied',
    suggest: { inclusionRegexps: ['.*rbac.*'] },
  },
];

function list(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string' && value !== '') return value.split(',');
  return [];
}

/** The proxyStatsMatcher of a ProxyConfig in YAML (a `proxy.istio.io/config` annotation or mesh defaultConfig). */
export function matcherFromProxyConfig(yamlText: string | undefined): Partial<StatsMatcher> | undefined {
  if (!yamlText) return undefined;
  const config = parse(yamlText) as { proxyStatsMatcher?: Record<string, unknown> } | null;
  const m = config?.proxyStatsMatcher;
  if (!m) return undefined;
  return { inclusionPrefixes: list(m.inclusionPrefixes), inclusionSuffixes: list(m.inclusionSuffixes), inclusionRegexps: list(m.inclusionRegexps) };
}

/** Effective inclusions of a pod, from its annotations and the mesh default ProxyConfig (YAML). */
export function effectiveMatcher(annotations: Record<string, string>, meshDefaultConfig?: string): StatsMatcher {
  const fromPod = matcherFromProxyConfig(annotations['proxy.istio.io/config']);
  const config = fromPod ?? matcherFromProxyConfig(meshDefaultConfig) ?? {};
  const pick = (annotation: string, fromConfig: string[] | undefined) => {
    const value = annotations[annotation];
    return value ? value.split(',') : (fromConfig ?? []);
  };
  return {
    inclusionPrefixes: [...pick('sidecar.istio.io/statsInclusionPrefixes', config.inclusionPrefixes), ...requiredPrefixes],
    inclusionSuffixes: [...pick('sidecar.istio.io/statsInclusionSuffixes', config.inclusionSuffixes), ...requiredSuffixes],
    inclusionRegexps: pick('sidecar.istio.io/statsInclusionRegexps', config.inclusionRegexps),
  };
}

export function exports(matcher: StatsMatcher, statName: string): boolean {
  return (
    matcher.inclusionPrefixes.some((p) => statName.startsWith(p)) ||
    matcher.inclusionSuffixes.some((s) => statName.endsWith(s)) ||
    matcher.inclusionRegexps.some((r) => {
      try {
        return new RegExp(`^(?:${r})$`).test(statName);
      } catch {
        return false;
      }
    })
  );
}

/** The needed stats a matcher does not export. */
export function missingStats(matcher: StatsMatcher): NeededStat[] {
  return neededStats.filter((s) => !exports(matcher, s.example));
}
