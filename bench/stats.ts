// Summaries of repeated measurements: median with min–max, and the formatting the results table uses.
import { elementAt } from '../src/must.ts';

export interface Summary {
  runs: number;
  median: number;
  min: number;
  max: number;
  values: number[];
}

export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const [min] = sorted;
  const max = sorted.at(-1);
  if (min === undefined || max === undefined) throw new Error('no measurements to summarize');
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? elementAt(sorted, mid) : (elementAt(sorted, mid - 1) + elementAt(sorted, mid)) / 2;
  return { runs: values.length, median, min, max, values };
}

/** Relative spread (max − min) / median, to say whether two runs agree within noise. */
export function spread(s: Summary): number {
  return s.median === 0 ? 0 : (s.max - s.min) / Math.abs(s.median);
}

/** Significant digits that suit a value of this size (1,234 / 12.3 / 1.23 / 0.123). */
export function formatNumber(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs === 0) return '0';
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(abs)));
  return value.toFixed(Math.min(decimals, 4));
}

/** "1,234 (1,100–1,300)" */
export function formatSummary(s: Summary, unit = '', digits = 3): string {
  const u = unit ? ` ${unit}` : '';
  if (s.min === s.max) return `${formatNumber(s.median, digits)}${u}`;
  return `${formatNumber(s.median, digits)}${u} (${formatNumber(s.min, digits)}–${formatNumber(s.max, digits)})`;
}
