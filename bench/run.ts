// `npm run bench`: builds/installs what it needs (bench/tools.ts), runs the four benchmark rows of issue 9, prints
// one Markdown table and writes it with the machine's description to bench/RESULTS.md.
//   npm run bench                      everything (about 7 minutes on the 2-core machine)
//   npm run bench -- --json out.json   also write the raw numbers as JSON
//   npm run bench -- --no-write        print only (leave bench/RESULTS.md alone)
//   npm run bench -- --catalogue-runs 5   exactly 5 catalogue runs, even past the 10-minute budget
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchLoadTools, type LoadToolsResult } from './load-tools.ts';
import { describeMachine, loadAverage, type Machine } from './machine.ts';
import { benchCatalogue, benchMemory, type CatalogueResult, type MemoryResult } from './memory.ts';
import { benchHopLatency, benchPageThroughput, type HopLatency, type PageThroughput } from './mesh.ts';
import { repoRoot } from './process.ts';
import { formatNumber, formatSummary, summarize, type Summary } from './stats.ts';
import { ensureBenchTools, type BenchTools } from './tools.ts';
import { benchVerdictSpeed, type VerdictSpeed } from './verdict.ts';

/** Whole-benchmark budget (issue 9: within 10 minutes on this machine). The catalogue row gets what is left. */
const BUDGET_SECONDS = 600;
const RUNS = 5;

interface Results {
  date: string;
  machine: Machine;
  tools: BenchTools;
  autocannon: string;
  loadAverage: { start: number; end: number; max: number };
  wallSeconds: number;
  loadTools: LoadToolsResult;
  page: PageThroughput;
  hops: HopLatency;
  verdict: VerdictSpeed;
  memory: MemoryResult;
  catalogue: CatalogueResult;
}

const started = performance.now();
const elapsed = () => (performance.now() - started) / 1000;
const log = (m: string) => console.error(`[bench ${elapsed().toFixed(0).padStart(3)} s] ${m}`);

function ratioSummary(top: Summary, bottom: Summary): Summary {
  return summarize(top.values.map((v, i) => v / bottom.values[i]!));
}

