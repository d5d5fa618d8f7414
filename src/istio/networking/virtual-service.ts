// VirtualService: validation into the model, refusing what the local mesh does not implement.
import type { K8sObject } from '../../spec/types.ts';
import { FieldPath, isObj, readArray, readBoolean, readDuration, readNumber, readObject, readOptionalString, readString, readStringMap } from './fields.ts';
import type {
  CorsSpec,
  FaultSpec,
  HeaderOperations,
  HeadersSpec,
  HttpMatch,
  HttpRoute,
  RetrySpec,
  RouteDestination,
  StringMatcher,
  VirtualServiceModel,
} from './model.ts';
import { headerOperationProblem, isAuthorityHeader } from './header-validation.ts';
import { readExportTo } from './export-to.ts';
import { readHeaderValue } from './header-value.ts';
import { parseStringMatch } from './string-match.ts';
import { parseRetryOn } from './retry.ts';
import { resolveShortname } from './routing.ts';
import { MAX_WEIGHT, routedWeights, weightShares } from './weights.ts';

const unsupportedRoute: Record<string, string> = {
  redirect: 'HTTP redirects are not emulated',
  directResponse: 'direct responses are not emulated',
  delegate: 'VirtualService delegation is not emulated',
  mirror: 'traffic mirroring is not emulated',
  mirrors: 'traffic mirroring is not emulated',
  mirrorPercent: 'traffic mirroring is not emulated',
  mirrorPercentage: 'traffic mirroring is not emulated',
};

export function parseVirtualService(object: K8sObject, createdAt = 0): VirtualServiceModel {
  const at = FieldPath.of('VirtualService', object.metadata.name);
  const spec = readObject(object.spec, at.key('spec'), ['hosts', 'gateways', 'http', 'exportTo'], {
    tcp: 'only HTTP routes are emulated',
    tls: 'only HTTP routes are emulated',
  });
  const hosts = readArray(spec.hosts ?? [], at.key('spec.hosts')).map((h, i) => readString(h, at.key('spec.hosts').index(i)));
  if (hosts.length === 0) throw at.key('spec.hosts').error('at least one host is required');
  const namespace = object.metadata.namespace ?? 'default';
  const gateways =
    spec.gateways === undefined || (Array.isArray(spec.gateways) && spec.gateways.length === 0)
      ? ['mesh']
      : readArray(spec.gateways, at.key('spec.gateways')).map((g, i) => resolveGatewayName(readString(g, at.key('spec.gateways').index(i)), namespace));
  // The controller turns `.` into the namespace's name (push_context.go initVirtualServices reads it so).
  const exportTo =
    spec.exportTo === undefined ? undefined : readExportTo(spec.exportTo, namespace, at.key('spec.exportTo')).map((e) => (e === '.' ? namespace : e));
  const http = readArray(spec.http ?? [], at.key('spec.http')).map((r, i) => parseRoute(r, at.key('spec.http').index(i), namespace));
  for (const rule of http) for (const d of rule.route) d.fqdn = resolveShortname(d.host, namespace);
  return {
    kind: 'VirtualService',
    name: object.metadata.name,
    namespace,
    hosts,
    gateways,
    http,
    ...(exportTo && exportTo.length > 0 ? { exportTo } : {}),
    createdAt,
  };
}

/**
 * istio/istio pilot/pkg/model/config.go resolveGatewayName: `mesh` stays; a short name is a Gateway of the
 * VirtualService's namespace; `./name` likewise; `ns/name` as written; the legacy `name.ns[.svc.cluster.local]` → `ns/name`.
 */
export function resolveGatewayName(name: string, namespace: string): string {
  if (name === 'mesh') return name;
  const slash = name.indexOf('/');
  if (slash < 0) {
    const dot = name.indexOf('.');
    if (dot < 0) return `${namespace}/${name}`;
    const rest = name.slice(dot + 1);
    const next = rest.indexOf('.');
    return `${next < 0 ? rest : rest.slice(0, next)}/${name.slice(0, dot)}`;
  }
  return name.slice(0, slash) === '.' ? `${namespace}/${name.slice(slash + 1)}` : name;
}

