// The outbound half of a proxy (sidecar outbound listener or ingress gateway): route selection, the fault filter
// (before the router: injected faults are never retried), then Envoy's router with retries, per-try and route
// timeouts, load balancing, the connection-pool circuit breaker and outlier detection.
import type http from 'node:http';
import { checkMtlsEnabled, effectiveTrafficPolicy, endpointTlsMode } from '../../../istio/networking/destination-rule.ts';
import type { HeaderOperations, HttpRoute, RouteDestination } from '../../../istio/networking/model.ts';
import { effectiveRetryPolicy, backoffMs, isRetriable, type AttemptOutcome, type RetryPolicy } from '../../../istio/networking/retry.ts';
import { rewritePath } from '../../../istio/networking/rewrite.ts';
import { firstMatchingRule, fqdn, pickDestination, rulesFor, type RequestFacts } from '../../../istio/networking/routing.ts';
import { chancePpm, uniform } from '../decide.ts';
import { Cancellation } from './cancel.ts';
import { Cluster, key, type AttemptResult, type EndpointInfo } from './cluster.ts';
import { endpointsOf, type MeshSnapshot, type ServiceInfo } from './config-view.ts';
import { replies, type LocalReply } from './local-reply.ts';
import { memo } from './memo.ts';
import type { ProxyStats } from './stats.ts';

export interface RouterRequest {
  method: string;
  /** Path with query string. */
  path: string;
  authority: string;
  /** Lower-case names. */
  headers: Record<string, string | string[] | undefined>;
  body?: string;
  requestId: string;
  /** Base of every seeded decision for this request at this proxy. */
  decisionKey: string;
  /** Aborted when the downstream gives up. */
  signal?: Cancellation;
  /**
   * Ingress only: the routes of the virtual host Envoy picks for this request's host (gatewayVirtualHosts /
   * selectVirtualHost); null when no virtual host matches it (404 NR).
   */
  gatewayRoutes?: HttpRoute[] | null;
  /** Ingress only: the JWT payload its jwt_authn filter verified, for `@request.auth.claims` matches. */
  claims?: Record<string, unknown>;
}

export interface RouterResult {
  status: number;
  headers: Record<string, string | string[]>;
  /** The upstream's bytes, or a local reply's text. */
  body: string | Buffer;
  /** Envoy response flags; empty means `-`. */
  flags: string[];
  service?: ServiceInfo;
  endpoint?: EndpointInfo;
  /** The request reached no upstream because the downstream went away (DC). */
  downstreamGone?: boolean;
}

export interface RouterIdentity {
  name: string;
  ip: string;
  principal: string;
  namespace: string;
  labels: Record<string, string>;
  meshSecret: string;
  seed: number;
  stats: ProxyStats;
}

const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host', 'content-length', 'x-meshproof-key']);

function sleep(ms: number, signal?: Cancellation): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const t = setTimeout(() => {
      signal?.off(onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal?.onAbort(onAbort);
  });
}

function local(reply: LocalReply, service?: ServiceInfo, endpoint?: EndpointInfo, extraFlags: string[] = []): RouterResult {
  return {
    status: reply.status,
    headers: { 'content-type': 'text/plain', ...(reply.headers ?? {}) },
    body: reply.body,
    flags: [...reply.flags, ...extraFlags],
    service,
    endpoint,
  };
}

/**
 * One level of Envoy header mutations (HeaderParser::evaluateHeaders): every removal first, then the additions in
 * order (`set` overwrites, `add` appends).
 */
function applyHeaderLevel(headers: Record<string, string | string[]>, level: (HeaderOperations | undefined)[]): void {
  for (const ops of level) if (ops) for (const name of ops.remove) delete headers[name];
  for (const ops of level) {
    if (!ops) continue;
    for (const [name, value] of ops.set) headers[name] = value;
    for (const [name, value] of ops.add) {
      const existing = headers[name];
      headers[name] = existing === undefined ? value : ([] as string[]).concat(existing, value);
    }
  }
}

/**
 * The header mutation levels of a route, in the order Envoy evaluates them (most specific first, later ones override:
 * route.proto most_specific_header_mutations_wins, which istiod leaves false). istiod puts a single destination's
 * operations after the route's in the route's own lists (route.go processDestination), while a weighted
 * destination's are its cluster weight's, a level of their own before the route's (processWeightedDestination).
 */
