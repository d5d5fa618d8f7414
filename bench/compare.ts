// Do two benchmark runs agree within noise? Compares every summarized number of two `npm run bench -- --json` files:
//   node --import tsx bench/compare.ts first.json second.json
// A number agrees when the two runs' min–max ranges overlap; the relative difference of the medians is printed too.
import { readFileSync } from 'node:fs';
import type { Summary } from './stats.ts';

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

const [a, b] = process.argv.slice(2).map((file) => summaries(JSON.parse(readFileSync(file!, 'utf8')), '', new Map()));
if (!a || !b) throw new Error('usage: bench/compare.ts first.json second.json');
let disagree = 0;
console.log('| number | first | second | difference of medians | ranges overlap |');
console.log('| --- | --- | --- | --- | --- |');
const fmt = (s: Summary) => `${s.median.toPrecision(3)} (${s.min.toPrecision(3)}–${s.max.toPrecision(3)})`;
for (const [path, first] of a) {
  const second = b.get(path);
  if (!second) continue;
  const overlap = first.min <= second.max && second.min <= first.max;
  if (!overlap) disagree++;
  const diff = first.median === 0 ? 0 : (second.median - first.median) / Math.abs(first.median);
  console.log(`| ${path} | ${fmt(first)} | ${fmt(second)} | ${(diff * 100).toFixed(0)} % | ${overlap ? 'yes' : '**no**'} |`);
}
console.log(`\n${disagree} of ${a.size} numbers have disjoint ranges.`);
