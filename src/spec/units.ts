// Units as users write them: durations (500ms, 30s, 2m, 1h, 1.5s) and rates.

const durationPattern = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const isUnit = (unit: string | undefined): unit is keyof typeof factor => unit !== undefined && Object.hasOwn(factor, unit);

/** Milliseconds of a duration string such as `500ms`, `30s`, `2m`; a bare number is seconds. Returns undefined if malformed. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  if (typeof value !== 'string') return undefined;
  const [, amount, unit] = durationPattern.exec(value.trim()) ?? [];
  if (amount === undefined || !isUnit(unit)) return undefined;
  return Number(amount) * factor[unit];
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(2)}s`;
  return `${+(ms / 60_000).toFixed(2)}m`;
}
