// Row 1: load-driver throughput. Every tool drives the same trivial loopback server (bench/trivial-server, Go,
// limited to one core) with the same closed model: `connections` connections, each sending its next request as
// soon as the previous one is answered, for `seconds`. Go tools run with GOMAXPROCS=1 and wrk with one thread, so
// each client has one core, as the single-threaded Node drivers do; the server has the other.
// Rounds interleave the tools (rotating the order), so a noisy moment on the shared machine hits all of them.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadChildResult } from './load-child.ts';
import { cpuSeconds } from './machine.ts';
import { jsonResult, runBenchScript, runCommand, startServer } from './process.ts';
import { summarize, type Summary } from './stats.ts';
import type { BenchTools } from './tools.ts';
import { K6_OFFLINE_ENV } from '../src/load/tools.ts';
import { must } from '../src/must.ts';

/** A meshproof driver against the raw tool it drives, per round: what meshproof's work per response costs. */
export interface DriverOverhead {
  /** The raw tool's row (`tool` of another row). */
  reference: string;
  /** This row's req/s over the reference's, per round (median with min–max). */
  ratio: Summary;
  /** What the issues aim for, when they give a number: the ratio at or above this. */
  aimAtLeast?: number;
  /** Where the aim comes from. */
  aimSource?: string;
}

export interface LoadToolRow {
  tool: string;
  /** What exactly was measured. */
  how: string;
  rps: Summary;
  /** Requests per second relative to wrk, per round (median with min–max). */
  ratioToWrk: Summary;
  /** For a meshproof driver: its ratio to the raw tool underneath, in the same rounds. */
  overhead?: DriverOverhead;
  /** Share of the server's one core used while this tool ran: far below 1 means the client was the limit. */
  serverCore: Summary;
  errors: number;
}

export interface LoadToolsResult {
  connections: number;
  seconds: number;
  rounds: number;
  rows: LoadToolRow[];
}

interface Measurement {
  rps: number;
  errors: number;
}

interface ToolRun {
  tool: string;
  how: string;
  /** The raw tool this meshproof driver runs, and the aim for their ratio if an issue gives one. */
  overhead?: Omit<DriverOverhead, 'ratio'>;
  measure(url: string): Promise<Measurement>;
}

const oneCore = { ...process.env, GOMAXPROCS: '1' };

function toolRuns(tools: BenchTools, connections: number, seconds: number, work: string): ToolRun[] {
  const nodeChild = (tool: string) => async (url: string) => {
    const r = jsonResult<LoadChildResult>(await runBenchScript('load-child.ts', [tool, url, String(connections), String(seconds)], { env: oneCore }), tool);
    return { rps: r.rps, errors: r.errors };
  };
  const k6Script = join(work, 'k6-plain.js');
  const k6Summary = join(work, 'k6-summary.json');
  writeFileSync(
    k6Script,
    `import http from 'k6/http';
export const options = { scenarios: { plain: { executor: 'constant-vus', vus: ${connections}, duration: '${seconds}s', gracefulStop: '5s' } } };
export default function () { http.get(__ENV.URL); }
export function handleSummary(data) { return { ${JSON.stringify(k6Summary)}: JSON.stringify(data) }; }
`,
  );
  const fortioJson = join(work, 'fortio.json');
  return [
    {
      tool: 'meshproof autocannon driver',
      how: 'src/load/autocannon.ts with the default classifiers into an Observation (as in a run), own Node process',
      // issue 4: "classification costs under 10 % of raw autocannon throughput"
      overhead: { reference: 'autocannon (raw)', aimAtLeast: 0.9, aimSource: 'issues 4 and 18: classification costs under 10 % of raw autocannon throughput' },
      measure: nodeChild('meshproof-autocannon'),
    },
    { tool: 'autocannon (raw)', how: `autocannon ${autocannonVersion()} API, no hooks, own Node process`, measure: nodeChild('autocannon') },
    {
      tool: 'meshproof k6 driver',
      how: "src/load/k6.ts: meshproof's k6 extension (tools/xk6-meshproof) sends each request (send() in Go) and writes one binary record per response into an Observation in Node, the generated script classifying in k6 answers not seen before, k6's own counts from handleSummary (k6 GOMAXPROCS=1)",
      // No number in the issues for k6; the ratio says what the script's classification and reporting cost.
      overhead: { reference: 'k6 (plain script)', aimAtLeast: 0.85, aimSource: 'issue 18: the k6 driver near plain k6 through an xk6 extension' },
      measure: nodeChild('meshproof-k6'),
    },
    {
      tool: 'k6 (plain script)',
      how: `${tools.k6.version.split(' (')[0]}, constant-vus, http.get only, GOMAXPROCS=1`,
      measure: async (url) => {
        rmSync(k6Summary, { force: true });
        const done = await runCommand(tools.k6.path, ['run', '--quiet', '--no-color', '--no-usage-report', '-e', `URL=${url}`, k6Script], {
          env: { ...oneCore, ...K6_OFFLINE_ENV },
        });
        if (done.code !== 0) throw new Error(`k6 failed: ${done.stderr.slice(-500)}`);
        const summary = JSON.parse(readFileSync(k6Summary, 'utf8')) as {
          metrics: { http_reqs: { values: { count: number } }; http_req_failed: { values: { passes: number } } };
          state: { testRunDurationMs: number };
        };
        const count = summary.metrics.http_reqs.values.count;
        return { rps: count / (summary.state.testRunDurationMs / 1000), errors: summary.metrics.http_req_failed.values.passes };
      },
    },
    {
      tool: 'fortio',
      how: `${tools.fortio.version} load -qps 0 (max), its fast HTTP client, GOMAXPROCS=1`,
      measure: async (url) => {
        const done = await runCommand(
          tools.fortio.path,
          ['load', '-quiet', '-c', String(connections), '-qps', '0', '-t', `${seconds}s`, '-json', fortioJson, url],
          {
            env: oneCore,
          },
        );
        if (done.code !== 0) throw new Error(`fortio failed: ${done.stderr.slice(-500)}`);
        const result = JSON.parse(readFileSync(fortioJson, 'utf8')) as {
          ActualQPS: number;
          RetCodes: Record<string, number>;
          DurationHistogram: { Count: number };
        };
        const ok = result.RetCodes['200'] ?? 0;
        return { rps: result.ActualQPS, errors: result.DurationHistogram.Count - ok };
      },
    },
    {
      tool: 'wrk',
      how: `${tools.wrk.version}, -t1 (one thread)`,
      measure: async (url) => {
        const done = await runCommand(tools.wrk.path, ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', url]);
        const rps = /Requests\/sec:\s+([\d.]+)/.exec(done.stdout);
        if (done.code !== 0 || !rps) throw new Error(`wrk failed: ${done.stdout}${done.stderr}`);
        const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(done.stdout)?.[1] ?? 0);
        const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(done.stdout);
        const socketErrors = socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
        return { rps: Number(rps[1]), errors: non2xx + socketErrors };
      },
    },
  ];
}

