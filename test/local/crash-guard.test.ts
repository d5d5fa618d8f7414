// One bad request must not take the embedded mesh down: productpage decodes paths the way werkzeug does (never
// failing), an app that throws answers as its server would (Flask/WEBrick 500, Node's process dies: 503 UC at the
// sidecar), and an error inside a proxy becomes a 500 for that request only, written to the mesh's log.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppConnectionReset, guardApp } from '../../src/targets/local/apps/crash.ts';
import { pythonUnquote, requoteUri } from '../../src/targets/local/apps/url-quoting.ts';
import { recentMeshLog, setMeshLogQuiet } from '../../src/targets/local/log.ts';
import { IngressGateway } from '../../src/targets/local/proxy/gateway.ts';
import { internalErrorBody, Sidecar, type WorkloadIdentity } from '../../src/targets/local/proxy/sidecar.ts';
import { CallScope, type AppRequest } from '../../src/targets/local/apps/types.ts';
import { mesh, page, type MeshHandle } from './helpers.ts';

const request: AppRequest = { method: 'GET', path: '/x', headers: {}, body: '', decisionKey: 'k' };
const boom = async () => {
  throw new Error('boom <b>');
};

describe('paths as productpage sees and re-sends them (urllib.parse.unquote, requests.utils.requote_uri)', () => {
  it('unquote leaves a malformed escape as it is and replaces invalid UTF-8 (Python urllib.parse.unquote)', () => {
    expect(pythonUnquote('%ZZ')).toBe('%ZZ');
    expect(pythonUnquote('a%20b%2Fc')).toBe('a b/c');
    expect(pythonUnquote('%C3%A9%')).toBe('é%');
    expect(pythonUnquote('%FF')).toBe('\ufffd');
  });

  it('requote_uri quotes every % after a malformed escape, keeps valid ones and unquotes unreserved ones', () => {
    expect(requoteUri('/details/%ZZ')).toBe('/details/%25ZZ');
    expect(requoteUri('/details/%41%2F')).toBe('/details/A%2F');
    expect(requoteUri('/details/é 1')).toBe('/details/%C3%A9%201');
    expect(requoteUri('/details/50%')).toBe('/details/50%');
  });
});

describe('an app that throws answers like its server (werkzeug InternalServerError, WEBrick set_error, Node crash)', () => {
  beforeAll(() => setMeshLogQuiet(true));
  afterAll(() => setMeshLogQuiet(false));

  it("productpage (Flask) answers werkzeug's 500 page and the traceback goes to the log", async () => {
    const res = await guardApp('productpage', 'productpage-v1-test', boom)(request);
    expect(res.status).toBe(500);
    expect(res.body).toContain('<title>500 Internal Server Error</title>');
    expect(recentMeshLog().at(-1)?.source).toBe('productpage-v1-test');
    expect(recentMeshLog().at(-1)?.message).toContain('boom');
  });

  it('details (WEBrick) answers its Internal Server Error page with the message escaped', async () => {
    const res = await guardApp('details', 'details-v1-test', boom)(request);
    expect(res.status).toBe(500);
    expect(res.body).toContain('<H1>Internal Server Error</H1>');
    expect(res.body).toContain('boom &lt;b&gt;');
  });

  it('ratings (Node) does not answer: its connection is reset', async () => {
    await expect(guardApp('ratings', 'ratings-v1-test', boom)(request)).rejects.toBeInstanceOf(AppConnectionReset);
  });
});

