// The built-in control plane's RouteConfigurations for a sidecar's outbound HTTP ports, as the pinned istiod builds
// them (istio.io/istio 1.31 line): one configuration per Service port, named by the port, with a virtual host per
// Service (the default route) or per VirtualService host bound to the mesh, and the catch-all `allow_any`.
// Mirrors pilot/pkg/networking/core/httproute.go BuildSidecarOutboundVirtualHosts, generateVirtualHostDomains,
// buildCatchAllVirtualHost; route/route.go BuildHTTPRoutesForVirtualService, TranslateRoute, TranslateRouteMatch,
// applyHTTPRouteDestination, processDestination / processWeightedDestination, TranslateHeadersOperations,
// TranslateFault, GetDestinationCluster; route/retry/retry.go ConvertPolicy.
import type {
  ClusterWeight,
  HashPolicy,
  HeaderMatcher,
  RetryHostPredicate,
  HeaderValueOption,
  MetadataMatcher,
  QueryParameterMatcher,
  RetryPolicy,
  Route,
  RouteAction,
  RouteConfiguration,
  RouteMatch,
  StringMatcher as EnvoyStringMatcher,
  VirtualHost,
} from '../../envoy/model/index.ts';
import { TypedConfigType } from '../../envoy/model/index.ts';
import { gatewayVirtualHosts } from '../networking/gateway-routes.ts';
import { resolveShortname, visibilityRank } from '../networking/routing.ts';
import type {
  ConsistentHashSpec,
  CorsSpec,
  HeaderOperations,
  HttpMatch,
  HttpRoute,
  RouteDestination,
  StringMatcher,
  TrafficPolicy,
  TrafficPolicySettings,
  VirtualServiceModel,
} from '../networking/model.ts';
import { destinationRuleIndex, visibleServices, type ProxyDescriptor, type ServiceInput, type TranslationInput } from './input.ts';
import { portProtocol, servedAsHttp } from '../protocol.ts';

const previousHosts = (): RetryHostPredicate => ({
  name: 'envoy.retry_host_predicates.previous_hosts',
  typed_config: { '@type': TypedConfigType.previousHostsPredicate } as RetryHostPredicate['typed_config'],
});

/** google.protobuf.Duration as protojson writes it: whole seconds, or 3/6/9 fractional digits. */
export function protoDuration(ms: number): string {
  const nanos = Math.round(ms * 1e6);
  const seconds = Math.floor(nanos / 1e9);
  const rest = nanos % 1e9;
  if (rest === 0) return `${seconds}s`;
  const digits = rest % 1e6 === 0 ? 3 : rest % 1e3 === 0 ? 6 : 9;
  return `${seconds}.${String(rest).padStart(9, '0').slice(0, digits)}s`;
}

/** `outbound|<port>|<subset>|<host>` (model.BuildSubsetKey). */
export function outboundCluster(port: number, subset: string | undefined, host: string): string {
  return `outbound|${port}|${subset ?? ''}|${host}`;
}

/** retry.go ConvertPolicy: the mesh default when the route sets none, nothing when attempts are 0. */
/**
 * The default policy; a `retries` block overrides its fields (up to 1.23 DefaultPolicy() is copied, retriable 503
 * included, so `attempts` alone keeps it; since then newRetryPolicy has no status codes).
 */
function defaultRetryPolicy(input: TranslationInput, consistentHash = false): RetryPolicy {
  const d = input.behaviour.defaultRetry;
  const out: RetryPolicy = {
    retry_on: d.retryOn,
    num_retries: d.attempts,
    host_selection_retry_max_attempts: d.hostSelectionRetryMaxAttempts,
  };
  // retry.go newRetryPolicy(hashPolicy): with consistent hashing a retry stays on the host the hash picks.
  if (!consistentHash) out.retry_host_predicate = [previousHosts()];
  if (d.retriableStatusCodes.length > 0) out.retriable_status_codes = [...d.retriableStatusCodes];
  return out;
}