function parseRoute(value: unknown, at: FieldPath, namespace: string): HttpRoute {
  const r = readObject(value, at, ['name', 'match', 'route', 'timeout', 'retries', 'fault', 'headers', 'rewrite', 'corsPolicy'], unsupportedRoute);
  const route: HttpRoute = {
    name: readOptionalString(r.name, at.key('name')),
    match: readArray(r.match ?? [], at.key('match')).map((m, i) => parseMatch(m, at.key('match').index(i), namespace)),
    route: readArray(r.route ?? [], at.key('route')).map((d, i) => parseDestination(d, at.key('route').index(i))),
  };
  if (route.route.length === 0) throw at.key('route').error('a route needs at least one destination');
  if (weightShares(route.route.map((d) => d.weight)) === undefined)
    throw at.key('route').error('the weights must add up to more than 0 (Istio: total destination weight = 0)');
  const routed = routedWeights(route.route.map((d) => d.weight));
  route.route.forEach((d, i) => (d.weight = routed[i] ?? 0));
  if (r.timeout !== undefined) route.timeoutMs = readDuration(r.timeout, at.key('timeout'));
  if (r.retries !== undefined) route.retries = parseRetries(r.retries, at.key('retries'));
  if (r.fault !== undefined) route.fault = parseFault(r.fault, at.key('fault'));
  if (r.corsPolicy !== undefined) route.cors = parseCors(r.corsPolicy, at.key('corsPolicy'));
  if (r.headers !== undefined) route.headers = parseHeaders(r.headers, at.key('headers'));
  if (r.rewrite !== undefined) {
    const w = readObject(r.rewrite, at.key('rewrite'), ['uri', 'authority'], { uriRegexRewrite: 'regex rewrites are not emulated' });
    route.rewrite = { uri: readOptionalString(w.uri, at.key('rewrite.uri')), authority: readOptionalString(w.authority, at.key('rewrite.authority')) };
  }
  // virtualservice.go validateAuthorityRewrite: the authority is rewritten in one place only.
  const headerAuthority = route.headers?.request?.authority;
  if (route.rewrite?.authority && headerAuthority !== undefined) {
    throw at
      .key('headers.request')
      .error(
        `authority header cannot be set multiple times: have ${JSON.stringify(route.rewrite.authority)}, attempting to set ${JSON.stringify(headerAuthority)}`,
      );
  }
  return route;
}

/** istio/istio pkg/jwt/routing.go ToRoutingClaim: the claim path of an `@request.auth.claims` header key, if it is one. */
export function routingClaim(key: string): string[] | undefined {
  const prefix = '@request.auth.claims';
  if (!key.toLowerCase().startsWith(prefix)) return undefined;
  const name = key.slice(prefix.length);
  if (name.startsWith('.') && name.length > 1) return name.slice(1).split('.');
  if (name.startsWith('[') && name.endsWith(']') && name.length > 2) return name.slice(1, -1).split('][');
  return undefined;
}