function headerLevels(rule: HttpRoute | undefined, destination: RouteDestination | undefined, side: 'request' | 'response'): (HeaderOperations | undefined)[][] {
  const route = rule?.headers?.[side];
  const own = destination?.headers?.[side];
  return rule && rule.route.length > 1 ? [[own], [route]] : [[route, own]];
}

type RouteTable = ReturnType<typeof rulesFor>;

export class Router {
  private snapshot!: MeshSnapshot;
  private readonly clusters = new Map<string, { cluster: Cluster; config: string; version: string }>();
  /** rulesFor() per `gateway host` for the current snapshot. */
  private routeTables = new Map<string, RouteTable>();
  /** effectiveRetryPolicy() per route's retries block (undefined: the default policy) for the current snapshot. */
  private retryPolicies = new Map<object | undefined, RetryPolicy | undefined>();

  constructor(private readonly identity: RouterIdentity) {}

  /** Switch to a new configuration (the proxy's xDS update). */
  configure(snapshot: MeshSnapshot): void {
    this.snapshot = snapshot;
    this.routeTables = new Map();
    this.retryPolicies = new Map();
    // Envoy creates every cluster (and its zero counters) when the config arrives.
    for (const service of snapshot.services.values()) {
      for (const port of service.ports) {
        this.cluster(service, undefined, port);
        const rule = snapshot.destinationRules.get(service.fqdn, this.identity.namespace, service.namespace);
        for (const subset of rule?.subsets ?? []) this.cluster(service, subset.name, port);
      }
    }
  }

  get version(): string {
    return this.snapshot.version;
  }

  private cluster(service: ServiceInfo, subset: string | undefined, port: number): Cluster | undefined {
    const rule = this.snapshot.destinationRules.get(service.fqdn, this.identity.namespace, service.namespace);
    let subsetLabels: Record<string, string> | undefined;
    if (subset !== undefined) {
      const s = rule?.subsets.find((x) => x.name === subset);
      if (!s) return undefined; // Envoy has no such cluster: 503 NC
      subsetLabels = s.labels;
    }
    const name = `outbound|${port}|${subset ?? ''}|${service.fqdn}`;
    let entry = this.clusters.get(name);
    if (entry?.version !== this.snapshot.version) {
      const settings = effectiveTrafficPolicy(rule, subset, port);
      // What of the DestinationRule Istio writes into this CDS cluster: the traffic policy and the rule's name (the
      // cluster's istio.config metadata). Envoy ignores a CDS update whose cluster hash is unchanged and otherwise
      // builds a new cluster, with a new outlier detector and hosts (cluster_manager_impl.cc
      // ClusterManagerImpl::addOrUpdateCluster: blockUpdate(new_hash), else loadCluster), so ejections, consecutive
      // error counts and connections do not survive such a change. Endpoint changes come by EDS and keep the cluster.
      const config = JSON.stringify([rule ? `${rule.namespace}/${rule.name}` : '', settings]);
      if (!entry || entry.config !== config) {
        entry?.cluster.retire();
        const cluster = new Cluster({
          name,
          sourceIp: this.identity.ip,
          sourcePrincipal: this.identity.principal,
          meshSecret: this.identity.meshSecret,
          stats: this.identity.stats,
        });
        entry = { cluster, config, version: '' };
        this.clusters.set(name, entry);
      }
      // EDS marks each endpoint's tlsMode for this cluster (endpoint_builder.go with mtls_checker.go checkMtlsEnabled).
      const drMode = endpointTlsMode(rule, subset, port);
      const modeOf = this.snapshot.peerAuthMode;
      const endpoints = endpointsOf(this.snapshot, service, subsetLabels, port).map((e) => {
        const mtls = checkMtlsEnabled(drMode, true, modeOf ? modeOf(e.namespace, e.labels, e.port) : 'PERMISSIVE');
        return mtls ? e : { ...e, mtls };
      });
      entry.cluster.update(endpoints, settings);
      entry.version = this.snapshot.version;
    }
    return entry.cluster;
  }

