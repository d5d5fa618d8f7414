// Routing as Envoy executes a RouteConfiguration: source/common/router/config_impl.cc (RouteMatcher::findVirtualHost,
// RouteEntryImplBase::matchRoute and its Prefix/Path/Regex/PathSeparatedPrefix entries, WeightedClusterEntry,
// perFilterConfig, finalizeRequestHeaders) and source/common/router/header_parser.cc.
import type {
  ClusterWeight,
  FractionalPercent,
  HeaderOperations,
  HeaderValueOption,
  PerFilterConfig,
  QueryParameterMatcher,
  Route,
  RouteAction,
  RouteConfiguration,
  RouteMatch,
  VirtualHost,
} from '../model/index.ts';
import { matchHeaders, matchMetadata, matchString, type DynamicMetadata, type Headers } from './matchers.ts';
import { compileSafeRegexGlobal, fullMatch } from './re2.ts';
import { must } from '../../must.ts';

export interface RouteRequest {
  /** The :path pseudo-header, query string included. */
  path: string;
  headers: Headers;
  /** A draw in [0, 1) for routes with runtime_fraction (Envoy's per-stream random value); required only then. */
  uniform?: () => number;
  /** The stream's dynamic metadata so far (the filters before the router set it, e.g. jwt_authn's payload). */
  metadata?: DynamicMetadata;
}

/** HeaderUtility::getPortStart: where ":port" begins, skipping the colons of a bracketed IPv6 literal. */
function portStart(host: string): number {
  const colon = host.lastIndexOf(':');
  if (colon < 0) return -1;
  const v6End = host.lastIndexOf(']');
  return v6End < 0 || v6End < colon ? colon : -1;
}

interface VirtualHostIndex {
  exact: Map<string, VirtualHost>;
  /** Wildcard length (domain without "*") → domain tail or head → host; longest first. */
  suffixes: [number, Map<string, VirtualHost>][];
  prefixes: [number, Map<string, VirtualHost>][];
  fallback?: VirtualHost;
}

const indexes = new WeakMap<RouteConfiguration, VirtualHostIndex>();

function indexVirtualHosts(config: RouteConfiguration): VirtualHostIndex {
  const cached = indexes.get(config);
  if (cached) return cached;
  const index: VirtualHostIndex = { exact: new Map(), suffixes: [], prefixes: [] };
  const suffixes = new Map<number, Map<string, VirtualHost>>();
  const prefixes = new Map<number, Map<string, VirtualHost>>();
  const seen = new Set<string>();
  for (const vhost of config.virtual_hosts ?? []) {
    for (const raw of vhost.domains) {
      const domain = raw.toLowerCase();
      // RouteMatcher's constructor rejects a domain twice in one route configuration.
      if (seen.has(domain))
        throw new Error(`route configuration ${config.name}: domain "${raw}" is in more than one virtual host (virtual_hosts[${vhost.name}].domains)`);
      seen.add(domain);
      if (domain === '*') index.fallback = vhost;
      else if (domain.startsWith('*')) addWildcard(suffixes, domain.slice(1), vhost);
      else if (domain.endsWith('*')) addWildcard(prefixes, domain.slice(0, -1), vhost);
      else index.exact.set(domain, vhost);
    }
  }
  const longestFirst = (m: Map<number, Map<string, VirtualHost>>) => [...m.entries()].sort((a, b) => b[0] - a[0]);
  index.suffixes = longestFirst(suffixes);
  index.prefixes = longestFirst(prefixes);
  indexes.set(config, index);
  return index;
}

function addWildcard(by: Map<number, Map<string, VirtualHost>>, part: string, vhost: VirtualHost): void {
  let m = by.get(part.length);
  if (!m) by.set(part.length, (m = new Map<string, VirtualHost>()));
  m.set(part, vhost);
}

/** RouteMatcher::findVirtualHost: exact domain, then the longest `*suffix`, then the longest `prefix*`, then `*`. */
export function selectVirtualHost(config: RouteConfiguration, authority: string): VirtualHost | undefined {
  const index = indexVirtualHosts(config);
  if (index.exact.size === 0 && index.suffixes.length === 0 && index.prefixes.length === 0) return index.fallback;
  let hostValue = authority;
  if (config.ignore_port_in_host_matching === true) {
    const at = portStart(hostValue);
    if (at >= 0) hostValue = hostValue.slice(0, at);
  }
  const host = hostValue.toLowerCase();
  const exact = index.exact.get(host);
  if (exact) return exact;
  // findWildcardVirtualHost: a wildcard must stand for at least one character (`*.foo.com` does not match ".foo.com").
  for (const [length, byPart] of index.suffixes) {
    if (length >= host.length) continue;
    const hit = byPart.get(host.slice(host.length - length));
    if (hit) return hit;
  }
  for (const [length, byPart] of index.prefixes) {
    if (length >= host.length) continue;
    const hit = byPart.get(host.slice(0, length));
    if (hit) return hit;
  }
  return index.fallback;
}