export function retryPolicy(retries: HttpRoute['retries'], input: TranslationInput, consistentHash = false): RetryPolicy | undefined {
  if (retries === undefined) return defaultRetryPolicy(input, consistentHash);
  if (retries.attempts <= 0) return undefined;
  const out = defaultRetryPolicy(input, consistentHash);
  out.num_retries = retries.attempts;
  if (retries.retryOn !== undefined && retries.retryOn.trim() !== '') {
    const parts = retries.retryOn
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    const codes = parts.filter((p) => /^\d+$/.test(p)).map(Number);
    let on = parts.filter((p) => !/^\d+$/.test(p)).join(',');
    // Appended as istiod appends it, so codes alone give ",retriable-status-codes" (Envoy skips the empty condition).
    if (codes.length > 0 && !on.includes('retriable-status-codes')) on += ',retriable-status-codes';
    out.retry_on = on;
    if (codes.length > 0) out.retriable_status_codes = codes;
    else delete out.retriable_status_codes;
  }
  if (retries.perTryTimeoutMs !== undefined) out.per_try_timeout = protoDuration(retries.perTryTimeoutMs);
  // retryIgnorePreviousHosts, when given, decides the predicate (hashing or not).
  if (retries.retryIgnorePreviousHosts === false) delete out.retry_host_predicate;
  if (retries.retryIgnorePreviousHosts === true) out.retry_host_predicate = [previousHosts()];
  if (retries.backoffMs !== undefined) out.retry_back_off = { base_interval: protoDuration(retries.backoffMs) };
  return out;
}

/** util.ConvertToEnvoyMatch. */
function envoyString(m: StringMatcher): EnvoyStringMatcher {
  switch (m.kind) {
    case 'exact':
      return { exact: m.value };
    case 'prefix':
      return { prefix: m.value };
    case 'regex':
      return { safe_regex: { regex: m.value } };
    case 'present':
      throw new Error('a present match has no string form');
  }
}

/** translateHeaderMatch: `regex: "*"` (and an empty match) is present_match. */
function headerMatcher(name: string, m: StringMatcher): HeaderMatcher {
  return m.kind === 'present' ? { name, present_match: true } : { name, string_match: envoyString(m) };
}

/**
 * translateMetadataMatch → MetadataMatcherForJWTClaims (authz/model/util.go, matcher/metadata.go
 * MetadataListValueMatcher with useExtendedJwt): jwt_authn's payload at the claim's path, a string claim or any
 * element of a list claim.
 */
function claimMatcher(path: string[], m: StringMatcher): MetadataMatcher {
  const value = envoyString(m);
  return {
    filter: 'envoy.filters.http.jwt_authn',
    path: ['payload', ...path].map((key) => ({ key })),
    value: { or_match: { value_matchers: [{ list_match: { one_of: { string_match: value } } }, { string_match: value }] } },
  };
}

/** TranslateRouteMatch. */
function routeMatch(match: HttpMatch | undefined): RouteMatch {
  if (!match) return { prefix: '/' };
  const out: RouteMatch = { prefix: '/' };
  const metadata: MetadataMatcher[] = [
    ...(match.claims ?? []).map(([path, m]) => claimMatcher(path, m)),
    ...(match.withoutClaims ?? []).map(([path, m]) => ({ ...claimMatcher(path, m), invert: true })),
  ];
  if (metadata.length > 0) out.dynamic_metadata = metadata;
  const headers: HeaderMatcher[] = match.headers.map(([name, m]) => headerMatcher(name, m));
  for (const [name, m] of match.withoutHeaders) {
    const h = headerMatcher(name, m);
    h.invert_match = true;
    if (m.kind !== 'present') h.treat_missing_header_as_empty = true;
    headers.push(h);
  }
  headers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (match.uri) {
    delete out.prefix;
    if (match.uri.kind === 'exact') out.path = match.uri.value;
    else if (match.uri.kind === 'prefix') out.prefix = match.uri.value;
    else if (match.uri.kind === 'regex') out.safe_regex = { regex: match.uri.value };
    else out.prefix = '/';
  }
  out.case_sensitive = !match.ignoreUriCase;
  if (match.method) headers.push(headerMatcher(':method', match.method));
  if (match.authority) headers.push(headerMatcher(':authority', match.authority));
  if (match.scheme) headers.push(headerMatcher(':scheme', match.scheme));
  if (headers.length > 0) out.headers = headers;
  const query: QueryParameterMatcher[] = match.queryParams.map(([name, m]) =>
    m.kind === 'present' ? { name, present_match: true } : { name, string_match: envoyString(m) },
  );
  if (query.length > 0) out.query_parameters = query;
  return out;
}

