// The connection-pool circuit breaker's accounting (src/targets/local/proxy/circuit-breaker.ts) against Envoy's
// ConnPoolImplBase (source/common/conn_pool/conn_pool_base.cc): newStreamImpl, tryCreateNewConnection,
// attachStreamToClient, onUpstreamReady. Connections become ready only when the test says so.
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, type Lease, type PoolLimits } from '../../src/targets/local/proxy/circuit-breaker.ts';
import type { EnvoyStat } from '../../src/targets/local/proxy/stats.ts';

function breaker(limits: PoolLimits) {
  const stat = () => ({ value: 0 }) as EnvoyStat;
  const stats = { rqActive: stat(), rqPendingTotal: stat(), rqPendingActive: stat(), rqPendingOverflow: stat(), cxOverflow: stat() };
  const connecting: (() => void)[] = [];
  const b = new CircuitBreaker(
    () => limits,
    stats,
    (ready) => connecting.push(ready),
  );
  const connectAll = async () => {
    while (connecting.length > 0) connecting.shift()!();
    await Promise.resolve();
  };
  return { b, stats, connecting, connectAll };
}

const isLease = (a: unknown): a is Lease => typeof a === 'object' && a !== null;

describe('circuit breaker accounting (Envoy ConnPoolImplBase)', () => {
  it('a request waiting for its connection to be set up is pending: a second one overflows a pending limit of 1 (newStreamImpl)', async () => {
    const { b, stats, connecting, connectAll } = breaker({ maxConnections: 1, http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 });
    const first = b.admit('h1');
    expect(first).toBeInstanceOf(Promise);
    expect(stats.rqPendingTotal.value).toBe(1);
    expect(connecting).toHaveLength(1);
    expect(b.admit('h1')).toBe('overflow');
    expect(stats.rqPendingOverflow.value).toBe(1);
    await connectAll();
    expect(isLease(await first)).toBe(true);
    expect(b.state).toEqual({ connections: 1, pending: 0, active: 1 });
  });

  it("at max_connections a pending request waits for its host's connection; max_requests_per_connection closes it and a new one is made for the waiter", async () => {
    const { b, connecting, connectAll } = breaker({ maxConnections: 1, http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 });
    const first = b.admit('h1');
    await connectAll();
    const lease = await first;
    const second = b.admit('h1');
    expect(connecting).toHaveLength(0); // at the limit and the host has a connection: no new one
    expect(b.state.pending).toBe(1);
    if (!isLease(lease)) throw new Error('no lease');
    lease.release(); // served its one request: the connection closes, a new one is created for the pending request
    expect(connecting).toHaveLength(1);
    await connectAll();
    expect(isLease(await second)).toBe(true);
  });

  it('a host with no connection gets one even above max_connections (tryCreateNewConnection), so the limit is per host in effect', async () => {
    const { b, stats, connecting, connectAll } = breaker({ maxConnections: 1 });
    const a = b.admit('h1');
    const c = b.admit('h2');
    expect(connecting).toHaveLength(2);
    expect(stats.cxOverflow.value).toBe(1); // the second host's connection was over the limit, counted, and made anyway
    await connectAll();
    expect(isLease(await a) && isLease(await c)).toBe(true);
    expect(b.state.connections).toBe(2);
    // A third request to h1 waits for h1's connection instead of opening another.
    const d = b.admit('h1');
    expect(connecting).toHaveLength(0);
    expect(d).toBeInstanceOf(Promise);
  });

  it('http2MaxRequests counts active requests, not queued ones (attachStreamToClient)', async () => {
    const { b, stats, connectAll } = breaker({ http2MaxRequests: 1, maxConnections: 1, http1MaxPendingRequests: 10 });
    const first = b.admit('h1');
    const second = b.admit('h1'); // waits; it is not an active request
    await connectAll();
    const lease = await first;
    expect(isLease(lease)).toBe(true);
    expect(stats.rqPendingOverflow.value).toBe(0);
    if (!isLease(lease)) throw new Error('no lease');
    lease.release(); // the connection is ready again and takes the waiting request
    expect(isLease(await second)).toBe(true);
    expect(stats.rqPendingOverflow.value).toBe(0);
  });

  it('a ready connection attached beyond max_requests overflows the request (counted as pending overflow)', async () => {
    const { b, stats, connectAll } = breaker({ http2MaxRequests: 1 });
    const h1 = b.admit('h1');
    const h2 = b.admit('h2');
    await connectAll();
    const results = [await h1, await h2];
    expect(results.filter(isLease)).toHaveLength(1);
    expect(results.filter((r) => r === 'overflow')).toHaveLength(1);
    expect(stats.rqPendingOverflow.value).toBe(1);
  });

  it('an attempt that ended without a response (reset, timeout) closes its HTTP/1 connection: the next request needs a new one', async () => {
    const { b, connecting, connectAll } = breaker({});
    const first = b.admit('h1');
    await connectAll();
    const lease = await first;
    if (!isLease(lease)) throw new Error('no lease');
    lease.release(true);
    expect(b.state.connections).toBe(0);
    const second = b.admit('h1');
    expect(connecting).toHaveLength(1);
    await connectAll();
    expect(isLease(await second)).toBe(true);
  });
});
