import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/spec/units.ts';

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['0.5s', 500],
    [3, 3000],
  ])('%s is %d ms', (input, ms) => expect(parseDuration(input)).toBe(ms));

  it.each(['', '5', 'ten seconds', '-1s', '5 s', '1d', null, -2])('%s is rejected', (input) => {
    expect(parseDuration(input)).toBeUndefined();
  });

  it('formats back', () => {
    expect(formatDuration(500)).toBe('500ms');
    expect(formatDuration(1500)).toBe('1.5s');
    expect(formatDuration(120_000)).toBe('2m');
  });
});
