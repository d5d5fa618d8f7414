// bench/RESULTS.md from one run's numbers: the results table with the issues' aims, the machine, and the
// "Re-run agreement" section against the previous run (bench/compare.ts).
import { relative, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { compareResults } from './compare.ts';
import type { LoadToolsResult } from './load-tools.ts';
import type { Machine } from './machine.ts';
import type { CatalogueResult, DriverMemoryResult, MemoryResult } from './memory.ts';
import type { HopLatency, PageThroughput } from './mesh.ts';
import { repoRoot } from './process.ts';
import { formatNumber, formatSummary, summarize, type Summary } from './stats.ts';
import type { BenchTools } from './tools.ts';
import type { VerdictSpeed } from './verdict.ts';
import { must } from '../src/must.ts';

/** Whole-benchmark budget (issue 9: within 10 minutes on this machine). The catalogue row gets what is left. */
export const BUDGET_SECONDS = 600;
export const RUNS = 5;

// The issues' aims, checked on the medians (issue 3: mesh, issue 4: load, issue 5: verdicts, issue 9: the bench).
const AIM_PAGES_PER_SECOND = 1000;
const AIM_HOP_RATIO = 2;
/** Issue 18: at the expected split itself, expected requests ≤ 0.5 × the fixed-sample n (i.e. ≥ 2 × fewer). */
const AIM_FEWER_AT_EXPECTED = 2;
/** Issue 18: at a truth 15 points from the expected split, ≥ 10 × fewer requests than the fixed n. */
const AIM_FEWER_15_POINTS_OFF = 10;
const AIM_MEMORY_MB = 300;

export interface Results {
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
  driverMemory: DriverMemoryResult;
  catalogue: CatalogueResult;
}

/** "aim text: met" / "aim text: **not met**" */
function aim(text: string, met: boolean): string {
  return `${text}: ${met ? 'met' : '**not met**'}`;
}

function ratioSummary(top: Summary, bottom: Summary): Summary {
  return summarize(top.values.map((v, i) => v / must(bottom.values[i], `run ${i + 1} of the bottom row`)));
}

/** Row 1's lines of the table (also printed alone by `npm run bench -- --only load-tools`). */
export function loadToolRows(lt: LoadToolsResult): string[][] {
  const rows: string[][] = [];
  for (const t of lt.rows) {
    const toWrk = t.tool === 'wrk' ? '1 (reference)' : `${formatSummary(t.ratioToWrk, '', 2)} × wrk`;
    const o = t.overhead;
    rows.push([
      '1 load driver',
      `${t.tool}: req/s`,
      formatSummary(t.rps),
      o ? `${toWrk}; ${formatSummary(o.ratio, '', 2)} × ${o.reference}` : toWrk,
      o?.aimAtLeast !== undefined
        ? aim(`≥ ${o.aimAtLeast} × ${o.reference} (${o.aimSource})`, o.ratio.median >= o.aimAtLeast)
        : o
          ? 'no number in the issues'
          : '',
      `server ${formatNumber(t.serverCore.median, 2)} core; ${t.errors} errors`,
    ]);
  }
  return rows;
}

export function table(r: Results): string {
  return markdownTable([...loadToolRows(r.loadTools), ...otherRows(r)]);
}

/** A Markdown table of result rows under the bench's column headers. */
export function markdownTable(rows: string[][]): string {
  const header = ['Row', 'Measurement', `Median (min–max), ${RUNS} runs unless noted`, 'Ratio', 'Aim (median)', 'Notes'];
  const line = (cells: string[]) => `| ${cells.map((x) => x.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function otherRows(r: Results): string[][] {
  const rows: string[][] = [];
  const p = r.page;
  rows.push([
    '2 local mesh',
    `Bookinfo page (gateway → productpage → details + reviews v3 → ratings): pages/s`,
    formatSummary(p.rps),
    '',
    aim(`≥ ${AIM_PAGES_PER_SECOND.toLocaleString('en-US')} pages/s (issue 3)`, p.rps.median >= AIM_PAGES_PER_SECOND),
    `${p.connections} connections; page p50 ${formatNumber(p.p50Ms.median)} ms, p99 ${formatNumber(p.p99Ms.median)} ms; ${(p.fullChainShare * 100).toFixed(1)} % full chain`,
  ]);
  const h = r.hops;
  for (const q of ['p50', 'p99'] as const) {
    const ratio = h.addedMesh[q].median / h.addedNode[q].median;
    rows.push([
      '2 local mesh',
      `added latency per hop, ${q}: mesh proxy (the ingress gateway's Router, not a sidecar's outbound listener) / bare Node proxy`,
      `${formatSummary(h.addedMesh[q], 'ms')} / ${formatSummary(h.addedNode[q], 'ms')}`,
      `${formatNumber(ratio, 2)} × Node proxy (ratio of medians)`,
      aim(`≤ ${AIM_HOP_RATIO} × Node proxy (issue 3)`, ratio <= AIM_HOP_RATIO),
      `${q} direct to the sidecar ${formatNumber(h.direct[q].median)} ms; ${h.requestsPerRun} sequential requests per path per run`,
    ]);
  }
  const v = r.verdict;
  const fewer8020 = summarize(v.sequential8020.values.map((s) => v.fixed.n / s));
  const fewer7030 = summarize(v.sequential7030.values.map((s) => v.fixed.n / s));
  const fewer6535 = summarize(v.sequential6535.values.map((s) => v.fixed.n / s));
  const fewer9505 = summarize(v.sequential9505.values.map((s) => v.fixed.n / s));
  const fewerAim = (fewer: typeof fewer8020, atLeast: number, where: string) =>
    aim(`≥ ${atLeast} × fewer requests than fixed ${where} (issue 18)`, fewer.median >= atLeast);
  const verdictRow = (truth: string, outcome: string, sequential: Summary, fewer: Summary, aimText: string, note: string) =>
    rows.push([
      '3 time to verdict',
      `80/20 split, true ${truth} (${outcome}): requests, sequential (mean)`,
      formatSummary(sequential),
      `fixed ${v.fixed.n} = ${formatSummary(fewer, '', 2)} × sequential`,
      aimText,
      note,
    ]);
  const wald = (bound: number, best: number) =>
    `Wald's bound for any sequential test ${formatNumber(bound)} requests (at most ${formatNumber(best, 2)} × fewer)`;
  verdictRow(
    '80/20',
    'pass',
    v.sequential8020,
    fewer8020,
    fewerAim(fewer8020, AIM_FEWER_AT_EXPECTED, 'at the expected split'),
    `${v.sims} simulated runs per truth per run; ${(v.confidence * 100).toFixed(0)} %, ±${v.tolerancePoints} points, look every ${v.checkEvery}; ${wald(v.waldBound.truth8020, v.waldBound.bestRatio8020)}`,
  );
  verdictRow(
    '70/30',
    'fail',
    v.sequential7030,
    fewer7030,
    'no number in the issues',
    `fixed-sample n exact (β = α = ${formatNumber(v.fixed.beta, 2)}); worst right-verdict share ${(v.worstCorrect * 100).toFixed(1)} %; ${wald(v.waldBound.truth7030, v.waldBound.bestRatio7030)}`,
  );
  verdictRow(
    '65/35',
    'fail',
    v.sequential6535,
    fewer6535,
    fewerAim(fewer6535, AIM_FEWER_15_POINTS_OFF, '15 points off'),
    wald(v.waldBound.truth6535, v.waldBound.bestRatio6535),
  );
  verdictRow(
    '95/5',
    'fail',
    v.sequential9505,
    fewer9505,
    fewerAim(fewer9505, AIM_FEWER_15_POINTS_OFF, '15 points off'),
    wald(v.waldBound.truth9505, v.waldBound.bestRatio9505),
  );
  const m = r.memory;
  rows.push([
    '4 memory',
    `peak RSS, ${m.records.toLocaleString('en-US')} synthetic responses (Bookinfo pages) fed to the Observation (classified)`,
    formatSummary(m.peakRssMb, 'MB'),
    `${formatSummary(ratioSummary(m.peakRssMb, m.baselineRssMb), '', 2)} × empty process`,
    m.records === 1_000_000 ? aim(`< ${AIM_MEMORY_MB} MB for 1,000,000 requests (issue 4)`, m.peakRssMb.max < AIM_MEMORY_MB) : '',
    `baseline ${formatNumber(m.baselineRssMb.median)} MB; ${formatNumber(m.seconds.median)} s to feed (${formatNumber((m.seconds.median / m.records) * 1e6)} µs each)`,
  ]);
  const d = r.driverMemory;
  rows.push([
    '4 memory',
    `peak RSS, ${d.requests.toLocaleString('en-US')} real requests: autocannon driver → trivial loopback server, classified into the Observation`,
    formatSummary(d.peakRssMb, 'MB'),
    `${formatSummary(ratioSummary(d.peakRssMb, d.beforeLoadRssMb), '', 2)} × before the load`,
    '',
    `${d.requests.toLocaleString('en-US')} requests per run as run (not extrapolated); ${d.connections} connections, ${formatSummary(d.rps)} req/s; before the load ${formatNumber(d.beforeLoadRssMb.median)} MB; ${d.errors} errors`,
  ]);
  const c = r.catalogue;
  rows.push([
    '4 catalogue',
    `wall time, \`meshproof run experiments/bookinfo --quiet\` (${c.experiments} experiment${c.experiments === 1 ? '' : 's'} from ${c.files} file${c.files === 1 ? '' : 's'}, sweeps expanded)`,
    formatSummary(c.wallSeconds, 's'),
    '',
    '',
    `${c.runs} run${c.runs === 1 ? '' : 's'}, exit codes ${[...new Set(c.exitCodes)].join('/')}${c.note ? `; ${c.note}` : ''}`,
  ]);
  return rows;
}

export interface Previous {
  /** Where the previous run's numbers were read from (shown relative to the repository). */
  file: string;
  results: Partial<Results>;
}

/** The "Re-run agreement" section: this run against the previous one, number by number (bench/compare.ts). */
function agreement(r: Results, previous: Previous | undefined): string {
  if (!previous) {
    return `## Re-run agreement

No previous run to compare with (no bench/results.json when this run started, and no \`--compare\`). The next
\`npm run bench\` compares itself with this run's bench/results.json.
`;
  }
  const c = compareResults(previous.results, r);
  const p = previous.results;
  const when = p.date
    ? ` (written ${p.date}${p.wallSeconds ? `, ${Math.round(p.wallSeconds)} s` : ''}${p.loadAverage ? `, load average ${formatNumber(p.loadAverage.start, 2)}–${formatNumber(p.loadAverage.max, 2)}` : ''})`
    : '';
  const verdict =
    c.disjoint.length === 0
      ? `All ${c.compared} summarized numbers have overlapping min–max ranges.`
      : `${c.compared - c.disjoint.length} of ${c.compared} summarized numbers have overlapping min–max ranges; disjoint: ${c.disjoint.map((x) => `\`${x}\``).join(', ')}.`;
  const unmatched = c.unmatched.length
    ? `\n\nIn only one of the two runs (rows added or removed between them): ${c.unmatched.map((x) => `\`${x}\``).join(', ')}.`
    : '';
  return `## Re-run agreement

