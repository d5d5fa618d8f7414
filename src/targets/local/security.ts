// The security side of the local proxies: the HTTP filters of the proxy's listeners (istiod's, or the built-in
// translator's) run in chain order — local rate limits inserted first, jwt_authn, RBAC and ext_authz, rate limits
// inserted before the router — and the mTLS mode per port from the inbound chains. The Istio objects are validated
// here at apply time (compileSecurity).
import { TypedConfigType, type HttpFilter, type JsonValue, type Listener } from '../../envoy/model/index.ts';
import { authzStepsOf, gatewayHttpFilters, inboundHttpFilters, outboundHttpFilters, inboundPeerMode, type AuthzStep } from '../../envoy/runtime/listeners.ts';
import { matchMetadata, type DynamicMetadata } from '../../envoy/runtime/matchers.ts';
import { evaluateRbac, type RbacFacts } from '../../envoy/runtime/rbac.ts';
import { durationMs } from '../../envoy/runtime/duration.ts';
import { JwtAuthnFilter } from '../../envoy/runtime/jwt-authn.ts';
import { SpecError } from '../../errors.ts';
import { must } from '../../must.ts';
import type { K8sObject } from '../../spec/types.ts';
import { RBAC_DENIED_BODY, RBAC_DENIED_STATUS, validateAuthorizationPolicy } from '../../istio/security/authorization.ts';
import { effectivePeerAuthMode, validatePeerAuthentication } from '../../istio/security/peer-authentication.ts';
import { extAuthzCounterSeries, inboundHcmStatPrefix, rbacCounterSeries, type ExtAuthzResult } from '../../istio/security/stats.ts';
import type { ExtAuthzOutcome, ExtAuthzRequest } from './proxy/ext-authz.ts';
import {
  LocalRateLimiter,
  localRateLimitSeries,
  parseLocalRateLimitConfig,
  parseLocalRateLimits,
  type EnvoyFilterContext,
  type LocalRateLimit,
} from '../../istio/ratelimit.ts';
import type { IstioBehaviour } from '../../istio/version.ts';
import { uniform } from './decide.ts';
import type { FilterRequest, FilterVerdict, InboundPolicy } from './proxy/filters.ts';
import type { PeerAuthMode } from './proxy/mtls.ts';
import type { EnvoyStat, ProxyStats } from './proxy/stats.ts';
import { validateRequestAuthentication } from '../../istio/security/request-authentication.ts';

/** The security objects a proxy still reads itself: PeerAuthentication for a port no inbound chain takes, and the
 * RequestAuthentications whose http(s) jwksUri the local mesh fetches. Everything else runs from the listeners. */
export interface SecurityConfig {
  peerAuthentications: K8sObject[];
  requestAuthentications: K8sObject[];
}

/** Validate the security objects of a configuration (SpecError naming the field on anything unsupported). */
export function compileSecurity(objects: K8sObject[]): SecurityConfig {
  const out: SecurityConfig = { peerAuthentications: [], requestAuthentications: [] };
  for (const o of objects) {
    switch (o.kind) {
      case 'AuthorizationPolicy':
        validateAuthorizationPolicy(o);
        break;
      case 'PeerAuthentication':
        validatePeerAuthentication(o);
        out.peerAuthentications.push(o);
        break;
      case 'RequestAuthentication':
        validateRequestAuthentication(o);
        out.requestAuthentications.push(o);
        break;
      case 'EnvoyFilter':
        // Only local-rate-limit patches are run; anything else is refused here, naming the field.
        parseLocalRateLimits(o);
        break;
      default:
        throw new SpecError(`kind ${o.kind} is not supported by the local target`, undefined, `${o.kind} ${o.metadata.name}: kind`);
    }
  }
  return out;
}

/** The ext_authz services of the mesh, as a proxy reaches them. */
export interface ExtAuthzRuntime {
  /** One Check call to an endpoint of the cluster an ext_authz filter names (`outbound|9191||<host>`). */
  checkCluster(cluster: string, timeoutMs: number, request: ExtAuthzRequest): Promise<ExtAuthzOutcome>;
}

/** No ext_authz services. */
const noExtAuthz: ExtAuthzRuntime = {
  checkCluster: (cluster) => Promise.resolve({ kind: 'error', reason: `no cluster ${cluster}` }),
};

export interface ProxyScope {
  namespace: string;
  labels: Record<string, string>;
  context: EnvoyFilterContext;
  port: number;
  /** Stat prefix of the connection manager: inbound_0.0.0.0_9080, or the gateway's. */
  hcmStatPrefix: string;
  /** The proxy's address and identity, as an ext_authz check request names the destination. */
  address?: string;
  principal?: string;
}

