// Row 4: memory of a one-million-request run (bench/memory-child.ts, the Observation with classification) and the
// wall time of the whole Bookinfo catalogue on the local target (the CLI, as a user runs it).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadExperiments } from '../src/spec/load.ts';
import { jsonResult, repoRoot, runBenchScript, runCommand, startServer } from './process.ts';
import { summarize, type Summary } from './stats.ts';

export interface MemoryResult {
  records: number;
  runs: number;
  peakRssMb: Summary;
  /** The same child with 0 records: Node, tsx and the modules. */
  baselineRssMb: Summary;
  /** Seconds to feed the records (classification included). */
  seconds: Summary;
}

/** Memory of the real path: the autocannon driver with classification into an Observation, over loopback. */
export interface DriverMemoryResult {
  /** Requests per run, exactly (the driver's request count; nothing is extrapolated). */
  requests: number;
  connections: number;
  runs: number;
  peakRssMb: Summary;
  /** The same process just before the load started. */
  beforeLoadRssMb: Summary;
  /** Requests per second the machine gave, per run. */
  rps: Summary;
  errors: number;
}

export interface CatalogueResult {
  /** Experiments run, after matrix expansion. */
  experiments: number;
  /** Experiment files they come from. */
  files: number;
  runs: number;
  wallSeconds: Summary;
  exitCodes: number[];
  /** Why fewer than the planned runs were made, if so. */
  note?: string;
}

export async function benchMemory(pageBody: string, options: { records?: number; runs?: number; log?: (m: string) => void } = {}): Promise<MemoryResult> {
  const records = options.records ?? 1_000_000;
  const runs = options.runs ?? 5;
  const work = mkdtempSync(join(tmpdir(), 'meshproof-bench-'));
  const bodyFile = join(work, 'productpage.html');
  writeFileSync(bodyFile, pageBody);
  try {
    const peak: number[] = [];
    const baseline: number[] = [];
    const seconds: number[] = [];
    for (let run = 0; run < runs; run++) {
      const base = jsonResult<{ peakRssMb: number }>(await runBenchScript('memory-child.ts', ['0', bodyFile]), 'memory baseline');
      const full = jsonResult<{ peakRssMb: number; seconds: number }>(
        await runBenchScript('memory-child.ts', [String(records), bodyFile], { timeoutMs: 180_000 }),
        'memory run',
      );
      baseline.push(base.peakRssMb);
      peak.push(full.peakRssMb);
      seconds.push(full.seconds);
      options.log?.(
        `memory run ${run + 1}/${runs}: peak RSS ${full.peakRssMb.toFixed(0)} MB (baseline ${base.peakRssMb.toFixed(0)} MB) in ${full.seconds.toFixed(1)} s`,
      );
    }
    return { records, runs, peakRssMb: summarize(peak), baselineRssMb: summarize(baseline), seconds: summarize(seconds) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Peak RSS of a real run's path: bench/memory-driver-child.ts drives the trivial loopback server (bench/trivial-server,
 * one core) with meshproof's autocannon driver for exactly `requests` requests, every response classified into an
 * Observation. Each run is a fresh process.
 */
export async function benchDriverMemory(
  trivialServer: string,
  options: { requests?: number; connections?: number; runs?: number; log?: (m: string) => void } = {},
): Promise<DriverMemoryResult> {
  const requests = options.requests ?? 100_000;
  const connections = options.connections ?? 32;
  const runs = options.runs ?? 5;
  const oneCore = { ...process.env, GOMAXPROCS: '1' };
  const server = await startServer(trivialServer, ['127.0.0.1:0'], oneCore);
  try {
    const peak: number[] = [];
    const before: number[] = [];
    const rps: number[] = [];
    let errors = 0;
    for (let run = 0; run < runs; run++) {
      const r = jsonResult<{ requests: number; errored: number; peakRssMb: number; beforeLoadRssMb: number; seconds: number }>(
        await runBenchScript('memory-driver-child.ts', [`http://${server.firstLine}/`, String(requests), String(connections)], {
          timeoutMs: 300_000,
          env: oneCore,
        }),
        'driver memory run',
      );
      if (r.requests !== requests) throw new Error(`driver memory run recorded ${r.requests} of ${requests} requests`);
      peak.push(r.peakRssMb);
      before.push(r.beforeLoadRssMb);
      rps.push(r.requests / r.seconds);
      errors += r.errored;
      options.log?.(
        `driver memory run ${run + 1}/${runs}: peak RSS ${r.peakRssMb.toFixed(0)} MB (before load ${r.beforeLoadRssMb.toFixed(0)} MB), ${requests} requests in ${r.seconds.toFixed(1)} s`,
      );
    }
    return { requests, connections, runs, peakRssMb: summarize(peak), beforeLoadRssMb: summarize(before), rps: summarize(rps), errors };
  } finally {
    await server.stop();
  }
}

/** Experiments the CLI runs from `dir`: what the loader returns after matrix expansion (a sweep's every point). */
export function countExperiments(dir: string): { experiments: number; files: number } {
  const loaded = loadExperiments([dir]);
  return { experiments: loaded.experiments.length, files: loaded.files.length };
}

/**
 * `node bin/meshproof.js run experiments/bookinfo --quiet` with a fixed seed, `runs` times; stops early (and says
 * so) when another run would overshoot `budgetSeconds`.
 */
export async function benchCatalogue(options: { runs?: number; budgetSeconds?: number; log?: (m: string) => void } = {}): Promise<CatalogueResult> {
  const planned = options.runs ?? 5;
  const budget = options.budgetSeconds ?? Infinity;
  const dir = join(repoRoot, 'experiments', 'bookinfo');
  const { experiments, files } = countExperiments(dir);
  const work = mkdtempSync(join(tmpdir(), 'meshproof-bench-'));
  const wall: number[] = [];
  const exitCodes: number[] = [];
  let note: string | undefined;
  try {
    for (let run = 0; run < planned; run++) {
      const spent = wall.reduce((a, b) => a + b, 0);
      if (run > 0 && spent + Math.max(...wall) > budget) {
        note = `${run} of ${planned} runs: another would pass the ${Math.round(budget)} s left in the 10-minute budget`;
        break;
      }
      const done = await runCommand(
        process.execPath,
        ['bin/meshproof.js', 'run', 'experiments/bookinfo', '--quiet', '--seed', '1', '--report-dir', join(work, `run-${run}`)],
        { timeoutMs: 600_000 },
      );
      if (done.code !== 0 && done.code !== 1) {
        throw new Error(`meshproof run experiments/bookinfo exited with ${done.code}: ${done.stderr.trim().split('\n').slice(-6).join('\n')}`);
      }
      wall.push(done.wallMs / 1000);
      exitCodes.push(done.code);
      options.log?.(`catalogue run ${run + 1}/${planned}: ${(done.wallMs / 1000).toFixed(1)} s (exit ${done.code})`);
    }
    return { experiments, files, runs: wall.length, wallSeconds: summarize(wall), exitCodes, note };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