function identity(ip: string, name: string): WorkloadIdentity {
  return {
    proxyName: name,
    podName: `${name}-pod`,
    workload: name,
    namespace: 'default',
    app: name,
    version: 'v1',
    labels: { app: name },
    serviceAccount: name,
    principal: `cluster.local/ns/default/sa/${name}`,
    ip,
    statsMatcher: { inclusionPrefixes: [], inclusionSuffixes: [], inclusionRegexps: [] },
  };
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe("proxies survive their own errors and the apps' (one request fails, not the mesh)", () => {
  const block = `127.${200 + (process.pid % 40)}.${process.pid % 250}`;
  beforeAll(() => setMeshLogQuiet(true));
  afterAll(() => setMeshLogQuiet(false));

  it('a sidecar answers 500 for an app that throws, 503 UC for an app whose process dies, and keeps serving', async () => {
    const sidecar = new Sidecar(identity(`${block}.10`, 'thrower'), { seed: 1, meshSecret: 's', port: 9080, delimitedStatPrefixes: true });
    let mode: 'throw' | 'reset' | 'ok' = 'throw';
    sidecar.setApp(async (req) => {
      if (mode === 'ok') return { status: 200, headers: {}, body: 'fine' };
      if (mode === 'reset') throw new AppConnectionReset('gone');
      return guardApp('productpage', 'thrower-pod', boom)(req);
    });
    await sidecar.start();
    try {
      const thrown = await get(`http://${block}.10:9080/`);
      expect(thrown.status).toBe(500);
      expect(thrown.body).toContain('Internal Server Error');
      mode = 'reset';
      const reset = await get(`http://${block}.10:9080/`);
      expect(reset.status).toBe(503);
      expect(reset.body).toBe('upstream connect error or disconnect/reset before headers. reset reason: connection termination');
      expect(sidecar.stats.render()).toContain('response_code="503",grpc_response_status="",response_flags="UC"');
      mode = 'ok';
      expect(await get(`http://${block}.10:9080/`)).toEqual({ status: 200, body: 'fine' });
    } finally {
      await sidecar.close();
    }
  });

  it("an error inside a router is a 500 at the gateway and at an app's outbound call, logged", async () => {
    const bug = async (): Promise<never> => {
      throw new TypeError('emulator bug');
    };
    const gateway = new IngressGateway(identity(`${block}.1`, 'gw'), { seed: 1, meshSecret: 's', delimitedStatPrefixes: true });
    gateway.router.handle = bug;
    await gateway.start();
    try {
      const before = recentMeshLog().length;
      const res = await get(`${gateway.url}/productpage`);
      expect(res).toEqual({ status: 500, body: internalErrorBody });
      expect(recentMeshLog().length).toBeGreaterThan(before);
      expect(recentMeshLog().at(-1)).toMatchObject({ source: 'gw', message: expect.stringContaining('emulator bug') });
      // and it still answers the next request
      expect((await get(`${gateway.url}/productpage`)).status).toBe(500);
    } finally {
      await gateway.close();
    }
    const sidecar = new Sidecar(identity(`${block}.11`, 'caller'), { seed: 1, meshSecret: 's', port: 9080, delimitedStatPrefixes: true });
    sidecar.router.handle = bug;
    const out = await sidecar.call(new CallScope('k'), { authority: 'details:9080', path: '/details/0', headers: {}, timeoutMs: 1000 });
    expect(out.status).toBe(500);
    expect(out.body).toBe(internalErrorBody);
    expect(recentMeshLog().at(-1)?.source).toBe('caller');
  });
});

describe('the mesh process lives through a malformed path (audit: /api/v1/products/%ZZ used to kill it)', () => {
  let m: MeshHandle;
  beforeAll(async () => {
    m = await mesh({ seed: 5 });
  });
  afterAll(async () => m?.close());

  it("answers details' 400 as productpage passes it on, then the next /productpage is 200", async () => {
    const res = await fetch(`${m.gatewayUrl}/api/v1/products/%ZZ`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'Sorry, product details are currently unavailable for this book.' });
    const reviews = await fetch(`${m.gatewayUrl}/api/v1/products/%ZZ/reviews`);
    expect(reviews.status).toBe(404);
    const p = await page(m);
    expect(p.status).toBe(200);
    expect(p.body).toContain('The Comedy of Errors');
  });
});
