// Clients outside the mesh (requests with `service:`): a plain connection straight to a service's pods, as from a pod
// without a sidecar through kube-proxy. Istio's mTLS migration task: under PERMISSIVE such a client gets 200, under
// STRICT its connection is reset ("curl: (56) Recv failure: Connection reset by peer",
// https://istio.io/latest/docs/tasks/security/authentication/mtls-migration/).
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTarget } from '../../src/targets/local/index.ts';
import type { K8sObject } from '../../src/spec/types.ts';

const target = new LocalTarget({ scenario: 'bookinfo', seed: 3 });
beforeAll(async () => {
  await target.prepare();
}, 30_000);
afterAll(async () => {
  await target.close();
});

/** One request on a fresh connection (no keep-alive), so each goes through the relay's choice of pod. */
function get(url: string): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
  });
}

const strict: K8sObject = {
  apiVersion: 'security.istio.io/v1',
  kind: 'PeerAuthentication',
  metadata: { name: 'default', namespace: 'default' },
  spec: { mtls: { mode: 'STRICT' } },
};

describe('outsideEntrypoint: a plain client outside the mesh', () => {
  it('reaches ratings under PERMISSIVE and is reset under STRICT; restore lets it in again', async () => {
    const url = await target.outsideEntrypoint('ratings', 9080);
    expect(await get(`${url}/ratings/0`)).toMatchObject({ status: 200 });
    await target.snapshot([strict]);
    await target.apply([strict], 'mp-outside');
    await target.waitConverged(10_000);
    expect(await get(`${url}/ratings/0`)).toEqual({ error: 'ECONNRESET' });
    const gateway = await target.entrypoint();
    expect(await get(`${gateway}/productpage`)).toMatchObject({ status: 200 });
    await target.restore();
    await target.waitConverged(10_000);
    expect(await get(`${url}/ratings/0`)).toMatchObject({ status: 200 });
  });

  it('spreads connections over every pod of the service, as a Service does (reviews v1, v2, v3)', async () => {
    const url = await target.outsideEntrypoint('reviews', 9080);
    const bodies = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = await get(`${url}/reviews/0`);
      expect(r).toMatchObject({ status: 200 });
      if ('body' in r) bodies.add(r.body);
    }
    expect(bodies.size).toBe(3);
  });

  it('reuses one relay per service port', async () => {
    expect(await target.outsideEntrypoint('details', 9080)).toBe(await target.outsideEntrypoint('details', 9080));
  });
});
