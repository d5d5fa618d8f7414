// The k6 driver: generates a k6 script from the plan, runs the real k6 binary, and streams its JSON output (stdout)
// into the same ResponseRecord path as the in-process driver. k6 cannot hand response bodies back, so the script
// classifies each response itself with the same classifier code (bundled in by esbuild) and emits the labels as tags
// plus one metadata entry per request (metadata, unlike tags, creates no k6 time series per request).
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { SpecError, TargetError } from '../errors.ts';
import { DEFAULT_CLASSIFIERS, resolveClassifiers } from '../observe/classifiers.ts';
import type { Labels, ResponseRecord } from '../observe/types.ts';
import type { LoadControl, LoadDriver, LoadPlan, LoadProgress, LoadSummary } from './driver.ts';
import { K6_BUILD_HINT, k6Path } from './tools.ts';

export const K6_METRIC = 'meshproof_responses';
const K6_SCENARIO = 'meshproof';
const PROGRESS_INTERVAL_MS = 250;
const STDERR_LINES_KEPT = 40;

/** What the script puts in each response's metadata (short keys: one JSON line per request goes through a pipe). */
interface K6Entry {
  /** send number (x-request-id mp-<seed>-<n>) */
  n: number;
  /** request index in the rotation */
  i: number;
  /** sent at, ms since the scenario started */
  s: number;
  /** latency ms */
  l: number;
  /** status, 0 for transport errors */
  c: number;
  e?: string;
  labels: Labels;
}

let runtimeBundle: string | undefined;

/** The classifiers and rotation as one self-contained script block defining `meshproof`. */
function runtimeSource(): string {
  if (runtimeBundle === undefined) {
    const result = buildSync({
      entryPoints: [fileURLToPath(new URL('./k6-runtime.ts', import.meta.url))],
      bundle: true,
      format: 'iife',
      globalName: 'meshproof',
      // k6's JavaScript runtime (Sobek) is ES2015+ with gaps; keep the bundle conservative.
      target: 'es2017',
      platform: 'neutral',
      write: false,
      legalComments: 'none',
      charset: 'utf8',
    });
    runtimeBundle = result.outputFiles[0]!.text;
  }
  return runtimeBundle;
}

function formatMs(ms: number): string {
  return `${Math.max(1, Math.round(ms))}ms`;
}

/** k6 takes an integer rate per time unit; fractional rates become a rate per 1000 s (evenly spaced all the same). */
function arrivalRate(rate: number): { rate: number; timeUnit: string; intervalMs: number } {
  if (!(rate > 0)) throw new SpecError(`rate must be positive (got ${rate})`, undefined, 'spec.load.rate');
  if (Number.isInteger(rate)) return { rate, timeUnit: '1s', intervalMs: 1000 / rate };
  return { rate: Math.round(rate * 1000), timeUnit: '1000s', intervalMs: 1000 / rate };
}

