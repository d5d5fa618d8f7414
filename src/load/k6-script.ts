// The k6 scripts meshproof generates from a load plan. k6 cannot hand response bodies back, so the script classifies
// each response itself with the same classifier code (bundled in by esbuild); ./k6.ts runs it.
//
// Two forms of the script share the plan, the classification and setup's logins; they differ in how a request is sent
// and a response reported:
// - exported (`meshproof export k6`): a "meshproof_responses" counter tagged with the labels, plus one metadata entry
//   per request for `--out json` (metadata, unlike tags, creates no k6 time series per request);
// - run by the driver: meshproof's k6 extension (k6/x/meshproof, built into meshproof's k6 from tools/xk6-meshproof)
//   picks and sends each request in Go (send()) and writes one binary record per response (decoded by
//   ./k6-records.ts); the script classifies only answers the extension has not seen before; k6's own counts (HTTP
//   requests, dropped iterations) come once at the end from handleSummary on stdout. k6's `--out json` writes a dozen samples per request,
//   and a log line per response cost k6 and Node more than the request itself.
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { SpecError } from '../errors.ts';
import { DEFAULT_CLASSIFIERS, resolveClassifiers } from '../observe/classifiers.ts';
import type { LoadPlan } from './driver.ts';
import { hasHeader } from './headers.ts';
import { atMostRequests, sendLimit } from './plan.ts';
import type { K6Check } from './k6-checks.ts';
import { must } from '../must.ts';

export const K6_METRIC = 'meshproof_responses';
const K6_SCENARIO = 'meshproof';

/** The extension's JavaScript module (tools/xk6-meshproof/meshproof.go). */
export const K6_EXTENSION_IMPORT = 'k6/x/meshproof';
/** The environment variable naming the file descriptor the extension writes its records to. */
export const RECORDS_FD_ENV = 'MESHPROOF_RECORDS_FD';

/** What the driver's script prints on stdout at the end (handleSummary), from k6's own metrics. */
export interface K6Counts {
  httpRequests: number;
  droppedIterations: number;
}

/**
 * Classifiers that never read the response body: when the plan uses only these, k6 discards bodies (responseType
 * 'none') instead of converting each into a JavaScript string. A classifier missing here is assumed to read it.
 */
const BODYLESS_CLASSIFIERS = new Set(['status']);

/** How the generated script reports responses: k6 metrics (exported scripts) or the extension's records (the driver). */
type ScriptOutput = 'metrics' | 'records';

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
    runtimeBundle = must(result.outputFiles[0], "esbuild's bundle of the k6 runtime").text;
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
    const windowMs = plan.durationMs ?? (must(plan.totalRequests, 'the request count of a plan without a duration') / plan.model.rate) * 1000;
    // k6 starts an iteration at every multiple of the interval up to and including `duration`; ending half an
    // interval early makes the window [0, duration) hold exactly rate x duration arrivals.
    // k6 refuses scenarios shorter than 1 s: a shorter window runs for 1 s, and the script's send limit (rate x
    // duration, or the request count; see sendLimit) skips the arrivals after the window, so exactly the window's
    // arrivals are sent, at their times.
    const durationMs = Math.max(1000, windowMs - intervalMs / 2);
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
  return { executor: 'shared-iterations', vus: atMostRequests(plan, vus), iterations: plan.totalRequests, maxDuration: '1h', gracefulStop };
}

export interface ExportOptions {
  /** Per request of the plan: a base URL other than the plan's (requests sent straight to a service). */
  requestBaseUrls?: (string | undefined)[];
  /** Expectations as k6 metrics with thresholds (src/load/k6-checks.ts): `k6 run` exits 99 when one fails. */
  checks?: K6Check[];
  /** Responses sent in the first warmupMs are not counted (meshproof records none of them). */
  warmupMs?: number;
  /** Lines for the script's header comment (what differs from a meshproof run). */
  notes?: string[];
}

/** A self-contained k6 script for the plan, as `meshproof export k6` writes it (responses counted in k6 metrics). */
export function k6Script(plan: LoadPlan, options: ExportOptions = {}): string {
  return generateScript(plan, 'metrics', options);
}

/** The script the k6 driver runs: the same requests and classification, responses reported as binary records. */
export function k6DriverScript(plan: LoadPlan): string {
  return generateScript(plan, 'records');
}

/** The exported script's iteration: pick the iteration's request, set its id (and session), note when it is sent. */
const PICK_AND_TIME = `  const index = pickRequest(WEIGHTS, PLAN.seed, n);
  const req = PLAN.requests[index];
  const target = TARGETS[index];
  target.params.headers['x-request-id'] = requestId(PLAN.seed, n);
  if (req.login !== null) target.params.headers.cookie = data.cookies[req.login];
  const started = Date.now();
  const sentAtMs = started - scenarioStart;
`;

