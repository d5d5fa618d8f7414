// The push baseline a change is waited from (src/targets/kube/convergence.ts recordBaseline): taken only once istiod's
// sync status has stood still past its push debounce, so a push something else triggered just before the change
// cannot land after the baseline and pass for the change's own push (seen on the sandbox's real istiod: a test's
// STRICT PeerAuthentication "converged" on the push of the previous test's delete, and the next request got 200).
import type { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KubeApi } from '../../src/targets/kube/api.ts';
import { SyncStatus } from '../../src/targets/kube/convergence.ts';
import { pushVersionOf, type ProxySync } from '../../src/targets/kube/sync-status.ts';

const nonce = (counter: number) => `2026-12-05T20:00:00Z/${counter}a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d`;

/** istiod's sync status read after read: the pushes it had sent to the one proxy by then. */
class ScriptedSyncStatus extends SyncStatus {
  reads = 0;
  constructor(
    private readonly pushes: number[],
    settleMs: number,
    pollIntervalMs?: number,
  ) {
    super({
      pollIntervalMs,
      config: {} as KubeConfig,
      api: {} as KubeApi,
      istioNamespace: 'istio-system',
      namespace: 'default',
      proxies: [{ id: 'reviews-v1-0.default', namespace: 'default', labels: { app: 'reviews' }, gateway: false }],
      baselineSettleMs: settleMs,
      log: () => undefined,
    });
  }
  override async readSyncz(): Promise<Map<string, ProxySync>> {
    const counter = this.pushes[Math.min(this.reads, this.pushes.length - 1)] ?? 0;
    this.reads++;
    const sync: ProxySync = {
      id: 'reviews-v1-0.default',
      pod: 'reviews-v1-0',
      namespace: 'default',
      type: 'sidecar',
      xds: { cds: { sent: nonce(counter), acked: nonce(counter) } },
      istiod: 'istiod-0',
    };
    return new Map([[sync.id, sync]]);
  }
}

describe('the push baseline of a change', () => {
  it('waits for a push already on its way to land: the baseline is the one after it', async () => {
    const sync = new ScriptedSyncStatus([41, 42, 42], 1);
    const baseline = await sync.recordBaseline();
    expect(baseline.get('reviews-v1-0.default')?.counter).toBe(42);
    expect(sync.reads).toBe(3);
  });

  it('takes the first reading when nothing moves, after one settle round', async () => {
    const sync = new ScriptedSyncStatus([7], 1);
    expect((await sync.recordBaseline()).get('reviews-v1-0.default')?.counter).toBe(7);
    expect(sync.reads).toBe(2);
  });

  it('gives up settling on a cluster whose pushes never stop, and takes the newest it saw', async () => {
    const sync = new ScriptedSyncStatus(
      Array.from({ length: 30 }, (_, i) => i + 1),
      1,
    );
    expect((await sync.recordBaseline()).get('reviews-v1-0.default')?.counter).toBe(11);
    expect(sync.reads).toBe(11);
  });
});

describe('the wait for the change to be acknowledged', () => {
  afterEach(() => vi.useRealTimers());
  const destinationRule = { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'reviews', namespace: 'default' }, spec: {} };

  it('reads the sync status again 150 and 400 ms after the change, before the 500 ms poll (istiod pushes ~100 ms after it)', async () => {
    vi.useFakeTimers();
    // The push of the change (43) is there at the third read.
    const sync = new ScriptedSyncStatus([42, 42, 43], 1);
    const baseline = new Map([['reviews-v1-0.default', pushVersionOf(nonce(42))]]);
    let done = false;
    const waiting = sync.waitForProxies([destinationRule], baseline, Date.now() + 10_000, 10_000, 'configuration').then((v) => {
      done = true;
      return v;
    });
    await vi.advanceTimersByTimeAsync(399);
    expect(done).toBe(false);
    expect(sync.reads).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
    expect((await waiting).map((v) => v.converged)).toEqual([true]);
    expect(sync.reads).toBe(3);
  });

  it('keeps a shorter configured poll interval from the first read on', async () => {
    vi.useFakeTimers();
    const sync = new ScriptedSyncStatus([42, 42, 43], 1, 10);
    const baseline = new Map([['reviews-v1-0.default', pushVersionOf(nonce(42))]]);
    const waiting = sync.waitForProxies([destinationRule], baseline, Date.now() + 10_000, 10_000, 'configuration');
    await vi.advanceTimersByTimeAsync(20);
    expect((await waiting).map((v) => v.converged)).toEqual([true]);
    expect(sync.reads).toBe(3);
  });
});