/** The scenario for the plan's model: constant-arrival-rate (open), constant-vus or shared-iterations (closed). */
export function k6Scenario(plan: LoadPlan): Record<string, unknown> {
  const gracefulStop = formatMs(plan.timeoutMs + 1000);
  if (plan.durationMs === undefined && plan.totalRequests === undefined) {
    throw new SpecError('the load needs a duration or a number of requests', undefined, 'spec.load');
  }
  if (plan.model.kind === 'open') {
    const { rate, timeUnit, intervalMs } = arrivalRate(plan.model.rate);
    const windowMs = plan.durationMs ?? (plan.totalRequests! / plan.model.rate) * 1000;
    // k6 starts an iteration at every multiple of the interval up to and including `duration`; ending half an
    // interval early makes the window [0, duration) hold exactly rate x duration arrivals.
    let durationMs = windowMs - intervalMs / 2;
    if (durationMs < 1000) {
      // k6 refuses scenarios shorter than 1 s. A request count is still exact (the script's send limit skips the
      // extra arrivals); a duration below 1 s cannot be honoured.
      if (plan.totalRequests === undefined) {
        throw new SpecError(`the k6 driver runs a scenario for at least 1s (got ${plan.durationMs}ms)`, undefined, 'spec.load.duration');
      }
      durationMs = 1000;
    }
    // k6 starts VUs beyond preAllocatedVUs only while the test runs, dropping arrivals meanwhile: pre-allocate for
    // half a second of arrivals in flight; allow up to the worst case, every request lasting the whole timeout.
    const inFlight = Math.ceil(plan.model.rate * ((plan.timeoutMs + 1000) / 1000));
    const preAllocatedVUs = Math.min(Math.max(5, Math.ceil(plan.model.rate / 2)), 200);
    return {
      executor: 'constant-arrival-rate',
      rate,
      timeUnit,
      duration: `${durationMs.toFixed(3)}ms`,
      preAllocatedVUs,
      maxVUs: Math.min(Math.max(preAllocatedVUs, inFlight), 1000),
      gracefulStop,
    };
  }
  const vus = plan.model.connections;
  if (plan.durationMs !== undefined) return { executor: 'constant-vus', vus, duration: formatMs(plan.durationMs), gracefulStop };
  return { executor: 'shared-iterations', vus, iterations: plan.totalRequests, maxDuration: '1h', gracefulStop };
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((k) => k.toLowerCase() === name);
}

/** How many requests the script may send: totalRequests, and for the open model rate x duration. */
export function sendLimit(plan: LoadPlan): number | null {
  const openLimit =
    plan.model.kind === 'open' && plan.durationMs !== undefined
      ? Math.ceil((plan.model.rate * plan.durationMs) / 1000 - 1e-9)
      : Infinity;
  const limit = Math.min(plan.totalRequests ?? Infinity, openLimit);
  return limit === Infinity ? null : limit;
}