function table(r: Results): string {
  const rows: string[][] = [];
  const lt = r.loadTools;
  for (const t of lt.rows) {
    rows.push([
      '1 load driver',
      `${t.tool}: req/s`,
      formatSummary(t.rps),
      t.tool === 'wrk' ? '1 (reference)' : `${formatSummary(t.ratioToWrk, '', 2)} × wrk`,
      `server ${formatNumber(t.serverCore.median, 2)} core; ${t.errors} errors`,
    ]);
  }
  const p = r.page;
  rows.push([
    '2 local mesh',
    `Bookinfo page (gateway → productpage → details + reviews v3 → ratings): pages/s`,
    formatSummary(p.rps),
    '',
    `${p.connections} connections; page p50 ${formatNumber(p.p50Ms.median)} ms, p99 ${formatNumber(p.p99Ms.median)} ms; ${(p.fullChainShare * 100).toFixed(1)} % full chain`,
  ]);
  const h = r.hops;
  for (const q of ['p50', 'p99'] as const) {
    rows.push([
      '2 local mesh',
      `added latency per hop, ${q}: mesh proxy (gateway Router) / bare Node proxy`,
      `${formatSummary(h.addedMesh[q], 'ms')} / ${formatSummary(h.addedNode[q], 'ms')}`,
      `${formatNumber(h.addedMesh[q].median / h.addedNode[q].median, 2)} × Node proxy (ratio of medians)`,
      `${q} direct to the sidecar ${formatNumber(h.direct[q].median)} ms; ${h.requestsPerRun} sequential requests per path per run`,
    ]);
  }
  const v = r.verdict;
  rows.push([
    '3 time to verdict',
    `80/20 split, true 80/20 (pass): requests, sequential (mean)`,
    formatSummary(v.sequential8020),
    `fixed ${v.fixed.n} = ${formatSummary(summarize(v.sequential8020.values.map((s) => v.fixed.n / s)), '', 2)} × sequential`,
    `${v.sims} simulated runs per truth per run; ${(v.confidence * 100).toFixed(0)} %, ±${v.tolerancePoints} points, look every ${v.checkEvery}`,
  ]);
  rows.push([
    '3 time to verdict',
    `80/20 split, true 70/30 (fail): requests, sequential (mean)`,
    formatSummary(v.sequential7030),
    `fixed ${v.fixed.n} = ${formatSummary(summarize(v.sequential7030.values.map((s) => v.fixed.n / s)), '', 2)} × sequential`,
    `fixed-sample n exact (β = α = ${formatNumber(v.fixed.beta, 2)}); worst right-verdict share ${(v.worstCorrect * 100).toFixed(1)} %`,
  ]);
  const m = r.memory;
  rows.push([
    '4 memory',
    `peak RSS, ${m.records.toLocaleString('en-US')} responses through the Observation (classified)`,
    formatSummary(m.peakRssMb, 'MB'),
    `${formatSummary(ratioSummary(m.peakRssMb, m.baselineRssMb), '', 2)} × empty process`,
    `baseline ${formatNumber(m.baselineRssMb.median)} MB; ${formatNumber(m.seconds.median)} s to feed (${formatNumber((m.seconds.median / m.records) * 1e6)} µs each)`,
  ]);
  const c = r.catalogue;
  rows.push([
    '4 catalogue',
    `wall time, \`meshproof run experiments/bookinfo --quiet\` (${c.experiments} experiment${c.experiments === 1 ? '' : 's'})`,
    formatSummary(c.wallSeconds, 's'),
    '',
    `${c.runs} run${c.runs === 1 ? '' : 's'}, exit codes ${[...new Set(c.exitCodes)].join('/')}${c.note ? `; ${c.note}` : ''}`,
  ]);
  const header = ['Row', 'Measurement', `Median (min–max), ${RUNS} runs unless noted`, 'Ratio', 'Notes'];
  const line = (cells: string[]) => `| ${cells.map((x) => x.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function document(r: Results, markdownTable: string): string {
  const t = r.tools;
  const lt = r.loadTools;
  const busy = r.loadAverage.max > r.machine.cores;
  return `# meshproof benchmarks

Written by \`npm run bench\` (bench/run.ts) on ${r.date}; the whole run took ${Math.round(r.wallSeconds)} s. What each
row measures and how: [docs/benchmarks.md](../docs/benchmarks.md). Every number is the median of the runs with the
minimum and maximum in parentheses; ratios are taken run by run (same round) and then summarized.

**Machine:** ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGb} GB RAM; ${r.machine.os} (${r.machine.kernel});
Node ${r.machine.node}. **Tools:** ${t.wrk.version}; ${t.fortio.version}; ${t.k6.version}; autocannon ${r.autocannon};
trivial server ${t.trivialServer.version}.

**Load on the machine:** 1-minute load average ${formatNumber(r.loadAverage.start, 2)} at the start,
${formatNumber(r.loadAverage.end, 2)} at the end, at most ${formatNumber(r.loadAverage.max, 2)} between rows, on ${r.machine.cores} cores.
${busy ? 'Other work (other sessions running test suites) competed for the cores during this run, so absolute numbers are lower and noisier than on an idle machine; the ratios, taken within one round, are what to compare.' : 'The machine was otherwise nearly idle.'}

${markdownTable}

Row 1: ${lt.connections} connections, closed model, ${lt.seconds} s per run, ${lt.rounds} rounds with the tools interleaved
(order rotated each round). "server … core" is the trivial server's CPU time over the load time: below 1 the server
had spare capacity on its core, so the client was the limit.
`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const jsonOut = argv.includes('--json') ? argv[argv.indexOf('--json') + 1] : undefined;
  const write = !argv.includes('--no-write');
  const catalogueRuns = argv.includes('--catalogue-runs') ? Number(argv[argv.indexOf('--catalogue-runs') + 1]) : undefined;
  const loads: number[] = [loadAverage()];
  const load = () => loads.push(loadAverage());

  log('tools');
  const tools = ensureBenchTools();
  const { createRequire } = await import('node:module');
  const autocannonVersion = (createRequire(import.meta.url)('autocannon/package.json') as { version: string }).version;
  const machine = describeMachine();

  log('row 1: load drivers');
  const loadTools = await benchLoadTools(tools, { rounds: RUNS, log });
  load();
  log('row 2: per-hop latency');
  const hops = await benchHopLatency({ runs: RUNS, log });
  load();
  log('row 2: Bookinfo page throughput');
  const page = await benchPageThroughput({ runs: RUNS, log });
  load();
  log('row 3: time to verdict');
  const verdict = benchVerdictSpeed({ runs: RUNS, log });
  load();
  log('row 4: memory of a 1e6-request run');
  const memory = await benchMemory(page.sampleBody, { runs: RUNS, log });
  load();
  log('row 4: the Bookinfo catalogue');
  // The catalogue grows as experiments are added: it gets what is left of the budget, unless runs are asked for.
  const catalogue = await benchCatalogue(
    catalogueRuns === undefined ? { runs: RUNS, budgetSeconds: BUDGET_SECONDS - 15 - elapsed(), log } : { runs: catalogueRuns, log },
  );
  load();

  const results: Results = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    machine,
    tools,
    autocannon: autocannonVersion,
    loadAverage: { start: loads[0]!, end: loads.at(-1)!, max: Math.max(...loads) },
    wallSeconds: elapsed(),
    loadTools,
    page: { ...page, sampleBody: `(${page.sampleBody.length} characters)` },
    hops,
    verdict,
    memory,
    catalogue,
  };
  const markdownTable = table(results);
  console.log(markdownTable);
  if (write) {
    writeFileSync(join(repoRoot, 'bench', 'RESULTS.md'), document(results, markdownTable));
    log('wrote bench/RESULTS.md');
  }
  if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify(results, null, 2)}\n`);
  log(`done in ${elapsed().toFixed(0)} s`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