/**
 * The local-rate-limit filter configs (and so the token buckets) of each listener's HTTP filter chain, kept from one
 * push to the next only while that chain's config is unchanged. Envoy keeps the bucket in the filter's FilterConfig
 * (source/extensions/filters/http/local_ratelimit/local_ratelimit.cc, FilterConfig::FilterConfig builds rate_limiter_),
 * which lives as long as the filter chain that built it:
 * - an LDS update leaving a listener unchanged is dropped (source/common/listener_manager/listener_manager_impl.cc,
 *   addOrUpdateListenerInternal: blockUpdate(hash) → "duplicate/locked listener '{}'. no add/update"), so a push that
 *   only changes routes, clusters or other workloads keeps the bucket;
 * - a listener update reuses every filter chain whose FilterChain proto is unchanged
 *   (filter_chain_manager_impl.cc, addFilterChains → findExistingFilterChain) and builds any other chain anew, with
 *   new HTTP filter configs: any change to the chain (the rate-limit filter itself, another EnvoyFilter on it, the
 *   RBAC or JWT filters an AuthorizationPolicy or RequestAuthentication puts there) starts every bucket of it full,
 *   and so does removing the filter and applying it again.
 */
export class FilterChainStates {
  private readonly chains = new Map<string, { config: string; limiters: LocalRateLimiter[] }>();

  /** The limiters of `listener`'s chain whose HTTP filters are described by `chainConfig`, `limits` in chain order. */
  limiters(listener: string, chainConfig: string, limits: LocalRateLimit[], behaviour: IstioBehaviour): LocalRateLimiter[] {
    const kept = this.chains.get(listener);
    if (kept && kept.config === chainConfig) return kept.limiters;
    const now = performance.now();
    const limiters = limits.map((l) => new LocalRateLimiter(l, behaviour.rateLimitRefill, now));
    this.chains.set(listener, { config: chainConfig, limiters });
    return limiters;
  }
}

interface BoundLimiter {
  limiter: LocalRateLimiter;
  stats: Record<'enabled' | 'ok' | 'rate_limited' | 'enforced', EnvoyStat>;
}

function bindLimiter(limiter: LocalRateLimiter, stats: ProxyStats): BoundLimiter {
  const s = (c: 'enabled' | 'ok' | 'rate_limited' | 'enforced') => {
    return stats.stat(localRateLimitSeries(limiter.limit.statPrefix, c).stat);
  };
  return { limiter, stats: { enabled: s('enabled'), ok: s('ok'), rate_limited: s('rate_limited'), enforced: s('enforced') } };
}

function runLimiter(b: BoundLimiter, request: FilterRequest, seed: number, index: number): FilterVerdict | undefined {
  let draw = 0;
  // Envoy's token buckets read the monotonic clock (TimeSource::monotonicTime), not the wall clock.
  const decision = b.limiter.decide(performance.now(), () => uniform(seed, `${request.decisionKey}|rl${index}|${draw++}`), request.connectionId);
  switch (decision.outcome) {
    case 'disabled':
      return undefined;
    case 'ok':
      b.stats.enabled.value++;
      b.stats.ok.value++;
      return undefined;
    case 'limited-not-enforced':
      b.stats.enabled.value++;
      b.stats.rate_limited.value++;
      return undefined;
    case 'limited': {
      b.stats.enabled.value++;
      b.stats.rate_limited.value++;
      b.stats.enforced.value++;
      const headers: Record<string, string> = {};
      for (const h of decision.headers) headers[h.name] = h.append && headers[h.name] ? `${headers[h.name]},${h.value}` : h.value;
      return { action: 'reply', status: decision.status, body: decision.body, headers, flags: [decision.flag] };
    }
  }
}

/**
 * The local rate limits of one HTTP filter chain of the proxy's listeners, in chain order: those before the chain's jwt_authn and
 * RBAC filters run first (denied requests take tokens too), the others just before the router.
 */
