// meshproof's k6 extension (tools/xk6-meshproof) in the real k6 built by scripts/k6-build.ts (CI: scripts/ci.d/30-k6.sh),
// read back by the driver's decoder, with requests to a loopback test server. No skipping.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { K6RecordDecoder, type K6Response } from '../../src/load/k6-records.ts';
import { pickRequest } from '../../src/load/rotation.ts';
import { K6_OFFLINE_ENV, k6Path } from '../../src/load/tools.ts';
import { closedPort, startServer, type TestServer } from './server.ts';
import { tempDir } from '../support/temp-dir.ts';

const work = tempDir('meshproof-k6-extension-');

/** Runs a script with the records pipe on fd 3 (as the driver does; `fd` null: no MESHPROOF_RECORDS_FD) and decodes it. */
async function runScript(source: string, fd: string | null = '3') {
  const script = join(work, `script-${Math.random().toString(36).slice(2)}.js`);
  writeFileSync(script, source);
  const env: NodeJS.ProcessEnv = { ...process.env, ...K6_OFFLINE_ENV };
  if (fd === null) delete env.MESHPROOF_RECORDS_FD;
  else env.MESHPROOF_RECORDS_FD = fd;
  const child = spawn(k6Path(), ['run', '--quiet', '--no-color', '--no-usage-report', script], { env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  const origins: number[] = [];
  const responses: K6Response[] = [];
  const decoder = new K6RecordDecoder({ onOrigin: (ms) => origins.push(ms), onResponse: (r) => responses.push(r) });
  let stderr = '';
  let stdout = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const records = child.stdio[3] as Readable;
  const ended = new Promise<void>((resolve, reject) => {
    records.on('data', (chunk: Buffer) => decoder.push(chunk));
    records.on('end', () => {
      try {
        decoder.end();
        resolve();
      } catch (err) {
        reject(err as Error);
      }
    });
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  await ended;
  return { code, stdout, stderr, origins, responses };
}

const ITERATIONS = 4000;

/** What a loopback server saw of one request, as it came off the wire. */
interface Seen {
  method: string;
  url: string;
  rawHeaders: string[];
  body: string;
}

/** A server keeping every request by its x-request-id, answering "ok". */
async function startEchoServer(): Promise<{ url: string; seen: Map<string, Seen>; close: () => Promise<void> }> {
  const seen = new Map<string, Seen>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.set(String(req.headers['x-request-id']), { method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, body });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { url, seen, close };
}

describe('k6 extension k6/x/meshproof in the real k6', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  it('every record of four VUs reaches the reader, status and latency read from k6 in Go, strings interned once across VUs, answers seen before reported by the extension alone (flush in handleSummary)', async () => {
    // 4,000 records of 31 bytes: about twice the extension's 64 KiB buffer, and the last ones only leave it at the
    // flush from handleSummary. The rotation sends /ok (200), /fault (500) and a refused address (status 0, latency
    // from the script) in the weights 5:1:1.
    const refused = `http://127.0.0.1:${await closedPort()}/`;
    const base = server.url.replace(/\/+$/, '');
    const seed = 7;
    const weights = [5, 1, 1];
    const plan = {
      seed,
      seedText: String(seed),
      limit: ITERATIONS,
      weights,
      timeoutMs: 5000,
      requests: [`${base}/ok`, `${base}/fault`, refused].map((url) => ({ method: 'GET', url, body: null, headers: [['x-request-id', '']] })),
    };
    const { code, stdout, stderr, origins, responses } = await runScript(`
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import { intern, origin, prepare, send, response, flush } from 'k6/x/meshproof';
export const options = { scenarios: { s: { executor: 'shared-iterations', vus: 4, iterations: ${ITERATIONS}, maxDuration: '2m' } }, maxRedirects: 0 };
const classified = new Counter('classified');
let started = false;
export default function () {
  if (!started) {
    started = true;
    origin(exec.scenario.startTime);
    prepare(${JSON.stringify(JSON.stringify(plan))});
  }
  const sent = send();
  if (sent === null) return;
  classified.add(1);
  const status = sent.response.status;
  const labels = intern(JSON.stringify({ status: String(status), 'reviews.version': 'v2' }));
  response(sent.response, sent.index, sent.sentAtMs, labels, status === 0 ? intern('E' + sent.index) : 0, sent.erroredLatencyMs, true);
}
export function handleSummary(data) {
  flush();
  return { stdout: JSON.stringify({ classified: data.metrics.classified.values.count }) };
}
`);
    expect(stderr).not.toMatch(/level=error/);
    expect(code).toBe(0);
    // One origin per VU, the scenario's start.
    expect(origins).toHaveLength(4);
    expect(new Set(origins).size).toBe(1);
    expect(responses).toHaveLength(ITERATIONS);
    const picks = Array.from({ length: ITERATIONS }, (_, n) => pickRequest(weights, seed, n));
    expect(responses.map((r) => r.requestIndex).sort()).toEqual([...picks].sort());
    for (const r of responses) {
      const expected = [200, 500, 0][r.requestIndex];
      expect(r.status, `a record of request ${r.requestIndex}`).toBe(expected);
      if (expected === 0) expect(r.error, 'a refused request').toBe('E2');
      else expect(r.latencyMs > 0 && r.error === undefined, `latency ${r.latencyMs}, error ${r.error}`).toBe(true);
      expect(r.sentAtMs).toBeGreaterThanOrEqual(0);
      expect(r.labels).toEqual({ status: String(r.status), 'reviews.version': 'v2' });
    }
    // One labels object per status for all four VUs: each string went out once.
    expect(new Set(responses.map((r) => r.labels)).size).toBe(3);
    // Refused requests are classified every time (never remembered: no status); a 200 or a 500 at most once per VU
    // (four VUs may classify the first of each at once), then the extension reports them alone.
    const refusedCount = picks.filter((p) => p === 2).length;
    expect(refusedCount).toBeGreaterThan(0);
    const { classified } = JSON.parse(stdout) as { classified: number };
    expect(classified).toBeGreaterThanOrEqual(refusedCount + 2);
    expect(classified).toBeLessThanOrEqual(refusedCount + 2 * 4);
  });

  it('without MESHPROOF_RECORDS_FD the module says what it needs (the script is meant for the driver)', async () => {
    const { stderr, responses } = await runScript(
      `
import { intern } from 'k6/x/meshproof';
export const options = { iterations: 1 };
export default function () { intern('x'); }
`,
      null,
    );
    expect(stderr).toContain('k6/x/meshproof: MESHPROOF_RECORDS_FD must name an open file descriptor >= 3');
    expect(responses).toEqual([]);
  });

  it("with K6_OFFLINE_ENV a script importing an extension this k6 lacks fails at once, without asking k6's build service (cmd/state/state.go K6_AUTO_EXTENSION_RESOLUTION)", async () => {
    const { code, stderr, responses } = await runScript(`
import { nothing } from 'k6/x/not-built-in';
export const options = { iterations: 1 };
export default function () { nothing(); }
`);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/unknown modules \[\\?"k6\/x\/not-built-in\\?"\]/); // quotes escaped in k6's logfmt
    // With resolution on, k6 1.8.1 says "Automatic extension resolution is enabled" and posts to ingest.k6.io.
    expect(stderr).not.toMatch(/extension resolution is enabled|provision|ingest\.k6\.io/);
    expect(responses).toEqual([]);
  });

  it("send() picks as rotation.ts, puts on the wire what http.request does with the same headers and body (the user agent from options), and stops at the plan's limit", async () => {
    const echo = await startEchoServer();
    try {
      // A seed beyond 2^32: the pick uses seed >>> 0 (5), the id the seed as written.
      const seed = 4294967301;
      const weights = [1, 2, 3];
      const limit = 40;
      const requests = [
        { method: 'GET', url: `${echo.url}/a?q=1`, body: null, headers: { 'X-Mixed-Case': 'v', 'x-request-id': '' } },
        {
          method: 'POST',
          url: `${echo.url}/b`,
          body: 'name=kim',
          headers: { 'x-request-id': '', 'content-type': 'application/x-www-form-urlencoded', cookie: 'session=s1' },
        },
        { method: 'PUT', url: `${echo.url}/c`, body: '', headers: { Host: 'reviews.example', 'x-request-id': '', 'user-agent': 'own-agent' } },
      ];
      const options = `export const options = { scenarios: { s: { executor: 'shared-iterations', vus: 3, iterations: ${limit + 10}, maxDuration: '1m' } }, userAgent: 'meshproof (k6)', maxRedirects: 0 };`;
      const sendPlan = {
        seed: seed >>> 0,
        seedText: String(seed),
        limit,
        weights,
        timeoutMs: 5000,
        requests: requests.map((r) => ({ ...r, headers: Object.entries(r.headers) })),
      };
      const viaExtension = await runScript(`
import exec from 'k6/execution';
import { intern, origin, prepare, send, response, flush } from 'k6/x/meshproof';
${options}
let started = false;
export default function () {
  if (!started) {
    started = true;
    origin(exec.scenario.startTime);
    prepare(${JSON.stringify(JSON.stringify(sendPlan))});
  }
  const sent = send();
  if (sent === null) return;
  response(sent.response, sent.index, sent.sentAtMs, intern(JSON.stringify({ status: String(sent.response.status) })), 0, sent.erroredLatencyMs, true);
}
export function handleSummary() {
  flush();
  return {};
}
`);
      expect(viaExtension.stderr).not.toMatch(/level=error/);
      expect(viaExtension.code).toBe(0);
      const picks = Array.from({ length: limit }, (_, n) => pickRequest(weights, seed, n));
      expect(new Set(picks).size).toBe(3);
      const ids = picks.map((_, n) => `mp-${seed}-${n}`);
      expect([...echo.seen.keys()].sort()).toEqual([...ids].sort());
      const sentByExtension = new Map(echo.seen);
      // One record per request, the request index the pick (the first answer classified, the rest reported in Go).
      expect(viaExtension.responses).toHaveLength(limit);
      expect(viaExtension.responses.map((r) => r.requestIndex).sort()).toEqual([...picks].sort());
      expect(viaExtension.responses.every((r) => r.status === 200 && r.sentAtMs >= 0 && r.latencyMs > 0)).toBe(true);

      echo.seen.clear();
      const viaHttpRequest = await runScript(`
import http from 'k6/http';
import exec from 'k6/execution';
${options}
const REQUESTS = ${JSON.stringify(requests)};
const PICKS = ${JSON.stringify(picks)};
export default function () {
  const n = exec.scenario.iterationInTest;
  if (n >= ${limit}) return;
  const r = REQUESTS[PICKS[n]];
  const headers = Object.assign({}, r.headers);
  headers['x-request-id'] = 'mp-${seed}-' + n;
  http.request(r.method, r.url, r.body, { headers: headers, timeout: 5000 });
}
`);
      expect(viaHttpRequest.code).toBe(0);
      for (const id of ids) expect(sentByExtension.get(id), id).toEqual(echo.seen.get(id));
      const host = sentByExtension.get(ids[picks.indexOf(2)] ?? '');
      expect(host?.rawHeaders).toEqual(expect.arrayContaining(['Host', 'reviews.example', 'User-Agent', 'own-agent']));
    } finally {
      await echo.close();
    }
  });
});
