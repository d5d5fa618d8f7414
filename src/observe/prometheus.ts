// Prometheus text exposition format: the same parser reads the local target's and a cluster's sidecar counters.
import type { CounterSample, Labels } from './types.ts';

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?\s*$/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/y;

function unescapeLabel(value: string): string {
  return value.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function parseLabels(text: string, line: string): Labels {
  const labels: Labels = {};
  labelPair.lastIndex = 0;
  let match: RegExpExecArray | null;
  while (labelPair.lastIndex < text.length && (match = labelPair.exec(text))) {
    const [, name = '', value = ''] = match; // both groups always take part in a match
    labels[name] = unescapeLabel(value);
  }
  if (labelPair.lastIndex !== text.length && text.trim() !== '') {
    throw new Error(`malformed labels in Prometheus line: ${line}`);
  }
  return labels;
}

/** Parse Prometheus text format into samples tagged with `proxy`. Comments and blank lines are skipped. */
export function parsePrometheusText(text: string, proxy: string): CounterSample[] {
  const samples: CounterSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [matched, name, , labelText, valueText] = sampleLine.exec(line) ?? [];
    if (matched === undefined || name === undefined) throw new Error(`malformed Prometheus line: ${line}`);
    const value = Number(valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : valueText);
    samples.push({ proxy, name, labels: labelText ? parseLabels(labelText, line) : {}, value });
  }
  return samples;
}

export function sampleKey(s: CounterSample): string {
  const labels = Object.keys(s.labels)
    .sort()
    .map((k) => `${k}=${s.labels[k]}`)
    .join(',');
  return `${s.proxy}|${s.name}|${labels}`;
}

/** after − before per series; series absent before count from 0; zero deltas are dropped. */
export function counterDelta(before: CounterSample[], after: CounterSample[]): CounterSample[] {
  const base = new Map(before.map((s) => [sampleKey(s), s.value]));
  const out: CounterSample[] = [];
  for (const s of after) {
    const d = s.value - (base.get(sampleKey(s)) ?? 0);
    if (d !== 0) out.push({ ...s, value: d });
  }
  return out;
}

/** Sum of samples named `name` whose labels include every pair of `where` (and proxy, when given). */
export function sumCounter(samples: CounterSample[], name: string, where: Labels = {}, proxy?: string): number {
  let total = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (proxy !== undefined && s.proxy !== proxy) continue;
    if (Object.entries(where).every(([k, v]) => s.labels[k] === v)) total += s.value;
  }
  return total;
}
