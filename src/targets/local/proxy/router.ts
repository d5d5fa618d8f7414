// The outbound half of a proxy (sidecar outbound listener or ingress gateway), executing the Envoy configuration its
// control plane sent (RDS, CDS, EDS) through src/envoy/runtime: route selection, the fault filter (before the router:
// injected faults are never retried), then Envoy's router with retries, per-try and route timeouts, load balancing,
// the connection-pool circuit breaker and outlier detection.
import {
  TypedConfigType,
  type Cluster as EnvoyCluster,
  type ClusterLoadAssignment,
  type ClusterWeight,
  type Route,
  type RouteAction,
  type RouteConfiguration,
  type VirtualHost,
} from '../../../envoy/model/index.ts';
import { evaluateCluster } from '../../../envoy/runtime/cluster.ts';
import { decideFault } from '../../../envoy/runtime/fault.ts';
import { corsDecision } from '../../../envoy/runtime/cors.ts';
import { requestHash, type RequestHash } from '../../../envoy/runtime/hash-policy.ts';
import type { DynamicMetadata } from '../../../envoy/runtime/matchers.ts';
import {
  backoffMs,
  effectiveRetryPolicy,
  evaluateRetryPolicy,
  routeTimeoutMs,
  wouldRetry,
  type AttemptOutcome,
  type EvaluatedRetryPolicy,
} from '../../../envoy/runtime/retry.ts';
import {
  allPerFilterConfigs,
  applyHeaderMutations,
  headerMutationLevels,
  perFilterConfig,
  pickCluster,
  redirectOf,
  type PickedCluster,
  rewrittenPath,
  selectRoute,
  selectVirtualHost,
} from '../../../envoy/runtime/routes.ts';
import { fqdn } from '../../../istio/networking/routing.ts';
import { uniform } from '../decide.ts';
import { Cancellation } from './cancel.ts';
import { Cluster, key, type AttemptResult, type EndpointInfo } from './cluster.ts';
import type { MeshSnapshot, ServiceInfo } from './config-view.ts';
import { replies, type LocalReply } from './local-reply.ts';
import { memo } from './memo.ts';
import type { ProxyStats } from './stats.ts';
import type { UpstreamTarget } from './telemetry.ts';
import { elementAt } from '../../../must.ts';
import { splitAuthority, type Authority } from '../authority.ts';
import { meshLog } from '../log.ts';
import { asError } from '../../../errors.ts';

/** What route selection reads of a request. */
export type RouteRequest = Pick<RouterRequest, 'method' | 'path' | 'authority' | 'headers' | 'decisionKey' | 'routeConfig' | 'metadata'>;

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
   * The RouteConfiguration of the listener the request arrived on: the gateway server's (`http.8080`); absent, a
   * sidecar's outbound listener for the authority's port (its RDS name is the port).
   */
  routeConfig?: string;
  /** The stream's dynamic metadata from the filters before the router (jwt_authn's verified payload). */
  metadata?: DynamicMetadata;
  /**
   * The downstream connection's remote and local addresses (`ip:port`), which hash policies on the source IP and the
   * generated hash cookie read. An app's call to its sidecar is a function call here: its pod's address, port 0.
   */
  downstream?: { remote: string; local: string };
}

export interface RouterResult {
  status: number;
  headers: Record<string, string | string[]>;
  /** The upstream's bytes, or a local reply's text. */
  body: string | Buffer;
  /** Envoy response flags; empty means `-`. */
  flags: string[];
  /** Where the route sent the request, for telemetry; absent: no route. */
  target?: UpstreamTarget;
  endpoint?: EndpointInfo;
  /** The request reached no upstream because the downstream went away (DC). */
  downstreamGone?: boolean;
}

/** What of the proxy's xDS configuration its router runs: RDS, CDS and EDS. */
export interface RouterConfig {
  routes: readonly RouteConfiguration[];
  clusters: readonly EnvoyCluster[];
  endpoints: readonly ClusterLoadAssignment[];
}

