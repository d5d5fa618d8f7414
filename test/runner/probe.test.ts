import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { halfPushedProbe, halfPushedSymptom, probeDisturbance } from '../../src/runner/probe.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { Runner } from '../../src/runner/run.ts';
import type { RequestSpec } from '../../src/spec/types.ts';
import { MemoryTarget } from '../support/memory-target.ts';
import { ScriptedDriver, fakeDeps } from '../support/fake-load.ts';
import { makeExperiment } from '../support/experiments.ts';

const request = (path: string, extra: Partial<RequestSpec> = {}): RequestSpec => ({ name: path, method: 'GET', path, headers: {}, weight: 1, ...extra });

// A gateway double: /nc answers like Envoy without the route's cluster (503, empty body), /abort like a fault (503 with body).
let server: http.Server;
let base: string;
let flaky = 2;
let inFlight = 0;
let mostInFlight = 0;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/slow') {
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      setTimeout(() => {
        inFlight--;
        res.writeHead(504).end('upstream request timeout');
      }, 300);
      return;
    }
    if (req.url === '/nc') return res.writeHead(503).end();
    if (req.url === '/abort') return res.writeHead(503, { 'content-type': 'text/plain' }).end('fault filter abort');
    if (req.url === '/flaky') return flaky-- > 0 ? res.writeHead(404).end() : res.writeHead(200).end('ok');
    res.writeHead(200).end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('convergence probe: symptoms of a half-pushed config (Envoy NC/NR replies have no body; istio/istio#23998)', () => {
  it('recognises empty 503 (NC) and 404 (NR) and transport failures, not bodies an experiment causes', () => {
    expect(halfPushedSymptom(503, '')).toMatch(/NC/);
    expect(halfPushedSymptom(404, ' ')).toMatch(/NR/);
    expect(halfPushedSymptom(0, '', 'ECONNREFUSED')).toMatch(/ECONNREFUSED/);
    expect(halfPushedSymptom(503, 'fault filter abort')).toBeUndefined();
    expect(halfPushedSymptom(503, 'no healthy upstream')).toBeUndefined();
    expect(halfPushedSymptom(403, 'RBAC: access denied')).toBeUndefined();
    expect(halfPushedSymptom(200, '<html>')).toBeUndefined();
  });

  it("passes a window served normally or with the experiment's own failures, fails one with NC, and skips requests that bypass the gateway", async () => {
    expect(await halfPushedProbe(base, [request('/productpage'), request('/abort')])()).toEqual({ ok: true });
    expect(await halfPushedProbe(base, [request('/productpage'), request('/nc')])()).toEqual({
      ok: false,
      detail: 'GET /nc: 503 with an empty body (Envoy NC: no cluster for the route yet)',
    });
    expect(await halfPushedProbe(base, [request('/nc', { service: 'ratings', port: 9080 })])()).toEqual({ ok: true });
    const probe = halfPushedProbe(base, [request('/flaky')], 1);
    expect((await probe()).ok).toBe(false);
    expect((await probe()).ok).toBe(false);
    expect((await probe()).ok).toBe(true);
  });

  it("waits for a slow request as long as the experiment's own timeout, and sends a window's requests at once (examples/kubestock 03 on the sandbox: 10 s per-try timeouts)", async () => {
    expect(await halfPushedProbe(base, [request('/slow')], 5, 100)()).toMatchObject({ ok: false, detail: expect.stringMatching(/^GET \/slow: no response/) });
    // The server still holds the abandoned requests until their 300 ms are up.
    while (inFlight > 0) await new Promise((r) => setTimeout(r, 20));
    mostInFlight = 0;
    expect(await halfPushedProbe(base, [request('/slow')], 5, 5_000)()).toEqual({ ok: true });
    expect(mostInFlight).toBe(5);
  });

  it('the runner gives waitConverged a probe built from the experiment, after apply', async () => {
    const target = new MemoryTarget();
    await new Runner({ runId: 'mp-p', seed: 1, command: [], meshproofVersion: '0', target }, fakeDeps(new ScriptedDriver(Array(20).fill(200)))).run([
      makeExperiment(),
    ]);
    expect(target.calls.indexOf('converge')).toBeGreaterThan(target.calls.indexOf('apply'));
    expect(typeof target.probes[0]).toBe('function');
  });

  const rule = (spec: Record<string, unknown>): K8sObject => ({
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: 'reviews' },
    spec: { host: 'reviews', ...spec },
  });

  it('sends no probe when a DestinationRule turns on outlier detection anywhere: its requests would eject hosts before the measurement (found on the sandbox: catalogue 26)', async () => {
    const od = { outlierDetection: { consecutive5xxErrors: 1 } };
    expect(probeDisturbance([rule({ trafficPolicy: od })])).toMatch(/DestinationRule reviews turns on outlier detection/);
    expect(probeDisturbance([rule({ trafficPolicy: { portLevelSettings: [{ port: { number: 9080 }, ...od }] } })])).toBeDefined();
    expect(probeDisturbance([rule({ subsets: [{ name: 'v3', labels: { version: 'v3' }, trafficPolicy: od }] })])).toBeDefined();
    expect(probeDisturbance([rule({ trafficPolicy: { connectionPool: { http: { http1MaxPendingRequests: 1 } } } })])).toBeUndefined();

    const target = new MemoryTarget();
    const experiment = makeExperiment();
    experiment.apply.push({ object: rule({ trafficPolicy: od }), source: { file: 'exp.yaml', line: 1, col: 1 }, origin: 'inline' });
    const result = await new Runner(
      { runId: 'mp-q', seed: 1, command: [], meshproofVersion: '0', target },
      fakeDeps(new ScriptedDriver(Array(20).fill(200))),
    ).run([experiment]);
    expect(target.probes[0]).toBeUndefined();
    expect(result.experiments[0]?.convergence?.probeSkipped).toMatch(/outlier detection/);
  });
});
