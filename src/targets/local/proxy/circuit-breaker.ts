// The connection-pool circuit breaker of one Envoy cluster, as its HTTP/1 connection pools account for it
// (source/common/conn_pool/conn_pool_base.cc ConnPoolImplBase, source/common/http/http1/conn_pool.cc):
// - one pool per host; a request takes an idle (ready) connection of its host if there is one, and is refused when
//   the cluster's active requests are at max_requests (attachStreamToClient: "max streams overflow", counted as
//   upstream_rq_pending_overflow). Requests waiting for a connection are not active requests;
// - otherwise it waits as a pending request (upstream_rq_pending_total), or is refused when the cluster already has
//   max_pending_requests pending (newStreamImpl: upstream_rq_pending_overflow). A request waiting while its
//   connection is still being set up is pending too;
// - a pending request asks for a new connection unless enough are already connecting for the pending ones
//   (shouldCreateNewConnection); it gets one below max_connections, and also above it when its host has no
//   connection at all (tryCreateNewConnection: "this upstream has no connections, always create one"), so the limit
//   is effectively per host and overshoots by up to one connection per host (upstream_cx_overflow counts the refusals);
// - a connection that served max_requests_per_connection requests closes; the pool then creates another for its
//   pending requests (onConnectionEvent → tryCreateNewConnections); otherwise it goes back to ready and takes the
//   oldest pending request.
// This is the accounting only; the bytes go over the sockets of upstream.ts.
import type { Cancellation } from './cancel.ts';
import type { EnvoyStat } from './stats.ts';

export interface PoolLimits {
  /** 0 or absent: no limit (Istio writes 2^32 − 1 when the DestinationRule sets none). */
  maxConnections?: number;
  http1MaxPendingRequests?: number;
  http2MaxRequests?: number;
  maxRequestsPerConnection?: number;
}

export interface BreakerStats {
  rqActive: EnvoyStat;
  rqPendingTotal: EnvoyStat;
  rqPendingActive: EnvoyStat;
  rqPendingOverflow: EnvoyStat;
  cxOverflow: EnvoyStat;
}

/** A request's hold on a connection; give it back once the response is complete (or the attempt ended). */
export interface Lease {
  /** `closed`: the attempt ended without a complete response (reset, timeout, cancel): HTTP/1 closes the connection. */
  release(closed?: boolean): void;
}

export type Admission = Lease | 'overflow' | 'cancelled';

interface LogicalConnection {
  served: number;
}

interface Waiter {
  admit(connection: LogicalConnection): void;
  overflow(): void;
}

class HostPool {
  readonly ready: LogicalConnection[] = [];
  busy = 0;
  connecting = 0;
  readonly pending: Waiter[] = [];
  get connections(): number {
    return this.ready.length + this.busy + this.connecting;
  }
}

export class CircuitBreaker {
  private readonly hosts = new Map<string, HostPool>();
  private connections = 0;
  private pendingCount = 0;
  private activeRequests = 0;

  constructor(
    private readonly limits: () => PoolLimits,
    private readonly stats: BreakerStats,
    /** When a new connection is ready: a loopback connect completes on a later turn of the event loop. */
    private readonly connect: (ready: () => void) => void = (ready) => setImmediate(ready),
  ) {}

  admit(host: string, signal?: Cancellation): Admission | Promise<Admission> {
    const pool = this.pool(host);
    const idle = pool.ready.pop(); // most recently used first
    if (idle) return this.attach(pool, idle) ?? 'overflow';
    if (this.pendingCount >= limit(this.limits().http1MaxPendingRequests)) return this.overflow();
    this.pendingCount++;
    this.stats.rqPendingTotal.value++;
    this.stats.rqPendingActive.value++;
    return new Promise<Admission>((resolve) => {
      const leave = () => {
        const i = pool.pending.indexOf(waiter);
        if (i >= 0) pool.pending.splice(i, 1);
        this.pendingCount--;
        this.stats.rqPendingActive.value--;
        signal?.off(onAbort);
      };
      const waiter: Waiter = {
        admit: (connection) => {
          leave();
          const lease = this.attach(pool, connection);
          resolve(lease ?? 'overflow');
        },
        overflow: () => {
          leave();
          resolve('overflow');
        },
      };
      const onAbort = () => {
        leave();
        resolve('cancelled');
      };
      signal?.onAbort(onAbort);
      pool.pending.push(waiter);
      this.tryCreateConnection(pool);
    });
  }

  /** Gauges for tests and reports: connections (logical), pending and active requests. */
  get state(): { connections: number; pending: number; active: number } {
    return { connections: this.connections, pending: this.pendingCount, active: this.activeRequests };
  }

  private pool(host: string): HostPool {
    let pool = this.hosts.get(host);
    if (!pool) {
      pool = new HostPool();
      this.hosts.set(host, pool);
    }
    return pool;
  }

  /** attachStreamToClient: undefined (and the connection back to ready) when max_requests is reached. */
  private attach(pool: HostPool, connection: LogicalConnection): Lease | undefined {
    if (this.activeRequests >= limit(this.limits().http2MaxRequests)) {
      pool.ready.push(connection);
      this.overflow();
      return undefined;
    }
    pool.busy++;
    this.activeRequests++;
    this.stats.rqActive.value++;
    let released = false;
    return {
      release: (closed = false) => {
        if (released) return;
        released = true;
        pool.busy--;
        this.activeRequests--;
        this.stats.rqActive.value--;
        connection.served++;
        const perConnection = this.limits().maxRequestsPerConnection ?? 0;
        if (closed || (perConnection > 0 && connection.served >= perConnection)) {
          this.connections--;
          this.tryCreateConnection(pool);
        } else {
          pool.ready.push(connection);
          this.drain(pool);
        }
      },
    };
  }

  private overflow(): 'overflow' {
    this.stats.rqPendingOverflow.value++;
    return 'overflow';
  }

  private tryCreateConnection(pool: HostPool): void {
    if (pool.pending.length <= pool.connecting) return; // enough connecting for the pending ones
    const canCreate = this.connections < limit(this.limits().maxConnections);
    if (!canCreate) this.stats.cxOverflow.value++;
    if (!canCreate && pool.connections > 0) return;
    pool.connecting++;
    this.connections++;
    this.connect(() => {
      pool.connecting--;
      pool.ready.push({ served: 0 });
      this.drain(pool);
    });
  }

  /** Ready connections take the oldest pending requests. */
  private drain(pool: HostPool): void {
    for (let waiter = pool.pending[0]; waiter; waiter = pool.pending[0]) {
      const connection = pool.ready.pop();
      if (!connection) return;
      waiter.admit(connection);
    }
  }
}

function limit(value: number | undefined): number {
  return value && value > 0 ? value : Infinity;
}
