// Numbers as verdicts print them: thousands separators, percentages with sensible decimals, ms, p-values.

/** 2000 → "2,000" (no locale data involved, so output is the same on every machine). */
export function formatCount(n: number): string {
  const sign = n < 0 ? '-' : '';
  const [int = '', frac] = String(Math.abs(n)).split('.');
  return sign + int.replace(/\B(?=(\d{3})+(?!\d))/g, ',') + (frac ? `.${frac}` : '');
}

/**
 * Decimals for a percentage and the values shown beside it: one decimal, more only when the share is so close to
 * 0 or 100 % that one decimal would round it to the edge (under 0.1 %: two, under 0.01 %: three). A share of
 * exactly 0 or 100 % takes its decimals from the nearest other value (its interval's inner end).
 */
export function percentDecimals(share: number, others: number[] = []): number {
  const distance = (s: number) => Math.min(s, 1 - s);
  let d = distance(share);
  if (d <= 0) d = Math.min(...others.map(distance).filter((x) => x > 0), Infinity);
  if (d < 0.0001) return 3;
  if (d < 0.001) return 2;
  return 1;
}

/** 0.194 → "19.4" (no unit). */
export function percentNumber(share: number, decimals: number): string {
  return (share * 100).toFixed(decimals);
}

/** A share with its interval: "19.4 % (99 % interval 17.9–21.0 %)". */
export function formatShareWithInterval(share: number, interval: [number, number], label: string): string {
  const d = percentDecimals(share, interval);
  return `${percentNumber(share, d)} % (${label} ${percentNumber(interval[0], d)}–${percentNumber(interval[1], d)} %)`;
}

/** A number with at most `maxDecimals` decimals, trailing zeros dropped: 5 → "5", 2.50 → "2.5". */
export function trimmed(value: number, maxDecimals = 2): string {
  return formatCount(Number(value.toFixed(maxDecimals)));
}

/** A share given as a bound, in percent without unit: 0.2 → "20", 0.125 → "12.5". */
export function percentValue(share: number): string {
  return trimmed(share * 100, 3);
}

/** 0.99 → "99 %", 0.999 → "99.9 %". */
export function formatConfidence(confidence: number): string {
  return `${trimmed(confidence * 100, 3)} %`;
}

/** 412.3 → "412 ms", 3.42 → "3.4 ms", 7012 → "7.01 s", 60000 → "60 s". */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return `${ms} ms`;
  if (Math.abs(ms) >= 1000) return `${trimmed(ms / 1000, 2)} s`;
  return `${Math.abs(ms) < 10 ? trimmed(ms, 1) : formatCount(Math.round(ms))} ms`;
}

/** p-values with two significant digits; tiny ones as "< 0.0001". */
export function formatPValue(p: number): string {
  if (p < 0.0001) return '< 0.0001';
  return String(Number(p.toPrecision(2)));
}

/** "1 request", "2,000 requests". */
/** The population a `where` selects, after a count: " with request=jason" (nothing without a filter). */
export function whereText(where: Record<string, string> | undefined): string {
  if (!where || Object.keys(where).length === 0) return '';
  return ` with ${Object.entries(where)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')}`;
}

export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${formatCount(n)} ${n === 1 ? noun : nouns}`;
}