function chainLimiters(
  filters: readonly HttpFilter[],
  key: string,
  deps: { behaviour: IstioBehaviour; stats: ProxyStats; chains: FilterChainStates },
): { first: BoundLimiter[]; beforeRouter: BoundLimiter[] } {
  const authn = filters.findIndex((f) => f.name === 'envoy.filters.http.jwt_authn' || f.name === 'envoy.filters.http.rbac');
  const limits: LocalRateLimit[] = [];
  filters.forEach((f, index) => {
    if (f.typed_config?.['@type'] !== TypedConfigType.localRateLimit) return;
    const parsed = parseLocalRateLimitConfig(f.typed_config, `the chain ${key}: http_filters[${index}] ${f.name}`);
    limits.push({
      name: f.name,
      namespace: '',
      context: 'SIDECAR_INBOUND',
      position: authn >= 0 && index > authn ? 'beforeRouter' : 'first',
      ...parsed,
      patchIndex: index,
      priority: 0,
    });
  });
  const bound = deps.chains.limiters(key, JSON.stringify(filters), limits, deps.behaviour).map((l) => bindLimiter(l, deps.stats));
  return { first: bound.filter((b) => b.limiter.limit.position === 'first'), beforeRouter: bound.filter((b) => b.limiter.limit.position !== 'first') };
}

/** What one HTTP filter chain of the proxy's listeners runs before the router. */
interface ChainRuntime {
  limiters: { first: BoundLimiter[]; beforeRouter: BoundLimiter[] };
  jwt: JwtAuthnFilter | undefined;
  authz: AuthzStep[];
}

function chainRuntime(
  filters: readonly HttpFilter[],
  key: string,
  where: string,
  deps: { behaviour: IstioBehaviour; stats: ProxyStats; chains: FilterChainStates },
): ChainRuntime {
  return { limiters: chainLimiters(filters, key, deps), jwt: jwtFilterOf(filters, where), authz: authzStepsOf(filters) };
}

/**
 * The chain of the proxy's listeners a request of this scope takes: a sidecar's inbound chain for the port, by transport
 * (mTLS `tls`, plaintext `raw_buffer`); the gateway's listener for its port (one chain for every request); a sidecar's
 * outbound HTTP listener for the request's port (`0.0.0.0_<port>`), built when a port is first called.
 */
function listenerChains(
  listeners: Listener[],
  scope: ProxyScope,
  deps: { behaviour: IstioBehaviour; stats: ProxyStats; chains: FilterChainStates },
): (request: FilterRequest) => ChainRuntime {
  switch (scope.context) {
    case 'SIDECAR_INBOUND': {
      const key = `${scope.context}|${scope.port}`;
      const mtls = chainRuntime(inboundHttpFilters(listeners, scope.port, true) ?? [], `${key}|tls`, `the inbound chain ${scope.port}/tls`, deps);
      const plaintext = chainRuntime(
        inboundHttpFilters(listeners, scope.port, false) ?? [],
        `${key}|raw_buffer`,
        `the inbound chain ${scope.port}/raw_buffer`,
        deps,
      );
      return (request) => (request.principal ? mtls : plaintext);
    }
    case 'GATEWAY': {
      const chain = chainRuntime(
        gatewayHttpFilters(listeners, scope.port) ?? [],
        `${scope.context}|${scope.port}`,
        `the gateway listener 0.0.0.0_${scope.port}`,
        deps,
      );
      return () => chain;
    }
    case 'SIDECAR_OUTBOUND': {
      const byPort = new Map<number, ChainRuntime>();
      return (request) => {
        let chain = byPort.get(request.port);
        if (!chain) {
          const filters = outboundHttpFilters(listeners, request.port) ?? [];
          byPort.set(request.port, (chain = chainRuntime(filters, `${scope.context}|${request.port}`, `the outbound listener 0.0.0.0_${request.port}`, deps)));
        }
        return chain;
      };
    }
  }
}