/**
 * A cluster's EDS endpoints as local endpoints: each address is a pod of the local mesh (its identity for telemetry),
 * the `tlsMode` transport socket match says whether auto mTLS speaks mTLS to it. Hosts EDS marks unhealthy, draining
 * or timed out take no traffic (the local data plane runs no panic routing to them); an address that is no pod of the
 * local mesh cannot be reached from it and is left out.
 */
function edsEndpoints(assignment: ClusterLoadAssignment | undefined, pods: ReadonlyMap<string, EndpointInfo>): EndpointInfo[] {
  const out: EndpointInfo[] = [];
  const at = `endpoints ${assignment?.cluster_name}`;
  for (const [l, locality] of (assignment?.endpoints ?? []).entries()) {
    // One locality, one priority, equal weights: what istiod sends here; anything else would weigh the balancing.
    if ((locality.priority ?? 0) !== 0) throw new Error(`${at}: endpoints[${l}].priority: priorities are not executed by the local data plane`);
    for (const [e, lb] of (locality.lb_endpoints ?? []).entries()) {
      if ((lb.load_balancing_weight ?? 1) !== 1)
        throw new Error(`${at}: endpoints[${l}].lb_endpoints[${e}].load_balancing_weight: weighted endpoints are not executed by the local data plane`);
      const health = lb.health_status ?? 'UNKNOWN';
      if (health !== 'HEALTHY' && health !== 'UNKNOWN' && health !== 'DEGRADED') continue;
      const address = lb.endpoint?.address.socket_address;
      const pod = address && pods.get(address.address);
      if (!address || !pod) continue;
      const mtls = lb.metadata?.filter_metadata?.['envoy.transport_socket_match']?.tlsMode === 'istio';
      out.push({ ...pod, port: address.port_value ?? pod.port, ...(mtls ? {} : { mtls: false }) });
    }
  }
  return out;
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

const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
  'content-length',
  'x-meshproof-key',
]);

function sleep(ms: number, signal?: Cancellation): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve(false);
      return;
    }
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

/**
 * The :authority upstream: the weighted cluster entry's host_rewrite_literal, then the route's, applied in that
 * order so the route's wins (WeightedClusterEntry::finalizeRequestHeaders, then RouteEntryImplBase's).
 */
function hostRewrite(action: NonNullable<Route['route']>, weight: ClusterWeight | undefined): string | undefined {
  return action.host_rewrite_literal || weight?.host_rewrite_literal || undefined;
}

const corsConfigs = new WeakMap<RouteConfiguration, boolean>();

/** Whether any level of a route configuration carries a CORS policy (most do not: the request pays nothing then). */
function corsConfigured(config: RouteConfiguration): boolean {
  let has = corsConfigs.get(config);
  if (has === undefined) {
    has = JSON.stringify(config).includes('"envoy.filters.http.cors"');
    corsConfigs.set(config, has);
  }
  return has;
}

