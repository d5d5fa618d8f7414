// Runs the real k6 binary (built by scripts/k6-build.ts; CI builds it in scripts/ci.d/30-k6.sh). No skipping.
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SpecError, TargetError } from '../../src/errors.ts';
import { K6Driver } from '../../src/load/k6.ts';
import { k6DriverScript, k6Scenario, k6Script } from '../../src/load/k6-script.ts';
import { sendLimit } from '../../src/load/plan.ts';
import { pickRequest } from '../../src/load/rotation.ts';
import { closedPort, startServer, type TestServer, versionFor } from './server.ts';
import { drive, expectClockOrigin, idsUpTo, plan, request } from './helpers.ts';
import { tempDir } from '../support/temp-dir.ts';

const driver = new K6Driver();

describe('k6 script generation', () => {
  it('open model: constant-arrival-rate; the window [0, duration) holds rate x duration arrivals', () => {
    expect(k6Scenario(plan('http://x', { model: { kind: 'open', rate: 100 }, durationMs: 1500, timeoutMs: 2000 }))).toEqual({
      executor: 'constant-arrival-rate',
      rate: 100,
      timeUnit: '1s',
      duration: '1495.000ms',
      preAllocatedVUs: 50,
      maxVUs: 300,
      gracefulStop: '3000ms',
    });
    // fractional rates: an integer rate per 1000 s
    expect(k6Scenario(plan('http://x', { model: { kind: 'open', rate: 0.5 }, durationMs: 10_000 }))).toMatchObject({
      rate: 500,
      timeUnit: '1000s',
      duration: '9000.000ms',
    });
    // a request count: as long as it takes at that rate
    expect(k6Scenario(plan('http://x', { model: { kind: 'open', rate: 50 }, durationMs: undefined, totalRequests: 100 }))).toMatchObject({
      duration: '1990.000ms',
    });
  });

  it('closed model: constant-vus for a duration, shared-iterations for a count', () => {
    expect(k6Scenario(plan('http://x', { model: { kind: 'closed', connections: 8 }, durationMs: 2000 }))).toEqual({
      executor: 'constant-vus',
      vus: 8,
      duration: '2000ms',
      gracefulStop: '2000ms',
    });
    expect(k6Scenario(plan('http://x', { model: { kind: 'closed', connections: 3 }, durationMs: undefined, totalRequests: 90 }))).toMatchObject({
      executor: 'shared-iterations',
      vus: 3,
      iterations: 90,
    });
  });

  it('never more VUs than iterations, which k6 refuses (lib/executor/shared_iterations.go Validate): 20 connections for 5 requests are 5 VUs', () => {
    expect(k6Scenario(plan('http://x', { model: { kind: 'closed', connections: 20 }, durationMs: undefined, totalRequests: 5 }))).toMatchObject({
      executor: 'shared-iterations',
      vus: 5,
      iterations: 5,
    });
  });

  it('writes a self-contained script: classifiers bundled in, labels as tags, login in setup() for users without a cookie', () => {
    const script = k6Script(
      plan('http://127.0.0.1:8080/', {
        requests: [
          { name: 'jason', method: 'GET', path: '/productpage', headers: {}, user: 'jason', weight: 1 },
          { name: 'resolved', method: 'GET', path: '/productpage', headers: { cookie: 'session=abc' }, user: 'kim', weight: 1 },
        ],
        classifiers: ['status', 'bookinfo'],
      }),
    );
    expect(script).toMatch(/^import http from 'k6\/http';$/m);
    expect(script).not.toMatch(/^import .* from '\.\.?\//m); // nothing to ship alongside
    expect(script).toContain('var meshproof =');
    expect(script).toContain('"executor": "constant-vus"');
    expect(script).toContain('"baseUrl": "http://127.0.0.1:8080"');
    expect(script).toContain('"login": "jason"');
    expect(script).not.toContain('"login": "kim"');
    expect(script).toContain('"classifiers": [\n    "status",\n    "bookinfo"\n  ]');
    expect(script).toContain("new Counter('meshproof_responses')");
  });

  it("the driver's form hands each response to the extension and prints k6's counts at the end; the exported form counts in metrics", () => {
    const p = plan('http://127.0.0.1:8080/', {});
    const driverScript = k6DriverScript(p);
    expect(driverScript).toMatch(/^import \* as extension from 'k6\/x\/meshproof';$/m);
    expect(driverScript).toContain('const { intern, origin, prepare, send, response, flush } = extension;');
    // The extension picks, sends and reports answers seen before (tools/xk6-meshproof/send.go); no http.request per
    // iteration, whose arguments k6 converts by reflection and reads key by key.
    expect(driverScript).toContain('prepare(sendPlan(data));');
    expect(driverScript).toContain('const sent = send();\n  if (sent === null) return;');
    expect(driverScript).not.toContain('http.request');
    expect(driverScript).toContain(
      'response(res, index, sentAtMs, labelsId, error === undefined ? 0 : intern(error), erroredLatencyMs, !record.readBeyondKey);',
    );
    expect(driverScript).not.toContain('exec.scenario.iterationInTest');
    // Redirects and bodies set once in options, not per request.
    expect(driverScript).toContain('"maxRedirects": 0');
    expect(driverScript).toContain('timeoutMs: PLAN.timeoutMs,');
    expect(driverScript).toMatch(/flush\(\);\n {2}return \{ stdout:/);
    expect(driverScript).not.toContain('console.log');
    expect(driverScript).toMatch(/^export function handleSummary\(data\)/m);
    expect(driverScript).not.toContain('"thresholds"'); // a threshold costs k6 per request; setup's logins are subtracted
    expect(driverScript).toContain("httpRequests: count('http_reqs') - logins");
    expect(driverScript).not.toContain('new Counter(');
    const exported = k6Script(p);
    expect(exported).toContain('metadata.meshproof = JSON.stringify(entry)');
    expect(exported).toContain('responses.add(1, labels)');
    expect(exported).toContain('tags: { request: r.name }');
    expect(exported).not.toContain('handleSummary');
    expect(exported).not.toContain('console.log');
    expect(exported).not.toContain('k6/x/'); // runs on any k6
  });

  it('k6 discards response bodies only when no chosen classifier reads them', () => {
    expect(k6DriverScript(plan('http://x', { classifiers: ['status'] }))).toContain('"responseType": "none"');
    expect(k6Script(plan('http://x', { classifiers: ['status'] }))).toContain('"responseType": "none"');
    expect(k6DriverScript(plan('http://x', { classifiers: ['status'] }))).toContain('"discardResponseBodies": true');
    expect(k6DriverScript(plan('http://x', {}))).toContain('"discardResponseBodies": false');
    for (const classifiers of [undefined, ['status', 'envoy'], ['bookinfo']]) {
      expect(k6DriverScript(plan('http://x', { classifiers })), String(classifiers)).toContain('"responseType": "text"');
    }
  });

  it('rejects an unknown classifier name', () => {
    expect(() => k6Script(plan('http://x', { classifiers: ['nope'] }))).toThrow(SpecError);
  });
});

describe('K6Driver (real k6 binary)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  beforeEach(() => {
    server.hits.clear();
    server.ids.length = 0;
    server.cookies.length = 0;
  });
  afterAll(() => server.close());

  it('open model: exactly rate x duration arrivals, ids mp-<seed>-0.., labels computed inside k6', async () => {
    const requests = [request('/productpage', 3), request('/flaky', 1)];
    const { summary, observation, progress } = await drive(
      driver,
      plan(server.url, { requests, model: { kind: 'open', rate: 100 }, durationMs: 1500, timeoutMs: 5000, seed: 5 }),
    );
    expect(summary).toMatchObject({ driver: 'k6', sent: 150, answered: 150, errored: 0, exitCode: 0, droppedIterations: 0 });
    expect(summary.notes).toEqual([]);
    expect([...server.ids].sort()).toEqual(idsUpTo(5, 150).sort());
    const versions = new Map<string, number>();
    idsUpTo(5, 150).forEach((id, n) => {
      if (pickRequest([3, 1], 5, n) === 0) versions.set(versionFor(id), (versions.get(versionFor(id)) ?? 0) + 1);
    });
    expect(observation.countBy('reviews.version')).toEqual(versions);
    expect(observation.count({ flag: 'UO' })).toBe(observation.count({ status: '503' }));
    expect(observation.count({ status: '503' })).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ sent: 150, answered: 150, errored: 0 });
    // send times are spread over the window by the arrival-rate executor (not bursts)
    const times = observation.sendTimes();
    expect(times[0]).toBeLessThan(100);
    expect(times.at(-1)).toBeGreaterThan(1300);
  });

  it('closed model with more connections than requests: k6 runs it (fewer VUs) and sends exactly the requests', async () => {
    const { summary } = await drive(
      driver,
      plan(server.url, { requests: [request('/productpage', 1)], model: { kind: 'closed', connections: 20 }, durationMs: undefined, totalRequests: 5 }),
    );
    expect(summary).toMatchObject({ driver: 'k6', sent: 5, answered: 5, errored: 0, exitCode: 0 });
  });

  it('accounts for every request: sent = answered + errored with timeouts and connections reset by the server', async () => {
    const requests = [request('/ok', 2), request('/hang', 1), request('/reset', 1)];
    const { summary, observation, records } = await drive(
      driver,
      plan(server.url, { requests, model: { kind: 'closed', connections: 3 }, durationMs: 1200, timeoutMs: 200 }),
    );
    expect(summary.exitCode).toBe(0);
    expect(summary.sent).toBe(summary.answered + summary.errored);
    expect(records).toHaveLength(summary.sent);
    // Go's HTTP client (k6) silently resends an idempotent request once when a reused keep-alive connection closes
    // before any response byte (net/http Transport, "retry on a reused connection"): ids may reach the server twice.
    expect(new Set(server.ids).size).toBe(summary.sent);
    const resends = server.ids.length - summary.sent;
    const errors = observation.countBy('error');
    // Every /hang times out; on a busy machine an /ok can outlast the 200 ms timeout too (seen once in a full run
    // with other suites on both cores): each /ok is either a 200 or a timeout, never lost.
    const okTimeouts = server.hits.get('/ok')! - observation.count({ status: '200' });
    expect(okTimeouts).toBeGreaterThanOrEqual(0);
    expect(errors.get('timeout')).toBe(server.hits.get('/hang')! + okTimeouts);
    expect(errors.get('ECONNRESET')).toBe(server.hits.get('/reset')! - resends);
  });

  it('reports its clock origin once: Date.now() at which sentAtMs is 0 (the runner reads the warm-up baseline by it)', async () => {
    await expectClockOrigin(driver, plan(server.url, { model: { kind: 'open', rate: 50 }, durationMs: undefined, totalRequests: 20, timeoutMs: 5000 }), expect);
  });

  it('open model shorter than the 1 s minimum k6 scenario: exactly rate x duration arrivals, all inside the window', async () => {
    for (const durationMs of [500, 1000]) {
      server.ids.length = 0;
      const { summary, observation } = await drive(driver, plan(server.url, { model: { kind: 'open', rate: 40 }, durationMs, timeoutMs: 5000, seed: 4 }));
      const expected = (40 * durationMs) / 1000;
      expect(summary, `${durationMs} ms`).toMatchObject({ sent: expected, answered: expected, errored: 0 });
      expect([...server.ids].sort()).toEqual(idsUpTo(4, expected).sort());
      expect(observation.sendTimes().at(-1)!, `${durationMs} ms`).toBeLessThan(durationMs);
    }
  });

  it('counts refused connections as errors', async () => {
    const port = await closedPort();
    const { summary, observation } = await drive(
      driver,
      plan(`http://127.0.0.1:${port}`, { model: { kind: 'open', rate: 20 }, durationMs: undefined, totalRequests: 10 }),
    );
    expect(summary).toMatchObject({ sent: 10, answered: 0, errored: 10 });
    expect(observation.countBy('error')).toEqual(new Map([['ECONNREFUSED', 10]]));
  });

  it('logs users in from setup() when the plan has no cookie for them (exported scripts)', async () => {
    const { summary } = await drive(
      driver,
      plan(server.url, {
        requests: [{ name: 'jason', method: 'GET', path: '/ok', headers: {}, user: 'jason', weight: 1 }],
        durationMs: undefined,
        totalRequests: 5,
      }),
    );
    expect(summary.sent).toBe(5);
    expect(summary.notes).toEqual([]); // the login in setup() is not one of the scenario's requests
    expect(server.hits.get('/login')).toBe(1);
    const session = `session=${Buffer.from(JSON.stringify({ user: 'jason' })).toString('base64')}`;
    expect(server.cookies).toEqual(Array(5).fill(session));
  });

  it('with slow responses every arrival is either sent or reported as a dropped iteration', async () => {
    const { summary, observation } = await drive(
      driver,
      plan(server.url, { requests: [request('/slow?ms=300')], model: { kind: 'open', rate: 40 }, durationMs: 1500, timeoutMs: 5000 }),
    );
    expect(summary.exitCode).toBe(0);
    expect(summary.sent + summary.droppedIterations!).toBe(60);
    expect(summary).toMatchObject({ answered: summary.sent, errored: 0 });
    if (summary.droppedIterations! > 0) expect(summary.notes.join(' ')).toMatch(/dropped \d+ iteration/);
    expect(observation.latency().min).toBeGreaterThanOrEqual(299);
  });

  it('status-only classifiers: bodies discarded in k6, the same status labels', async () => {
    const requests = [request('/ok', 1), request('/flaky', 1)];
    const { summary, observation } = await drive(
      driver,
      plan(server.url, { requests, classifiers: ['status'], model: { kind: 'open', rate: 50 }, durationMs: undefined, totalRequests: 40, seed: 3 }),
    );
    expect(summary).toMatchObject({ sent: 40, answered: 40, errored: 0, notes: [] });
    expect(observation.count({ status: '200' }) + observation.count({ status: '503' })).toBe(40);
    expect(observation.count({ status: '503' })).toBeGreaterThan(0);
    expect(observation.countBy('flag').size).toBe(0); // no envoy classifier ran
  });

  it('stopped early: every response k6 got is reported, sent = answered + errored, and k6 still gives its counts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 1500);
    const { summary, records } = await drive(
      driver,
      plan(server.url, { requests: [request('/ok')], model: { kind: 'open', rate: 50 }, durationMs: 10_000, timeoutMs: 2000 }),
      controller.signal,
    );
    expect(summary.sent).toBeGreaterThan(0);
    expect(summary.sent).toBeLessThan(500);
    expect(summary.sent).toBe(summary.answered + summary.errored);
    expect(records).toHaveLength(summary.sent);
    expect(summary.exitCode).not.toBe(0);
    expect(summary.notes.join(' ')).toMatch(/stopped early/);
    // handleSummary ran: no note about missing counts, and k6's request count matched the responses reported
    expect(summary.notes.join(' ')).not.toMatch(/without its end-of-test counts|k6 counted/);
  });

  it('a window below the 1 s k6 accepts runs a 1 s scenario, the send limit keeping rate x duration (or the count)', () => {
    const short = plan('http://x', { model: { kind: 'open', rate: 20 }, durationMs: 500 });
    expect(k6Scenario(short)).toMatchObject({ duration: '1000.000ms' });
    expect(sendLimit(short)).toBe(10);
    expect(k6Scenario(plan('http://x', { model: { kind: 'open', rate: 20 }, durationMs: undefined, totalRequests: 5 }))).toMatchObject({
      duration: '1000.000ms',
    });
  });

  describe('without the binary', () => {
    const saved = process.env.MESHPROOF_K6;
    afterEach(() => {
      if (saved === undefined) delete process.env.MESHPROOF_K6;
      else process.env.MESHPROOF_K6 = saved;
    });
    it('fails with a TargetError saying how to build k6', async () => {
      process.env.MESHPROOF_K6 = '/nonexistent/k6';
      await expect(drive(driver, plan(server.url, {}))).rejects.toThrow(TargetError);
      await expect(drive(driver, plan(server.url, {}))).rejects.toThrow(/npx tsx scripts\/k6-build\.ts/);
    });

    it("a k6 without meshproof's extension: k6 is told not to fetch one from the internet, and the error says what to build", async () => {
      // A stand-in for a plain k6 (building one costs minutes): it answers as k6 1.8.1 does for a script importing an
      // extension it lacks (exit 107, "unknown modules"), after writing down what the driver set in its environment.
      const dir = tempDir('meshproof-plain-k6-');
      const fake = join(dir, 'k6');
      writeFileSync(
        fake,
        `#!/bin/sh\necho "$K6_AUTO_EXTENSION_RESOLUTION" > ${join(dir, 'resolution')}\n` +
          `echo 'could not initialize: unknown modules ["k6/x/meshproof"] were tried to be loaded, but couldn'"'"'t' >&2\nexit 107\n`,
      );
      chmodSync(fake, 0o755);
      process.env.MESHPROOF_K6 = fake;
      try {
        await expect(drive(driver, plan(server.url, {}))).rejects.toThrow(
          /has no meshproof extension \(k6\/x\/meshproof\): build it with `npx tsx scripts\/k6-build\.ts`/,
        );
        expect(readFileSync(join(dir, 'resolution'), 'utf8').trim()).toBe('false');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