export function buildPolicy(
  config: SecurityConfig,
  scope: ProxyScope,
  deps: {
    behaviour: IstioBehaviour;
    seed: number;
    stats: ProxyStats;
    chains: FilterChainStates;
    /** The proxy's listeners from its control plane (istiod's, or the built-in translator's): their HTTP filters run. */
    listeners: Listener[];
    extAuthz?: ExtAuthzRuntime;
  },
): InboundPolicy {
  const extAuthz = deps.extAuthz ?? noExtAuthz;
  // The chain a request takes: a sidecar's inbound chain for the port and transport, the gateway's listener for its
  // port, a sidecar's outbound HTTP listener for the request's port — its local rate limits (each chain with buckets
  // of its own, as in Envoy), jwt_authn and authorization filters.
  const chainOf = listenerChains(deps.listeners, scope, deps);
  const rbacStats = (result: 'allowed' | 'denied') => {
    return deps.stats.stat(rbacCounterSeries(deps.behaviour, scope.hcmStatPrefix, result).stat);
  };
  const extAuthzStats = (r: ExtAuthzResult) => deps.stats.stat(extAuthzCounterSeries(deps.behaviour, scope.hcmStatPrefix, r).stat);
  const rbacAllowed = rbacStats('allowed');
  const rbacDenied = rbacStats('denied');
  const modes = new Map<number, PeerAuthMode>();

  return {
    peerMode(port: number): PeerAuthMode {
      let mode = modes.get(port);
      if (mode === undefined) {
        // The inbound chains say it (which transports they accept); for a port no chain takes, the PeerAuthentication model.
        const fromListeners = scope.context === 'SIDECAR_INBOUND' ? inboundPeerMode(deps.listeners, port) : undefined;
        mode =
          fromListeners ??
          (scope.context === 'SIDECAR_INBOUND' ? effectivePeerAuthMode(config.peerAuthentications, scope.namespace, scope.labels, port) : 'PERMISSIVE');
        modes.set(port, mode);
      }
      return mode;
    },
    filter(request: FilterRequest): FilterVerdict | Promise<FilterVerdict> {
      const chain = chainOf(request);
      const first = chain.limiters.first;
      for (let i = 0; i < first.length; i++) {
        const v = runLimiter(must(first[i], 'a limiter'), request, deps.seed, i);
        if (v) return v;
      }
      // Most chains run no JWT and no authorization filter: no metadata or RBAC facts to build per request.
      if (!chain.jwt && chain.authz.length === 0) return beforeRouter(chain, request, undefined);
      let requestClaims: Record<string, unknown> | undefined;
      let jwtMetadata: Record<string, JsonValue> | undefined;
      if (chain.jwt) {
        const outcome = chain.jwt.run({ method: request.method, path: request.path, host: request.host, headers: request.headers, scheme: 'http' });
        if (outcome.kind === 'reply') return { action: 'reply', status: outcome.status, body: outcome.body, headers: outcome.headers, flags: [] };
        jwtMetadata = outcome.metadata;
        const payload = outcome.metadata.payload;
        if (payload !== null && typeof payload === 'object' && !Array.isArray(payload)) requestClaims = payload;
      }
      const metadata: DynamicMetadata = jwtMetadata && Object.keys(jwtMetadata).length > 0 ? { 'envoy.filters.http.jwt_authn': jwtMetadata } : {};
      const facts: RbacFacts & { metadata: DynamicMetadata } = {
        headers: { ...request.headers, ':method': request.method, ':path': request.path, ':authority': request.host },
        destinationPort: request.port,
        directRemoteIp: request.sourceIp,
        remoteIp: request.sourceIp,
        ...(request.principal ? { peerPrincipal: `spiffe://${request.principal}` } : {}),
        metadata,
      };
      return runAuthzSteps(chain, 0, request, facts, requestClaims);
    },
  };

  /**
   * The chain's authorization filters from `from` on, in chain order (Envoy's filter manager): an RBAC filter's shadow
   * rules write their verdict to the dynamic metadata (rbac_filter.cc: `<shadow_rules_stat_prefix>shadow_effective_policy_id`
   * and `...shadow_engine_result` under envoy.filters.http.rbac) and its rules allow or deny; an ext_authz filter runs
   * when its filter_enabled_metadata matches (ext_authz.cc: else ext_authz.disabled) and checks with its cluster.
   */
  function runAuthzSteps(
    chain: ChainRuntime,
    from: number,
    request: FilterRequest,
    facts: RbacFacts & { metadata: DynamicMetadata },
    requestClaims: Record<string, unknown> | undefined,
  ): FilterVerdict | Promise<FilterVerdict> {
    const steps = chain.authz;
    for (const [k, step] of steps.slice(from).entries()) {
      const i = from + k;
      if (step.kind === 'rbac') {
        if (step.shadow) {
          const shadow = evaluateRbac(step.shadow.rules, facts);
          facts.metadata['envoy.filters.http.rbac'] = {
            ...facts.metadata['envoy.filters.http.rbac'],
            ...(shadow.matchedPolicy !== undefined ? { [`${step.shadow.prefix}shadow_effective_policy_id`]: shadow.matchedPolicy } : {}),
            [`${step.shadow.prefix}shadow_engine_result`]: shadow.allowed ? 'allowed' : 'denied',
          };
        }
        if (step.rules) {
          const decision = evaluateRbac(step.rules, facts);
          (decision.allowed ? rbacAllowed : rbacDenied).value++;
          if (!decision.allowed) return { action: 'reply', status: RBAC_DENIED_STATUS, body: RBAC_DENIED_BODY, headers: {}, flags: [] };
        }
        continue;
      }
      const c = step.config;
      if (c.filter_enabled_metadata && !matchMetadata(c.filter_enabled_metadata, facts.metadata)) {
        extAuthzStats('disabled').value++;
        continue;
      }
      const cluster = c.grpc_service?.envoy_grpc?.cluster_name ?? '';
      // ext_authz config.cc: the gRPC call times out after 200 ms when the GrpcService sets no timeout (istiod always does).
      const timeoutMs = c.grpc_service?.timeout ? durationMs(c.grpc_service.timeout) : 200;
      const settings = { failOpen: c.failure_mode_allow === true, ...(c.status_on_error ? { statusOnError: c.status_on_error.code } : {}) };
      return extAuthz.checkCluster(cluster, timeoutMs, extAuthzRequestOf(request, scope)).then((outcome) => {
        const reply = applyExtAuthz(outcome, settings, request, extAuthzStats);
        if (reply) return reply;
        facts.headers = { ...request.headers, ':method': request.method, ':path': request.path, ':authority': request.host };
        return runAuthzSteps(chain, i + 1, request, facts, requestClaims);
      });
    }
    return beforeRouter(chain, request, requestClaims);
  }

  /** The rate limits before the router, then on to the router. */
  function beforeRouter(chain: ChainRuntime, request: FilterRequest, requestClaims: Record<string, unknown> | undefined): FilterVerdict {
    const limiters = chain.limiters.beforeRouter;
    for (let i = 0; i < limiters.length; i++) {
      const v = runLimiter(must(limiters[i], 'a limiter'), request, deps.seed, chain.limiters.first.length + i);
      if (v) return v;
    }
    return requestClaims ? { action: 'continue', claims: requestClaims } : CONTINUE;
  }
}