/** The default function up to the classification, for exported scripts (exec.scenario per iteration: runs on any k6). */
const METRICS_ITERATION_START = `export default function (data) {
  const scenario = exec.scenario;
  const n = scenario.iterationInTest;
  if (PLAN.limit !== null && n >= PLAN.limit) return;
  if (scenarioStart < 0) {
    scenarioStart = scenario.startTime;
  }
${PICK_AND_TIME}  const res = http.request(req.method, target.url, req.body, target.params);
  const status = res.status;
  let latencyMs;
  let error;
  if (status > 0) {
    // From the first byte written (a new connection's set-up included) to the last byte read, as the autocannon driver.
    const timings = res.timings;
    latencyMs = timings.connecting + timings.tls_handshaking + timings.duration;
  } else {
    latencyMs = Date.now() - started;
    error = errorName(res.error_code, res.error || '');
  }
`;

/** The same for the driver's script: the extension picks, sends and reports (send()); the script classifies. */
const RECORDS_ITERATION_START = `export default function (data) {
  if (scenarioStart < 0) {
    // exec.scenario builds the scenario object anew: read once per VU.
    scenarioStart = exec.scenario.startTime;
    origin(scenarioStart);
    prepare(sendPlan(data));
  }
  // null: past the plan's limit, or an answer with the status and body of one classified before, which the extension
  // reported alone.
  const sent = send();
  if (sent === null) return;
  const res = sent.response;
  const index = sent.index;
  const sentAtMs = sent.sentAtMs;
  const status = res.status;
  // The extension reads the latency of an answered request from k6's timings (in Go, without converting them).
  let latencyMs;
  let erroredLatencyMs = 0;
  let error;
  if (status === 0) {
    latencyMs = erroredLatencyMs = sent.erroredLatencyMs;
    error = errorName(res.error_code, res.error || '');
  }
`;

/** The exported script's requests, one per request of the rotation. */
const METRICS_TARGETS = `// Per request of the rotation, reused every iteration (http.request copies what it needs). No cookie jar of our own:
// k6 gives every iteration an empty one (noCookiesReset: false), and an iteration sends one request.
const TARGETS = PLAN.requests.map((r) => ({
  url: (r.baseUrl === null ? PLAN.baseUrl : r.baseUrl) + r.path,
  params: { headers: Object.assign({}, r.headers), timeout: PLAN.timeoutMs + 'ms', redirects: 0, responseType: PLAN.responseType, tags: { request: r.name } },
}));`;

/**
 * The driver's requests as the extension's prepare() takes them (tools/xk6-meshproof/send.go): what http.request got
 * from the exported script's TARGETS, with the headers in their object's order and the rotation's seed as
 * rotation.ts uses it (\`seed >>> 0\` for the pick, \`\${seed}\` in the request id).
 */
const RECORDS_SEND_PLAN = `function sendPlan(data) {
  return JSON.stringify({
    seed: PLAN.seed >>> 0,
    seedText: String(PLAN.seed),
    limit: PLAN.limit,
    weights: WEIGHTS,
    timeoutMs: PLAN.timeoutMs,
    requests: PLAN.requests.map((r) => {
      const headers = Object.assign({}, r.headers);
      headers['x-request-id'] = '';
      if (r.login !== null) headers.cookie = data.cookies[r.login];
      return {
        method: r.method,
        url: (r.baseUrl === null ? PLAN.baseUrl : r.baseUrl) + r.path,
        body: r.body,
        headers: Object.keys(headers).map((k) => [k, String(headers[k])]),
      };
    }),
  });
}`;

