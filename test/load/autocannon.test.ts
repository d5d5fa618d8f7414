import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SpecError } from '../../src/errors.ts';
import { AutocannonDriver, autocannonShape } from '../../src/load/autocannon.ts';
import { pickRequest } from '../../src/load/rotation.ts';
import { closedPort, startServer, type TestServer, versionFor } from './server.ts';
import { drive, expectClockOrigin, idsUpTo, plan, request } from './helpers.ts';

const driver = new AutocannonDriver();

describe('AutocannonDriver', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  beforeEach(() => {
    server.hits.clear();
    server.ids.length = 0;
  });
  afterAll(() => server.close());

  it('open model: sends the request count with ids mp-<seed>-0.., each classified from its body', async () => {
    // A request count, not a duration: how many sends fit in a duration depends on how fast the machine answers.
    const { summary, observation, progress } = await drive(
      driver,
      plan(server.url, {
        requests: [request('/productpage')],
        model: { kind: 'open', rate: 100 },
        durationMs: undefined,
        totalRequests: 150,
        timeoutMs: 5000,
        seed: 11,
      }),
    );
    expect(summary).toMatchObject({ driver: 'autocannon', sent: 150, answered: 150, errored: 0 });
    expect(summary.notes.join(' ')).toMatch(/per-second budget over 100 connection/);
    expect([...server.ids].sort()).toEqual(idsUpTo(11, 150).sort());
    const expected = new Map<string, number>();
    for (const id of idsUpTo(11, 150)) expected.set(versionFor(id), (expected.get(versionFor(id)) ?? 0) + 1);
    expect(observation.countBy('reviews.version')).toEqual(expected);
    expect(observation.total).toBe(150);
    // progress while running (every 250 ms) and once at the end, never going backwards
    expect(progress.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.sent).toBeGreaterThanOrEqual(progress[i - 1]!.sent);
    expect(progress.at(-1)).toMatchObject({ sent: 150, answered: 150, errored: 0, byStatus: { '200': 150 } });
  });

  it('reports its clock origin once: Date.now() at which sentAtMs is 0 (the runner reads the warm-up baseline by it)', async () => {
    await expectClockOrigin(driver, plan(server.url, { model: { kind: 'open', rate: 50 }, durationMs: undefined, totalRequests: 20, timeoutMs: 5000 }), expect);
  });

  it('open model with a duration: at most rate x duration sends, all inside the window, every one accounted for', async () => {
    // autocannon releases a second's budget at the start of each second; without the cap the partial last second
    // [1 s, 1.5 s) would get a whole second's 100. Fewer sends are possible on a busy machine (slow answers).
    const { summary, observation } = await drive(
      driver,
      plan(server.url, { requests: [request('/ok')], model: { kind: 'open', rate: 100 }, durationMs: 1500, timeoutMs: 5000, seed: 11 }),
    );
    expect(summary.sent).toBeLessThanOrEqual(150);
    expect(summary.sent).toBe(summary.answered + summary.errored);
    expect(observation.total).toBe(summary.sent);
    expect(observation.sendTimes().at(-1)!).toBeLessThan(1500);
  });

  it('rotates requests by weight with the seeded pick, and stops at exactly totalRequests', async () => {
    const requests = [request('/ok', 3), request('/flaky', 1)];
    const { summary, records } = await drive(
      driver,
      plan(server.url, { requests, model: { kind: 'closed', connections: 4 }, durationMs: undefined, totalRequests: 400 }),
    );
    expect(summary).toMatchObject({ sent: 400, answered: 400, errored: 0 });
    const expectedFlaky = idsUpTo(7, 400).filter((_, n) => pickRequest([3, 1], 7, n) === 1).length;
    expect(server.hits.get('/flaky')).toBe(expectedFlaky);
    expect(server.hits.get('/ok')).toBe(400 - expectedFlaky);
    expect(records.filter((r) => r.requestIndex === 1)).toHaveLength(expectedFlaky);
    expect(expectedFlaky).toBeGreaterThan(70); // about a quarter
  });

  it('decodes a body that arrives in pieces once (a UTF-8 character split between reads), header names lower-cased', async () => {
    const { records } = await drive(driver, plan(server.url, { requests: [request('/split-utf8')], durationMs: undefined, totalRequests: 3, timeoutMs: 5000 }));
    expect(records).toHaveLength(3);
    for (const r of records) {
      expect(r.body).toBe('stars: ★★ (x-envoy-ratelimited)');
      expect(r.headers['x-twice']).toBe('a');
      expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
    }
  });

  it('stops at exactly totalRequests when it is below the connections (each new connection sends at once)', async () => {
    for (const model of [
      { kind: 'open', rate: 50 },
      { kind: 'closed', connections: 16 },
    ] as const) {
      server.ids.length = 0;
      const { summary } = await drive(driver, plan(server.url, { model, durationMs: undefined, totalRequests: 5, timeoutMs: 5000 }));
      expect(summary, model.kind).toMatchObject({ sent: 5, answered: 5, errored: 0 });
      expect([...server.ids].sort(), model.kind).toEqual(idsUpTo(7, 5).sort());
    }
  });

  it('accounts for every send: sent = answered + errored with timeouts and connections reset by the server', async () => {
    const requests = [request('/ok', 2), request('/hang', 1), request('/reset', 1)];
    const { summary, observation, records } = await drive(
      driver,
      plan(server.url, { requests, model: { kind: 'closed', connections: 3 }, durationMs: 1200, timeoutMs: 200 }),
    );
    expect(summary.sent).toBe(summary.answered + summary.errored);
    expect(records).toHaveLength(summary.sent);
    expect(server.ids).toHaveLength(summary.sent); // every send reached the server, none counted twice
    const errors = observation.countBy('error');
    expect(errors.get('timeout')).toBe(server.hits.get('/hang'));
    expect(errors.get('ECONNRESET')).toBe(server.hits.get('/reset'));
    expect(observation.count({ status: '200' })).toBe(server.hits.get('/ok'));
    for (const r of records.filter((x) => x.error === 'timeout')) expect(r.latencyMs).toBeGreaterThanOrEqual(199);
  });

  it('counts refused connections as errors', async () => {
    const port = await closedPort();
    const { summary, observation } = await drive(driver, plan(`http://127.0.0.1:${port}`, { durationMs: 300 }));
    expect(summary.sent).toBeGreaterThan(0);
    expect(summary).toMatchObject({ answered: 0, errored: summary.sent });
    expect(observation.countBy('error')).toEqual(new Map([['ECONNREFUSED', summary.sent]]));
  });

  it('open model with a hanging upstream: every request times out, the rate is kept', async () => {
    const { summary, observation } = await drive(
      driver,
      plan(server.url, { requests: [request('/hang')], model: { kind: 'open', rate: 10 }, durationMs: 1000, timeoutMs: 150 }),
    );
    expect(summary).toMatchObject({ sent: 10, answered: 0, errored: 10 });
    expect(observation.latency().min).toBeGreaterThanOrEqual(149);
  });

  it('stops early on abort and still accounts for everything sent', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    const { summary } = await drive(
      driver,
      plan(server.url, { requests: [request('/slow?ms=50')], model: { kind: 'closed', connections: 2 }, durationMs: 20_000 }),
      controller.signal,
    );
    expect(Date.now() - started).toBeLessThan(3000);
    expect(summary.sent).toBeGreaterThan(0);
    expect(summary.sent).toBe(summary.answered + summary.errored);
    expect(server.ids).toHaveLength(summary.sent);
  });

  it('sends method, headers and body as given, with its own x-request-id', async () => {
    const seen: string[] = [];
    const { summary } = await drive(
      driver,
      plan(server.url, {
        requests: [{ name: 'post', method: 'POST', path: '/ok', headers: { 'x-user': 'kim', 'x-request-id': 'theirs' }, body: 'a=1', weight: 1 }],
        totalRequests: 3,
        durationMs: undefined,
        model: { kind: 'closed', connections: 1 },
      }),
    );
    seen.push(...server.ids);
    expect(summary.sent).toBe(3);
    expect(seen).toEqual(['mp-7-0', 'mp-7-1', 'mp-7-2']);
  });

  it("prefixes request paths with the base URL's path", async () => {
    const { summary } = await drive(
      driver,
      plan(`${server.url}/prefix/`, { requests: [request('/ok')], totalRequests: 2, durationMs: undefined, model: { kind: 'closed', connections: 1 } }),
    );
    expect(summary.sent).toBe(2);
    expect(server.hits.get('/prefix/ok')).toBe(2);
  });

  it('turns options autocannon refuses into a SpecError instead of hanging', async () => {
    await expect(drive(driver, plan(server.url, { model: { kind: 'closed', connections: 0 } }))).rejects.toThrow(
      /autocannon refused the load: connections can not be less than 1/,
    );
  });

  it('refuses a rate it cannot express (autocannon budgets whole requests per second)', () => {
    expect(() => autocannonShape(plan('http://x', { model: { kind: 'open', rate: 2.5 } }))).toThrow(SpecError);
    expect(autocannonShape(plan('http://x', { model: { kind: 'open', rate: 500 } }))).toEqual({ connections: 100, overallRate: 500 });
    expect(autocannonShape(plan('http://x', { model: { kind: 'open', rate: 5 } }))).toEqual({ connections: 5, overallRate: 5 });
  });
});