/** The verdict of a request every filter lets on (shared: nothing mutates a verdict). */
const CONTINUE: FilterVerdict = { action: 'continue' };

const jwtFilters = new WeakMap<object, JwtAuthnFilter>();

/** The chain's jwt_authn filter, built once per config (a config it cannot run throws, naming the field). */
function jwtFilterOf(filters: readonly HttpFilter[], where: string): JwtAuthnFilter | undefined {
  const config = filters.find((f) => f.typed_config?.['@type'] === TypedConfigType.jwtAuthn)?.typed_config;
  if (config?.['@type'] !== TypedConfigType.jwtAuthn) return undefined;
  let filter = jwtFilters.get(config);
  if (!filter) jwtFilters.set(config, (filter = new JwtAuthnFilter(config, `${where}: envoy.filters.http.jwt_authn`)));
  return filter;
}

function extAuthzRequestOf(request: FilterRequest, scope: ProxyScope): ExtAuthzRequest {
  const id = request.headers['x-request-id'];
  return {
    method: request.method,
    path: request.path,
    host: request.host,
    headers: request.headers,
    requestId: (Array.isArray(id) ? id[0] : id) ?? '',
    source: { address: request.sourceIp, port: 0, ...(request.principal ? { principal: request.principal } : {}) },
    destination: { address: scope.address ?? '', port: request.port, principal: scope.principal ?? '' },
  };
}

/**
 * The ext_authz filter's answer to a check (ext_authz.cc onComplete): a local reply, or undefined to let the request
 * on (with the allowed headers applied to it).
 */
function applyExtAuthz(
  outcome: ExtAuthzOutcome,
  settings: { failOpen: boolean; statusOnError?: number },
  request: FilterRequest,
  stats: (r: ExtAuthzResult) => EnvoyStat,
): FilterVerdict | undefined {
  switch (outcome.kind) {
    case 'ok':
      stats('ok').value++;
      for (const name of outcome.remove) delete request.headers[name];
      for (const [name, value] of Object.entries(outcome.set)) request.headers[name] = value;
      return undefined;
    case 'denied':
      stats('denied').value++;
      return { action: 'reply', status: outcome.status, body: outcome.body, headers: outcome.headers, flags: ['UAEX'] };
    case 'error':
      stats('error').value++;
      if (settings.failOpen) {
        stats('failure_mode_allowed').value++;
        return undefined;
      }
      return { action: 'reply', status: settings.statusOnError ?? 403, body: '', headers: {}, flags: ['UAEX'] };
  }
}

export { inboundHcmStatPrefix };
