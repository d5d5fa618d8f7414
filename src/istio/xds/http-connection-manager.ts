// The HTTP filters istiod writes into an HTTP connection manager, per listener class
// (pilot/pkg/networking/core/listener_builder.go buildHTTPConnectionManager, appendMxFilter): metadata exchange,
// CUSTOM authorization, authentication (jwt_authn), DENY/ALLOW authorization, grpc_stats, ALPN (not on the sidecar's
// inbound side: features.ALPNFilter), fault, CORS, stats (the Telemetry metrics overrides, model/telemetry.go
// generateStatsConfig; none when the class's metrics are all disabled), router; then the EnvoyFilter HTTP_FILTER patches of the
// context. The filters the data plane does not run are kept while patching (a patch may name them), then dropped.
import { buildInboundAuthzFilters } from './authorization-filters.ts';
import { SpecError } from '../../errors.ts';
import { loadEnvoyResource } from '../../envoy/load/index.ts';
import type { HttpFilter, StatsPluginConfig } from '../../envoy/model/index.ts';
import { statsConfigsFor } from '../telemetry/telemetry.ts';
import { ResourceType, TypedConfigType } from '../../envoy/model/type-urls.ts';
import type { Json } from '../../spec/untyped.ts';
import { httpFilterPatches, patchHttpFilters, type HttpFilterPatch, type PatchSite, type RawHttpFilter } from './http-filter-patches.ts';
import type { ProxyDescriptor, TranslationInput } from './input.ts';
import { buildJwtFilter } from './jwt-filter.ts';

export const HCM = 'envoy.filters.network.http_connection_manager';

export type ListenerClass = 'SIDECAR_INBOUND' | 'SIDECAR_OUTBOUND' | 'GATEWAY';

/** A proxy's filters of one listener class, built once; patches then apply per chain. */
export interface ClassFilters {
  listenerClass: ListenerClass;
  customAuthz: HttpFilter[];
  jwt?: Json;
  authz: HttpFilter[];
  patches: HttpFilterPatch[];
  /** The `istio.stats` filter's config; absent: no stats filter (the class's metrics all disabled). */
  stats?: StatsPluginConfig;
}

export type AuthzFilterBuilder = (input: TranslationInput, proxy: ProxyDescriptor) => HttpFilter[];

/** A CUSTOM AuthorizationPolicy's filter: ext_authz, or an RBAC filter whose policies are the CUSTOM builder's
 * (named `istio-ext-authz-…`, security/authz/builder policyName). istiod builds them before authentication. */
function isCustomAuthz(filter: HttpFilter): boolean {
  const c = filter.typed_config;
  if (c?.['@type'] === TypedConfigType.extAuthz) return true;
  if (c?.['@type'] !== TypedConfigType.rbac) return false;
  const names = [...Object.keys(c.rules?.policies ?? {}), ...Object.keys(c.shadow_rules?.policies ?? {})];
  return names.length > 0 && names.every((n) => n.startsWith('istio-ext-authz'));
}

/** A patch's filter must be one the data plane runs (istiod would send it; the local proxies would refuse it): a
 * SpecError naming the EnvoyFilter's field otherwise. */
function checkPatchValues(patches: readonly HttpFilterPatch[]): void {
  const at = 'filter_chains[0].filters[0].typed_config.http_filters[0]';
  for (const patch of patches) {
    if (!patch.value) continue;
    const stub = {
      name: 'check',
      filter_chains: [
        {
          filters: [
            {
              name: HCM,
              typed_config: {
                '@type': TypedConfigType.httpConnectionManager,
                stat_prefix: 'check',
                rds: { route_config_name: 'check' },
                http_filters: [patch.value],
              },
            },
          ],
        },
      ],
    };
    const [issue] = loadEnvoyResource(ResourceType.listener, stub).issues;
    if (issue) throw new SpecError(issue.message, undefined, `${patch.origin}.patch.value${issue.path.startsWith(at) ? issue.path.slice(at.length) : ''}`);
  }
}

