// An Envoy upstream cluster as a proxy sees it, e.g. `outbound|9080|v1|reviews.default.svc.cluster.local`:
// endpoints, load balancing, the connection-pool circuit breaker, outlier detection and the cluster's counters.
import type http from 'node:http';
import type { EvaluatedCluster, EvaluatedOutlierDetection } from '../../../envoy/runtime/cluster.ts';
import type { EnvoyStat, ProxyStats } from './stats.ts';
import type { Cancellation } from './cancel.ts';
import { handshakeLine } from './mtls.ts';
import { sanAccepted } from '../../../envoy/runtime/cluster.ts';
import { buildRing, chooseFromRing, DEFAULT_MAX_RING_SIZE, DEFAULT_MIN_RING_SIZE, type RingEntry } from '../../../envoy/runtime/ring-hash.ts';
import { CERTIFICATE_VERIFY_FAILED, TLS_VERIFY_FAILED } from './upstream.ts';
import { ConnectionPool } from './upstream.ts';
import { CircuitBreaker, type Admission, type PoolLimits } from './circuit-breaker.ts';
import { must } from '../../../must.ts';

/** A workload instance a cluster can send to. */
export interface EndpointInfo {
  ip: string;
  port: number;
  podName: string;
  workload: string;
  namespace: string;
  app: string;
  version: string;
  principal: string;
  labels: Record<string, string>;
  /** The address of the cluster's pod this one plays (what the cluster's EDS names), when the mesh plays a cluster. */
  clusterIp?: string;
  /**
   * EDS's tlsMode for this endpoint in this cluster (mtls_checker.go checkMtlsEnabled): false means the transport
   * socket match picks plaintext when the cluster is left to auto mTLS. Undefined: mTLS (a sidecar).
   */
  mtls?: boolean;
}

export interface UpstreamRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body?: string;
}

export type AttemptResult =
  /** The body stays in bytes: the ingress passes it on unchanged (decoding and re-encoding a page cost ~3 %). */
  | { kind: 'response'; status: number; headers: http.IncomingHttpHeaders; body: Buffer }
  /** `transportFailure`: why the TLS handshake failed (the server's identity is not one the cluster accepts). */
  | { kind: 'connect-failure'; transportFailure?: string }
  | { kind: 'reset' }
  | { kind: 'per-try-timeout' }
  | { kind: 'cancelled' };

export type { Admission } from './circuit-breaker.ts';

class Endpoint {
  active = 0;
  consecutive5xx = 0;
  consecutiveGateway = 0;
  ejectedUntil = 0;
  ejections = 0;
  constructor(
    public info: EndpointInfo,
    public pool: ConnectionPool,
  ) {}
}

export interface ClusterOptions {
  name: string;
  sourceIp: string;
  /** Principal the source proxy presents with mTLS. */
  sourcePrincipal: string;
  meshSecret: string;
  stats: ProxyStats;
}

/** The cluster's stats by short name (Envoy's names are `cluster.<name>.<stat>`). */
function clusterStats(st: (name: string, type?: 'counter' | 'gauge') => EnvoyStat) {
  return {
    rqTotal: st('upstream_rq_total'),
    rqCompleted: st('upstream_rq_completed'),
    rqActive: st('upstream_rq_active', 'gauge'),
    rq2xx: st('upstream_rq_2xx'),
    rq4xx: st('upstream_rq_4xx'),
    rq5xx: st('upstream_rq_5xx'),
    rqTimeout: st('upstream_rq_timeout'),
    rqPerTryTimeout: st('upstream_rq_per_try_timeout'),
    rqRetry: st('upstream_rq_retry'),
    rqRetrySuccess: st('upstream_rq_retry_success'),
    rqRetryLimitExceeded: st('upstream_rq_retry_limit_exceeded'),
    rqRetryOverflow: st('upstream_rq_retry_overflow'),
    rqPendingOverflow: st('upstream_rq_pending_overflow'),
    cxOverflow: st('upstream_cx_overflow'),
    rqPendingTotal: st('upstream_rq_pending_total'),
    rqPendingActive: st('upstream_rq_pending_active', 'gauge'),
    cxTotal: st('upstream_cx_total'),
    cxActive: st('upstream_cx_active', 'gauge'),
    cxConnectFail: st('upstream_cx_connect_fail'),
    cxConnectTimeout: st('upstream_cx_connect_timeout'),
    cxIdleTimeout: st('upstream_cx_idle_timeout'),
    cxDestroyRemote: st('upstream_cx_destroy_remote_with_active_rq'),
    noHealthy: st('upstream_cx_none_healthy'),
    membershipTotal: st('membership_total', 'gauge'),
    membershipHealthy: st('membership_healthy', 'gauge'),
    // Envoy names them under the outlier detector's own scope: cluster.<name>.outlier_detection.ejections_*
    ejectionsActive: st('outlier_detection.ejections_active', 'gauge'),
    ejectionsEnforcedTotal: st('outlier_detection.ejections_enforced_total'),
    ejectionsEnforced5xx: st('outlier_detection.ejections_enforced_consecutive_5xx'),
    ejectionsDetected5xx: st('outlier_detection.ejections_detected_consecutive_5xx'),
    ejectionsEnforcedGateway: st('outlier_detection.ejections_enforced_consecutive_gateway_failure'),
    ejectionsDetectedGateway: st('outlier_detection.ejections_detected_consecutive_gateway_failure'),
    ejectionsOverflow: st('outlier_detection.ejections_overflow'),
  };
}

