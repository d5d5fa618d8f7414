// The security side of the local proxies, built from the istio/security and istio/ratelimit modules: peer
// authentication (mTLS mode per port), authorization (RBAC), local rate limits, in the order Istio builds the HTTP
// filter chain: rate limits inserted first, (JWT), RBAC DENY then ALLOW, rate limits inserted before the router.
import { TypedConfigType, type HttpFilter, type JsonValue, type Listener } from '../../envoy/model/index.ts';
import { authzStepsOf, gatewayHttpFilters, inboundHttpFilters, outboundHttpFilters, inboundPeerMode, type AuthzStep } from '../../envoy/runtime/listeners.ts';
import { matchMetadata, type DynamicMetadata } from '../../envoy/runtime/matchers.ts';
import { evaluateRbac, type RbacFacts } from '../../envoy/runtime/rbac.ts';
import { durationMs } from '../../envoy/runtime/duration.ts';
import { JwtAuthnFilter } from '../../envoy/runtime/jwt-authn.ts';
import { SpecError } from '../../errors.ts';
import type { K8sObject } from '../../spec/types.ts';
import { customCheck, evaluateAuthorization, RBAC_DENIED_BODY, RBAC_DENIED_STATUS, validateAuthorizationPolicy } from '../../istio/security/authorization.ts';
import { effectivePeerAuthMode, validatePeerAuthentication } from '../../istio/security/peer-authentication.ts';
import { extAuthzCounterSeries, inboundHcmStatPrefix, rbacCounterSeries, type ExtAuthzResult } from '../../istio/security/stats.ts';
import type { ExtAuthzOutcome, ExtAuthzRequest } from './proxy/ext-authz.ts';
import {
  LocalRateLimiter,
  localRateLimitSeries,
  parseLocalRateLimitConfig,
  parseLocalRateLimits,
  rateLimitApplies,
  type EnvoyFilterContext,
  type LocalRateLimit,
} from '../../istio/ratelimit.ts';
import { ROOT_NAMESPACE, scopeApplies } from '../../istio/selector.ts';
import type { IstioBehaviour } from '../../istio/version.ts';
import { uniform } from './decide.ts';
import type { FilterRequest, FilterVerdict, InboundPolicy } from './proxy/filters.ts';
import type { PeerAuthMode } from './proxy/mtls.ts';
import type { EnvoyStat, ProxyStats } from './proxy/stats.ts';
import { authenticateRequest, validateRequestAuthentication } from './jwt-adapter.ts';
import { field } from '../../spec/untyped.ts';

export interface SecurityConfig {
  authorizationPolicies: K8sObject[];
  peerAuthentications: K8sObject[];
  requestAuthentications: K8sObject[];
  rateLimits: LocalRateLimit[];
  /** The JWKS istiod fetched for an http(s) jwksUri (src/istio/security/jwks-resolver.ts). */
  remoteJwks?: (issuer: string, uri: string) => string | undefined;
}

/** Validate and sort the security objects of a configuration (SpecError naming the field on anything unsupported). */
export function compileSecurity(objects: K8sObject[], remoteJwks?: SecurityConfig['remoteJwks']): SecurityConfig {
  const out: SecurityConfig = {
    authorizationPolicies: [],
    peerAuthentications: [],
    requestAuthentications: [],
    rateLimits: [],
    ...(remoteJwks ? { remoteJwks } : {}),
  };
  for (const o of objects) {
    switch (o.kind) {
      case 'AuthorizationPolicy':
        validateAuthorizationPolicy(o);
        out.authorizationPolicies.push(o);
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
        out.rateLimits.push(...parseLocalRateLimits(o));
        break;
      default:
        throw new SpecError(`kind ${o.kind} is not supported by the local target`, undefined, `${o.kind} ${o.metadata.name}: kind`);
    }
  }
  return out;
}

/** The ext_authz services of the mesh's extension providers, as a proxy reaches them. */
export interface ExtAuthzRuntime {
  /** Why istiod could not build this provider's ext_authz filter (builder/extauthz.go), undefined when it can. */
  providerError(provider: string): string | undefined;
  /** The provider's failure_mode_allow and status_on_error. */
  settings(provider: string): { failOpen: boolean; statusOnError?: number };
  /** One Check call to an endpoint of the provider's service (an error outcome when none answers). */
  check(provider: string, request: ExtAuthzRequest): Promise<ExtAuthzOutcome>;
  /** Under istiod: one Check call to an endpoint of the cluster its ext_authz filter names (`outbound|9191||<host>`). */
  checkCluster(cluster: string, timeoutMs: number, request: ExtAuthzRequest): Promise<ExtAuthzOutcome>;
}

