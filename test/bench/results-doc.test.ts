// bench/RESULTS.md as `npm run bench` writes it, from fabricated numbers (nothing is timed here): the issues' aims
// next to their rows, each meshproof driver against the raw tool it drives, the real-path memory row labelled with
// the count it ran, and the "Re-run agreement" section written from the previous run's bench/results.json.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareResults } from '../../bench/compare.ts';
import { countExperiments } from '../../bench/memory.ts';
import { readPrevious, resultsDocument, table, type Results } from '../../bench/results-doc.ts';
import { summarize } from '../../bench/stats.ts';
import { loadExperiments } from '../../src/spec/load.ts';
import { tempDir } from '../support/temp-dir.ts';

const s = (...values: number[]) => summarize(values);

function results(scale = 1): Results {
  const tool = (name: string, rps: number[], ratioToWrk: number[], overhead?: Results['loadTools']['rows'][number]['overhead']) => ({
    tool: name,
    how: name,
    rps: s(...rps.map((x) => x * scale)),
    ratioToWrk: s(...ratioToWrk),
    ...(overhead ? { overhead } : {}),
    serverCore: s(0.5, 0.6, 0.7),
    errors: 0,
  });
  return {
    date: '2026-11-23T12:00:00Z',
    machine: { cpu: 'AMD EPYC', cores: 2, memoryGb: 24, os: 'Debian', kernel: 'Linux', node: 'v20.20.2' },
    tools: {
      wrk: { path: 'wrk', version: 'wrk 4.1.0' },
      fortio: { path: 'fortio', version: 'fortio 1.68.2' },
      k6: { path: 'k6', version: 'k6 v1.8.1' },
      trivialServer: { path: 's', version: 'Go' },
      go: 'go1.26',
    },
    autocannon: '8.0.0',
    loadAverage: { start: 1, end: 1, max: 1.5 },
    wallSeconds: 480,
    loadTools: {
      connections: 32,
      seconds: 3,
      rounds: 3,
      rows: [
        tool('meshproof autocannon driver', [9000, 9500, 9900], [0.45, 0.47, 0.5], {
          reference: 'autocannon (raw)',
          ratio: s(0.92, 0.93, 0.95),
          aimAtLeast: 0.9,
          aimSource: 'issue 4: classification costs under 10 % of raw autocannon throughput',
        }),
        tool('autocannon (raw)', [10000, 10200, 10400], [0.5, 0.51, 0.53]),
        tool('meshproof k6 driver', [3000, 3100, 3200], [0.15, 0.16, 0.17], { reference: 'k6 (plain script)', ratio: s(0.55, 0.6, 0.62) }),
        tool('k6 (plain script)', [5000, 5200, 5300], [0.25, 0.26, 0.27]),
        tool('wrk', [20000, 20500, 21000], [1, 1, 1]),
      ],
    },
    page: { connections: 16, seconds: 3, rps: s(800, 850, 900), p50Ms: s(18, 19, 20), p99Ms: s(30, 35, 40), fullChainShare: 1, sampleBody: '(10 characters)' },
    hops: {
      requestsPerRun: 3000,
      runs: 3,
      direct: { p50: s(0.3, 0.31, 0.32), p99: s(0.8, 0.81, 0.82) },
      node: { p50: s(0.6), p99: s(1.2) },
      mesh: { p50: s(0.7), p99: s(1.9) },
      addedNode: { p50: s(0.25, 0.26, 0.27), p99: s(0.4, 0.41, 0.42) },
      addedMesh: { p50: s(0.4, 0.41, 0.42), p99: s(0.9, 0.95, 1) },
    },
    verdict: {
      runs: 3,
      sims: 1000,
      sequential8020: s(930, 950, 990),
      sequential7030: s(1060, 1080, 1100),
      sequential6535: s(280, 287, 290),
      sequential9505: s(150, 158, 160),
      worstCorrect: 1,
      fixed: { n8020: 1920, n7030: 1800, n: 1920, beta: 0.01 } as Results['verdict']['fixed'],
      ratio: s(1.6, 1.7, 1.7),
      confidence: 0.99,
      tolerancePoints: 5,
      checkEvery: 100,
      waldBound: {
        truth8020: 643,
        truth7030: 703,
        truth6535: 182,
        truth9505: 90,
        bestRatio8020: 2.99,
        bestRatio7030: 2.73,
        bestRatio6535: 10.5,
        bestRatio9505: 21.3,
      },
      curve: {
        sims: 200,
        budget: 10_000,
        points: [
          { truth: 0.2, sequential: { meanRequests: 962, medianRequests: 840, p90Requests: 1400, pass: 1, fail: 0, inconclusive: 0 } },
          { truth: 0.35, sequential: { meanRequests: 287, medianRequests: 260, p90Requests: 400, pass: 0, fail: 1, inconclusive: 0 } },
        ],
      },
    },
    memory: { records: 1_000_000, runs: 3, peakRssMb: s(126, 130, 135), baselineRssMb: s(86, 88, 89), seconds: s(15, 16, 17) },
    driverMemory: {
      requests: 100_000,
      connections: 32,
      runs: 3,
      peakRssMb: s(110, 112, 115),
      beforeLoadRssMb: s(95, 96, 97),
      rps: s(11000, 12000, 12500),
      errors: 0,
    },
    catalogue: { experiments: 30, files: 23, runs: 3, wallSeconds: s(50, 52, 55), exitCodes: [0, 0, 0] },
  };
}

const rowOf = (markdown: string, start: string) => markdown.split('\n').find((l) => l.startsWith(`| ${start}`) || l.includes(`| ${start}`)) ?? '';

