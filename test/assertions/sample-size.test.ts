// How many requests a verdict needs (issue: the user's journey, item 2): the exact chance of a conclusive verdict, the
// request count for a 90 % chance, `validate`'s plan against the load, and the estimate in an inconclusive verdict.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chanceConclusive, requestsFor } from '../../src/assertions/stats/sample-size.ts';
import { shareInterval } from '../../src/assertions/stats/share.ts';
import { placeInterval } from '../../src/assertions/stats/band.ts';
import { seededRandom } from '../../src/assertions/stats/simulate.ts';
import { planSampleSizes } from '../../src/assertions/plan.ts';
import { judgeDistribution } from '../../src/assertions/distribution.ts';
import { loadExperimentText } from '../../src/spec/load.ts';
import { contextOf } from './context.ts';
import { FakeObservation } from './fake-observation.ts';
import { tempDir } from '../support/temp-dir.ts';

const fixed = { confidence: 0.99, comparisons: 1, sequential: false };
const split = { lower: 0.75, upper: 0.85 };

describe('chance of a conclusive verdict', () => {
  it('max 0.1 % with no failures: Clopper–Pearson upper end 1 − 0.005^(1/n) ≤ 0.001 first at n = ⌈ln 0.005 / ln 0.999⌉ = 5,296', () => {
    expect(Math.ceil(Math.log(0.005) / Math.log(0.999))).toBe(5296);
    expect(requestsFor(0, { upper: 0.001 }, fixed)).toBe(5296);
    expect(chanceConclusive(0, 5295, { upper: 0.001 }, fixed)).toBe(0);
    expect(chanceConclusive(0, 5296, { upper: 0.001 }, fixed)).toBe(1);
  });

  it('agrees with a seeded simulation of the verdict itself (80/20 split, ± 5 points, 99 %)', () => {
    const n = requestsFor(0.8, split, fixed)!;
    expect(n).toBeGreaterThan(1000);
    expect(n).toBeLessThan(1400);
    const rng = seededRandom(42);
    const sims = 2000;
    for (const [truth, size] of [
      [0.8, n],
      [0.77, 600],
      [0.86, 900],
    ] as const) {
      const chance = chanceConclusive(truth, size, split, fixed);
      let conclusive = 0;
      for (let s = 0; s < sims; s++) {
        const k = rng.binomial(size, truth);
        const placement = placeInterval(shareInterval(k, size, { ...fixed, band: split }).interval, split);
        if (placement === 'inside' || placement === 'below' || placement === 'above') conclusive++;
      }
      // 4 standard errors of a simulated share of 2,000: the exact chance and the simulation must agree.
      const se = Math.sqrt((chance * (1 - chance)) / sims);
      expect(Math.abs(conclusive / sims - chance), `truth ${truth}, n ${size}`).toBeLessThanOrEqual(4 * se + 1e-9);
    }
    expect(chanceConclusive(0.8, n, split, fixed)).toBeGreaterThanOrEqual(0.9);
    expect(chanceConclusive(0.8, Math.floor(n * 0.9), split, fixed)).toBeLessThan(0.9);
  });

  it('an anytime interval needs more requests than a single look; a truth on the band edge never decides', () => {
    expect(requestsFor(0.8, split, { ...fixed, sequential: true })!).toBeGreaterThan(requestsFor(0.8, split, fixed)!);
    expect(requestsFor(0.75, split, fixed)).toBeUndefined();
    // A truth far outside the band decides quickly (a 50/50 split against an expected 80/20).
    expect(requestsFor(0.5, split, fixed)!).toBeLessThan(100);
  });
});

const fixture = (expect: string, load: string) => `apiVersion: meshproof.dev/v1alpha1
kind: Experiment
metadata: { name: plan }
spec:
  load:
${load}
  expect:
${expect}
`;

describe('validate: is the planned load big enough?', () => {
  it('an 80/20 canary at 50 req/s for 20 s and max 0.1 % of 5xx over 1,800 requests are too small, with the numbers', () => {
    const text = fixture(
      '    - distribution: { of: reviews.version, weights: { v1: 80, v3: 20 } }\n    - status: { code: 5xx, ratio: { max: 0.001 } }',
      '    request: { path: /productpage }\n    rate: 50\n    duration: 20s',
    );
    const [experiment] = loadExperimentText(text, '/tmp/plan.yaml');
    const [distribution, status] = planSampleSizes(experiment!);
    expect(distribution).toMatchObject({ planned: 1000, enough: false, assumed: 'the split is as expected' });
    expect(distribution!.needed).toBe(requestsFor(0.8, split, fixed));
    expect(status).toMatchObject({ planned: 1000, needed: 5296, enough: false, assumed: 'no response is a 5xx' });
  });

  it("a where on the request name plans with that request's share of the load", () => {
    const text = fixture(
      '    - status: { code: 200, ratio: { min: 0.99 }, where: { request: jason } }',
      '    requests:\n      - { name: jason, path: /productpage, weight: 1 }\n      - { name: anonymous, path: /productpage, weight: 3 }\n    rate: 100\n    duration: 10s',
    );
    const [plan] = planSampleSizes(loadExperimentText(text, '/tmp/plan.yaml')[0]!);
    // 1,000 requests, a quarter of them jason's; every response a 200 decides at ⌈ln 0.005 / ln 0.99⌉ = 528.
    expect(plan).toMatchObject({ planned: 250, needed: 528, neededRequests: 2112, enough: false });
  });

  it('the CLI warns at the expectation with what to change, and still exits 0', () => {
    const dir = tempDir('meshproof-plan-');
    const file = join(dir, 'canary.yaml');
    writeFileSync(file, fixture('    - status: { code: 5xx, ratio: { max: 0.001 } }', '    request: { path: /productpage }\n    rate: 100\n    duration: 18s'));
    const run = spawnSync(process.execPath, ['bin/meshproof.js', 'validate', file], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(run.status).toBe(0);
    const out = run.stderr;
    expect(out).toContain(
      `warning: ${file}:10:7: share of 5xx ≤ 0.1%: needs about 5,296 requests for a 90 % chance of a conclusive verdict if no response is a 5xx; the load plans 1,800 (rate 100/s for 18 s after the warm-up): raise duration to at least 53s, or use until: verdict with budget ≥ 5,296`,
    );
    expect(out).toMatch(/^ok: 1 experiment is valid/m);
  });
});

describe('an inconclusive verdict says about how many requests would decide it', () => {
  it('at the final judgement (estimateMore), not at each look', () => {
    const e = loadExperimentText(
      fixture(
        '    - distribution: { of: reviews.version, weights: { v1: 80, v3: 20 } }',
        '    request: { path: /productpage }\n    rate: 10\n    duration: 30s',
      ),
      '/tmp/plan.yaml',
    )[0]!.expect[0]!;
    const observation = new FakeObservation([
      { labels: { 'reviews.version': 'v1' }, count: 231 },
      { labels: { 'reviews.version': 'v3' }, count: 69 },
    ]);
    const decidesAt = requestsFor(231 / 300, split, fixed)!;
    const v = judgeDistribution(e as never, { ...contextOf(observation), estimateMore: true });
    expect(v.outcome).toBe('inconclusive');
    expect(v.explanation).toContain(
      `so more requests are needed to tell (at the share seen so far, about ${decidesAt.toLocaleString('en-US')} in all, ${(decidesAt - 300).toLocaleString('en-US')} more, would decide it with a 90 % chance)`,
    );
    expect(judgeDistribution(e as never, contextOf(observation)).explanation).not.toContain('in all');
  });
});