function parseMatch(value: unknown, at: FieldPath, namespace: string): HttpMatch {
  const m = readObject(
    value,
    at,
    [
      'name',
      'uri',
      'scheme',
      'method',
      'authority',
      'headers',
      'withoutHeaders',
      'queryParams',
      'ignoreUriCase',
      'port',
      'sourceLabels',
      'sourceNamespace',
      'gateways',
    ],
    { statPrefix: 'per-route stat prefixes are not emulated' },
  );
  const claimLists: Record<'headers' | 'withoutHeaders', [string[], ReturnType<typeof parseStringMatch>][]> = { headers: [], withoutHeaders: [] };
  const headerList = (field: 'headers' | 'withoutHeaders'): [string, ReturnType<typeof parseStringMatch>][] => {
    if (m[field] === undefined) return [];
    if (!isObj(m[field])) throw at.key(field).error('expected a map from header name to match');
    const out: [string, ReturnType<typeof parseStringMatch>][] = [];
    for (const [k, v] of Object.entries(m[field] as object)) {
      const claim = routingClaim(k);
      if (claim) claimLists[field].push([claim, parseStringMatch(v, at.key(field).key(k))]);
      else out.push([k.toLowerCase(), parseStringMatch(v, at.key(field).key(k))]);
    }
    return out;
  };
  const match: HttpMatch = {
    name: readOptionalString(m.name, at.key('name')),
    headers: headerList('headers'),
    withoutHeaders: headerList('withoutHeaders'),
    queryParams:
      m.queryParams === undefined
        ? []
        : Object.entries(readObject(m.queryParams, at.key('queryParams'), Object.keys(isObj(m.queryParams) ? m.queryParams : {}))).map(([k, v]) => [
            k,
            parseStringMatch(v, at.key('queryParams').key(k), { allowPrefix: false }),
          ]),
    ignoreUriCase: m.ignoreUriCase === undefined ? false : readBoolean(m.ignoreUriCase, at.key('ignoreUriCase')),
  };
  if (claimLists.headers.length > 0) match.claims = claimLists.headers;
  if (claimLists.withoutHeaders.length > 0) match.withoutClaims = claimLists.withoutHeaders;
  for (const key of ['uri', 'scheme', 'method', 'authority'] as const) {
    if (m[key] !== undefined) match[key] = parseStringMatch(m[key], at.key(key), { allowEmpty: false });
  }
  if (m.port !== undefined) match.port = readNumber(m.port, at.key('port'), { integer: true, min: 1, max: 65535 });
  if (m.sourceLabels !== undefined) match.sourceLabels = readStringMap(m.sourceLabels, at.key('sourceLabels'));
  if (m.sourceNamespace !== undefined) match.sourceNamespace = readString(m.sourceNamespace, at.key('sourceNamespace'));
  if (m.gateways !== undefined)
    match.gateways = readArray(m.gateways, at.key('gateways')).map((g, i) => resolveGatewayName(readString(g, at.key('gateways').index(i)), namespace));
  return match;
}

function parseDestination(value: unknown, at: FieldPath): RouteDestination {
  const d = readObject(value, at, ['destination', 'weight', 'headers']);
  const dest = readObject(d.destination, at.key('destination'), ['host', 'subset', 'port']);
  const out: RouteDestination = {
    host: readString(dest.host, at.key('destination.host')),
    fqdn: '',
    subset: readOptionalString(dest.subset, at.key('destination.subset')),
    // Istio's weight rules: ./weights.ts.
    weight: d.weight === undefined ? 0 : readNumber(d.weight, at.key('weight'), { integer: true, min: 0, max: MAX_WEIGHT }),
  };
  if (dest.port !== undefined) {
    const p = readObject(dest.port, at.key('destination.port'), ['number']);
    out.port = readNumber(p.number, at.key('destination.port.number'), { integer: true, min: 1, max: 65535 });
  }
  if (d.headers !== undefined) out.headers = parseHeaders(d.headers, at.key('headers'));
  return out;
}

function parseRetries(value: unknown, at: FieldPath): RetrySpec {
  const r = readObject(value, at, ['attempts', 'perTryTimeout', 'retryOn', 'retryIgnorePreviousHosts', 'backoff', 'retryRemoteLocalities']);
  const spec: RetrySpec = { attempts: r.attempts === undefined ? 0 : readNumber(r.attempts, at.key('attempts'), { integer: true, min: 0 }) };
  if (r.perTryTimeout !== undefined) spec.perTryTimeoutMs = readDuration(r.perTryTimeout, at.key('perTryTimeout'), { min: 1 });
  if (r.retryOn !== undefined) {
    spec.retryOn = readString(r.retryOn, at.key('retryOn'));
    parseRetryOn(spec.retryOn, at.key('retryOn'));
  }
  if (r.retryIgnorePreviousHosts !== undefined) spec.retryIgnorePreviousHosts = readBoolean(r.retryIgnorePreviousHosts, at.key('retryIgnorePreviousHosts'));
  if (r.backoff !== undefined) spec.backoffMs = readDuration(r.backoff, at.key('backoff'), { min: 1 });
  if (r.retryRemoteLocalities !== undefined) readBoolean(r.retryRemoteLocalities, at.key('retryRemoteLocalities')); // one locality: no effect
  // Istio's validation (pkg/config/validation validateHTTPRetry) rejects a policy that is disabled yet configured:
  // attempts 0 (or absent) together with perTryTimeout, a non-empty retryOn or retryRemoteLocalities.
  if (spec.attempts === 0 && (r.perTryTimeout !== undefined || (spec.retryOn ?? '') !== '' || r.retryRemoteLocalities !== undefined)) {
    throw at.key('attempts').error('http retry policy configured when attempts are set to 0 (disabled)');
  }
  return spec;
}