describe('bench/RESULTS.md', () => {
  const md = table(results());

  it('row 1: each meshproof driver carries its ratio to the raw tool it drives, with the aim from issue 4', () => {
    const autocannon = rowOf(md, 'meshproof autocannon driver: req/s');
    expect(autocannon).toContain('0.47 (0.45–0.50) × wrk; 0.93 (0.92–0.95) × autocannon (raw)');
    expect(autocannon).toContain('≥ 0.9 × autocannon (raw) (issue 4: classification costs under 10 % of raw autocannon throughput): met');
    const k6 = rowOf(md, 'meshproof k6 driver: req/s');
    expect(k6).toContain('0.60 (0.55–0.62) × k6 (plain script)');
    expect(k6).toContain('no number in the issues');
    const slow = results();
    slow.loadTools.rows[0]!.overhead!.ratio = s(0.7, 0.75, 0.8);
    expect(rowOf(table(slow), 'meshproof autocannon driver: req/s')).toContain('throughput): **not met**');
  });

  it('rows 2–4 state the aims of issues 3, 4 and 18 and whether the medians meet them', () => {
    expect(rowOf(md, 'Bookinfo page')).toContain('≥ 1,000 pages/s (issue 3): **not met**');
    expect(rowOf(md, 'added latency per hop, p50')).toContain('≤ 2 × Node proxy (issue 3): met');
    expect(rowOf(md, 'added latency per hop, p99')).toContain('≤ 2 × Node proxy (issue 3): **not met**');
    expect(rowOf(md, 'added latency per hop, p50')).toContain("the ingress gateway's Router, not a sidecar's outbound listener");
    expect(rowOf(md, '80/20 split, true 80/20')).toContain('≥ 2 × fewer requests than fixed at the expected split (issue 18): met');
    expect(rowOf(md, '80/20 split, true 65/35')).toContain('≥ 10 × fewer requests than fixed 15 points off (issue 18): **not met**');
    expect(rowOf(md, '80/20 split, true 65/35')).toContain("Wald's bound for any sequential test 182 requests");
    expect(rowOf(md, '80/20 split, true 95/5')).toContain('≥ 10 × fewer requests than fixed 15 points off (issue 18): met');
    expect(rowOf(md, 'peak RSS, 1,000,000 synthetic')).toContain('< 300 MB for 1,000,000 requests (issue 4): met');
  });

  it('the real-path memory row names the request count it ran, and the catalogue row counts experiments after matrix expansion', () => {
    const real = rowOf(md, 'peak RSS, 100,000 real requests');
    expect(real).toContain('112 MB (110–115)');
    expect(real).toContain('100,000 requests per run as run (not extrapolated)');
    expect(rowOf(md, 'wall time')).toContain('(30 experiments from 23 files, sweeps expanded)');
  });

  it("points to the containerless cluster's rows, which bench:sandbox writes (issue 18 item 5)", () => {
    const doc = resultsDocument(results(), md, undefined);
    expect(doc).toContain('[SANDBOX.md](SANDBOX.md), written by `npm run bench:sandbox`');
  });

  it('without a previous run, the agreement section says so', () => {
    const doc = resultsDocument(results(), md, undefined);
    expect(doc).toContain('## Re-run agreement\n\nNo previous run to compare with');
    expect(doc).toContain('(aim: within 600 s, issue 9: met)');
  });

  it('with the previous bench/results.json, the agreement section is written from it (bench/compare.ts)', () => {
    const dir = tempDir('meshproof-bench-doc-');
    try {
      const file = join(dir, 'results.json');
      const first = results();
      first.date = '2026-11-23T11:00:00Z';
      writeFileSync(file, JSON.stringify(first));
      // The second run is 30 % faster on every load tool: those ranges no longer overlap; everything else agrees.
      const second = results(1.3);
      const doc = resultsDocument(second, table(second), readPrevious(file));
      const section = doc.slice(doc.indexOf('## Re-run agreement'));
      expect(section).toContain(`compared with the previous one ("first"), ${file} (written 2026-11-23T11:00:00Z, 480 s, load average 1.0–1.5)`);
      const c = compareResults(first, second);
      expect(c.disjoint).toEqual([
        'loadTools.rows.meshproof autocannon driver.rps',
        'loadTools.rows.autocannon (raw).rps',
        'loadTools.rows.meshproof k6 driver.rps',
        'loadTools.rows.k6 (plain script).rps',
        'loadTools.rows.wrk.rps',
      ]);
      expect(section).toContain(
        `${c.compared - 5} of ${c.compared} summarized numbers have overlapping min–max ranges; disjoint: \`loadTools.rows.meshproof autocannon driver.rps\``,
      );
      expect(section).toContain('| loadTools.rows.wrk.rps | 2.05e+4 (2.00e+4–2.10e+4) | 2.67e+4 (2.60e+4–2.73e+4) | 30 % | **no** |');
      expect(section).toContain('| memory.peakRssMb | 130 (126–135) | 130 (126–135) | 0 % | yes |');
      // A row added since the previous run is named, not silently dropped.
      delete (first as Partial<Results>).driverMemory;
      expect(compareResults(first, second).unmatched).toEqual(['driverMemory.peakRssMb', 'driverMemory.beforeLoadRssMb', 'driverMemory.rps']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bench row 4: catalogue size', () => {
  it('counts the experiments the loader returns after matrix expansion, not the YAML files', () => {
    const loaded = loadExperiments(['experiments/bookinfo']);
    const counted = countExperiments('experiments/bookinfo');
    expect(counted).toEqual({ experiments: loaded.experiments.length, files: loaded.files.length });
    // the catalogue has sweeps (e.g. 41-sweep-retry-attempts.yaml expands to 4), so there are more experiments than files
    expect(counted.experiments).toBeGreaterThan(counted.files);
  });
});
