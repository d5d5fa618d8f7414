// The same plan through both drivers gives the same observation: exactly for the open model (both send the requests
// numbered 0 .. count - 1, and the server's answer depends only on the request id), and within sampling
// error for the closed model (where the number of requests depends on timing).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutocannonDriver } from '../../src/load/autocannon.ts';
import { K6Driver } from '../../src/load/k6.ts';
import { startServer, type TestServer } from './server.ts';
import { drive, plan, request } from './helpers.ts';

describe('autocannon and k6 agree', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  it('open model: identical counts for every label', async () => {
    const p = plan(server.url, {
      requests: [request('/productpage', 3), request('/flaky', 1), request('/fault', 1)],
      model: { kind: 'open', rate: 100 },
      // a count, not a duration: how many sends fit in 2 s depends on how fast a busy machine answers
      durationMs: undefined,
      totalRequests: 200,
      // generous: a timeout would turn an answer into an error on one side only (the machine may be busy)
      timeoutMs: 5000,
      seed: 2024,
    });
    const a = await drive(new AutocannonDriver(), p);
    const k = await drive(new K6Driver(), p);
    expect(a.summary.sent).toBe(200);
    expect(k.summary.sent).toBe(200);
    for (const label of ['status', 'flag', 'reviews.version', 'ratings', 'reviews']) {
      expect(k.observation.countBy(label), label).toEqual(a.observation.countBy(label));
    }
    expect(a.observation.count({ flag: 'FI' })).toBeGreaterThan(0);
    expect(a.observation.countBy('reviews.version').size).toBe(3);
  });

  it('closed model: the 503 share agrees within sampling error (two-proportion z below 4)', async () => {
    const p = plan(server.url, { requests: [request('/flaky')], model: { kind: 'closed', connections: 4 }, durationMs: 1500, seed: 99 });
    const a = await drive(new AutocannonDriver(), p);
    const k = await drive(new K6Driver(), p);
    const share = (n503: number, n: number) => n503 / n;
    const na = a.summary.answered;
    const nk = k.summary.answered;
    const pa = share(a.observation.count({ status: '503' }), na);
    const pk = share(k.observation.count({ status: '503' }), nk);
    const pooled = (pa * na + pk * nk) / (na + nk);
    const z = Math.abs(pa - pk) / Math.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nk));
    console.log(`[agreement] closed model: autocannon ${na} requests, 503 share ${pa.toFixed(4)}; k6 ${nk} requests, ${pk.toFixed(4)}; z = ${z.toFixed(2)}`);
    expect(na).toBeGreaterThan(100);
    expect(nk).toBeGreaterThan(100);
    expect(z).toBeLessThan(4);
    expect(a.summary.errored + k.summary.errored).toBe(0);
  });
});