export class Cluster {
  private endpoints: Endpoint[] = [];
  private config?: EvaluatedCluster;
  private readonly breaker: CircuitBreaker;
  private roundRobin = 0;
  private readonly createdAt = Date.now();
  private activeRetries = 0;
  /** Replaced by a new cluster: requests in flight finish, nothing more is charged to its outlier detector. */
  private retired = false;
  readonly s: ReturnType<typeof clusterStats>;
  /** upstream_rq_<code> by status code. */
  private readonly byStatus = new Map<number, EnvoyStat>();

  constructor(private readonly options: ClusterOptions) {
    const st = (n: string, type: 'counter' | 'gauge' = 'counter') => options.stats.cluster(options.name, n, type);
    this.s = clusterStats(st);
    this.breaker = new CircuitBreaker(() => this.pool, {
      rqActive: this.s.rqActive,
      rqPendingTotal: this.s.rqPendingTotal,
      rqPendingActive: this.s.rqPendingActive,
      rqPendingOverflow: this.s.rqPendingOverflow,
      cxOverflow: this.s.cxOverflow,
    });
  }

  get name(): string {
    return this.options.name;
  }

  /** Apply new endpoints and the cluster's configuration; connections survive unless their TLS or pool options changed. */
  update(endpoints: EndpointInfo[], config: EvaluatedCluster): void {
    const poolChanged = JSON.stringify(connectionShape(config)) !== JSON.stringify(this.config && connectionShape(this.config));
    this.config = config;
    const old = new Map(this.endpoints.map((e) => [`${e.info.ip}:${e.info.port}`, e]));
    this.endpoints = endpoints.map((info) => {
      const key = `${info.ip}:${info.port}`;
      const existing = old.get(key);
      old.delete(key);
      if (existing && !poolChanged && existing.info.mtls === info.mtls) return existing;
      if (existing) existing.pool.destroy();
      const e = existing ?? new Endpoint(info, this.newPool(info));
      if (existing) {
        e.info = info;
        e.pool = this.newPool(info);
      }
      return e;
    });
    for (const gone of old.values()) gone.pool.destroy();
    this.s.membershipTotal.value = this.endpoints.length;
    this.refreshGauges(Date.now());
  }

  private get settings(): EvaluatedCluster {
    if (!this.config) throw new Error(`cluster ${this.options.name} has no configuration yet`);
    return this.config;
  }

  private newPool(endpoint: EndpointInfo): ConnectionPool {
    const config = this.settings;
    // Auto mTLS (istiod's transport socket matches) follows the endpoint's EDS tlsMode: istio → mTLS, else plaintext.
    const mtls = config.tls === 'by-endpoint' ? endpoint.mtls !== false : config.tls === 'mtls';
    const handshake = mtls ? handshakeLine(this.options.meshSecret, this.options.sourcePrincipal) : undefined;
    // The server presents its workload's SPIFFE id; a cluster whose TLS context accepts other SANs fails the handshake.
    const sanRefused = mtls && !sanAccepted(config.acceptedSans, `spiffe://${endpoint.principal}`);
    return new ConnectionPool({
      ...(sanRefused ? { tlsVerifyFailure: CERTIFICATE_VERIFY_FAILED } : {}),
      ip: endpoint.ip,
      port: endpoint.port,
      localAddress: this.options.sourceIp,
      handshake,
      maxRequestsPerConnection: config.maxRequestsPerConnection,
      connectTimeoutMs: config.connectTimeoutMs,
      idleTimeoutMs: config.idleTimeoutMs ?? Infinity,
      onIdleTimeout: () => this.s.cxIdleTimeout.value++,
      onConnection: (socket) => {
        this.s.cxTotal.value++;
        this.s.cxActive.value++;
        socket.once('close', () => this.s.cxActive.value--);
      },
    });
  }