/** A self-contained k6 script for the plan: `meshproof export k6` writes it; the k6 driver runs it. */
export function k6Script(plan: LoadPlan): string {
  const classifierNames = plan.classifiers && plan.classifiers.length > 0 ? plan.classifiers : DEFAULT_CLASSIFIERS;
  resolveClassifiers(classifierNames); // unknown names fail here, with the list of known ones
  const data = {
    baseUrl: plan.baseUrl.replace(/\/+$/, ''),
    seed: plan.seed,
    timeoutMs: plan.timeoutMs,
    limit: sendLimit(plan),
    classifiers: classifierNames,
    requests: plan.requests.map((r) => ({
      name: r.name,
      method: r.method,
      path: r.path,
      headers: r.headers,
      body: r.body ?? null,
      weight: r.weight,
      // A user without a cookie yet (exported plans) logs in during setup(), as the meshproof driver does before load.
      login: r.user !== undefined && !hasHeader(r.headers, 'cookie') ? r.user : null,
    })),
  };
  const options = {
    scenarios: { [K6_SCENARIO]: k6Scenario(plan) },
    userAgent: 'meshproof (k6)',
    discardResponseBodies: false,
    noCookiesReset: false,
  };
  return `// Generated by meshproof from a load plan. Run it with: k6 run <this file>
// Each response is classified here (same classifiers as meshproof) and counted in the "${K6_METRIC}" counter,
// tagged with its labels, e.g. ${K6_METRIC}{status:503} or ${K6_METRIC}{reviews.version:v3}.
import http from 'k6/http';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';

${runtimeSource()}
const PLAN = ${JSON.stringify(data, null, 2)};
const WEIGHTS = PLAN.requests.map((r) => r.weight);
const responses = new Counter('${K6_METRIC}');

export const options = ${JSON.stringify(options, null, 2)};

export function setup() {
  const cookies = {};
  for (const r of PLAN.requests) {
    if (r.login === null || cookies[r.login] !== undefined) continue;
    const res = http.post(PLAN.baseUrl + '/login', { username: r.login }, { redirects: 0, jar: new http.CookieJar() });
    const session = res.cookies.session && res.cookies.session[0];
    if (!session) exec.test.abort('cannot log in as "' + r.login + '": POST /login answered ' + res.status + ' without a session cookie');
    cookies[r.login] = 'session=' + session.value;
  }
  return { cookies: cookies };
}

// Per VU: the scenario's start (constant) and this VU's metadata object, read once. Every read of exec.scenario or
// exec.vu builds a new object with all its accessors in k6 (internal/js/modules/k6/execution), a tenth of k6's time
// per request when read four times an iteration.
let scenarioStart = -1;
let metadata = null;
// Per request of the rotation, reused every iteration (http.request copies what it needs). No cookie jar of our own:
// k6 gives every iteration an empty one (noCookiesReset: false), and an iteration sends one request.
const PARAMS = PLAN.requests.map((r) => ({
  url: PLAN.baseUrl + r.path,
  params: { headers: Object.assign({}, r.headers), timeout: PLAN.timeoutMs + 'ms', redirects: 0, tags: { request: r.name } },
}));

export default function (data) {
  const scenario = exec.scenario;
  const n = scenario.iterationInTest;
  if (PLAN.limit !== null && n >= PLAN.limit) return;
  if (scenarioStart < 0) {
    scenarioStart = scenario.startTime;
    metadata = exec.vu.metrics.metadata;
  }
  const index = meshproof.pickRequest(WEIGHTS, PLAN.seed, n);
  const req = PLAN.requests[index];
  const target = PARAMS[index];
  target.params.headers['x-request-id'] = meshproof.requestId(PLAN.seed, n);
  if (req.login !== null) target.params.headers.cookie = data.cookies[req.login];
  const started = Date.now();
  const sentAtMs = started - scenarioStart;
  const res = http.request(req.method, target.url, req.body, target.params);
  const status = res.status;
  let latencyMs;
  let error;
  if (status > 0) {
    // From the first byte written (a new connection's set-up included) to the last byte read, as the autocannon driver.
    const timings = res.timings;
    latencyMs = timings.connecting + timings.tls_handshaking + timings.duration;
  } else {
    latencyMs = Date.now() - started;
    error = meshproof.errorName(res.error_code, res.error || '');
  }
  const labels = meshproof.labelsOf(PLAN.classifiers, new meshproof.K6Record(res, index, sentAtMs, latencyMs, status, error));
  const entry = { n: n, i: index, s: sentAtMs, l: latencyMs, c: status, labels: labels };
  if (error !== undefined) entry.e = error;
  metadata.meshproof = JSON.stringify(entry);
  responses.add(1, labels);
  delete metadata.meshproof;
}
`;
}

function findK6(): string {
  const path = k6Path();
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new TargetError(`k6 is not built: no executable at ${path}; ${K6_BUILD_HINT}`);
  }
  return path;
}

export class K6Driver implements LoadDriver {
  readonly name = 'k6';