/** IsCatchAllRoute. */
export function isCatchAll(route: Route): boolean {
  const m = route.match;
  const catchAllPath = m.prefix === '/' || m.path_separated_prefix === '/' || m.safe_regex?.regex === '.*';
  return catchAllPath && !m.headers?.length && !m.query_parameters?.length;
}

/** translateAppendHeaders: sorted by name, `set` overwrites, `add` appends; host/:authority become a rewrite. */
function headerOptions(pairs: [string, string][], append: boolean): { options: HeaderValueOption[]; authority?: string } {
  let authority: string | undefined;
  const options: HeaderValueOption[] = [];
  for (const [key, value] of pairs) {
    const lower = key.toLowerCase();
    if (lower === ':authority' || lower === 'host') authority = value;
    if (key.startsWith(':') || lower === 'host') continue;
    // APPEND_IF_EXISTS_OR_ADD is the enum's zero value: proto3 JSON leaves it out.
    options.push(append ? { header: { key, value } } : { header: { key, value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' });
  }
  options.sort((a, b) => (a.header.key < b.header.key ? -1 : a.header.key > b.header.key ? 1 : 0));
  return { options, authority };
}

interface Operations {
  request_headers_to_add?: HeaderValueOption[];
  request_headers_to_remove?: string[];
  response_headers_to_add?: HeaderValueOption[];
  response_headers_to_remove?: string[];
  authority?: string;
}

/** TranslateHeadersOperations. */
function headerOperations(headers: RouteDestination['headers']): Operations {
  const req: HeaderOperations | undefined = headers?.request;
  const resp: HeaderOperations | undefined = headers?.response;
  const reqSet = headerOptions(req?.set ?? [], false);
  const reqAdd = headerOptions(req?.add ?? [], true);
  const out: Operations = {};
  const reqAll = [...reqSet.options, ...reqAdd.options];
  if (reqAll.length > 0) out.request_headers_to_add = reqAll;
  const respAll = [...headerOptions(resp?.set ?? [], false).options, ...headerOptions(resp?.add ?? [], true).options];
  if (respAll.length > 0) out.response_headers_to_add = respAll;
  const drop = (keys: string[]) => keys.filter((k) => !k.startsWith(':') && k.toLowerCase() !== 'host');
  if (req?.remove.length) out.request_headers_to_remove = drop(req.remove);
  if (resp?.remove.length) out.response_headers_to_remove = drop(resp.remove);
  const authority = reqSet.authority ?? reqAdd.authority ?? req?.authority;
  if (authority !== undefined) out.authority = authority;
  return out;
}

function copyOperations(target: Operations, from: Operations, appendTo = false): void {
  for (const key of ['request_headers_to_add', 'request_headers_to_remove', 'response_headers_to_add', 'response_headers_to_remove'] as const) {
    const values = from[key];
    if (!values || values.length === 0) continue;
    const existing = appendTo ? target[key] : undefined;
    (target as Record<string, unknown>)[key] = existing ? [...existing, ...values] : [...values];
  }
}

/** GetDestinationCluster: the destination's port, else the Service's only port, else the listener's (`services`: the port's). */
function destinationCluster(d: RouteDestination, services: Map<string, ServiceInput>, listenPort: number): string {
  const service = services.get(d.fqdn);
  const [only, ...others] = service?.ports ?? [];
  const port = d.port ?? (only && others.length === 0 ? only.port : listenPort);
  return outboundCluster(port, d.subset, d.fqdn);
}

/**
 * route.go HashForHTTPDestination: the consistent hash of the destination's DestinationRule — the subset's port-level
 * one, else the subset's, else the rule's port-level one (only for a destination naming its port), else the rule's.
 */
function hashForDestination(
  d: RouteDestination,
  services: Map<string, ServiceInput>,
  input: TranslationInput,
  proxyNamespace: string,
): ConsistentHashSpec | undefined {
  const rule = destinationRuleIndex(input).get(d.fqdn, proxyNamespace, services.get(d.fqdn)?.namespace);
  if (!rule) return undefined;
  const lbHash = (p: TrafficPolicySettings | undefined) => p?.loadBalancer?.consistentHash;
  const portHash = (p: TrafficPolicy | undefined) => (d.port !== undefined ? lbHash(p?.portLevel.get(d.port)) : undefined);
  const subset = d.subset === undefined ? undefined : rule.subsets.find((s) => s.name === d.subset);
  return portHash(subset?.trafficPolicy) ?? lbHash(subset?.trafficPolicy) ?? portHash(rule.trafficPolicy) ?? lbHash(rule.trafficPolicy);
}

/** route.go ConsistentHashToHashPolicy; undefined for a hash without a key (useSourceIp: false). */
function hashPolicyOf(h: ConsistentHashSpec): HashPolicy | undefined {
  switch (h.key?.kind) {
    case 'header':
      return { header: { header_name: h.key.name } };
    case 'cookie':
      return {
        cookie: {
          name: h.key.name,
          ...(h.key.ttlSeconds !== undefined ? { ttl: protoDuration(h.key.ttlSeconds * 1000) } : {}),
          ...(h.key.path ? { path: h.key.path } : {}),
        },
      };
    case 'sourceIp':
      return { connection_properties: { source_ip: true } };
    case 'query':
      return { query_parameter: { name: h.key.name } };
    case undefined:
      return undefined;
  }
}

/**
 * buildSidecarVirtualHostForService: a Service port's default route, with the hash of its DestinationRule
 * (hashForService: the port-level one for this port, else the rule's); its retries keep the default host predicate.
 */
function defaultRouteAction(service: ServiceInput, port: number, proxy: ProxyDescriptor, input: TranslationInput): RouteAction {
  const action: RouteAction = { cluster: outboundCluster(port, undefined, service.fqdn), timeout: '0s', retry_policy: defaultRetryPolicy(input) };
  const rule = destinationRuleIndex(input).get(service.fqdn, proxy.namespace, service.namespace);
  const hash = rule?.trafficPolicy?.portLevel.get(port)?.loadBalancer?.consistentHash ?? rule?.trafficPolicy?.loadBalancer?.consistentHash;
  const policy = hash ? hashPolicyOf(hash) : undefined;
  if (policy) action.hash_policy = [policy];
  return action;
}

/** TranslateRoute for one rule and one of its matches (or none). */
function translateRoute(
  rule: HttpRoute,
  match: HttpMatch | undefined,
  listenPort: number,
  services: Map<string, ServiceInput>,
  input: TranslationInput,
  proxyNamespace: string,
): Route {
  const name = match?.name ? `${rule.name ?? ''}.${match.name}` : rule.name;
  const out: Route = { match: routeMatch(match) };
  if (name) out.name = name;
  const routeOps = rule.headers ? headerOperations(rule.headers) : {};
  copyOperations(out, routeOps);
  const action: RouteAction = { timeout: rule.timeoutMs === undefined ? '0s' : protoDuration(rule.timeoutMs) };
  let authority = routeOps.authority;
  if (rule.rewrite) {
    if (rule.rewrite.uri !== undefined && rule.rewrite.uri !== '') action.prefix_rewrite = rule.rewrite.uri;
    if (rule.rewrite.authority) authority = rule.rewrite.authority;
  }
  if (authority !== undefined) action.host_rewrite_literal = authority;
  const [single, ...others] = rule.route;
  if (single && others.length === 0) {
    const d = single;
    action.cluster = destinationCluster(d, services, listenPort);
    if (d.headers) {
      const ops = headerOperations(d.headers);
      copyOperations(out, ops, true);
      if (ops.authority !== undefined && action.host_rewrite_literal === undefined) action.host_rewrite_literal = ops.authority;
    }
  } else {
    const clusters: ClusterWeight[] = [];
    for (const d of rule.route) {
      if (d.weight === 0) continue;
      const weight: ClusterWeight = { name: destinationCluster(d, services, listenPort), weight: d.weight };
      if (d.headers) {
        const ops = headerOperations(d.headers);
        copyOperations(weight, ops);
        if (ops.authority !== undefined) weight.host_rewrite_literal = ops.authority;
      }
      clusters.push(weight);
    }
    action.weighted_clusters = { clusters };
  }
  // applyHTTPRouteDestination: each destination's hash policy; a single hashed destination keeps retries on its host.
  const hashes = rule.route.filter((d) => rule.route.length === 1 || d.weight !== 0).map((d) => hashForDestination(d, services, input, proxyNamespace));
  const hashPolicies = hashes.flatMap((h) => (h ? [hashPolicyOf(h)] : [])).filter((h): h is HashPolicy => h !== undefined);
  if (hashPolicies.length > 0) action.hash_policy = hashPolicies;
  const retries = retryPolicy(rule.retries, input, rule.route.length === 1 && hashes[0] !== undefined);
  if (retries) action.retry_policy = retries;
  out.route = action;
  if (rule.fault && (rule.fault.delay || rule.fault.abort)) {
    const fault: { delay?: object; abort?: object } = {};
    if (rule.fault.delay)
      fault.delay = { fixed_delay: protoDuration(rule.fault.delay.fixedDelayMs), percentage: { numerator: rule.fault.delay.ppm, denominator: 'MILLION' } };
    if (rule.fault.abort) fault.abort = { http_status: rule.fault.abort.httpStatus, percentage: { numerator: rule.fault.abort.ppm, denominator: 'MILLION' } };
    out.typed_per_filter_config = { 'envoy.filters.http.fault': { '@type': TypedConfigType.fault, ...fault } as never };
  }
  if (rule.cors) out.typed_per_filter_config = { ...out.typed_per_filter_config, 'envoy.filters.http.cors': corsPolicy(rule.cors) as never };
  return out;
}

/** route.go TranslateCORSPolicy: empty lists and an unset maxAge leave their fields out; an empty origin match is dropped. */
function corsPolicy(c: CorsSpec): object {
  return {
    '@type': TypedConfigType.corsPolicy,
    forward_not_matching_preflights: c.unmatchedPreflights !== 'IGNORE',
    ...(c.allowOrigins.length > 0 ? { allow_origin_string_match: c.allowOrigins.filter((m) => m.kind !== 'present').map(envoyString) } : {}),
    filter_enabled: { default_value: { numerator: 100 } }, // denominator HUNDRED is the enum's zero: protojson leaves it out
    ...(c.allowCredentials !== undefined ? { allow_credentials: c.allowCredentials } : {}),
    ...(c.allowHeaders.length > 0 ? { allow_headers: c.allowHeaders.join(',') } : {}),
    ...(c.allowMethods.length > 0 ? { allow_methods: c.allowMethods.join(',') } : {}),
    ...(c.exposeHeaders.length > 0 ? { expose_headers: c.exposeHeaders.join(',') } : {}),
    ...(c.maxAgeSeconds !== undefined ? { max_age: String(c.maxAgeSeconds) } : {}),
  };
}

/** sourceMatchHTTP for a sidecar: the mesh gateway, or source labels and namespace. */
function appliesToSidecar(match: HttpMatch, proxy: ProxyDescriptor): boolean {
  if (match.gateways && match.gateways.length > 0) return match.gateways.includes('mesh');
  const labels = match.sourceLabels ?? {};
  if (!Object.entries(labels).every(([k, v]) => proxy.labels[k] === v)) return false;
  return match.sourceNamespace === undefined || match.sourceNamespace === proxy.namespace;
}

/** BuildHTTPRoutesForVirtualService for a sidecar on `listenPort`: routes stop after the first catch-all. */
export function sidecarRoutes(
  vs: VirtualServiceModel,
  listenPort: number,
  proxy: ProxyDescriptor,
  services: Map<string, ServiceInput>,
  input: TranslationInput,
): Route[] {
  const out: Route[] = [];
  for (const rule of vs.http) {
    let catchAll = false;
    if (rule.match.length === 0) {
      out.push(translateRoute(rule, undefined, listenPort, services, input, proxy.namespace));
      catchAll = true;
    } else {
      for (const match of rule.match) {
        if (match.port !== undefined && match.port !== listenPort) continue;
        if (!appliesToSidecar(match, proxy)) continue;
        const route = translateRoute(rule, match, listenPort, services, input, proxy.namespace);
        out.push(route);
        if (isCatchAll(route)) {
          catchAll = true;
          break;
        }
      }
    }
    if (catchAll) break;
  }
  return out;
}

/** generateVirtualHostDomains / generateAltVirtualHostsForKubernetesService with the port ignored (1.31 sidecars). */
export function serviceDomains(service: ServiceInput, proxyNamespace: string): string[] {
  const domains = [service.fqdn, `${service.fqdn}.`];
  // GenerateAltVirtualHosts expands only hosts under the proxy's DNS domain (<ns>.svc.cluster.local).
  if (service.external) return domains;
  if (service.namespace === proxyNamespace) domains.push(service.name, `${service.name}.${service.namespace}.svc`, `${service.name}.${service.namespace}`);
  else domains.push(`${service.name}.${service.namespace}`, `${service.name}.${service.namespace}.svc`);
  if (service.clusterIp) domains.push(service.clusterIp);
  return domains;
}

const visibleTo = (exportTo: string[] | undefined, owner: string, namespace: string) =>
  exportTo === undefined || exportTo.length === 0 || exportTo.includes('*') || exportTo.includes(namespace) || (exportTo.includes('.') && owner === namespace);

const vsHostFqdn = resolveShortname;

/**
 * The virtual hosts of one outbound port (BuildSidecarOutboundVirtualHosts): every Service with that port (whatever
 * its protocol), the oldest mesh VirtualService for each of them; on port 80 also the hosts of every visible mesh
 * VirtualService that are no Service of the port (istiod skips selectVirtualServices there), as a virtual host with
 * only that host as its domain. Destinations resolve against the port's Services only (opts.LookupService), so such a
 * route points at `outbound|80||<host>` when the host's Service has no port 80.
 */
function outboundVirtualHosts(input: TranslationInput, proxy: ProxyDescriptor, port: number, virtualServices: VirtualServiceModel[]): VirtualHost[] {
  const onPort = new Map(
    visibleServices(input, proxy.namespace)
      .filter((s) => s.ports.some((p) => p.port === port))
      .map((s) => [s.fqdn, s]),
  );
  const vhosts = new Map<string, VirtualHost>();
  for (const vs of virtualServices) {
    const hosts = vs.hosts.map((h) => vsHostFqdn(h, vs.namespace).toLowerCase());
    const forServices = hosts.filter((h) => onPort.has(h));
    if (port !== 80 && forServices.length === 0) continue;
    let routes: Route[] | undefined;
    for (const host of hosts) {
      const key = `${host}:${port}`;
      if (vhosts.has(key)) continue;
      const service = onPort.get(host);
      if (!service && port !== 80) continue;
      routes ??= sidecarRoutes(vs, port, proxy, onPort, input);
      if (routes.length === 0) break;
      vhosts.set(key, { name: key, domains: service ? serviceDomains(service, proxy.namespace) : [host], routes, include_request_attempt_count: true });
    }
  }
  for (const service of onPort.values()) {
    const key = `${service.fqdn}:${port}`;
    if (vhosts.has(key)) continue;
    vhosts.set(key, {
      name: key,
      domains: serviceDomains(service, proxy.namespace),
      routes: [{ name: 'default', match: { prefix: '/' }, route: defaultRouteAction(service, port, proxy, input) }],
      include_request_attempt_count: true,
    });
  }
  return [...vhosts.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The sidecar's outbound RouteConfigurations (listener.go buildSidecarOutboundHTTPListenerOpts names them): one per
 * port, named by the port, shared by the port's Services, for ports some Service serves as HTTP — except a sniffed
 * (`auto`) port of a Service with a cluster IP, which has a listener of its own on that IP and a route configuration
 * `<host>:<port>` holding only its virtual host, with domain `*` and no catch-all (buildSidecarOutboundHTTPRouteConfig,
 * getVirtualHostsForSniffedServicePort).
 */
export function buildSidecarOutboundRoutes(input: TranslationInput, proxy: ProxyDescriptor): RouteConfiguration[] {
  const virtualServices = input.virtualServices
    .filter((vs) => vs.gateways.includes('mesh') && visibleTo(vs.exportTo, vs.namespace, proxy.namespace))
    // push_context.go VirtualServicesForGateway: the namespace's private ones, then those exported to it, then the
    // public ones, each in creation order.
    .sort((a, b) => visibilityRank(a, proxy.namespace) - visibilityRank(b, proxy.namespace) || a.createdAt - b.createdAt);
  const shared = new Set<number>();
  const sniffed: { service: ServiceInput; port: number }[] = [];
  for (const service of visibleServices(input, proxy.namespace)) {
    for (const p of service.ports) {
      const protocol = portProtocol(p.port, p.name, p.appProtocol);
      if (protocol === 'auto' && service.clusterIp) sniffed.push({ service, port: p.port });
      else if (servedAsHttp(protocol)) shared.add(p.port);
    }
  }
  const cache = new Map<number, VirtualHost[]>();
  const vhostsOf = (port: number) => {
    let v = cache.get(port);
    if (!v) cache.set(port, (v = outboundVirtualHosts(input, proxy, port, virtualServices)));
    return v;
  };
  const configs: RouteConfiguration[] = [];
  for (const port of [...shared].sort((a, b) => a - b)) {
    configs.push({ name: String(port), virtual_hosts: [...vhostsOf(port), catchAll(input)], validate_clusters: false, ignore_port_in_host_matching: true });
  }
  for (const { service, port } of sniffed) {
    const name = `${service.fqdn}:${port}`;
    const matching = vhostsOf(port).filter((v) => v.domains.includes(name) || v.domains.includes(service.fqdn));
    const [only, ...others] = matching;
    const vhosts = only && others.length === 0 ? [{ ...only, domains: ['*'] }] : matching;
    configs.push({ name, virtual_hosts: vhosts, validate_clusters: false, ignore_port_in_host_matching: true });
  }
  return configs;
}

/**
 * httproute.go buildCatchAllVirtualHost: under outboundTrafficPolicy ALLOW_ANY (the default) `allow_any` to the
 * PassthroughCluster; under REGISTRY_ONLY `block_all`, a direct response 502 (a host outside the registry).
 */
function catchAll(input: TranslationInput): VirtualHost {
  if (input.outboundTrafficPolicy === 'REGISTRY_ONLY') {
    return {
      name: 'block_all',
      domains: ['*'],
      routes: [{ name: 'block_all', match: { prefix: '/' }, direct_response: { status: 502 } }],
      include_request_attempt_count: true,
    };
  }
  return {
    name: 'allow_any',
    domains: ['*'],
    routes: [{ name: 'allow_any', match: { prefix: '/' }, route: { cluster: 'PassthroughCluster', timeout: '0s' } }],
    include_request_attempt_count: true,
  };
}

/**
 * A gateway's RouteConfigurations (gateway.go buildGatewayHTTPRouteConfig), one per port the HTTP servers listen on,
 * `http.<port>`: a virtual host per host a bound VirtualService shares with a server (domains: that host), routes as
 * networking/gateway-routes.ts gathers them (the same code the local gateway routes with) translated as TranslateRoute
 * does; a port where nothing binds gets istiod's `blackhole:<port>` virtual host (404 for everything).
 */
export function buildGatewayRoutes(input: TranslationInput, proxy: ProxyDescriptor): RouteConfiguration[] {
  const gateways = input.gateways.filter((g) => Object.keys(g.selector).length > 0 && Object.entries(g.selector).every(([k, v]) => proxy.labels[k] === v));
  const services = new Map(input.services.map((s) => [s.fqdn, s]));
  // model.MergeGateways: the servers by the port they listen on (a Gateway Service port resolved to its target port,
  // resolvePorts), the routes named by that port (gatewayRDSRouteName); the virtual hosts keep the port as written.
  const ports = new Map<number, number>();
  for (const g of gateways) for (const server of g.servers) ports.set(server.port, Math.min(ports.get(server.port) ?? Infinity, server.declaredPort));
  const configs: RouteConfiguration[] = [];
  for (const [port, declared] of [...ports].sort((a, b) => a[0] - b[0])) {
    const byHost = gatewayVirtualHosts(gateways, input.virtualServices, port, { labels: proxy.labels, namespace: proxy.namespace });
    const vhosts: VirtualHost[] = [...byHost].map(([host, rules]) => ({
      name: `${host}:${declared}`,
      domains: [host],
      routes: rules.map((rule) => translateRoute(rule, rule.match[0], rule.gatewayPort ?? declared, services, input, proxy.namespace)),
      include_request_attempt_count: true,
    }));
    vhosts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (vhosts.length === 0) vhosts.push({ name: `blackhole:${declared}`, domains: ['*'], routes: [] });
    configs.push({ name: `http.${port}`, virtual_hosts: vhosts, validate_clusters: false, ignore_port_in_host_matching: true });
  }
  return configs;
}

/** Every RouteConfiguration the proxy is sent: a sidecar's outbound ports, a gateway's servers. */
export function buildRoutes(input: TranslationInput, proxy: ProxyDescriptor): RouteConfiguration[] {
  return proxy.type === 'router' ? buildGatewayRoutes(input, proxy) : buildSidecarOutboundRoutes(input, proxy);
}