  /** The circuit breaker's thresholds (DEFAULT priority) and the per-connection request limit. */
  get pool(): PoolLimits {
    const c = this.settings;
    return {
      maxConnections: c.maxConnections,
      http1MaxPendingRequests: c.maxPendingRequests,
      http2MaxRequests: c.maxRequests,
      maxRequestsPerConnection: c.maxRequestsPerConnection,
    };
  }

  get outlier(): EvaluatedOutlierDetection | undefined {
    return this.config?.outlierDetection;
  }

  get size(): number {
    return this.endpoints.length;
  }

  private isEjected(e: Endpoint, now: number): boolean {
    if (e.ejectedUntil === 0) return false;
    const interval = this.outlier?.intervalMs ?? 10_000;
    // Envoy un-ejects on the outlier detector's interval timer after the ejection time has passed.
    const tick = this.createdAt + Math.ceil((e.ejectedUntil - this.createdAt) / interval) * interval;
    if (now >= tick || !this.outlier) {
      e.ejectedUntil = 0;
      this.refreshGauges(now);
      return false;
    }
    return true;
  }

  private refreshGauges(_now: number): void {
    if (this.retired) return; // the gauges belong to the cluster that replaced this one
    let ejected = 0;
    for (const e of this.endpoints) if (e.ejectedUntil !== 0) ejected++;
    this.s.ejectionsActive.value = ejected;
    this.s.membershipHealthy.value = this.endpoints.length - ejected;
  }

  /**
   * Choose an endpoint. `draws` gives uniform numbers for random choices; `exclude` holds endpoints already tried
   * (previous_hosts predicate, up to `reselect` further picks). Undefined: no healthy upstream.
   */
  pick(draw: (i: number) => number, exclude?: Set<string>, reselect = 0, hash?: bigint): EndpointInfo | undefined {
    const now = Date.now();
    let candidates = this.endpoints.filter((e) => !this.isEjected(e, now));
    const panicBelow = this.settings.healthyPanicThresholdPercent;
    if (this.endpoints.length > 0 && panicBelow > 0 && (candidates.length / this.endpoints.length) * 100 < panicBelow) {
      candidates = this.endpoints; // panic mode: below the healthy threshold Envoy balances over every host
    }
    if (candidates.length === 0) return undefined;
    if (this.settings.lbPolicy === 'RING_HASH') {
      // A request without a hash gets a random 64-bit one; a retry host predicate moves `attempt` places on the ring.
      const h = hash ?? (BigInt(Math.floor(draw(0) * 2 ** 32)) << 32n) | BigInt(Math.floor(draw(1) * 2 ** 32));
      const ring = this.ringOf(candidates);
      const onRing = (attempt: number) => must(chooseFromRing(ring, h, attempt), 'a host on the ring');
      let choice = onRing(0);
      for (let i = 1; i <= reselect && exclude && exclude.has(key(choice.info)); i++) choice = onRing(i);
      return choice.info;
    }
    let choice = this.choose(candidates, draw, 0);
    for (let i = 1; i <= reselect && exclude && exclude.has(key(choice.info)); i++) choice = this.choose(candidates, draw, i * 2);
    return choice.info;
  }

  private ring?: { hosts: string; entries: RingEntry<Endpoint>[] };

  /** The ring over these hosts (rebuilt when the healthy set changes, as Envoy rebuilds it on a host set update). */
  private ringOf(candidates: Endpoint[]): RingEntry<Endpoint>[] {
    const hosts = candidates.map((e) => `${e.info.ip}:${e.info.port}`).join(',');
    if (this.ring?.hosts !== hosts) {
      const size = this.settings.ring ?? { minSize: DEFAULT_MIN_RING_SIZE, maxSize: DEFAULT_MAX_RING_SIZE };
      this.ring = {
        hosts,
        entries: buildRing(
          candidates.map((e) => ({ key: `${e.info.ip}:${e.info.port}`, host: e })),
          size.minSize,
          size.maxSize,
        ),
      };
    }
    return this.ring.entries;
  }

