// The k6 driver: runs meshproof's k6 (built with the extension tools/xk6-meshproof) on the script ./k6-script.ts
// generates, and streams the extension's binary records, one per response, into the same ResponseRecord path as the
// in-process driver.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { TargetError } from '../errors.ts';
import type { ResponseRecord } from '../observe/types.ts';
import type { LoadControl, LoadDriver, LoadPlan, LoadProgress, LoadSummary } from './driver.ts';
import { K6RecordDecoder, type K6Response } from './k6-records.ts';
import { K6_EXTENSION_IMPORT, k6DriverScript, k6Scenario, RECORDS_FD_ENV, type K6Counts } from './k6-script.ts';
import { atMostRequests, checkPlan } from './plan.ts';
import { K6_BUILD_HINT, K6_OFFLINE_ENV, k6Path } from './tools.ts';
import { must } from '../must.ts';

const PROGRESS_INTERVAL_MS = 250;
const STDERR_LINES_KEPT = 40;
/** The child's descriptor for the extension's records: the first after stdin, stdout and stderr. */
const RECORDS_FD = 3;

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

  /**
   * A VU keeps one connection: the closed model's VUs, the open model's pre-allocated ones (more start only if late),
   * never more than requests may be sent.
   */
  connections(plan: LoadPlan): number {
    const scenario = k6Scenario(plan);
    return atMostRequests(plan, Number(scenario.vus ?? scenario.preAllocatedVUs));
  }

  async run(plan: LoadPlan, onResponse: (response: ResponseRecord) => void, control: LoadControl): Promise<LoadSummary> {
    const binary = findK6();
    checkPlan(plan);
    const dir = await mkdtemp(join(tmpdir(), 'meshproof-k6-'));
    try {
      const scriptPath = join(dir, 'script.js');
      await writeFile(scriptPath, k6DriverScript(plan));
      return await runK6(binary, scriptPath, onResponse, control);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

async function runK6(binary: string, scriptPath: string, onResponse: (response: ResponseRecord) => void, control: LoadControl): Promise<LoadSummary> {
  const started = performance.now();
  // Raw log format: k6's own messages as bare text on stderr.
  const args = ['run', '--quiet', '--no-color', '--log-format=raw', '--no-usage-report', scriptPath];
  // Never report usage to the internet; no web dashboard; and never let k6 build a binary for a missing extension
  // (k6 ≥ 1.0's automatic extension resolution posts the script's imports to ingest.k6.io: cmd/state/state.go).
  const env = { ...process.env, ...K6_OFFLINE_ENV, [RECORDS_FD_ENV]: String(RECORDS_FD) };
  const child = spawn(binary, args, { env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  const records = child.stdio[RECORDS_FD] as Readable;

  const counts = { sent: 0, answered: 0, errored: 0 };
  const byStatus: Record<string, number> = {};
  const k6Output: string[] = [];
  let stdout = '';
  let failure: { thrown: unknown } | undefined; // a holder: the thrown value itself may be anything

  const onK6Response = ({ requestIndex, sentAtMs, latencyMs, status, labels, error }: K6Response) => {
    counts.sent++;
    if (status > 0) counts.answered++;
    else counts.errored++;
    const key = status > 0 ? String(status) : 'error';
    byStatus[key] = (byStatus[key] ?? 0) + 1;
    if (failure) return;
    const record: ResponseRecord = { requestIndex, sentAtMs, latencyMs, status, headers: {}, body: '', labels };
    if (error !== undefined) record.error = error;
    try {
      onResponse(record);
    } catch (err) {
      failure = { thrown: err };
      child.kill('SIGINT');
    }
  };
  // Every VU reports the scenario's start, from which the responses' sentAtMs count; the first is the origin.
  let origin: number | undefined;
  const onOrigin = (unixMs: number) => {
    if (origin === undefined) control.onClockOrigin?.((origin = unixMs));
  };
  const decoder = new K6RecordDecoder({ onOrigin, onResponse: onK6Response });
  const decode = (apply: () => void) => {
    if (failure) return;
    try {
      apply();
    } catch (err) {
      failure = { thrown: err };
      child.kill('SIGINT');
    }
  };
  // k6 closes the descriptor when it exits: the end of the stream is the end of the records, none left behind.
  const recordsDone = new Promise<void>((resolve) => {
    records.on('data', (chunk: Buffer) => decode(() => decoder.push(chunk)));
    records.on('end', () => {
      decode(() => decoder.end());
      resolve();
    });
    records.on('error', (err) => {
      failure ??= { thrown: err };
      resolve();
    });
  });
  const onStderrLine = (line: string) => {
    k6Output.push(line);
    if (k6Output.length > STDERR_LINES_KEPT) k6Output.shift();
  };
  const stderrDone = new Promise<void>((resolve) => {
    createInterface({ input: must(child.stderr, "k6's stderr pipe"), crlfDelay: Infinity })
      .on('line', onStderrLine)
      .on('close', resolve);
  });
  must(child.stdout, "k6's stdout pipe")
    .setEncoding('utf8')
    .on('data', (chunk: string) => (stdout += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
    child.on('error', (spawnError) => resolve({ code: null, signal: null, spawnError }));
    child.on('close', (code, signal) => resolve({ code, signal }));
  });

  // k6 stops gracefully on the first SIGINT (in-flight iterations get gracefulStop), and reports exit code 105.
  const onAbort = () => child.kill('SIGINT');
  if (control.signal.aborted) onAbort();
  else control.signal.addEventListener('abort', onAbort, { once: true });
  const progress = (): LoadProgress => ({ elapsedMs: performance.now() - started, ...counts, byStatus: { ...byStatus } });
  const ticker = setInterval(() => control.onProgress?.(progress()), PROGRESS_INTERVAL_MS);

  const result = await exited;
  await stderrDone;
  await recordsDone;
  clearInterval(ticker);
  control.signal.removeEventListener('abort', onAbort);
  control.onProgress?.(progress());
  if (failure) throw failure.thrown;
  if (result.spawnError) throw new TargetError(`cannot run k6 (${binary}): ${result.spawnError.message}; ${K6_BUILD_HINT}`);

  const exitCode = result.code ?? 128;
  const aborted = control.signal.aborted;
  if (exitCode !== 0 && counts.sent === 0 && !aborted) {
    const output = k6Output.join('\n');
    const noExtension = output.includes(K6_EXTENSION_IMPORT) ? `\n${binary} has no meshproof extension (${K6_EXTENSION_IMPORT}): ${K6_BUILD_HINT}` : '';
    throw new TargetError(`k6 exited with code ${exitCode} before any response:\n${output}${noExtension}`);
  }
  const k6Counts = parseCounts(stdout);
  const notes: string[] = [];
  if (exitCode !== 0) notes.push(`k6 exited with code ${exitCode}${aborted ? ' (stopped early)' : ''}; last output: ${k6Output.slice(-3).join(' | ')}`);
  if (!k6Counts) notes.push('k6 ended without its end-of-test counts: dropped iterations unknown');
  const dropped = k6Counts?.droppedIterations ?? 0;
  if (dropped > 0) {
    notes.push(`k6 dropped ${dropped} iteration(s): no free VU to start them on time (responses too slow for the rate)`);
  }
  if (k6Counts && k6Counts.httpRequests !== counts.sent) {
    notes.push(`k6 counted ${k6Counts.httpRequests} HTTP requests in the scenario but reported ${counts.sent} responses`);
  }
  return {
    driver: 'k6',
    sent: counts.sent,
    answered: counts.answered,
    errored: counts.errored,
    durationMs: performance.now() - started,
    droppedIterations: dropped,
    exitCode,
    notes,
  };
}

/** The counts handleSummary printed as the last line of stdout, if k6 got that far. */
function parseCounts(stdout: string): K6Counts | undefined {
  const last = stdout.trim().split('\n').pop() ?? '';
  if (!last.startsWith('{')) return undefined;
  try {
    return JSON.parse(last) as K6Counts;
  } catch {
    return undefined;
  }
}