  /** Route one request through fault injection and the router. */
  async handle(req: RouterRequest): Promise<RouterResult> {
    const q = req.path.indexOf('?');
    const facts: RequestFacts = {
      path: q >= 0 ? req.path.slice(0, q) : req.path,
      query: q >= 0 ? req.path.slice(q + 1) : '',
      method: req.method,
      authority: req.authority,
      headers: req.headers,
      port: 0,
      scheme: 'http',
      gateway: 'mesh',
      sourceLabels: this.identity.labels,
      sourceNamespace: this.identity.namespace,
      claims: req.claims,
    };
    const colon = req.authority.lastIndexOf(':');
    const hostOnly = (colon > 0 ? req.authority.slice(0, colon) : req.authority).toLowerCase();
    facts.port = colon > 0 ? Number(req.authority.slice(colon + 1)) : 80;

    let rule: HttpRoute | undefined;
    let service: ServiceInfo | undefined;
    if (req.gatewayRoutes !== undefined) {
      // Ingress: the routes were built for their Gateway and server port; only request conditions are left to match.
      rule = firstMatchingRule(req.gatewayRoutes ?? [], facts);
      if (!rule) return local(replies.noRoute());
      facts.port = rule.gatewayPort ?? facts.port;
    } else {
      const target = this.serviceFor(hostOnly);
      if (!target) return local(replies.noRoute());
      service = target;
      const found = this.routeTable(service.fqdn, 'mesh');
      if (found) {
        rule = firstMatchingRule(found.rules, facts);
        if (!rule) return local(replies.noRoute(), service);
      }
    }

    // Fault filter: runs before the router, so its aborts never reach the retry logic.
    const flags: string[] = [];
    if (rule?.fault?.delay && chancePpm(this.identity.seed, `${req.decisionKey}|delay`, rule.fault.delay.ppm)) {
      flags.push('DI');
      if (!(await sleep(rule.fault.delay.fixedDelayMs, req.signal))) return { ...local(replies.timeout(), service), downstreamGone: true, flags: ['DI', 'DC'] };
    }
    if (rule?.fault?.abort && chancePpm(this.identity.seed, `${req.decisionKey}|abort`, rule.fault.abort.ppm)) {
      const dest = service ?? this.snapshot.services.get(rule.route[0].fqdn);
      return local(replies.faultAbort(rule.fault.abort.httpStatus), dest, undefined, flags);
    }

    let destination: RouteDestination | undefined;
    if (rule) {
      destination = pickDestination(rule.route, uniform(this.identity.seed, `${req.decisionKey}|weight`));
      service = this.snapshot.services.get(destination.fqdn);
      if (!service) return local(replies.noCluster(), undefined, undefined, flags);
    }
    if (!service) return local(replies.noRoute());
    // route.go GetDestinationCluster: the destination's port, else the Service's only port, else the listener's port.
    // A cluster exists only for the Service's ports, so any other is Envoy's cluster-not-found (503 NC).
    const port = destination?.port ?? (service.ports.length === 1 ? service.ports[0] : facts.port);
    if (!service.ports.includes(port)) return local(replies.noCluster(), service, undefined, flags);
    const cluster = this.cluster(service, destination?.subset, port);
    if (!cluster) return local(replies.noCluster(), service, undefined, flags);

    const headers: Record<string, string | string[]> = {};
    for (const name in req.headers) {
      const v = req.headers[name];
      if (v !== undefined && !hopByHop.has(name)) headers[name] = v;
    }
    for (const level of headerLevels(rule, destination, 'request')) applyHeaderLevel(headers, level);
    const path = rule ? rewritePath(rule, facts, req.path) : req.path;
    let authority = req.authority;
    // The host rewrite (route.go applyHTTPRouteDestination): rewrite.authority, else the route's headers; a
    // destination's only when the route sets none — a single destination's by processDestination's own rule, a
    // weighted one's because Envoy sets the cluster weight's host_rewrite_literal first and the route's after it
    // (config_impl.cc WeightedClusterEntry::finalizeRequestHeaders, then RouteEntryImplBase's).
    const destinationAuthority = destination?.headers?.request?.authority || undefined;
    const routeAuthority = rule?.rewrite?.authority || rule?.headers?.request?.authority || undefined;
    const rewritten = routeAuthority ?? destinationAuthority;
    if (rewritten) authority = rewritten;
    headers.host = authority;
    headers['x-request-id'] = req.requestId;

    const policy = this.retryPolicy(rule?.retries);
    const result = await this.forward(cluster, service, { method: req.method, path, headers, body: req.body }, policy, rule?.timeoutMs, req);
    result.flags = flags.concat(result.flags);
    if (result.status > 0) {
      for (const level of headerLevels(rule, destination, 'response')) applyHeaderLevel(result.headers, level);
    }
    return result;
  }