  /** `candidates` is not empty (pick() returns before). */
  private choose(candidates: Endpoint[], draw: (i: number) => number, offset: number): Endpoint {
    const at = (i: number) => must(candidates[i], 'the chosen candidate');
    if (candidates.length === 1) return at(0);
    switch (this.settings.lbPolicy) {
      case 'RING_HASH':
        throw new Error('ring hash hosts are chosen in pick()');
      case 'CLUSTER_PROVIDED':
        return at(0);
      case 'ROUND_ROBIN':
        return at(this.roundRobin++ % candidates.length);
      case 'RANDOM':
        return at(Math.floor(draw(offset) * candidates.length));
      case 'LEAST_REQUEST': {
        // Envoy's least request with equal weights: power of two random choices, fewer active requests wins.
        const a = at(Math.floor(draw(offset) * candidates.length));
        const b = at(Math.floor(draw(offset + 1) * candidates.length));
        return b.active < a.active ? b : a;
      }
    }
  }

  /**
   * Circuit breaker admission for an attempt to `endpoint` (circuit-breaker.ts, after ConnPoolImplBase): a lease to
   * release when the attempt ends, 'overflow' (503 UO) or 'cancelled' while it waited.
   */
  admit(endpoint: EndpointInfo, signal?: Cancellation): Admission | Promise<Admission> {
    return this.breaker.admit(key(endpoint), signal);
  }

  /** Retry circuit breaker (connectionPool.http.maxRetries): false when the retry would overflow. */
  acquireRetry(): boolean {
    const max = this.settings.maxRetries;
    if (this.activeRetries >= max) {
      this.s.rqRetryOverflow.value++;
      return false;
    }
    this.activeRetries++;
    return true;
  }

  releaseRetry(): void {
    this.activeRetries--;
  }