Written by \`npm run bench\`: this run ("second") compared with the previous one ("first"), ${previous.file}${when}, by
bench/compare.ts. A number agrees when the two runs' min–max ranges overlap. ${verdict}${unmatched}

${c.table}
`;
}

export function resultsDocument(r: Results, markdownTable: string, previous: Previous | undefined): string {
  const t = r.tools;
  const lt = r.loadTools;
  const busy = r.loadAverage.max > r.machine.cores;
  return `# meshproof benchmarks

Written by \`npm run bench\` (bench/run.ts) on ${r.date}; the whole run took ${Math.round(r.wallSeconds)} s
(${aim(`aim: within ${BUDGET_SECONDS} s, issue 9`, r.wallSeconds <= BUDGET_SECONDS)}). What each row measures and how:
[docs/benchmarks.md](../docs/benchmarks.md). Every number is the median of the runs with the minimum and maximum in
parentheses; ratios are taken run by run (same round) and then summarized. The raw numbers are in
[results.json](results.json).

**Machine:** ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGb} GB RAM; ${r.machine.os} (${r.machine.kernel});
Node ${r.machine.node}. **Tools:** ${t.wrk.version}; ${t.fortio.version}; ${t.k6.version}; autocannon ${r.autocannon};
trivial server ${t.trivialServer.version}.

**Load on the machine:** 1-minute load average ${formatNumber(r.loadAverage.start, 2)} at the start,
${formatNumber(r.loadAverage.end, 2)} at the end, at most ${formatNumber(r.loadAverage.max, 2)} between rows, on ${r.machine.cores} cores.
${busy ? 'Other work (other sessions running test suites) competed for the cores during this run, so absolute numbers are lower and noisier than on an idle machine; the ratios, taken within one round, are what to compare.' : 'The machine was otherwise nearly idle.'}

${markdownTable}

Row 1: ${lt.connections} connections, closed model, ${lt.seconds} s per run, ${lt.rounds} rounds with the tools interleaved
(order rotated each round). "server … core" is the trivial server's CPU time over the load time: below 1 the server
had spare capacity on its core, so the client was the limit. A meshproof driver's second ratio is to the raw tool it
drives, in the same rounds: what meshproof's per-response work (classification, the Observation) costs.

${sandboxRowsNote}

${verdictCurveSection(r.verdict)}

${agreement(r, previous)}`;
}