function parsePercentage(value: unknown, at: FieldPath): number {
  const p = readObject(value, at, ['value']);
  const percent = readNumber(p.value ?? 0, at.key('value'), { min: 0, max: 100 });
  return Math.round(percent * 10_000);
}

/** networking/v1alpha3/virtual_service.proto CorsPolicy; what istiod keeps of it is route.go TranslateCORSPolicy. */
function parseCors(value: unknown, at: FieldPath): CorsSpec {
  const c = readObject(value, at, [
    'allowOrigins',
    'allowOrigin',
    'allowMethods',
    'allowHeaders',
    'exposeHeaders',
    'maxAge',
    'allowCredentials',
    'unmatchedPreflights',
  ]);
  const strings = (key: string) => (c[key] === undefined ? [] : readArray(c[key], at.key(key)).map((v, i) => readString(v, at.key(key).index(i))));
  // allowOrigins wins; the deprecated allowOrigin list is taken as exact matches only without it.
  const allowOrigins =
    c.allowOrigins !== undefined
      ? readArray(c.allowOrigins, at.key('allowOrigins')).map((m, i) => parseStringMatch(m, at.key('allowOrigins').index(i), { allowPrefix: true }))
      : strings('allowOrigin').map((value): StringMatcher => ({ kind: 'exact', value }));
  const cors: CorsSpec = {
    allowOrigins,
    allowMethods: strings('allowMethods'),
    allowHeaders: strings('allowHeaders'),
    exposeHeaders: strings('exposeHeaders'),
  };
  if (c.maxAge !== undefined) cors.maxAgeSeconds = Math.floor(readDuration(c.maxAge, at.key('maxAge')) / 1000);
  if (c.allowCredentials !== undefined) cors.allowCredentials = readBoolean(c.allowCredentials, at.key('allowCredentials'));
  if (c.unmatchedPreflights !== undefined) {
    const u = readString(c.unmatchedPreflights, at.key('unmatchedPreflights'));
    if (u !== 'FORWARD' && u !== 'IGNORE' && u !== 'UNSPECIFIED')
      throw at.key('unmatchedPreflights').error(`expected FORWARD or IGNORE, found ${JSON.stringify(u)}`);
    if (u !== 'UNSPECIFIED') cors.unmatchedPreflights = u;
  }
  return cors;
}

function parseFault(value: unknown, at: FieldPath): FaultSpec {
  const f = readObject(value, at, ['delay', 'abort']);
  const fault: FaultSpec = {};
  if (f.delay !== undefined) {
    const d = readObject(f.delay, at.key('delay'), ['fixedDelay', 'percentage', 'percent'], { exponentialDelay: 'Istio does not support exponential delays' });
    if (d.fixedDelay === undefined) throw at.key('delay.fixedDelay').error('a delay needs fixedDelay');
    fault.delay = {
      fixedDelayMs: readDuration(d.fixedDelay, at.key('delay.fixedDelay'), { min: 1 }),
      ppm:
        d.percentage !== undefined
          ? parsePercentage(d.percentage, at.key('delay.percentage'))
          : d.percent !== undefined
            ? readNumber(d.percent, at.key('delay.percent'), { integer: true, min: 0, max: 100 }) * 10_000
            : 0,
    };
  }
  if (f.abort !== undefined) {
    const a = readObject(f.abort, at.key('abort'), ['httpStatus', 'percentage'], {
      grpcStatus: 'gRPC aborts are not emulated (HTTP only)',
      http2Error: 'HTTP/2 errors are not emulated',
    });
    if (a.httpStatus === undefined) throw at.key('abort.httpStatus').error('an abort needs httpStatus');
    fault.abort = {
      httpStatus: readNumber(a.httpStatus, at.key('abort.httpStatus'), { integer: true, min: 200, max: 599 }),
      ppm: a.percentage !== undefined ? parsePercentage(a.percentage, at.key('abort.percentage')) : 0,
    };
  }
  return fault;
}