  private routeTable(host: string, gateway: string): RouteTable {
    return memo(this.routeTables, `${gateway} ${host}`, () => rulesFor(this.snapshot.virtualServices, host, gateway, { proxyNamespace: this.identity.namespace }));
  }

  /** The policy is shared by the requests of a config version: nothing below mutates it. */
  private retryPolicy(spec: HttpRoute['retries']): RetryPolicy | undefined {
    return memo(this.retryPolicies, spec, () => effectiveRetryPolicy(spec, this.snapshot.retry503ByDefault));
  }

  private serviceFor(host: string): ServiceInfo | undefined {
    return this.snapshot.services.get(fqdn(host, this.identity.namespace));
  }

  /** Envoy's router: attempts, retries with backoff, per-try and route timeouts. */
  private async forward(
    cluster: Cluster,
    service: ServiceInfo,
    upstream: { method: string; path: string; headers: Record<string, string | string[]>; body?: string },
    policy: RetryPolicy | undefined,
    routeTimeoutMs: number | undefined,
    req: RouterRequest,
  ): Promise<RouterResult> {
    const seed = this.identity.seed;
    let timedOut = false;
    // Without a route timeout the downstream's own signal is the only reason to cancel (saves a controller per request).
    const hasTimeout = routeTimeoutMs !== undefined && routeTimeoutMs > 0;
    const controller = hasTimeout || !req.signal ? new Cancellation() : undefined;
    const signal = controller ?? req.signal!;
    const onDownstreamAbort = () => controller?.abort();
    if (controller && req.signal) {
      if (req.signal.aborted) onDownstreamAbort();
      else req.signal.onAbort(onDownstreamAbort);
    }
    const timer = hasTimeout
      ? setTimeout(() => {
          timedOut = true;
          controller!.abort();
        }, routeTimeoutMs)
      : undefined;
    const started = Date.now();
    const tried = new Set<string>();
    let retries = 0;
    let holdsRetry = false;
    try {
      for (let attempt = 0; ; attempt++) {
        /**
         * The route timeout fired or the downstream went away. Envoy's Filter::onResponseTimeout (router.cc) charges
         * an upstream request still awaiting its response: upstream_rq_timeout, the host's outlier detector
         * (LocalOriginTimeout with the timeout code, 504) and chargeUpstreamAbort(504) → chargeUpstreamCode; one
         * waiting for a connection has no host yet (no outlier result); during a retry back-off there is no upstream
         * request and only the 504 UT reply. A downstream that went away charges nothing (Filter::onDestroy).
         */
        const ended = (upstream: 'none' | 'pending' | 'sent', endpoint?: EndpointInfo): RouterResult => {
          if (timedOut) {
            if (upstream !== 'none') {
              cluster.s.rqTimeout.value++;
              if (upstream === 'sent' && endpoint) cluster.observeTimeout(endpoint);
              cluster.chargeUpstreamCode(504);
            }
            return local(replies.timeout(), service, endpoint);
          }
          return { ...local(replies.timeout(), service, endpoint), status: 0, body: '', flags: ['DC'], downstreamGone: true };
        };
        if (signal.aborted) return ended('none');
        const draw = (i: number) => uniform(seed, `${req.decisionKey}|lb${attempt}|${i}`);
        const endpoint = cluster.pick(draw, tried, policy?.previousHosts ? policy.hostSelectionRetryMaxAttempts : 0);
        if (!endpoint) {
          cluster.s.noHealthy.value++;
          cluster.chargeUpstreamCode(503); // router.cc Filter::sendNoHealthyUpstreamResponse
          return local(replies.noHealthyUpstream(), service);
        }
        const admission = await cluster.admit(endpoint, signal);
        if (admission === 'overflow') {
          cluster.chargeUpstreamCode(503); // a pool overflow is a reset (Overflow): chargeUpstreamAbort(503, dropped)
          return local(replies.overflow(), service, endpoint);
        }
        if (admission === 'cancelled') return ended('pending', endpoint);
        tried.add(key(endpoint));
        upstream.headers['x-meshproof-key'] = `${req.decisionKey}|a${attempt}`;
        // Istio sets include_request_attempt_count on every outbound and gateway virtual host (pilot/pkg/networking/
        // util/proxy_headers.go GetProxyHeadersFromProxyConfig: IncludeRequestAttemptCount true unless
        // proxyHeaders.attemptCount.disabled); Envoy's router then writes the attempt number over whatever came from
        // downstream (router.cc Filter::decodeHeaders setEnvoyAttemptCount(attempt_count_), again in doRetry).
        upstream.headers['x-envoy-attempt-count'] = String(attempt + 1);
        let result: AttemptResult | undefined;
        try {
          result = await cluster.send(endpoint, upstream, policy?.perTryTimeoutMs ?? Infinity, signal);
        } finally {
          // An attempt that ended without a complete response reset its stream, and HTTP/1 closes the connection.
          admission.release(result?.kind !== 'response');
          if (holdsRetry) {
            cluster.releaseRetry();
            holdsRetry = false;
          }
        }
        cluster.observe(endpoint, result);
        if (result.kind === 'cancelled') return ended('sent', endpoint);
        const outcome: AttemptOutcome = result.kind === 'response'
          ? { kind: 'response', status: result.status, overloaded: result.headers['x-envoy-overloaded'] !== undefined }
          : result;
        const retriable = policy !== undefined && isRetriable(policy, outcome);
        const mayRetry = retriable && retries < policy.numRetries;
        const retryAdmitted = mayRetry && cluster.acquireRetry();
        if (retryAdmitted) {
          holdsRetry = true;
          retries++;
          cluster.s.rqRetry.value++;
          const wait = backoffMs(policy, retries, uniform(seed, `${req.decisionKey}|backoff${retries}`));
          if (!(await sleep(wait, signal))) return ended('none', endpoint);
          continue;
        }
        const extra: string[] = [];
        if (retriable && policy !== undefined && retries >= policy.numRetries) {
          cluster.s.rqRetryLimitExceeded.value++;
          extra.push('URX');
        }
        // The retry circuit breaker (maxRetries) refused the retry: Envoy's RetryStatus::NoOverflow sets UO on the
        // response it passes on (router.cc), besides upstream_rq_retry_overflow (counted by acquireRetry).
        if (mayRetry && !retryAdmitted) extra.push('UO');
        // RetryStateImpl::shouldRetry: an attempt after a retry whose outcome is not retriable (a response, or a
        // reset or per-try timeout the policy does not retry) counts as a retry success; an exhausted or refused
        // retry does not.
        if (retries > 0 && !retriable) cluster.s.rqRetrySuccess.value++;
        switch (result.kind) {
          case 'response': {
            const headers: Record<string, string | string[]> = {};
            for (const name in result.headers) {
              const v = result.headers[name];
              if (v !== undefined && !hopByHop.has(name)) headers[name] = v;
            }
            headers['x-envoy-upstream-service-time'] = String(Date.now() - started);
            return { status: result.status, headers, body: result.body, flags: extra, service, endpoint };
          }
          // Not retried: chargeUpstreamAbort charges 503 for a reset (Filter::onUpstreamReset) and the timeout
          // code 504 for a per-try timeout (Filter::onPerTryTimeout).
          case 'connect-failure':
            cluster.chargeUpstreamCode(503);
            return local(replies.connectFailure(), service, endpoint, extra);
          case 'reset':
            cluster.chargeUpstreamCode(503);
            return local(replies.connectionTermination(), service, endpoint, extra);
          case 'per-try-timeout':
            cluster.chargeUpstreamCode(504);
            return local(replies.timeout(), service, endpoint, extra);
        }
      }
    } finally {
      if (timer) clearTimeout(timer);
      if (holdsRetry) cluster.releaseRetry();
      if (controller) req.signal?.off(onDownstreamAbort);
    }
  }

  close(): void {
    for (const { cluster } of this.clusters.values()) cluster.close();
  }
}

export type { http };
