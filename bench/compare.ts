// Do two benchmark runs agree within noise? Compares every summarized number of two results files (what
// `npm run bench` saves as bench/results.json, or writes with `--json`). `npm run bench` appends this comparison to
// bench/RESULTS.md itself (against bench/results.json of the previous run, or `--compare <file>`); by hand:
//   node --import tsx bench/compare.ts first.json second.json
// A number agrees when the two runs' min–max ranges overlap; the relative difference of the medians is printed too.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Summary } from './stats.ts';

export interface Comparison {
  /** The Markdown table, one row per number both runs have. */
  table: string;
  compared: number;
  /** Numbers whose min–max ranges do not overlap. */
  disjoint: string[];
  /** Numbers only one of the runs has (a row added or removed between them). */
  unmatched: string[];
}

function isSummary(x: unknown): x is Summary {
  return typeof x === 'object' && x !== null && 'median' in x && 'min' in x && 'max' in x && 'values' in x;
}

/** Every Summary in a results object, by its path (rows of row 1 named by their tool). */
function summaries(node: unknown, path: string, out: Map<string, Summary>): Map<string, Summary> {
  if (isSummary(node)) out.set(path, node);
  else if (Array.isArray(node)) node.forEach((x, i) => summaries(x, `${path}.${(x as { tool?: string }).tool ?? i}`, out));
  else if (typeof node === 'object' && node !== null) for (const [k, v] of Object.entries(node)) summaries(v, path ? `${path}.${k}` : k, out);
  return out;
}

export function compareResults(firstResults: unknown, secondResults: unknown): Comparison {
  const a = summaries(firstResults, '', new Map());
  const b = summaries(secondResults, '', new Map());
  const fmt = (s: Summary) => `${s.median.toPrecision(3)} (${s.min.toPrecision(3)}–${s.max.toPrecision(3)})`;
  const lines = ['| number | first | second | difference of medians | ranges overlap |', '| --- | --- | --- | --- | --- |'];
  const disjoint: string[] = [];
  for (const [path, first] of a) {
    const second = b.get(path);
    if (!second) continue;
    const overlap = first.min <= second.max && second.min <= first.max;
    if (!overlap) disjoint.push(path);
    const diff = first.median === 0 ? 0 : (second.median - first.median) / Math.abs(first.median);
    lines.push(`| ${path} | ${fmt(first)} | ${fmt(second)} | ${(diff * 100).toFixed(0)} % | ${overlap ? 'yes' : '**no**'} |`);
  }
  const unmatched = [...[...a.keys()].filter((k) => !b.has(k)), ...[...b.keys()].filter((k) => !a.has(k))];
  return { table: lines.join('\n'), compared: lines.length - 2, disjoint, unmatched };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = process.argv.slice(2);
  if (files.length !== 2) throw new Error('usage: bench/compare.ts first.json second.json');
  const [first, second] = files.map((file) => JSON.parse(readFileSync(file, 'utf8')) as unknown);
  const c = compareResults(first, second);
  console.log(c.table);
  console.log(`\n${c.disjoint.length} of ${c.compared} numbers have disjoint ranges.`);
}
