// KubeTarget.outsideEntrypoint against the fake API server (a test double): a loopback relay through the API server's
// service proxy. The API server is a client outside the mesh (no sidecar, no certificate): under STRICT mTLS the pod's
// sidecar resets it, the API server answers 503 "error trying to reach service: ..." and the relay resets the client.
// Here only what needs an exact backend or an API server refusal on cue (the request passed through verbatim, the
// backend's own 503 and JSON errors, the API server's 403/429/... Status); STRICT mTLS, PeerAuthentication precedence,
// a Service without endpoints, unknown names and close() run on the sandbox's real API server and istiod
// (test/sandbox/sandbox.test.ts).
import http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TargetError } from '../../src/errors.ts';
import { KubeTarget } from '../../src/targets/kube/index.ts';
import { isUnreachable } from '../../src/targets/kube/outside-relay.ts';
import { fakeToken } from './fake-apiserver.ts';
import { preexisting, startFixture, type KubeFixture } from './helpers.ts';

let fx: KubeFixture;
beforeAll(async () => {
  fx = await startFixture();
});
afterAll(async () => {
  await fx.stop();
});
beforeEach(() => {
  fx.server.reset(preexisting());
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A plain HTTP request; resolves with the answer or rejects with the socket error (e.g. ECONNRESET). */
function request(url: string, options: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

async function prepared(): Promise<KubeTarget> {
  const target = new KubeTarget({ scenario: 'bookinfo', kubeconfig: fx.kubeconfig, pollIntervalMs: 20 });
  await target.prepare();
  return target;
}

describe('KubeTarget.outsideEntrypoint (service-proxy relay)', () => {
  it('forwards method, path, query, headers and body through the service proxy with the kubeconfig credentials', async () => {
    const target = await prepared();
    try {
      const base = await target.outsideEntrypoint('ratings', 9080);
      expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await target.outsideEntrypoint('ratings', 9080)).toBe(base); // one relay per service port
      const answer = await request(`${base}/ratings/0?x=1`, {
        method: 'POST',
        body: '{"stars":5}',
        headers: { 'content-type': 'application/json', 'x-user': 'jason', authorization: 'Bearer from-the-client' },
      });
      expect(answer.status).toBe(200);
      const echoed = JSON.parse(answer.body) as {
        pod: string;
        method: string;
        path: string;
        body: string;
        contentType: string;
        headers: Record<string, string>;
      };
      expect(echoed).toMatchObject({
        pod: 'ratings-v1-7d8f9c6b5-d3e4f',
        method: 'POST',
        path: '/ratings/0?x=1',
        body: '{"stars":5}',
        contentType: 'application/json',
      });
      expect(echoed.headers['x-user']).toBe('jason');
      const proxied = fx.server.requests.find((r) => r.path.includes('/proxy/'))!;
      expect(proxied.path).toBe('/api/v1/namespaces/default/services/ratings:9080/proxy/ratings/0');
      expect(proxied.query).toEqual({ x: '1' });
      // the API server is authenticated with the kubeconfig's token, never with the client's Authorization header
      expect(proxied.authorization).toBe(`Bearer ${fakeToken}`);
    } finally {
      await target.close();
    }
  });

  it("passes the backend's own answers through, 503 included", async () => {
    const target = await prepared();
    try {
      const base = await target.outsideEntrypoint('details', 9080);
      const answer = await request(`${base}/status/503`);
      expect(answer).toMatchObject({ status: 503, body: 'status 503 from details-v1-5f4d7c8b9-a1b2c' });
    } finally {
      await target.close();
    }
  });

  it("passes the backend's JSON error bodies through: only the API server's own Status objects are taken for it", async () => {
    const target = await prepared();
    try {
      const base = await target.outsideEntrypoint('details', 9080);
      const answer = await request(`${base}/json/404`);
      expect(answer.status).toBe(404);
      expect(JSON.parse(answer.body)).toEqual({ error: 'status 404 from details-v1-5f4d7c8b9-a1b2c' });
      await expect(target.counters()).resolves.toBeDefined();
    } finally {
      await target.close();
    }
  });

  for (const refusal of [
    {
      code: 403,
      reason: 'Forbidden',
      message: 'services "ratings" is forbidden: User "ci" cannot get resource "services/proxy" in API group "" in the namespace "default"',
    },
    { code: 429, reason: 'TooManyRequests', message: 'Too many requests, please try again later.' },
    { code: 401, reason: 'Unauthorized', message: 'Unauthorized' },
  ]) {
    it(`turns the API server's own ${refusal.code} Status into a target failure (exit 3), not a mesh answer`, async () => {
      const target = await prepared();
      try {
        const base = await target.outsideEntrypoint('ratings', 9080);
        fx.server.serviceProxyRefusal = refusal;
        const error = await request(`${base}/ratings/0`).then(
          () => undefined,
          (e: NodeJS.ErrnoException) => e,
        );
        expect(error?.code).toBe('ECONNRESET');
        const failure = (await target.counters().catch((e: Error) => e)) as Error;
        expect(failure).toBeInstanceOf(TargetError);
        expect(failure.message).toContain(
          `the API server itself answered the client outside the mesh for ratings:9080 (its service proxy, not the workload): ${refusal.code} ${refusal.reason}: ${refusal.message}`,
        );
      } finally {
        await target.close();
      }
    });
  }
});

describe('isUnreachable (the API server could not reach the backend)', () => {
  const statusBody = (message: string) =>
    JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'ServiceUnavailable', code: 503, message });
  it('recognises the API server proxy Status, not a backend 503', () => {
    expect(isUnreachable(503, 'application/json', statusBody('error trying to reach service: dial tcp 10.244.0.9:9080: connect: connection refused'))).toBe(
      true,
    );
    expect(isUnreachable(503, 'application/json', statusBody('no endpoints available for service "details"'))).toBe(true);
    expect(isUnreachable(503, 'application/json', JSON.stringify({ error: 'unavailable' }))).toBe(false);
    expect(isUnreachable(503, 'text/plain', 'upstream connect error or disconnect/reset before headers. reset reason: overflow')).toBe(false);
    expect(isUnreachable(500, 'application/json', statusBody('error trying to reach service: x'))).toBe(false);
  });
});