/** No extension providers: every CUSTOM policy names an undefined one. */
export const noExtAuthz: ExtAuthzRuntime = {
  providerError: (p) => `available providers are [] but found ${JSON.stringify(p)}`,
  settings: () => ({ failOpen: false }),
  check: () => Promise.resolve({ kind: 'error', reason: 'no extension providers' }),
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

/** What of a parsed rate limit ends up in the filter's Envoy config (not the EnvoyFilter's name, scope or position in the file). */
function rateLimitFilterConfig(l: LocalRateLimit): unknown {
  return [l.position, l.statPrefix, l.bucket, l.enabledPercent, l.enforcedPercent, l.status, l.responseHeaders, l.perConnection];
}

/**
 * The HTTP filters of one listener's chain as Istio generates them from these objects (rate limits, jwt_authn from
 * RequestAuthentications, RBAC from AuthorizationPolicies, whose names Istio writes into the RBAC policy names), as a
 * string: equal strings mean an unchanged chain.
 */
function httpFilterChainConfig(limits: LocalRateLimit[], jwt: K8sObject[], authz: K8sObject[], behaviour: IstioBehaviour): string {
  return JSON.stringify([
    behaviour.rateLimitRefill,
    limits.map(rateLimitFilterConfig),
    jwt.map((p) => p.spec),
    authz.map((p) => [p.metadata.namespace ?? 'default', p.metadata.name, p.spec]),
  ]);
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

/** The filter chain of one proxy listener for one config version. */
/**
 * The order istiod applies a proxy's EnvoyFilters in (model/push_context.go PushContext.EnvoyFilters): by priority,
 * then root-namespace filters first, then by creation (the order `limits` come in, oldest first), each filter's
 * patches in their order.
 */
function envoyFilterOrder(limits: LocalRateLimit[]): LocalRateLimit[] {
  const root = (l: LocalRateLimit) => (l.namespace === ROOT_NAMESPACE ? 0 : 1);
  return limits
    .map((l, i) => ({ l, i }))
    .sort((a, b) => a.l.priority - b.l.priority || root(a.l) - root(b.l) || a.i - b.i)
    .map(({ l }) => l);
}

/**
 * The local rate limits of one of istiod's HTTP filter chains, in chain order: those before the chain's jwt_authn and
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
    const parsed = parseLocalRateLimitConfig(f.typed_config, `istiod's inbound chain ${key}: http_filters[${index}] ${f.name}`);
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

/** Every filter context: the listeners of istiod cover them all. */
export const ALL_FILTER_CONTEXTS: ReadonlySet<EnvoyFilterContext> = new Set(['SIDECAR_INBOUND', 'GATEWAY', 'SIDECAR_OUTBOUND']);

/** What one of istiod's HTTP filter chains runs before the router. */
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
 * The chain of istiod's listeners a request of this scope takes: a sidecar's inbound chain for the port, by transport
 * (mTLS `tls`, plaintext `raw_buffer`); the gateway's listener for its port (one chain for every request); a sidecar's
 * outbound HTTP listener for the request's port (`0.0.0.0_<port>`), built when a port is first called.
 */
function listenerChains(
  listeners: Listener[],
  scope: ProxyScope,
  deps: { behaviour: IstioBehaviour; stats: ProxyStats; chains: FilterChainStates },
): ((request: FilterRequest) => ChainRuntime) | undefined {
  switch (scope.context) {
    case 'SIDECAR_INBOUND': {
      const key = `${scope.context}|${scope.port}`;
      const mtls = chainRuntime(inboundHttpFilters(listeners, scope.port, true) ?? [], `${key}|tls`, `istiod's inbound chain ${scope.port}/tls`, deps);
      const plaintext = chainRuntime(
        inboundHttpFilters(listeners, scope.port, false) ?? [],
        `${key}|raw_buffer`,
        `istiod's inbound chain ${scope.port}/raw_buffer`,
        deps,
      );
      return (request) => (request.principal ? mtls : plaintext);
    }
    case 'GATEWAY': {
      const chain = chainRuntime(
        gatewayHttpFilters(listeners, scope.port) ?? [],
        `${scope.context}|${scope.port}`,
        `istiod's gateway listener 0.0.0.0_${scope.port}`,
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
          byPort.set(
            request.port,
            (chain = chainRuntime(filters, `${scope.context}|${request.port}`, `istiod's outbound listener 0.0.0.0_${request.port}`, deps)),
          );
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
    /**
     * The proxy's listeners from its control plane, and the filter contexts they cover: the HTTP filters of a covered
     * context are the listeners' (istiod covers all three); the others are built from the Istio objects.
     */
    listeners?: { listeners: Listener[]; covers: ReadonlySet<EnvoyFilterContext> };
    extAuthz?: ExtAuthzRuntime;
  },
): InboundPolicy {
  const extAuthz = deps.extAuthz ?? noExtAuthz;
  const workload = { namespace: scope.namespace, labels: scope.labels };
  const limits = envoyFilterOrder(config.rateLimits.filter((l) => rateLimitApplies(l, { ...workload, context: scope.context, port: scope.port })));
  // istiod applies the patches in that order (envoyfilter/listener_patch.go patchHTTPFilters): INSERT_FIRST and
  // INSERT_BEFORE without a subFilter prepend, so a later one runs before an earlier one; INSERT_BEFORE the router
  // keeps them in order.
  const chainOrder = [...limits.filter((l) => l.position === 'first').reverse(), ...limits.filter((l) => l.position !== 'first')];
  const outbound = scope.context === 'SIDECAR_OUTBOUND';
  const appliesHere = (p: K8sObject) =>
    scopeApplies(
      { namespace: p.metadata.namespace ?? 'default', selector: field(p.spec, 'selector', 'matchLabels') as Record<string, string> | undefined },
      workload,
    );
  const authz = outbound ? [] : config.authorizationPolicies.filter(appliesHere);
  // Most workloads have no CUSTOM policy: then no request pays for the CUSTOM step.
  const hasCustom = authz.some((p) => field(p.spec, 'action') === 'CUSTOM');
  const jwtPolicies = outbound ? [] : config.requestAuthentications;
  const chainConfig = httpFilterChainConfig(chainOrder, jwtPolicies.filter(appliesHere), authz, deps.behaviour);
  const bound = deps.chains.limiters(`${scope.context}|${scope.port}`, chainConfig, chainOrder, deps.behaviour).map((l) => bindLimiter(l, deps.stats));
  const firstCount = chainOrder.filter((l) => l.position === 'first').length;
  const first = bound.slice(0, firstCount);
  const beforeRouter = bound.slice(firstCount);
  // Under istiod, a sidecar's inbound chain for the port and transport (and the gateway's listener for its port) is
  // istiod's: its local rate limits (each chain with buckets of its own, as in Envoy), jwt_authn and authorization filters.
  const istiodChains = deps.listeners?.covers.has(scope.context) ? listenerChains(deps.listeners.listeners, scope, deps) : undefined;
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
        // Under istiod the inbound chains say it (which transports they accept); else the built-in PeerAuthentication model.
        const fromIstiod =
          deps.listeners?.covers.has('SIDECAR_INBOUND') && scope.context === 'SIDECAR_INBOUND' ? inboundPeerMode(deps.listeners.listeners, port) : undefined;
        mode =
          fromIstiod ??
          (scope.context === 'SIDECAR_INBOUND' ? effectivePeerAuthMode(config.peerAuthentications, scope.namespace, scope.labels, port) : 'PERMISSIVE');
        modes.set(port, mode);
      }
      return mode;
    },
    filter(request: FilterRequest): FilterVerdict | Promise<FilterVerdict> {
      const chain = istiodChains?.(request);
      const limiters = chain?.limiters ?? { first, beforeRouter };
      for (const [i, limiter] of limiters.first.entries()) {
        const v = runLimiter(limiter, request, deps.seed, i);
        if (v) return v;
      }
      let requestPrincipal: string | undefined;
      let requestClaims: Record<string, unknown> | undefined;
      let jwtMetadata: Record<string, JsonValue> | undefined;
      if (chain) {
        const jwt = chain.jwt;
        if (jwt) {
          const outcome = jwt.run({ method: request.method, path: request.path, host: request.host, headers: request.headers, scheme: 'http' });
          if (outcome.kind === 'reply') return { action: 'reply', status: outcome.status, body: outcome.body, headers: outcome.headers, flags: [] };
          jwtMetadata = outcome.metadata;
          const payload = outcome.metadata.payload;
          if (payload !== null && typeof payload === 'object' && !Array.isArray(payload)) {
            requestClaims = payload;
            requestPrincipal = `${typeof payload.iss === 'string' ? payload.iss : ''}/${typeof payload.sub === 'string' ? payload.sub : ''}`;
          }
        }
      } else if (jwtPolicies.length > 0) {
        const authn = authenticateRequest(jwtPolicies, workload, request, config.remoteJwks);
        if (authn.kind === 'reply') return authn.verdict;
        requestPrincipal = authn.principal;
        requestClaims = authn.claims;
      }
      if (chain) {
        const metadata: DynamicMetadata = jwtMetadata && Object.keys(jwtMetadata).length > 0 ? { 'envoy.filters.http.jwt_authn': jwtMetadata } : {};
        const facts: RbacFacts & { metadata: DynamicMetadata } = {
          headers: { ...request.headers, ':method': request.method, ':path': request.path, ':authority': request.host },
          destinationPort: request.port,
          directRemoteIp: request.sourceIp,
          remoteIp: request.sourceIp,
          ...(request.principal ? { peerPrincipal: `spiffe://${request.principal}` } : {}),
          metadata,
        };
        return runIstiodSteps(chain.authz, 0, request, facts, requestPrincipal, requestClaims);
      }
      if (hasCustom) {
        const custom = customCheck(authz, attributes(request, requestPrincipal, requestClaims), (p) => extAuthz.providerError(p));
        if (custom.kind === 'deny') {
          rbacDenied.value++;
          return { action: 'reply', status: RBAC_DENIED_STATUS, body: RBAC_DENIED_BODY, headers: {}, flags: [] };
        }
        if (custom.kind === 'check') {
          return extAuthz.check(custom.provider, extAuthzRequestOf(request, scope)).then((outcome) => {
            const reply = applyExtAuthz(outcome, extAuthz.settings(custom.provider), request, extAuthzStats);
            return reply ?? rest(request, requestPrincipal, requestClaims);
          });
        }
      }
      return rest(request, requestPrincipal, requestClaims);
    },
  };

  /**
   * istiod's authorization filters from `from` on, in chain order (Envoy's filter manager): an RBAC filter's shadow
   * rules write their verdict to the dynamic metadata (rbac_filter.cc: `<shadow_rules_stat_prefix>shadow_effective_policy_id`
   * and `...shadow_engine_result` under envoy.filters.http.rbac) and its rules allow or deny; an ext_authz filter runs
   * when its filter_enabled_metadata matches (ext_authz.cc: else ext_authz.disabled) and checks with its cluster.
   */
  function runIstiodSteps(
    steps: AuthzStep[],
    from: number,
    request: FilterRequest,
    facts: RbacFacts & { metadata: DynamicMetadata },
    requestPrincipal: string | undefined,
    requestClaims: Record<string, unknown> | undefined,
  ): FilterVerdict | Promise<FilterVerdict> {
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
        return runIstiodSteps(steps, i + 1, request, facts, requestPrincipal, requestClaims);
      });
    }
    return rest(request, requestPrincipal, requestClaims);
  }

  /** The filters after CUSTOM: RBAC DENY and ALLOW, then the rate limits before the router. */
  function rest(request: FilterRequest, requestPrincipal: string | undefined, requestClaims: Record<string, unknown> | undefined): FilterVerdict {
    const chain = istiodChains?.(request);
    const limiters = chain?.limiters ?? { first, beforeRouter };
    if (authz.length > 0 && !chain) {
      const decision = evaluateAuthorization(authz, attributes(request, requestPrincipal, requestClaims));
      for (const f of decision.filters) (f.result === 'allowed' ? rbacAllowed : rbacDenied).value++;
      if (!decision.allowed) {
        return { action: 'reply', status: RBAC_DENIED_STATUS, body: RBAC_DENIED_BODY, headers: {}, flags: [] };
      }
    }
    for (const [i, limiter] of limiters.beforeRouter.entries()) {
      const v = runLimiter(limiter, request, deps.seed, limiters.first.length + i);
      if (v) return v;
    }
    return requestClaims ? { action: 'continue', claims: requestClaims } : { action: 'continue' };
  }

  function attributes(request: FilterRequest, requestPrincipal: string | undefined, requestClaims: Record<string, unknown> | undefined) {
    return {
      namespace: scope.namespace,
      workloadLabels: scope.labels,
      method: request.method,
      path: request.path,
      host: request.host,
      port: request.port,
      headers: request.headers,
      sourcePrincipal: request.principal,
      sourceNamespace: request.peerNamespace,
      requestPrincipal,
      requestClaims,
      sourceIp: request.sourceIp,
    };
  }
}

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