export async function benchLoadTools(
  tools: BenchTools,
  options: { connections?: number; seconds?: number; rounds?: number; log?: (m: string) => void } = {},
): Promise<LoadToolsResult> {
  const connections = options.connections ?? 32;
  const seconds = options.seconds ?? 3;
  const rounds = options.rounds ?? 5;
  const log = options.log ?? (() => undefined);
  const work = mkdtempSync(join(tmpdir(), 'meshproof-bench-'));
  const server = await startServer(tools.trivialServer.path, ['127.0.0.1:0'], oneCore);
  const url = `http://${server.firstLine}/`;
  try {
    const runs = toolRuns(tools, connections, seconds, work);
    // Warm the server (Go's scheduler, the kernel's socket buffers) before anything counts.
    await runCommand(tools.wrk.path, ['-t1', `-c${connections}`, '-d1s', url]);
    const tallies = new Map(
      runs.map((r) => [r.tool, { rps: [] as number[], server: [] as number[], errors: 0, ratios: [] as number[], overheads: [] as number[] }]),
    );
    const tallyOf = (tool: string) => must(tallies.get(tool), `the tally of ${tool}`);
    for (const run of runs) {
      const reference = run.overhead?.reference;
      if (reference !== undefined && !runs.some((r) => r.tool === reference)) throw new Error(`${run.tool}: no row ${reference} to compare with`);
    }
    const serverPid = must(server.child.pid, "the server's pid");
    for (let round = 0; round < rounds; round++) {
      const turn = round % runs.length;
      const order = [...runs.slice(turn), ...runs.slice(0, turn)];
      const thisRound = new Map<string, number>();
      for (const run of order) {
        const cpuBefore = cpuSeconds(serverPid);
        const started = performance.now();
        const m = await run.measure(url);
        const wall = (performance.now() - started) / 1000;
        const r = tallyOf(run.tool);
        r.rps.push(m.rps);
        // CPU over the whole child run (start-up included) divided by the load time: an upper bound on the share
        // of its core the server used while it was loaded.
        r.server.push((cpuSeconds(serverPid) - cpuBefore) / Math.min(wall, seconds));
        r.errors += m.errors;
        thisRound.set(run.tool, m.rps);
        log(`round ${round + 1}/${rounds} ${run.tool}: ${Math.round(m.rps)} req/s`);
      }
      const rateOf = (tool: string) => must(thisRound.get(tool), `the rate of ${tool} in round ${round + 1}`);
      const wrk = rateOf('wrk');
      for (const [tool, rps] of thisRound) tallyOf(tool).ratios.push(rps / wrk);
      for (const run of runs) {
        if (run.overhead) tallyOf(run.tool).overheads.push(rateOf(run.tool) / rateOf(run.overhead.reference));
      }
    }
    return {
      connections,
      seconds,
      rounds,
      rows: runs.map((run) => {
        const r = tallyOf(run.tool);
        const overhead = run.overhead ? { overhead: { ...run.overhead, ratio: summarize(r.overheads) } } : {};
        return {
          tool: run.tool,
          how: run.how,
          rps: summarize(r.rps),
          ratioToWrk: summarize(r.ratios),
          ...overhead,
          serverCore: summarize(r.server),
          errors: r.errors,
        };
      }),
    };
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

export function autocannonVersion(): string {
  return (JSON.parse(readFileSync(new URL('../node_modules/autocannon/package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