  /** One attempt to one endpoint; `timeoutMs` is the per-try budget; `signal` cancels it (route timeout, client gone). */
  send(endpoint: EndpointInfo, request: UpstreamRequest, timeoutMs: number, signal: Cancellation | undefined): Promise<AttemptResult> {
    const e = this.endpoints.find((x) => x.info.ip === endpoint.ip && x.info.port === endpoint.port);
    const pool = e?.pool ?? this.newPool(endpoint);
    if (e) e.active++;
    this.s.rqTotal.value++;
    return new Promise<AttemptResult>((resolve) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (result: AttemptResult) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        signal?.off(onAbort);
        if (e) e.active--;
        resolve(result);
      };
      const abandon = pool.request(request.method, request.path, request.headers, request.body, {
        response: (res) => {
          this.chargeUpstreamCode(res.status);
          finish({ kind: 'response', status: res.status, headers: res.headers, body: res.body });
        },
        error: (err, afterHeaders) => {
          if (settled) return;
          if (afterHeaders)
            finish({ kind: 'reset' }); // the response broke off
          else if (err.code === 'ECONNREFUSED' || err.code === 'EADDRNOTAVAIL' || err.code === 'ETIMEDOUT' || err.code === TLS_VERIFY_FAILED) {
            this.s.cxConnectFail.value++;
            if ((err as { connectTimeout?: boolean }).connectTimeout) this.s.cxConnectTimeout.value++;
            finish(err.code === TLS_VERIFY_FAILED ? { kind: 'connect-failure', transportFailure: err.message } : { kind: 'connect-failure' });
          } else {
            this.s.cxDestroyRemote.value++;
            finish({ kind: 'reset' });
          }
        },
      });
      const onAbort = () => {
        finish({ kind: 'cancelled' });
        abandon();
      };
      if (signal) {
        if (signal.aborted) {
          onAbort();
          return;
        }
        signal.onAbort(onAbort);
      }
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          this.s.rqPerTryTimeout.value++;
          finish({ kind: 'per-try-timeout' });
          abandon();
        }, timeoutMs);
      }
    });
  }

  /**
   * Envoy's router.cc Filter::chargeUpstreamCode → codes.cc CodeStatsImpl::chargeBasicResponseStat:
   * upstream_rq_completed, upstream_rq_<class>xx and upstream_rq_<code>. The router also charges a request it gave up
   * on before a response (chargeUpstreamAbort): 504 for a timeout, 503 for a reset or connect failure.
   */
  chargeUpstreamCode(status: number): void {
    this.s.rqCompleted.value++;
    if (status < 300) this.s.rq2xx.value++;
    else if (status >= 500) this.s.rq5xx.value++;
    else if (status >= 400) this.s.rq4xx.value++;
    let stat = this.byStatus.get(status);
    if (!stat) {
      stat = this.options.stats.cluster(this.options.name, `upstream_rq_${status}`);
      this.byStatus.set(status, stat);
    }
    stat.value++;
  }

  /**
   * Outlier detection: the result of an attempt, as the router reports it (router.cc updateOutlierDetection) to a
   * detector without split_external_local_origin_errors (Istio's default), which reports every result as an HTTP code
   * (outlier_detection_impl.cc putResultNoLocalExternalSplit): a response its status; a per-try timeout
   * LocalOriginTimeout with the timeout code 504 (Filter::onPerTryTimeout); a reset or connect failure
   * LocalOriginConnectFailed, which resultToHttpCode makes 503. A cancelled attempt (the downstream went away) is not
   * reported; a route timeout is reported by observeTimeout.
   */
  observe(endpoint: EndpointInfo, result: AttemptResult): void {
    if (result.kind === 'cancelled') return;
    this.putHttpResponseCode(endpoint, result.kind === 'response' ? result.status : result.kind === 'per-try-timeout' ? 504 : 503);
  }

  /** The route timeout cut an attempt awaiting its response: LocalOriginTimeout with code 504 (router.cc Filter::onResponseTimeout). */
  observeTimeout(endpoint: EndpointInfo): void {
    this.putHttpResponseCode(endpoint, 504);
  }

  /**
   * outlier_detection_impl.cc DetectorHostMonitorImpl::putHttpResponseCode: a 5xx counts towards consecutive 5xx, a
   * 502/503/504 also towards consecutive gateway failures (anything else resets that count); a count reaching its
   * threshold is detected (ejections_detected_*), resets, and ejects the host when enforcing (onConsecutiveErrorWorker).
   */
  private putHttpResponseCode(endpoint: EndpointInfo, status: number): void {
    const od = this.outlier;
    // A retired cluster's detector is gone ("It's possible for the cluster/detector to go away while we still have a
    // host in use").
    if (!od || this.retired) return;
    const e = this.endpoints.find((x) => x.info.ip === endpoint.ip && x.info.port === endpoint.port);
    if (!e) return;
    if (status < 500) {
      e.consecutive5xx = 0;
      e.consecutiveGateway = 0;
      return;
    }
    if (status === 502 || status === 503 || status === 504) {
      e.consecutiveGateway++;
      if (od.consecutiveGatewayFailure > 0 && e.consecutiveGateway >= od.consecutiveGatewayFailure) {
        e.consecutiveGateway = 0;
        this.s.ejectionsDetectedGateway.value++;
        if (od.enforcingConsecutiveGatewayFailure > 0) this.eject(e, od, this.s.ejectionsEnforcedGateway);
      }
    } else {
      e.consecutiveGateway = 0;
    }
    e.consecutive5xx++;
    if (od.consecutive5xx > 0 && e.consecutive5xx >= od.consecutive5xx) {
      e.consecutive5xx = 0;
      this.s.ejectionsDetected5xx.value++;
      if (od.enforcingConsecutive5xx > 0) this.eject(e, od, this.s.ejectionsEnforced5xx);
    }
  }

  private eject(e: Endpoint, od: EvaluatedOutlierDetection, enforced: EnvoyStat): void {
    const now = Date.now();
    if (this.isEjected(e, now)) return;
    const ejected = this.endpoints.filter((x) => this.isEjected(x, now)).length;
    if (((ejected + 1) / this.endpoints.length) * 100 > od.maxEjectionPercent) {
      this.s.ejectionsOverflow.value++;
      return;
    }
    e.ejections++;
    e.ejectedUntil = now + Math.min(od.baseEjectionTimeMs * e.ejections, Math.max(od.maxEjectionTimeMs, od.baseEjectionTimeMs));
    enforced.value++;
    this.s.ejectionsEnforcedTotal.value++;
    this.refreshGauges(now);
  }

  /**
   * This cluster was replaced by a CDS update: its connections drain (requests in flight complete, then the
   * connections close) and its outlier detector goes, taking its ejections out of the shared ejections_active gauge
   * (outlier_detection_impl.cc DetectorImpl::~DetectorImpl).
   */
  retire(): void {
    this.retired = true;
    for (const e of this.endpoints) e.pool.drain();
  }

  close(): void {
    for (const e of this.endpoints) e.pool.destroy();
  }
}

/** What upstream connections depend on: a change replaces the endpoints' connection pools. */
function connectionShape(c: EvaluatedCluster): unknown {
  return [c.tls, c.maxRequestsPerConnection, c.connectTimeoutMs, c.idleTimeoutMs ?? 0, JSON.stringify(c.acceptedSans)];
}

export function key(e: EndpointInfo): string {
  return `${e.ip}:${e.port}`;
}