  async run(plan: LoadPlan, onResponse: (response: ResponseRecord) => void, control: LoadControl): Promise<LoadSummary> {
    const binary = findK6();
    if (plan.requests.length === 0) throw new SpecError('the load plan has no request', undefined, 'spec.load.request');
    const dir = await mkdtemp(join(tmpdir(), 'meshproof-k6-'));
    try {
      const scriptPath = join(dir, 'script.js');
      await writeFile(scriptPath, k6Script(plan));
      return await runK6(binary, scriptPath, onResponse, control);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

async function runK6(
  binary: string,
  scriptPath: string,
  onResponse: (response: ResponseRecord) => void,
  control: LoadControl,
): Promise<LoadSummary> {
  const started = performance.now();
  const args = ['run', '--quiet', '--no-color', '--summary-mode=disabled', '--no-usage-report', '--out', 'json', scriptPath];
  // Never report usage to the internet; no web dashboard.
  const env = { ...process.env, K6_NO_USAGE_REPORT: 'true', K6_WEB_DASHBOARD: 'false' };
  const child = spawn(binary, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });

  const counts = { sent: 0, answered: 0, errored: 0, dropped: 0, httpReqs: 0 };
  const byStatus: Record<string, number> = {};
  const stderr: string[] = [];
  let failure: unknown;

  const onLine = (line: string) => {
    if (!line.startsWith('{"metric":"')) return;
    if (line.startsWith(`{"metric":"${K6_METRIC}","type":"Point"`)) {
      const entry = JSON.parse((JSON.parse(line) as { data: { metadata: { meshproof: string } } }).data.metadata.meshproof) as K6Entry;
      counts.sent++;
      if (entry.c > 0) counts.answered++;
      else counts.errored++;
      const key = entry.c > 0 ? String(entry.c) : 'error';
      byStatus[key] = (byStatus[key] ?? 0) + 1;
      if (failure) return;
      const record: ResponseRecord = {
        requestIndex: entry.i,
        sentAtMs: entry.s,
        latencyMs: entry.l,
        status: entry.c,
        headers: {},
        body: '',
        labels: entry.labels,
      };
      if (entry.e !== undefined) record.error = entry.e;
      try {
        onResponse(record);
      } catch (err) {
        failure = err;
        child.kill('SIGINT');
      }
    } else if (line.startsWith('{"metric":"dropped_iterations","type":"Point"')) {
      counts.dropped += (JSON.parse(line) as { data: { value: number } }).data.value;
    } else if (line.startsWith('{"metric":"http_reqs","type":"Point"') && line.includes(`"scenario":"${K6_SCENARIO}"`)) {
      counts.httpReqs++;
    }
  };

  const stdoutDone = new Promise<void>((resolve) => {
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', onLine).on('close', resolve);
  });
  createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => {
    stderr.push(line);
    if (stderr.length > STDERR_LINES_KEPT) stderr.shift();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
    child.on('error', (spawnError) => resolve({ code: null, signal: null, spawnError }));
    child.on('close', (code, signal) => resolve({ code, signal }));
  });

  // k6 stops gracefully on the first SIGINT (in-flight iterations get gracefulStop), and reports exit code 105.
  const onAbort = () => child.kill('SIGINT');
  if (control.signal.aborted) onAbort();
  else control.signal.addEventListener('abort', onAbort, { once: true });
  const progress = (): LoadProgress => ({ elapsedMs: performance.now() - started, ...pick(counts), byStatus: { ...byStatus } });
  const ticker = setInterval(() => control.onProgress?.(progress()), PROGRESS_INTERVAL_MS);

  const result = await exited;
  await stdoutDone;
  clearInterval(ticker);
  control.signal.removeEventListener('abort', onAbort);
  control.onProgress?.(progress());
  if (failure) throw failure;
  if (result.spawnError) throw new TargetError(`cannot run k6 (${binary}): ${result.spawnError.message}; ${K6_BUILD_HINT}`);

  const exitCode = result.code ?? 128;
  const aborted = control.signal.aborted;
  if (exitCode !== 0 && counts.sent === 0 && !aborted) {
    throw new TargetError(`k6 exited with code ${exitCode} before any response:\n${stderr.join('\n')}`);
  }
  const notes: string[] = [];
  if (exitCode !== 0) notes.push(`k6 exited with code ${exitCode}${aborted ? ' (stopped early)' : ''}; last output: ${stderr.slice(-3).join(' | ')}`);
  if (counts.dropped > 0) {
    notes.push(`k6 dropped ${counts.dropped} iteration(s): no free VU to start them on time (responses too slow for the rate)`);
  }
  if (counts.httpReqs !== counts.sent) {
    notes.push(`k6 counted ${counts.httpReqs} HTTP requests in the scenario but reported ${counts.sent} responses`);
  }
  return {
    driver: 'k6',
    sent: counts.sent,
    answered: counts.answered,
    errored: counts.errored,
    durationMs: performance.now() - started,
    droppedIterations: counts.dropped,
    exitCode,
    notes,
  };
}

function pick(counts: { sent: number; answered: number; errored: number }): Pick<LoadProgress, 'sent' | 'answered' | 'errored'> {
  return { sent: counts.sent, answered: counts.answered, errored: counts.errored };
}
