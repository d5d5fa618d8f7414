// The push baseline a change is waited from (src/targets/kube/convergence.ts recordBaseline): taken only once istiod's
// sync status has stood still past its push debounce, so a push something else triggered just before the change
// cannot land after the baseline and pass for the change's own push (seen on the sandbox's real istiod: a test's
// STRICT PeerAuthentication "converged" on the push of the previous test's delete, and the next request got 200).
import type { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { KubeApi } from '../../src/targets/kube/api.ts';
import { SyncStatus } from '../../src/targets/kube/convergence.ts';
import type { ProxySync } from '../../src/targets/kube/sync-status.ts';

const nonce = (counter: number) => `2026-12-05T20:00:00Z/${counter}a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d`;

/** istiod's sync status read after read: the pushes it had sent to the one proxy by then. */
class ScriptedSyncStatus extends SyncStatus {
  reads = 0;
  constructor(
    private readonly pushes: number[],
    settleMs: number,
  ) {
    super({
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
