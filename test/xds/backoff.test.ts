import { describe, expect, it } from 'vitest';
import { BackOff } from '../../src/xds/backoff.ts';

describe('BackOff: full jitter under a doubling ceiling', () => {
  it('the ceiling doubles from the base up to the cap; the wait is random below it', () => {
    const ceilings: number[] = [];
    const b = new BackOff({ baseMs: 500, maxMs: 4000, random: () => 0.999999 });
    for (let i = 0; i < 6; i++) ceilings.push(b.next() + 1);
    expect(ceilings).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
  });

  it('reset starts again from the base', () => {
    const b = new BackOff({ baseMs: 500, maxMs: 4000, random: () => 0.5 });
    b.next();
    b.next();
    b.reset();
    expect(b.next()).toBe(250);
  });
});