function toList(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function local(reply: LocalReply, endpoint?: EndpointInfo, extraFlags: string[] = []): RouterResult {
  return {
    status: reply.status,
    headers: { 'content-type': 'text/plain', ...(reply.headers ?? {}) },
    body: reply.body,
    flags: [...reply.flags, ...extraFlags],
    endpoint,
  };
}

/** Envoy's cluster names for Istio services: `outbound|<port>|<subset>|<host>` (istio model.BuildSubsetKey). */
function parseClusterName(name: string): { port: number; subset: string | undefined; host: string } | undefined {
  const [direction, port, subset, host, ...rest] = name.split('|');
  if (direction !== 'outbound' || port === undefined || subset === undefined || host === undefined || rest.length > 0) return undefined;
  return { port: Number(port), subset: subset === '' ? undefined : subset, host };
}

/** The route a request takes, resolved as Envoy does before any HTTP filter runs (refreshCachedRoute). */
type Resolved =
  | { kind: 'none' }
  | { kind: 'route'; config: RouteConfiguration; vhost: VirtualHost; route: Route; matchHeaders: Record<string, string | string[] | undefined> }
  | {
      kind: 'cluster';
      config: RouteConfiguration;
      vhost: VirtualHost;
      route: Route;
      action: RouteAction;
      matchHeaders: Record<string, string | string[] | undefined>;
      picked: PickedCluster;
    };

export class Router {
  private snapshot!: MeshSnapshot;
  private readonly clusters = new Map<string, { cluster: Cluster; config: string; version: string }>();
  /** Faults in progress (delays waiting), for the fault filter's max_active_faults. */
  private activeFaults = 0;
  /** The proxy's endpoints (EDS) by cluster name, and the local mesh's pods by IP. */
  private assignments = new Map<string, ClusterLoadAssignment>();
  private podsByIp = new Map<string, EndpointInfo>();
  /** The proxy's clusters (CDS) by name. */
  private clusterConfigs = new Map<string, EnvoyCluster>();
  /** The proxy's RouteConfigurations (RDS) by name. */
  private routeConfigs = new Map<string, RouteConfiguration>();
  /** evaluateRetryPolicy() per route policy object for the current configuration. */
  private retryPolicies = new Map<object | undefined, EvaluatedRetryPolicy | undefined>();
  /** Round-robin turns of tcp_proxy connections per cluster. */
  private readonly tcpTurns = new Map<string, number>();
  private upstreamTargets = new Map<string, UpstreamTarget>();
  /** Clusters refused when the config arrived (logged once); a request routed to one fails with the same error. */
  private readonly refusedClusters = new Set<string>();

  constructor(private readonly identity: RouterIdentity) {}

  /** Switch to a new configuration (the proxy's xDS update): the mesh's registry, the proxy's routes and clusters. */
  configure(snapshot: MeshSnapshot, config: RouterConfig): void {
    this.snapshot = snapshot;
    this.routeConfigs = new Map(config.routes.map((r) => [r.name, r]));
    this.clusterConfigs = new Map(config.clusters.map((c) => [c.name, c]));
    this.assignments = new Map(config.endpoints.map((a) => [a.cluster_name, a]));
    this.podsByIp = new Map(
      snapshot.endpoints.flatMap((e) =>
        e.clusterIp
          ? [
              [e.ip, e],
              [e.clusterIp, e],
            ]
          : [[e.ip, e]],
      ),
    );
    this.retryPolicies = new Map();
    this.upstreamTargets = new Map();
    // Envoy creates every cluster (and its zero counters) when the config arrives. One whose settings the local data
    // plane does not execute (an HTTP/2 upstream: istiod's cluster of a gRPC port) is refused when a request is routed
    // to it, with the same error, so a cluster only a filter talks to (ext_authz's gRPC service) does not stop the proxy.
    for (const name of this.clusterConfigs.keys()) {
      const target = parseClusterName(name);
      const service = target && snapshot.services.get(target.host);
      if (!target || !service) continue;
      try {
        this.cluster(service, target.subset, target.port);
      } catch (error) {
        if (!this.refusedClusters.has(name)) meshLog(this.identity.name, `${asError(error).message}; a request routed to it fails`);
        this.refusedClusters.add(name);
      }
    }
  }

  get version(): string {
    return this.snapshot.version;
  }

  /** The outbound cluster `outbound|port|subset|host`; undefined when CDS has no such cluster (503 NC). */
  private cluster(service: ServiceInfo, subset: string | undefined, port: number): Cluster | undefined {
    const name = `outbound|${port}|${subset ?? ''}|${service.fqdn}`;
    const envoyCluster = this.clusterConfigs.get(name);
    if (!envoyCluster) return undefined;
    let entry = this.clusters.get(name);
    if (entry?.version !== this.snapshot.version) {
      const rule = this.snapshot.destinationRules.get(service.fqdn, this.identity.namespace, service.namespace);
      // The CDS cluster as sent, with the rule's name (istiod writes it into the cluster's istio.config metadata).
      // Envoy ignores a CDS update whose cluster hash is unchanged and otherwise builds a new cluster, with a new
      // outlier detector and hosts (cluster_manager_impl.cc ClusterManagerImpl::addOrUpdateCluster: blockUpdate(new_hash),
      // else loadCluster), so ejections, consecutive error counts and connections do not survive such a change.
      // Endpoint changes come by EDS and keep the cluster.
      const config = JSON.stringify([rule ? `${rule.namespace}/${rule.name}` : '', envoyCluster]);
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
      entry.cluster.update(this.endpointsOf(envoyCluster, service), evaluateCluster(envoyCluster));
      entry.version = this.snapshot.version;
    }
    return entry.cluster;
  }

  /**
   * A cluster's hosts: EDS's; a DNS cluster's load assignment, each name resolved by the mesh's name resolution (an
   * external host's stand-in) or an address of a pod; an original-destination cluster's one host, where the app's
   * connection was going: the service's host as the mesh resolves it.
   */
  private endpointsOf(envoyCluster: EnvoyCluster, service: ServiceInfo | undefined): EndpointInfo[] {
    if (envoyCluster.type === 'STRICT_DNS' || envoyCluster.type === 'LOGICAL_DNS' || envoyCluster.type === 'STATIC') {
      const out: EndpointInfo[] = [];
      for (const locality of envoyCluster.load_assignment?.endpoints ?? []) {
        for (const lb of locality.lb_endpoints ?? []) {
          const address = lb.endpoint?.address.socket_address;
          if (!address) continue;
          const found = this.resolve(address.address, address.port_value ?? 0);
          if (found) out.push(found);
        }
      }
      return out;
    }
    if (envoyCluster.type === 'ORIGINAL_DST') {
      const target = parseClusterName(envoyCluster.name);
      const found = target && service?.external ? this.resolve(service.fqdn, target.port) : undefined;
      return found ? [found] : [];
    }
    return edsEndpoints(this.assignments.get(envoyCluster.name), this.podsByIp);
  }

  /** An address or host name as the local mesh resolves it: a pod, or an external host's stand-in (plaintext: no sidecar). */
  private resolve(address: string, port: number): EndpointInfo | undefined {
    const pod = this.podsByIp.get(address);
    if (pod) return { ...pod, port };
    const ip = this.snapshot.resolveExternal?.(address.toLowerCase());
    if (ip === undefined) return undefined;
    return { ip, port, podName: address, workload: address, namespace: '', app: address, version: 'external', principal: '', labels: {}, mtls: false };
  }

  /**
   * The upstream a tcp_proxy to `clusterName` connects to (round robin over its hosts), or why there is none: no such
   * cluster in CDS, or no host (a name nothing resolves).
   */
  tcpUpstream(clusterName: string): { endpoint: EndpointInfo } | { none: 'no-cluster' | 'no-host' } {
    const envoyCluster = this.clusterConfigs.get(clusterName);
    if (!envoyCluster) return { none: 'no-cluster' };
    const target = parseClusterName(clusterName);
    const endpoints = this.endpointsOf(envoyCluster, target ? this.snapshot.services.get(target.host) : undefined);
    if (endpoints.length === 0) return { none: 'no-host' };
    const turn = this.tcpTurns.get(clusterName) ?? 0;
    this.tcpTurns.set(clusterName, turn + 1);
    return { endpoint: elementAt(endpoints, turn % endpoints.length) };
  }

  /** The virtual host, route and weighted cluster a request takes (config_impl.cc), its draws keyed by the request. */
  private resolveRoute(req: RouteRequest): Resolved {
    const config = this.routeConfigs.get(req.routeConfig ?? this.outboundRouteConfig(splitAuthority(req.authority)));
    if (!config) return { kind: 'none' };
    const vhost = selectVirtualHost(config, req.authority);
    if (!vhost) return { kind: 'none' };
    const matchHeaders = { ...req.headers, ':method': req.method, ':path': req.path, ':authority': req.authority, ':scheme': 'http' };
    const route = selectRoute(vhost, {
      path: req.path,
      headers: matchHeaders,
      metadata: req.metadata,
      uniform: () => uniform(this.identity.seed, `${req.decisionKey}|fraction`),
    });
    if (!route) return { kind: 'none' };
    const action = route.route;
    if (!action) return { kind: 'route', config, vhost, route, matchHeaders };
    const picked = pickCluster(action, () => uniform(this.identity.seed, `${req.decisionKey}|weight`));
    return { kind: 'cluster', config, vhost, route, action, matchHeaders, picked };
  }

  /** The Service in a CDS cluster's `istio.services` metadata: an outbound cluster of a Service the mesh knows. */
  private upstreamTarget(resolved: Resolved): UpstreamTarget | undefined {
    if (resolved.kind === 'none') return undefined;
    const route = resolved.route.name;
    const cluster = resolved.kind === 'cluster' ? resolved.picked.name : undefined;
    // One object per route and cluster for the config's lifetime: no lookups or allocation per request.
    return memo(this.upstreamTargets, `${route ?? ''}|${cluster ?? ''}`, () => {
      const named = route !== undefined ? { route } : {};
      if (cluster === undefined || !this.clusterConfigs.has(cluster)) return named;
      const parsed = parseClusterName(cluster);
      const service = parsed && this.snapshot.services.get(parsed.host);
      return { ...named, cluster, ...(service ? { service } : {}) };
    });
  }

  /**
   * Where the route sends a request, for the telemetry of a request a filter answers before the router: Envoy
   * resolves the route and its cluster when the request's headers arrive (conn_manager_impl.cc decodeHeaders →
   * refreshCachedRoute), so a local rate limit's 429 or an RBAC 403 still names the route's Service.
   */
  targetOf(req: RouteRequest): UpstreamTarget | undefined {
    return this.upstreamTarget(this.resolveRoute(req));
  }

  /**
   * One request through the route configuration, the fault filter and the router, as Envoy runs them: the virtual
   * host and route (config_impl.cc), the weighted cluster, the fault filter's per-route config (before the router, so
   * its aborts are never retried), header mutations and rewrites, then the cluster with retries and timeouts.
   */
  async handle(req: RouterRequest): Promise<RouterResult> {
    const resolved = this.resolveRoute(req);
    const result = await this.run(req, resolved);
    const target = this.upstreamTarget(resolved);
    if (target) result.target = target;
    return result;
  }

  private async run(req: RouterRequest, resolved: Resolved): Promise<RouterResult> {
    const seed = this.identity.seed;
    if (resolved.kind === 'none') return local(replies.noRoute());
    const { config, vhost, route, matchHeaders } = resolved;
    if (resolved.kind === 'route') {
      if (route.direct_response) return local({ status: route.direct_response.status, body: route.direct_response.body?.inline_string ?? '', flags: [] });
      const { status, location } = redirectOf(route, { scheme: 'http', authority: req.authority, path: req.path });
      return local({ status, body: '', flags: [], headers: { location } });
    }
    const { action, picked } = resolved;
    const target = parseClusterName(picked.name);
    // The local mesh has no network outside it: a host no Service names (PassthroughCluster) cannot be reached.
    if (picked.name === 'PassthroughCluster') return local(replies.noRoute());
    const service = target ? this.snapshot.services.get(target.host) : undefined;

    // CORS filter: before the fault filter (istiod's HTTP filter order: cors, fault, router); a preflight it answers
    // never reaches them, and it adds its headers to whatever answers the request after it.
    const corsPolicies = corsConfigured(config)
      ? allPerFilterConfigs('envoy.filters.http.cors', route, picked.weight, vhost, config).flatMap((c) =>
          c['@type'] === TypedConfigType.corsPolicy ? [c] : [],
        )
      : [];
    const cors =
      corsPolicies.length === 0
        ? undefined
        : corsDecision(
            corsPolicies,
            req.method,
            (name) => {
              const v = req.headers[name];
              return Array.isArray(v) ? v.join(',') : v;
            },
            () => uniform(seed, `${req.decisionKey}|cors`),
          );
    if (cors?.kind === 'preflight') return local({ status: 200, body: '', flags: [], headers: cors.headers });
    const proceed = async (): Promise<RouterResult> => {
      // Fault filter: runs before the router, so its aborts never reach the retry logic. Its draws are keyed by what
      // they decide, delay first, then abort (fault_filter.cc).
      const flags: string[] = [];
      const fault = perFilterConfig('envoy.filters.http.fault', route, picked.weight, vhost, config);
      if (fault && fault['@type'] === TypedConfigType.fault) {
        const draws = [fault.delay ? 'delay' : undefined, fault.abort ? 'abort' : undefined].filter((d): d is string => d !== undefined);
        let n = 0;
        const decision = decideFault(fault, matchHeaders, () => uniform(seed, `${req.decisionKey}|${draws[n++] ?? 'fault'}`), this.activeFaults);
        if (decision.kind === 'injected') {
          if (decision.delayMs !== undefined) {
            flags.push('DI');
            // The fault filter's active_faults gauge, read by max_active_faults: a delay is active while it waits.
            this.activeFaults++;
            let waited: boolean;
            try {
              waited = await sleep(decision.delayMs, req.signal);
            } finally {
              this.activeFaults--;
            }
            if (!waited) return { ...local(replies.timeout()), downstreamGone: true, flags: ['DI', 'DC'] };
          }
          if (decision.abort) {
            if (!('httpStatus' in decision.abort)) throw new Error('fault: gRPC aborts are not executed by the local data plane');
            return local(replies.faultAbort(decision.abort.httpStatus), undefined, flags);
          }
        }
      }

      if (!target || !service || !service.ports.includes(target.port)) return local(replies.noCluster(), undefined, flags);
      const cluster = this.cluster(service, target.subset, target.port);
      if (!cluster) return local(replies.noCluster(), undefined, flags);

      const headers: Record<string, string | string[]> = {};
      for (const name in req.headers) {
        const v = req.headers[name];
        if (v !== undefined && !hopByHop.has(name)) headers[name] = v;
      }
      const levels = headerMutationLevels(config, vhost, route, picked.weight);
      applyHeaderMutations(headers, levels, 'request');
      const path = rewrittenPath(route, req.path);
      headers.host = hostRewrite(action, picked.weight) ?? req.authority;
      headers['x-request-id'] = req.requestId;

      const policy = this.retryPolicy(route, vhost);
      // The hash policies are evaluated when the router picks the upstream (after the fault filter).
      const hashed = action.hash_policy
        ? requestHash(action.hash_policy, {
            header: (name) => toList(req.headers[name]),
            path: req.path,
            remoteAddress: req.downstream?.remote ?? '',
            localAddress: req.downstream?.local ?? '',
          })
        : undefined;
      const result = await this.forward(cluster, service, { method: req.method, path, headers, body: req.body }, policy, routeTimeoutMs(action), req, hashed);
      result.flags = flags.concat(result.flags);
      if (result.status > 0) applyHeaderMutations(result.headers, levels, 'response');
      return result;
    };
    const answered = await proceed();
    if (cors?.kind === 'continue' && answered.status > 0) Object.assign(answered.headers, cors.responseHeaders);
    return answered;
  }

  /**
   * The route configuration of the outbound listener the connection reaches: a sniffed Service port with a cluster IP
   * has a listener of its own on that IP, with route configuration `<host>:<port>` (istiod's; the built-in control
   * plane gives the local mesh no cluster IPs), which wins over the port's `0.0.0.0_<port>` listener and its `<port>`.
   */
  private outboundRouteConfig({ host, port }: Authority): string {
    const service = this.snapshot.services.get(fqdn(host.toLowerCase(), this.identity.namespace));
    const own = service && `${service.fqdn}:${port}`;
    return own && this.routeConfigs.has(own) ? own : String(port);
  }

  /** Whether a sidecar's outbound HTTP listener takes a connection to this authority (a route configuration for its port). */
  routesFor(authority: Authority): boolean {
    return this.routeConfigs.has(this.outboundRouteConfig(authority));
  }

  /** The policy is shared by the requests of a config version: nothing below mutates it. */
  private retryPolicy(route: Route, vhost: VirtualHost): EvaluatedRetryPolicy | undefined {
    const spec = effectiveRetryPolicy(route, vhost);
    return memo(this.retryPolicies, spec, () => evaluateRetryPolicy(spec));
  }

  /** Envoy's router: attempts, retries with backoff, per-try and route timeouts. */
  private async forward(
    cluster: Cluster,
    service: ServiceInfo,
    upstream: { method: string; path: string; headers: Record<string, string | string[]>; body?: string },
    policy: EvaluatedRetryPolicy | undefined,
    routeTimeoutMs: number | undefined,
    req: RouterRequest,
    hashed?: RequestHash,
  ): Promise<RouterResult> {
    const seed = this.identity.seed;
    let timedOut = false;
    // Without a route timeout the downstream's own signal is the only reason to cancel (saves a controller per request).
    const hasTimeout = routeTimeoutMs !== undefined && routeTimeoutMs > 0;
    const signal = hasTimeout || !req.signal ? new Cancellation() : req.signal;
    const controller = signal === req.signal ? undefined : signal;
    const onDownstreamAbort = () => controller?.abort();
    if (controller && req.signal) {
      if (req.signal.aborted) onDownstreamAbort();
      else req.signal.onAbort(onDownstreamAbort);
    }
    const timer = hasTimeout
      ? setTimeout(() => {
          timedOut = true;
          signal.abort(); // with a timeout the signal is this request's own controller
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
            return local(replies.timeout(), endpoint);
          }
          return { ...local(replies.timeout(), endpoint), status: 0, body: '', flags: ['DC'], downstreamGone: true };
        };
        if (signal.aborted) return ended('none');
        const draw = (i: number) => uniform(seed, `${req.decisionKey}|lb${attempt}|${i}`);
        const endpoint = cluster.pick(draw, tried, policy?.avoidPreviousHosts ? policy.hostSelectionMaxAttempts : 0, hashed?.hash);
        if (!endpoint) {
          cluster.s.noHealthy.value++;
          cluster.chargeUpstreamCode(503); // router.cc Filter::sendNoHealthyUpstreamResponse
          return local(replies.noHealthyUpstream());
        }
        const admission = await cluster.admit(endpoint, signal);
        if (admission === 'overflow') {
          cluster.chargeUpstreamCode(503); // a pool overflow is a reset (Overflow): chargeUpstreamAbort(503, dropped)
          return local(replies.overflow(), endpoint);
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
        // The local upstreams speak HTTP/1.1: a reset comes after the request was written (no refused streams).
        const outcome: AttemptOutcome =
          result.kind === 'response'
            ? { kind: 'response', status: result.status, headers: result.headers }
            : result.kind === 'reset'
              ? { kind: 'reset', requestStarted: true }
              : result;
        const retriable = policy !== undefined && wouldRetry(policy, outcome);
        const mayRetry = retriable && retries < policy.numRetries;
        const retryAdmitted = mayRetry && cluster.acquireRetry();
        if (retryAdmitted) {
          holdsRetry = true;
          retries++;
          cluster.s.rqRetry.value++;
          const wait = backoffMs(policy, retries, () => uniform(seed, `${req.decisionKey}|backoff${retries}`));
          if (!(await sleep(wait, signal))) return ended('none', endpoint);
          continue;
        }
        const extra: string[] = [];
        if (retriable && retries >= policy.numRetries) {
          cluster.s.rqRetryLimitExceeded.value++;
          extra.push('URX');
        }
        // The retry circuit breaker (maxRetries) refused the retry: Envoy's RetryStatus::NoOverflow sets UO on the
        // response it passes on (router.cc), besides upstream_rq_retry_overflow (counted by acquireRetry).
        if (mayRetry) extra.push('UO'); // and not admitted: an admitted retry continued above
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
            // router.cc onUpstreamHeaders: the hash cookie the router generated goes out with the upstream's response.
            if (hashed && hashed.setCookies.length > 0) headers['set-cookie'] = [...toList(headers['set-cookie']), ...hashed.setCookies];
            return { status: result.status, headers, body: result.body, flags: extra, endpoint };
          }
          // Not retried: chargeUpstreamAbort charges 503 for a reset (Filter::onUpstreamReset) and the timeout
          // code 504 for a per-try timeout (Filter::onPerTryTimeout).
          case 'connect-failure':
            cluster.chargeUpstreamCode(503);
            return local(replies.connectFailure(result.transportFailure), endpoint, extra);
          case 'reset':
            cluster.chargeUpstreamCode(503);
            return local(replies.connectionTermination(), endpoint, extra);
          case 'per-try-timeout':
            cluster.chargeUpstreamCode(504);
            return local(replies.timeout(), endpoint, extra);
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