/** Where the containerless cluster's rows are (issue 18 item 5): their own command, outside this run's 10 minutes. */
const sandboxRowsNote = `The containerless cluster's rows — sandbox start to ready, each process's memory, a VirtualService applied
through the real API server until istiod's push is ACKed, the catalogue on the kube target — are in
[SANDBOX.md](SANDBOX.md), written by \`npm run bench:sandbox\` (about 5 minutes: five cluster start-ups and two catalogue
runs, beyond this run's 10-minute budget).`;

/** Row 3's curve: a table of the points and the plot (bench/verdict-curve.svg, written with this document). */
function verdictCurveSection(v: VerdictSpeed): string {
  const lines = v.curve.points.map(
    (p) =>
      `| ${(p.truth * 100).toFixed(1)} % | ${formatNumber(p.sequential.meanRequests)} | ${formatNumber(v.fixed.n / p.sequential.meanRequests, 2)} × | ${(p.sequential.pass * 100).toFixed(1)} % / ${(p.sequential.fail * 100).toFixed(1)} % / ${(p.sequential.inconclusive * 100).toFixed(1)} % |`,
  );
  return `Row 3, expected requests against the truth (${v.curve.sims} seeded runs per truth, looks every ${v.checkEvery}, budget ${v.curve.budget.toLocaleString('en-US')}; the fixed design needs ${v.fixed.n.toLocaleString('en-US')} at every truth). A truth on a band edge (15 %, 25 %) can never be decided; near an edge the sequential test needs more than the fixed design, which there gives a verdict that is often wrong or inconclusive instead.

![expected requests to a verdict against the truth](verdict-curve.svg)

| true v3 share | requests (mean) | fixed n / sequential | pass / fail / budget spent |
|---|---|---|---|
${lines.join('\n')}`;
}

export function readPrevious(file: string): Previous {
  const inRepo = relative(repoRoot, resolve(file));
  return { file: inRepo && !inRepo.startsWith('..') ? inRepo : resolve(file), results: JSON.parse(readFileSync(file, 'utf8')) as Partial<Results> };
}
