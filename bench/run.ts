// `npm run bench`: builds/installs what it needs (bench/tools.ts), runs the four benchmark rows of issue 9, prints
// one Markdown table and writes it with the machine's description to bench/RESULTS.md.
// Every run also saves its raw numbers as bench/results.json, and RESULTS.md ends with a "Re-run agreement" section
// comparing this run with the previous one (bench/compare.ts): the bench/results.json found at the start, or --compare.
//   npm run bench                      everything (about 8 minutes on the 2-core machine)
//   npm run bench -- --compare old.json   compare with that run instead of the previous bench/results.json
//   npm run bench -- --json out.json   also write the raw numbers there
//   npm run bench -- --no-write        print only (leave bench/RESULTS.md and bench/results.json alone)
//   npm run bench -- --catalogue-runs 5   exactly 5 catalogue runs, even past the 10-minute budget
//   npm run bench -- --driver-memory-requests 200000   requests per run of the real-path memory row (default 100,000)
//   npm run bench -- --only load-tools   row 1 alone, printed with the machine's load (writes no RESULTS.md/results.json;
//                                        --json still writes its numbers)
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { autocannonVersion, benchLoadTools } from './load-tools.ts';
import { describeMachine, loadAverage } from './machine.ts';
import { benchCatalogue, benchDriverMemory, benchMemory } from './memory.ts';
import { benchHopLatency, benchPageThroughput } from './mesh.ts';
import { repoRoot } from './process.ts';
import { BUDGET_SECONDS, loadToolRows, markdownTable, readPrevious, resultsDocument, RUNS, table, type Results } from './results-doc.ts';
import { ensureBenchTools } from './tools.ts';
import { benchVerdictSpeed } from './verdict.ts';
import { verdictCurveSvg } from './verdict-curve-svg.ts';

const RESULTS_MD = join(repoRoot, 'bench', 'RESULTS.md');
const VERDICT_CURVE_SVG = join(repoRoot, 'bench', 'verdict-curve.svg');
/** The raw numbers of the last run, committed with RESULTS.md: the next run compares itself with them. */
const RESULTS_JSON = join(repoRoot, 'bench', 'results.json');

const started = performance.now();
const elapsed = () => (performance.now() - started) / 1000;
const log = (m: string) => console.error(`[bench ${elapsed().toFixed(0).padStart(3)} s] ${m}`);

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const jsonOut = argv.includes('--json') ? argv[argv.indexOf('--json') + 1] : undefined;
  const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined;
  if (only !== undefined && only !== 'load-tools') throw new Error(`--only ${only}: the only row that runs alone is load-tools`);
  const write = !argv.includes('--no-write');
  const catalogueRuns = argv.includes('--catalogue-runs') ? Number(argv[argv.indexOf('--catalogue-runs') + 1]) : undefined;
  const driverMemoryRequests = argv.includes('--driver-memory-requests') ? Number(argv[argv.indexOf('--driver-memory-requests') + 1]) : undefined;
  const compareWith = argv.includes('--compare') ? argv[argv.indexOf('--compare') + 1] : existsSync(RESULTS_JSON) ? RESULTS_JSON : undefined;
  // Read before anything runs: this run overwrites bench/results.json.
  const previous = compareWith ? readPrevious(compareWith) : undefined;
  const first = loadAverage();
  const loads: number[] = [first];
  const load = () => loads.push(loadAverage());
  const loadSpan = () => ({ start: first, end: loads.at(-1) ?? first, max: Math.max(...loads) });

  log('tools');
  const tools = ensureBenchTools();
  const machine = describeMachine();

  log('row 1: load drivers');
  const loadTools = await benchLoadTools(tools, { rounds: RUNS, log });
  load();
  if (only === 'load-tools') {
    const loadAverages = loadSpan();
    console.log(markdownTable(loadToolRows(loadTools)));
    console.log(`\n${machine.cores} core(s); load average (1 min) ${loadAverages.start} at the start, ${loadAverages.end} at the end`);
    if (jsonOut)
      writeFileSync(jsonOut, `${JSON.stringify({ date: new Date().toISOString(), machine, tools, loadAverage: loadAverages, loadTools }, null, 2)}\n`);
    log(`done in ${elapsed().toFixed(0)} s`);
    return;
  }
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
  log('row 4: memory of real requests through the autocannon driver');
  const driverMemory = await benchDriverMemory(tools.trivialServer.path, {
    runs: RUNS,
    log,
    ...(driverMemoryRequests ? { requests: driverMemoryRequests } : {}),
  });
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
    autocannon: autocannonVersion(),
    loadAverage: loadSpan(),
    wallSeconds: elapsed(),
    loadTools,
    page: { ...page, sampleBody: `(${page.sampleBody.length} characters)` },
    hops,
    verdict,
    memory,
    driverMemory,
    catalogue,
  };
  const resultsTable = table(results);
  console.log(resultsTable);
  const json = `${JSON.stringify(results, null, 2)}\n`;
  if (write) {
    writeFileSync(RESULTS_MD, resultsDocument(results, resultsTable, previous));
    const v = results.verdict;
    // The expected 80/20 split's v3 share, ± the tolerance the row judged with.
    const band = { lower: 0.2 - v.tolerancePoints / 100, upper: 0.2 + v.tolerancePoints / 100 };
    writeFileSync(VERDICT_CURVE_SVG, verdictCurveSvg({ ...v.curve, fixedN: v.fixed.n, band, checkEvery: v.checkEvery }));
    writeFileSync(RESULTS_JSON, json);
    log(`wrote bench/RESULTS.md and bench/results.json${previous ? ` (compared with ${previous.file})` : ''}`);
  }
  if (jsonOut) writeFileSync(jsonOut, json);
  log(`done in ${elapsed().toFixed(0)} s`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
