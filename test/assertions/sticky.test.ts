// sticky: each group's share to its most common value, judged with a Bonferroni correction over every value the
// groups showed (the value is chosen after looking), every group against the lower bound.
import { describe, expect, it } from 'vitest';
import { judge } from '../../src/assertions/index.ts';
import type { StickyDetails } from '../../src/assertions/sticky.ts';
import type { StickyExpectation } from '../../src/spec/types.ts';
import { contextOf, source } from './context.ts';
import { FakeObservation } from './fake-observation.ts';
import { binomialAllowance, rates, SIMS } from './calibration-helpers.ts';
import type { SeededRandom } from '../../src/assertions/stats/simulate.ts';

const sticky = (min: number, extra: Partial<StickyExpectation> = {}): StickyExpectation => ({
  kind: 'sticky',
  title: 'pod sticky per request',
  source,
  confidence: 0.99,
  of: 'pod',
  by: 'request',
  ratio: { min },
  ...extra,
});

describe('sticky', () => {
  it('passes when each group went to one pod, naming the pod of each group', () => {
    const obs = FakeObservation.fromCounts([
      [{ request: 'alice', pod: 'p1' }, 800],
      [{ request: 'bob', pod: 'p2' }, 800],
    ]);
    const v = judge(sticky(0.98), contextOf(obs));
    expect(v.outcome).toBe('pass');
    expect(v.observed).toBe(1);
    expect((v.details as StickyDetails).groups.map((g) => [g.group, g.value, g.count, g.responses])).toEqual([
      ['alice', 'p1', 800, 800],
      ['bob', 'p2', 800, 800],
    ]);
    expect(v.explanation).toMatch(/alice: 100\.0 % .* of 800 responses to pod p1; bob: .* to pod p2/);
  });

  it('fails when a group is split (round robin over three pods), naming it', () => {
    const obs = FakeObservation.fromCounts([
      [{ request: 'alice', pod: 'p1' }, 800],
      [{ request: 'bob', pod: 'p1' }, 270],
      [{ request: 'bob', pod: 'p2' }, 265],
      [{ request: 'bob', pod: 'p3' }, 265],
    ]);
    const v = judge(sticky(0.98), contextOf(obs));
    expect(v.outcome).toBe('fail');
    expect(v.explanation).toMatch(/bob does not/);
    expect((v.details as StickyDetails).comparisons).toBe(4);
  });

  it('is inconclusive with too few responses to clear the bound, and with none', () => {
    const few = FakeObservation.fromCounts([[{ request: 'alice', pod: 'p1' }, 100]]);
    expect(judge(sticky(0.99), contextOf(few)).outcome).toBe('inconclusive');
    expect(judge(sticky(0.99), contextOf(FakeObservation.fromCounts([[{ status: '200' }, 10]]))).outcome).toBe('inconclusive');
  });

  it('the choice of the most common value is paid for: more values seen widen every interval (Bonferroni)', () => {
    const one = FakeObservation.fromCounts([[{ request: 'a', pod: 'p1' }, 400]]);
    const noisy = FakeObservation.fromCounts([
      [{ request: 'a', pod: 'p1' }, 400],
      [{ request: 'b', pod: 'p1' }, 1],
      [{ request: 'b', pod: 'p2' }, 1],
      [{ request: 'b', pod: 'p3' }, 1],
    ]);
    const lower = (o: FakeObservation) => (judge(sticky(0.9), contextOf(o)).interval as [number, number])[0];
    expect(lower(noisy)).toBeLessThan(lower(one));
  });
});

describe('sticky calibration (seeded, 1,000 runs per case, exact binomial allowance)', () => {
  const judgeCounts = (groups: number[][], min: number) => {
    const rows: [Record<string, string>, number][] = [];
    groups.forEach((counts, g) => counts.forEach((n, i) => rows.push([{ request: `u${g}`, pod: `p${i}` }, n])));
    return judge(sticky(min), contextOf(FakeObservation.fromCounts(rows))).outcome;
  };
  const simulate = (probs: number[][], n: number, min: number) => (rng: SeededRandom) => ({
    outcome: judgeCounts(
      probs.map((p) => rng.multinomial(n, p)),
      min,
    ),
    requests: n * probs.length,
  });

  it('a truth just below the bound (one user at 97 % on its pod, bound 98 %) passes at most 1 % of runs', () => {
    const r = rates(
      41,
      SIMS,
      simulate(
        [
          [1, 0, 0],
          [0.97, 0.02, 0.01],
        ],
        800,
        0.98,
      ),
    );
    expect(r.pass * SIMS).toBeLessThanOrEqual(binomialAllowance(SIMS, 0.01));
  });

  it('a truth just above it (every user at 99.9 %) fails at most 1 % of runs, and mostly passes', () => {
    const r = rates(
      43,
      SIMS,
      simulate(
        [
          [0.999, 0.001, 0],
          [0.999, 0, 0.001],
        ],
        800,
        0.98,
      ),
    );
    expect(r.fail * SIMS).toBeLessThanOrEqual(binomialAllowance(SIMS, 0.01));
    expect(r.pass).toBeGreaterThan(0.9);
  });
});