function generateScript(plan: LoadPlan, output: ScriptOutput, exported: ExportOptions = {}): string {
  const classifierNames = plan.classifiers && plan.classifiers.length > 0 ? plan.classifiers : DEFAULT_CLASSIFIERS;
  resolveClassifiers(classifierNames); // unknown names fail here, with the list of known ones
  const data = {
    baseUrl: plan.baseUrl.replace(/\/+$/, ''),
    seed: plan.seed,
    timeoutMs: plan.timeoutMs,
    limit: sendLimit(plan),
    ...(output === 'metrics' ? { warmupMs: exported.warmupMs ?? 0, checks: exported.checks ?? [] } : {}),
    classifiers: classifierNames,
    responseType: classifierNames.every((name) => BODYLESS_CLASSIFIERS.has(name)) ? 'none' : 'text',
    requests: plan.requests.map((r, i) => ({
      name: r.name,
      baseUrl: exported.requestBaseUrls?.[i] ?? null,
      method: r.method,
      path: r.path,
      headers: r.headers,
      body: r.body ?? null,
      weight: r.weight,
      // A user without a cookie yet (exported plans) logs in during setup(), as the meshproof driver does before load.
      login: r.user !== undefined && !hasHeader(r.headers, 'cookie') ? r.user : null,
    })),
  };
  const options: Record<string, unknown> = {
    scenarios: { [K6_SCENARIO]: k6Scenario(plan) },
    userAgent: 'meshproof (k6)',
    // The driver's script sets these for all requests here (the extension's send() reads them from k6's options, as
    // http.request does), not per request.
    discardResponseBodies: output === 'records' && data.responseType === 'none',
    ...(output === 'records' ? { maxRedirects: 0 } : {}),
    noCookiesReset: false,
  };
  const checks = output === 'metrics' ? (exported.checks ?? []) : [];
  if (checks.length > 0) options.thresholds = Object.fromEntries(checks.map((c) => [c.metric, c.thresholds]));
  const header =
    output === 'metrics'
      ? `// Generated by meshproof from a load plan. Run it with: k6 run <this file>
// Each response is classified here (same classifiers as meshproof) and counted in the "${K6_METRIC}" counter,
// tagged with its labels, e.g. ${K6_METRIC}{status:503} or ${K6_METRIC}{reviews.version:v3}.
${(exported.notes ?? []).map((note) => `// ${note}\n`).join('')}import http from 'k6/http';
import exec from 'k6/execution';
import { Counter, Rate, Trend } from 'k6/metrics';`
      : `// Generated by meshproof's k6 driver from a load plan: each response is classified here (same classifiers as
// meshproof) and handed to meshproof's k6 extension as one binary record; \`meshproof export k6\` writes the form
// that counts responses in k6 metrics and runs on any k6.
import http from 'k6/http';
import exec from 'k6/execution';
import * as extension from '${K6_EXTENSION_IMPORT}';`;
  const report =
    output === 'metrics'
      ? `  // The warm-up is sent but not counted, as meshproof records none of its responses.
  if (sentAtMs < PLAN.warmupMs) return;
  for (let k = 0; k < CHECKS.length; k++) {
    const value = checkValue(CHECKS[k].check, labels, req.name, latencyMs);
    if (value !== undefined) CHECKS[k].metric.add(value);
  }
  const entry = { n: n, i: index, s: sentAtMs, l: latencyMs, c: status, labels: labels };
  if (error !== undefined) entry.e = error;
  if (metadata === null) metadata = exec.vu.metrics.metadata;
  metadata.meshproof = JSON.stringify(entry);
  responses.add(1, labels);
  delete metadata.meshproof;`
      : `  let labelsId = LABEL_IDS.get(labels);
  if (labelsId === undefined) {
    labelsId = intern(JSON.stringify(labels));
    if (LABEL_IDS.size < LABEL_IDS_MAX) LABEL_IDS.set(labels, labelsId);
  }
  response(res, index, sentAtMs, labelsId, error === undefined ? 0 : intern(error), erroredLatencyMs, !record.readBeyondKey);`;
  const metricsPart =
    output === 'metrics'
      ? `const responses = new Counter('${K6_METRIC}');
// One metric per expectation k6 can judge, with the thresholds in options (each check's title in PLAN.checks).
const CHECKS = PLAN.checks.map((check) => ({ check: check, metric: check.type === 'rate' ? new Rate(check.metric) : new Trend(check.metric, true) }));
// This VU's metadata object, read once (see scenarioStart).
let metadata = null;
`
      : `// Every use of a Go module's imported binding looks it up and wraps its function anew: take each once.
const { intern, origin, prepare, send, response, flush } = extension;
// The extension's id per labels object: labelsOf hands back the same object for responses alike, so a VU interns
// each once (bounded: objects not remembered there are new every response).
const LABEL_IDS = new Map();
const LABEL_IDS_MAX = 64;
`;
  const summaryPart =
    output === 'records'
      ? `
// k6's own counts for the driver's cross-checks, once at the end on stdout (nothing else is written there).
export function handleSummary(data) {
  const count = (name) => (data.metrics[name] ? data.metrics[name].values.count : 0);
  // The scenario's requests: all of k6's but setup's logins, one request each (no redirects). Not a submetric
  // (http_reqs{scenario:...}): the threshold that would make k6 track it costs a tenth of k6's time per request.
  const logins = new Set(PLAN.requests.filter((r) => r.login !== null).map((r) => r.login)).size;
  const counts = { httpRequests: count('http_reqs') - logins, droppedIterations: count('dropped_iterations') };
  // Every iteration has ended: the last records reach the driver before k6 exits.
  flush();
  return { stdout: JSON.stringify(counts) + '\\n' };
}
`
      : '';
  return `${header}

${runtimeSource()}
const PLAN = ${JSON.stringify(data, null, 2)};
const WEIGHTS = PLAN.requests.map((r) => r.weight);
// The runtime's exports are getters: take each once.
const { ${output === 'metrics' ? 'pickRequest, requestId, ' : ''}errorName, labelsOf, K6Record${output === 'metrics' ? ', checkValue' : ''} } = meshproof;
${metricsPart}
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

// The scenario's start, read once per VU: every read of exec.scenario or exec.vu builds a new object with all its
// accessors in k6 (internal/js/modules/k6/execution), a tenth of k6's time per request when read four times.
let scenarioStart = -1;
${output === 'metrics' ? METRICS_TARGETS : RECORDS_SEND_PLAN}

${output === 'metrics' ? METRICS_ITERATION_START : RECORDS_ITERATION_START}  const record = new K6Record(res, index, sentAtMs, latencyMs, status, error);
  const labels = labelsOf(PLAN.classifiers, record);
${report}
}
${summaryPart}`;
}
