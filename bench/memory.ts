// Row 4: memory of a one-million-request run (bench/memory-child.ts, the Observation with classification) and the
// wall time of the whole Bookinfo catalogue on the local target (the CLI, as a user runs it).
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonResult, repoRoot, runBenchScript, runCommand } from './process.ts';
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

export interface CatalogueResult {
  experiments: number;
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
      options.log?.(`memory run ${run + 1}/${runs}: peak RSS ${full.peakRssMb.toFixed(0)} MB (baseline ${base.peakRssMb.toFixed(0)} MB) in ${full.seconds.toFixed(1)} s`);
    }
    return { records, runs, peakRssMb: summarize(peak), baselineRssMb: summarize(baseline), seconds: summarize(seconds) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function countExperiments(dir: string): number {
  let n = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /\.ya?ml$/.test(entry.name)) n++;
  }
  return n;
}

/**
 * `node bin/meshproof.js run experiments/bookinfo --quiet` with a fixed seed, `runs` times; stops early (and says
 * so) when another run would overshoot `budgetSeconds`.
 */
export async function benchCatalogue(options: { runs?: number; budgetSeconds?: number; log?: (m: string) => void } = {}): Promise<CatalogueResult> {
  const planned = options.runs ?? 5;
  const budget = options.budgetSeconds ?? Infinity;
  const dir = join(repoRoot, 'experiments', 'bookinfo');
  const experiments = countExperiments(dir);
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
    return { experiments, runs: wall.length, wallSeconds: summarize(wall), exitCodes, note };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