/** RFC 7230 token: the only header names Node's http module sends. */
const TOKEN = /^[!#$%&'*+\-.^_`|~A-Za-z0-9]+$/;

/** What the local proxies cannot send although Istio accepts it: names that are not tokens, values beyond Latin-1. */
function localHeaderProblem(name: string, value?: string): string | undefined {
  if (!TOKEN.test(name))
    return `not supported by the local target: header name ${JSON.stringify(name)} is not an RFC 7230 token, which the local proxies cannot send`;
  if (value !== undefined && /[^\t\x20-\x7e\x80-\xff]/.test(value))
    return `not supported by the local target: header value ${JSON.stringify(value)} has characters beyond Latin-1, which the local proxies cannot send`;
  return undefined;
}

/**
 * Header operations as istiod translates them (route.go TranslateHeadersOperations / translateAppendHeaders): a
 * request `set` or `add` of `host` or `:authority` is not a header operation but the authority rewrite (`set` wins
 * over `add`); other pseudo-headers, and `host` anywhere else, are refused as Istio's validation refuses them
 * (validation.go ValidateHTTPHeaderWithAuthorityOperationName, ValidateHTTPHeaderOperationName), and so are names and
 * values Istio or Envoy refuse (CR, LF, NUL; header-validation.ts).
 */
function parseHeaderOps(value: unknown, at: FieldPath, side: 'request' | 'response'): HeaderOperations {
  const o = readObject(value, at, ['set', 'add', 'remove']);
  const ops: HeaderOperations = { set: [], add: [], remove: [] };
  let setAuthority: string | undefined;
  let addAuthority: string | undefined;
  for (const kind of ['set', 'add'] as const) {
    if (o[kind] === undefined) continue;
    for (const [key, v] of Object.entries(readStringMap(o[kind], at.key(kind)))) {
      const field = at.key(kind).entry(key);
      const problem = headerOperationProblem(side, kind, key, v);
      if (problem) throw field.error(problem);
      const name = key.toLowerCase();
      if (side === 'request' && isAuthorityHeader(name)) {
        // A host rewrite literal: not a format, so `%` is kept as written.
        if (kind === 'set') setAuthority = v;
        else addAuthority = v;
        continue;
      }
      if (name === 'host') throw field.error(`invalid header "${key}": cannot set Host header`);
      if (name.startsWith(':')) throw field.error(`invalid header "${key}": header cannot have ":" prefix`);
      const local = localHeaderProblem(name, v);
      if (local) throw field.error(local);
      ops[kind].push([name, readHeaderValue(v, field)]);
    }
  }
  if (o.remove !== undefined) {
    readArray(o.remove, at.key('remove')).forEach((h, i) => {
      const field = at.key('remove').index(i);
      const raw = readString(h, field);
      const problem = headerOperationProblem(side, 'remove', raw) ?? localHeaderProblem(raw);
      if (problem) throw field.error(problem);
      const name = raw.toLowerCase();
      if (name === 'host') throw field.error(`invalid header "${name}": cannot set Host header`);
      if (name.startsWith(':')) throw field.error(`invalid header "${name}": header cannot have ":" prefix`);
      ops.remove.push(name);
    });
  }
  const authority = setAuthority ?? addAuthority;
  if (authority !== undefined) ops.authority = authority;
  return ops;
}

function parseHeaders(value: unknown, at: FieldPath): HeadersSpec {
  const h = readObject(value, at, ['request', 'response']);
  return {
    request: h.request === undefined ? undefined : parseHeaderOps(h.request, at.key('request'), 'request'),
    response: h.response === undefined ? undefined : parseHeaderOps(h.response, at.key('response'), 'response'),
  };
}