/** Http::PathUtil::removeQueryAndFragment. */
export function pathWithoutQuery(path: string): string {
  const end = path.search(/[?#]/);
  return end < 0 ? path : path.slice(0, end);
}

function matchPath(match: RouteMatch, path: string): boolean {
  const caseSensitive = match.case_sensitive !== false;
  const fold = (s: string) => (caseSensitive ? s : s.toLowerCase());
  // PrefixRouteEntryImpl matches the whole :path (query included); the others strip the query and fragment.
  if (match.prefix !== undefined) return fold(path).startsWith(fold(match.prefix));
  const bare = pathWithoutQuery(path);
  if (match.path !== undefined) return fold(bare) === fold(match.path);
  // RegexRouteEntryImpl: case_sensitive does not apply to safe_regex.
  if (match.safe_regex !== undefined) return fullMatch(match.safe_regex.regex, bare);
  if (match.path_separated_prefix !== undefined) {
    const prefix = match.path_separated_prefix;
    return fold(bare.slice(0, prefix.length)) === fold(prefix) && (bare.length === prefix.length || bare[prefix.length] === '/');
  }
  throw new Error('RouteMatch: none of prefix, path, safe_regex, path_separated_prefix is set');
}

/** The part of the path (no query) a route's path specifier matched (each RouteEntryImpl's currentUrlPathAfterRewrite). */
function matchedPathLength(match: RouteMatch, bare: string): number {
  if (match.prefix !== undefined) return match.prefix.length;
  if (match.path_separated_prefix !== undefined) return match.path_separated_prefix.length;
  return bare.length; // path and safe_regex: the whole path
}

/**
 * The upstream :path after the route's rewrite (RouteEntryImplBase::currentUrlPathAfterRewriteWithMatchedPath):
 * prefix_rewrite replaces the matched part and keeps the rest and the query; regex_rewrite substitutes every match in
 * the path without its query (RE2::GlobalReplace, `\N` groups).
 */
export function rewrittenPath(route: Route, path: string): string {
  const action = route.route;
  if (!action) return path;
  const end = path.search(/[?#]/);
  const bare = end < 0 ? path : path.slice(0, end);
  const rest = end < 0 ? '' : path.slice(end);
  if (action.prefix_rewrite) return action.prefix_rewrite + path.slice(matchedPathLength(route.match, bare));
  if (action.regex_rewrite) {
    const pattern = compileSafeRegexGlobal(action.regex_rewrite.pattern.regex);
    const substitution = action.regex_rewrite.substitution.replace(/\$/g, '$$$$').replace(/\\(\d)/g, '$$$1');
    return bare.replace(pattern, substitution) + rest;
  }
  return path;
}

const REDIRECT_CODES = { MOVED_PERMANENTLY: 301, FOUND: 302, SEE_OTHER: 303, TEMPORARY_REDIRECT: 307, PERMANENT_REDIRECT: 308 } as const;
const DEFAULT_PORTS: Record<string, string> = { http: '80', https: '443' };

/**
 * A redirect route's answer (config_impl.cc RouteEntryImplBase::newUri, responseCode): the scheme (scheme_redirect,
 * https_redirect, else the request's), the host (host_redirect, else the request's without a port that port_redirect
 * replaces or that is the old scheme's default when the scheme changes), the port (port_redirect), and the path
 * (path_redirect, whose own query wins and which keeps the request's query unless strip_query; else the request's path
 * through prefix_rewrite / regex_rewrite, its query dropped under strip_query). 301 unless response_code says otherwise.
 */
export function redirectOf(route: Route, request: { scheme: string; authority: string; path: string }): { status: number; location: string } {
  const r = route.redirect;
  if (!r) throw new Error(`route ${route.name ?? '(unnamed)'} is not a redirect`);
  const scheme = r.scheme_redirect || (r.https_redirect ? 'https' : request.scheme);
  const port = r.port_redirect ? `:${r.port_redirect}` : '';
  let host = r.host_redirect ?? request.authority;
  if (!r.host_redirect) {
    const at = portStart(host);
    if (at >= 0) {
      const own = host.slice(at + 1);
      if (port || (scheme !== request.scheme && own === DEFAULT_PORTS[request.scheme])) host = host.slice(0, at);
    }
  }
  const q = request.path.search(/[?#]/);
  const query = q < 0 ? '' : request.path.slice(q);
  let path: string;
  if (r.path_redirect) {
    path = r.path_redirect.includes('?') || r.strip_query ? r.path_redirect : r.path_redirect + query;
  } else {
    const rewritten =
      r.prefix_rewrite !== undefined || r.regex_rewrite !== undefined
        ? rewrittenPath({ ...route, route: { cluster: '', prefix_rewrite: r.prefix_rewrite, regex_rewrite: r.regex_rewrite } }, request.path)
        : request.path;
    const rq = rewritten.search(/[?#]/);
    path = r.strip_query && rq >= 0 ? rewritten.slice(0, rq) : rewritten;
  }
  return { status: REDIRECT_CODES[r.response_code ?? 'MOVED_PERMANENTLY'], location: `${scheme}://${host}${port}${path}` };
}

/** Http::Utility::QueryParamsMulti: decoded name → values, in order. */
export function parseQuery(path: string): Map<string, string[]> {
  const params = new Map<string, string[]>();
  const start = path.indexOf('?');
  if (start < 0) return params;
  const hash = path.indexOf('#', start);
  const query = path.slice(start + 1, hash < 0 ? undefined : hash);
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodePercent(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decodePercent(pair.slice(eq + 1));
    const list = params.get(name);
    if (list) list.push(value);
    else params.set(name, [value]);
  }
  return params;
}

/** PercentEncoding::decode: a malformed escape stays as written. */
function decodePercent(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
}

/** ConfigUtility::QueryParameterMatcher::matches: only the first value of a name counts. */
export function matchQueryParameter(matcher: QueryParameterMatcher, params: Map<string, string[]>): boolean {
  const first = params.get(matcher.name)?.[0];
  if (first === undefined) return false;
  if (matcher.string_match === undefined) return true;
  return matchString(matcher.string_match, first);
}

const DENOMINATORS = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 } as const;

/** FractionalPercent as a share of its denominator (HUNDRED unless set). */
export function fractionDenominator(percent: FractionalPercent): number {
  return DENOMINATORS[percent.denominator ?? 'HUNDRED'];
}

/** Runtime featureEnabled(default, random): random % denominator < numerator; the draw is floor(u·denominator). */
export function fractionHit(percent: FractionalPercent | undefined, uniform: () => number): boolean {
  if (!percent) return true;
  const denominator = fractionDenominator(percent);
  return Math.floor(uniform() * denominator) < Math.min(percent.numerator ?? 0, denominator);
}

/** RouteEntryImplBase::matchRoute plus the path entry's own check. */
export function matchRoute(route: Route, request: RouteRequest): boolean {
  const match = route.match;
  if (match.runtime_fraction) {
    if (!request.uniform) throw new Error(`route ${route.name ?? '(unnamed)'}: runtime_fraction needs a uniform draw`);
    if (!fractionHit(match.runtime_fraction.default_value, request.uniform)) return false;
  }
  if (!matchHeaders(match.headers, request.headers)) return false;
  if (match.dynamic_metadata && !match.dynamic_metadata.every((m) => matchMetadata(m, request.metadata))) return false;
  if (match.query_parameters?.length) {
    const params = parseQuery(request.path);
    if (!match.query_parameters.every((q) => matchQueryParameter(q, params))) return false;
  }
  return matchPath(match, request.path);
}

/** VirtualHostImpl::getRouteFromEntries: the first route that matches, in order. */
export function selectRoute(vhost: VirtualHost, request: RouteRequest): Route | undefined {
  return (vhost.routes ?? []).find((route) => matchRoute(route, request));
}

export interface PickedCluster {
  name: string;
  /** The weighted cluster entry picked, when the action splits traffic. */
  weight?: ClusterWeight;
}

/** RouteEntryImplBase::pickWeightedCluster: a draw in [0, sum of weights) falls into one cluster's range, in order. */
export function pickCluster(action: RouteAction, uniform: () => number): PickedCluster {
  if (action.cluster !== undefined) return { name: action.cluster };
  const clusters = action.weighted_clusters?.clusters;
  if (!clusters?.length) throw new Error('RouteAction: neither cluster nor weighted_clusters is set');
  const total = clusters.reduce((sum, c) => sum + c.weight, 0);
  if (total <= 0) throw new Error('RouteAction.weighted_clusters: the weights sum to 0');
  const selected = Math.floor(uniform() * total);
  let end = 0;
  for (const weight of clusters) {
    end += weight.weight;
    if (selected < end) return { name: weight.name, weight };
  }
  const last = must(clusters.at(-1), 'the last weighted cluster');
  return { name: last.name, weight: last };
}

/** RouteEntryImplBase::mostSpecificPerFilterConfig: weighted cluster, then route, then virtual host, then route configuration. */
export function perFilterConfig(
  name: string,
  route: Route | undefined,
  clusterWeight: ClusterWeight | undefined,
  vhost: VirtualHost | undefined,
  routeConfig: RouteConfiguration | undefined,
): PerFilterConfig | undefined {
  for (const level of [clusterWeight, route, vhost, routeConfig]) {
    const config = level?.typed_per_filter_config?.[name];
    if (config !== undefined) return config;
  }
  return undefined;
}

/**
 * Every level's config for `name`, most specific first (Http::Utility::getAllPerFilterConfig gives them least specific
 * first; the CORS filter reverses them, initializeCorsPolicies).
 */
export function allPerFilterConfigs(
  name: string,
  route: Route | undefined,
  clusterWeight: ClusterWeight | undefined,
  vhost: VirtualHost | undefined,
  routeConfig: RouteConfiguration | undefined,
): PerFilterConfig[] {
  return [clusterWeight, route, vhost, routeConfig].flatMap((level) => {
    const config = level?.typed_per_filter_config?.[name];
    return config === undefined ? [] : [config];
  });
}

/**
 * The header mutation levels in the order Envoy applies them (finalizeRequestHeaders / finalizeResponseHeaders with
 * most_specific_header_mutations_wins unset): the weighted cluster entry, then route, virtual host, route
 * configuration — so on a conflict the least specific level, applied last, wins.
 */
export function headerMutationLevels(routeConfig: RouteConfiguration, vhost: VirtualHost, route: Route, clusterWeight?: ClusterWeight): HeaderOperations[] {
  const levels: (HeaderOperations | undefined)[] = [clusterWeight, route, vhost, routeConfig];
  return levels.filter((level): level is HeaderOperations => level !== undefined);
}

/** Mutable headers by lower-case name. */
export type MutableHeaders = Record<string, string | string[]>;

/** HeaderParser::evaluateHeaders for each level: removals first, then additions by append_action. */
export function applyHeaderMutations(headers: MutableHeaders, levels: readonly HeaderOperations[], side: 'request' | 'response'): void {
  for (const level of levels) {
    const remove = side === 'request' ? level.request_headers_to_remove : level.response_headers_to_remove;
    const add = side === 'request' ? level.request_headers_to_add : level.response_headers_to_add;
    for (const name of remove ?? []) delete headers[name.toLowerCase()];
    for (const option of add ?? []) addHeader(headers, option);
  }
}

function appendAction(option: HeaderValueOption): NonNullable<HeaderValueOption['append_action']> {
  if (option.append !== undefined) return option.append ? 'APPEND_IF_EXISTS_OR_ADD' : 'OVERWRITE_IF_EXISTS_OR_ADD';
  return option.append_action ?? 'APPEND_IF_EXISTS_OR_ADD';
}

function addHeader(headers: MutableHeaders, option: HeaderValueOption): void {
  const name = option.header.key.toLowerCase();
  const value = option.header.value ?? '';
  // HeaderParser: an empty value is not added unless keep_empty_value.
  if (value === '' && option.keep_empty_value !== true) return;
  const existing = headers[name];
  switch (appendAction(option)) {
    case 'APPEND_IF_EXISTS_OR_ADD':
      headers[name] = existing === undefined ? value : ([] as string[]).concat(existing, value);
      return;
    case 'ADD_IF_ABSENT':
      if (existing === undefined) headers[name] = value;
      return;
    case 'OVERWRITE_IF_EXISTS_OR_ADD':
      headers[name] = value;
      return;
    case 'OVERWRITE_IF_EXISTS':
      if (existing !== undefined) headers[name] = value;
      return;
  }
}