/**
 * The proxy's filters for a listener class. The authorization (authz builder) and authentication (authn builder)
 * filters apply to the sidecar's inbound side and to gateways only (their BuildHTTP returns nothing for the sidecar's
 * outbound class). `authzFilters` gives the AuthorizationPolicy filters in istiod's order (CUSTOM, then AUDIT, DENY,
 * ALLOW); the CUSTOM ones go before jwt_authn, the others after.
 */
export function classFilters(
  input: TranslationInput,
  proxy: ProxyDescriptor,
  listenerClass: ListenerClass,
  authzFilters: AuthzFilterBuilder = buildInboundAuthzFilters,
): ClassFilters {
  const patches = httpFilterPatches(input, proxy, listenerClass);
  checkPatchValues(patches);
  // telemetry.go MetricsForClass: the sidecar's inbound listeners take the SERVER metrics, the others the CLIENT ones.
  const configs = statsConfigsFor(input.telemetries ?? [], { namespace: proxy.namespace, labels: proxy.labels }, input.defaultMetricsProviders ?? []);
  const classStats = listenerClass === 'SIDECAR_INBOUND' ? configs.server : configs.client;
  // telemetry.go disableHostHeaderFallback: on inbound and gateway listeners only (proto3 leaves out a false).
  const stats = classStats && (listenerClass === 'SIDECAR_OUTBOUND' ? classStats : { disable_host_header_fallback: true, ...classStats });
  if (listenerClass === 'SIDECAR_OUTBOUND') return { listenerClass, customAuthz: [], authz: [], patches, ...(stats ? { stats } : {}) };
  const authz = authzFilters(input, proxy);
  const jwt = buildJwtFilter(input, proxy);
  return {
    listenerClass,
    customAuthz: authz.filter(isCustomAuthz),
    ...(jwt ? { jwt } : {}),
    authz: authz.filter((x) => !isCustomAuthz(x)),
    patches,
    ...(stats ? { stats } : {}),
  };
}

const NO_OP = '__noOp';
/** Filters istiod adds that the data plane does not run; kept while patching, then dropped. */
const noOp = (name: string): RawHttpFilter => ({ name, [NO_OP]: true });

function baseHttpFilters(f: ClassFilters): RawHttpFilter[] {
  return [
    noOp('istio.metadata_exchange'),
    ...(f.customAuthz as unknown as RawHttpFilter[]),
    ...(f.jwt ? [f.jwt] : []),
    ...(f.authz as unknown as RawHttpFilter[]),
    noOp('envoy.filters.http.grpc_stats'),
    ...(f.listenerClass === 'SIDECAR_INBOUND' ? [] : [noOp('istio.alpn')]),
    { name: 'envoy.filters.http.fault', typed_config: { '@type': TypedConfigType.fault } },
    { name: 'envoy.filters.http.cors', typed_config: { '@type': TypedConfigType.cors } },
    ...(f.stats ? [{ name: 'istio.stats', typed_config: { '@type': TypedConfigType.istioStats, ...f.stats } }] : []),
    { name: 'envoy.filters.http.router', typed_config: { '@type': TypedConfigType.router } },
  ];
}

/** The HTTP connection manager's `http_filters` at one site, patched, without the no-op filters. */
export function httpFiltersAt(f: ClassFilters, site: PatchSite): RawHttpFilter[] {
  return patchHttpFilters(baseHttpFilters(f), f.patches, site).filters.filter((x) => !x[NO_OP]);
}

/** buildHTTPConnectionManager's `rds`: the route configuration by name, over ADS. */
export function rds(routeConfigName: string): Json {
  return { config_source: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' }, route_config_name: routeConfigName };
}

/** util.DelimitedStatsPrefix: a `;` after the prefix when the version delimits them. */
export const statPrefix = (input: TranslationInput, prefix: string) => (input.behaviour.delimitedStatPrefixes ? `${prefix};` : prefix);
