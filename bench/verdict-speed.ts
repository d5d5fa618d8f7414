// Time to verdict: requests needed to reach a conclusive verdict on an expected 80/20 split (± 5 points, 99 %)
// when the truth is 80/20 (should pass), 70/30 (should fail) and 15 points off (65/35 and 95/5, should fail) —
// sequential mode (anytime-valid confidence sequence, looks every `checkEvery` requests) against a fixed-sample
// design with the same error rates — and the curve of expected requests against the truth.
//
// The fixed design: one look at n requests with the same judge (Clopper–Pearson at the same confidence), n the
// smallest sample size that reaches the right verdict with probability ≥ 1 − β at that truth, β = α = 1 − confidence
// (computed exactly from the binomial distribution, not simulated). A fixed design must choose n before seeing
// data, so it must be ready for both truths: the design size is the larger of the two. The sequential numbers are
// seeded simulations of the real judge.
import gammaln from '@stdlib/math-base-special-gammaln';
import { judge } from '../src/assertions/index.ts';
import { judgeShare } from '../src/assertions/share.ts';
import type { JudgeContext, Outcome } from '../src/assertions/verdict.ts';
import type { Labels, LatencyView, ObservationView } from '../src/observe/types.ts';
import type { DistributionExpectation } from '../src/spec/types.ts';
import { seededRandom } from '../src/assertions/stats/simulate.ts';
import { DEFAULT_CHECK_EVERY } from '../src/spec/normalise.ts';
import { must } from '../src/must.ts';

export interface TimeToVerdictOptions {
  /** Simulated runs per truth (default 1,000). */
  sims?: number;
  seed?: number;
  /** Default 0.99. */
  confidence?: number;
  /** Percentage points (default 5). */
  tolerance?: number;
  /** Requests between looks in sequential mode (default: the experiment default, DEFAULT_CHECK_EVERY). */
  checkEvery?: number;
  /** Sequential request budget (default 10,000). */
  budget?: number;
}

export interface SequentialResult {
  /** Mean requests until the verdict was conclusive (or the budget). */
  meanRequests: number;
  medianRequests: number;
  p90Requests: number;
  /** Shares of runs that ended pass / fail / inconclusive (budget spent). */
  pass: number;
  fail: number;
  inconclusive: number;
}

export interface TimeToVerdict {
  sims: number;
  confidence: number;
  tolerancePoints: number;
  checkEvery: number;
  budget: number;
  sequential: { truth8020: SequentialResult; truth7030: SequentialResult; truth6535: SequentialResult; truth9505: SequentialResult };
  fixed: {
    /** Smallest n that passes a true 80/20 with probability ≥ 1 − β. */
    n8020: number;
    /** Smallest n that fails a true 70/30 with probability ≥ 1 − β. */
    n7030: number;
    /** The design size: ready for both truths. */
    n: number;
    beta: number;
  };
  /** fixed.n / sequential mean, per truth, and averaged over 80/20 and 70/30. */
  ratio: { truth8020: number; truth7030: number; truth6535: number; truth9505: number; average: number };
  /** The same ratios against the fixed size tuned to each truth alone (a design that knew the truth in advance). */
  ratioPerTruth: { truth8020: number; truth7030: number };
  /**
   * Wald's lower bound on the mean sample size of ANY sequential test with these error rates (Wald 1945): to pass
   * a true 80/20 the edge 25 % (and 15 %) must be rejected, to fail a true 70/30 the edge 25 %:
   * E[N] ≥ ((1 − β) ln((1 − β)/α) + β ln(β/(1 − α))) / KL(truth ‖ edge). fixed.n / bound is the best ratio possible.
   */
  waldBound: {
    truth8020: number;
    truth7030: number;
    truth6535: number;
    truth9505: number;
    bestRatio8020: number;
    bestRatio7030: number;
    bestRatio6535: number;
    bestRatio9505: number;
  };
}

export function measureTimeToVerdict(options: TimeToVerdictOptions = {}): TimeToVerdict {
  const sims = options.sims ?? 1000;
  const confidence = options.confidence ?? 0.99;
  const tolerance = options.tolerance ?? 5;
  const checkEvery = options.checkEvery ?? DEFAULT_CHECK_EVERY;
  const budget = options.budget ?? 10_000;
  const seed = options.seed ?? 2024;
  const beta = 1 - confidence;
  const sequential = (truthV3: number, s: number): SequentialResult =>
    simulateSequential(truthV3, { sims, seed: s, confidence, tolerance, checkEvery, budget });

  const band = { lower: 0.2 - tolerance / 100, upper: 0.2 + tolerance / 100 };
  const n8020 = fixedSampleSize((n) => probabilityOf('pass', n, 0.2, band, confidence), 1 - beta);
  const n7030 = fixedSampleSize((n) => probabilityOf('fail', n, 0.3, band, confidence), 1 - beta);
  const n = Math.max(n8020, n7030);
  const truth8020 = sequential(0.2, seed);
  const truth7030 = sequential(0.3, seed + 1);
  const truth6535 = sequential(0.35, seed + 2);
  const truth9505 = sequential(0.05, seed + 3);
  const ratio8020 = n / truth8020.meanRequests;
  const ratio7030 = n / truth7030.meanRequests;
  return {
    sims,
    confidence,
    tolerancePoints: tolerance,
    checkEvery,
    budget,
    sequential: { truth8020, truth7030, truth6535, truth9505 },
    fixed: { n8020, n7030, n, beta },
    ratio: {
      truth8020: ratio8020,
      truth7030: ratio7030,
      truth6535: n / truth6535.meanRequests,
      truth9505: n / truth9505.meanRequests,
      average: (2 * n) / (truth8020.meanRequests + truth7030.meanRequests),
    },
    ratioPerTruth: { truth8020: n8020 / truth8020.meanRequests, truth7030: n7030 / truth7030.meanRequests },
    waldBound: (() => {
      const bound8020 = Math.max(waldBound(0.2, band.upper, beta, beta), waldBound(0.2, band.lower, beta, beta));
      const bound7030 = waldBound(0.3, band.upper, beta, beta);
      const bound6535 = waldBound(0.35, band.upper, beta, beta);
      const bound9505 = waldBound(0.05, band.lower, beta, beta);
      return {
        truth8020: bound8020,
        truth7030: bound7030,
        truth6535: bound6535,
        truth9505: bound9505,
        bestRatio8020: n / bound8020,
        bestRatio7030: n / bound7030,
        bestRatio6535: n / bound6535,
        bestRatio9505: n / bound9505,
      };
    })(),
  };
}

interface SimulationOptions {
  sims: number;
  seed: number;
  confidence: number;
  tolerance: number;
  checkEvery: number;
  budget: number;
}

/** Seeded sequential runs of the real judge on an expected 80/20 split whose true v3 share is `truthV3`. */
function simulateSequential(truthV3: number, o: SimulationOptions): SequentialResult {
  const expectation: DistributionExpectation = {
    kind: 'distribution',
    title: 'distribution of reviews.version',
    source: { file: 'bench', line: 1, col: 1 },
    confidence: o.confidence,
    of: 'reviews.version',
    weights: { v1: 80, v3: 20 },
    tolerance: o.tolerance,
  };
  const { sims, budget, checkEvery } = o;
  const rng = seededRandom(o.seed);
  const used: number[] = [];
  const ends = { pass: 0, fail: 0, inconclusive: 0 };
  for (let i = 0; i < sims; i++) {
    let v3 = 0;
    let n = 0;
    let looks = 0;
    let outcome: Outcome = 'inconclusive';
    while (n < budget) {
      const batch = Math.min(checkEvery, budget - n);
      v3 += rng.binomial(batch, truthV3);
      n += batch;
      looks++;
      const context = contextFor(new SplitCounts(n - v3, v3), { looks, final: n >= budget });
      outcome = judge(expectation, context).outcome;
      if (outcome !== 'inconclusive') break;
    }
    used.push(n);
    ends[outcome]++;
  }
  used.sort((a, b) => a - b);
  return {
    meanRequests: used.reduce((a, b) => a + b, 0) / sims,
    medianRequests: must(used[Math.floor(sims / 2)], 'the median run'),
    p90Requests: must(used[Math.floor(sims * 0.9)], 'the 90th percentile run'),
    pass: ends.pass / sims,
    fail: ends.fail / sims,
    inconclusive: ends.inconclusive / sims,
  };
}

export interface CurvePoint {
  /** True v3 share. */
  truth: number;
  sequential: SequentialResult;
}

/**
 * Expected requests to a conclusive verdict against the truth (the v3 share), sequential mode, for the bench's plot;
 * the fixed design uses the same n at every truth. Truths on a band edge never decide (they run to the budget).
 */
export function verdictCurve(options: TimeToVerdictOptions & { truths?: number[] } = {}): { checkEvery: number; budget: number; points: CurvePoint[] } {
  const o: SimulationOptions = {
    sims: options.sims ?? 200,
    seed: options.seed ?? 2024,
    confidence: options.confidence ?? 0.99,
    tolerance: options.tolerance ?? 5,
    checkEvery: options.checkEvery ?? DEFAULT_CHECK_EVERY,
    budget: options.budget ?? 10_000,
  };
  const truths = options.truths ?? [0.05, 0.1, 0.125, 0.175, 0.2, 0.225, 0.275, 0.3, 0.35, 0.4];
  return {
    checkEvery: o.checkEvery,
    budget: o.budget,
    points: truths.map((truth, i) => ({ truth, sequential: simulateSequential(truth, { ...o, seed: o.seed + 17 * i }) })),
  };
}

/** Wald's lower bound on E[N] under `truth` for a sequential test rejecting `edge` with error α and power 1 − β. */
export function waldBound(truth: number, edge: number, alpha: number, beta: number): number {
  const kl = truth * Math.log(truth / edge) + (1 - truth) * Math.log((1 - truth) / (1 - edge));
  return ((1 - beta) * Math.log((1 - beta) / alpha) + beta * Math.log(beta / (1 - alpha))) / kl;
}

/**
 * Exact probability that one look at n requests, with the v3 share truly `truth`, ends in `outcome` (the judge's
 * rule for one share: Clopper–Pearson interval against the band). Only counts within 8 standard deviations of the
 * mean are visited; the rest carry less than 1e-12 of the probability.
 */
export function probabilityOf(outcome: Outcome, n: number, truth: number, band: { lower: number; upper: number }, confidence: number): number {
  const sd = Math.sqrt(n * truth * (1 - truth));
  const from = Math.max(0, Math.floor(n * truth - 8 * sd));
  const to = Math.min(n, Math.ceil(n * truth + 8 * sd));
  let p = 0;
  for (let x = from; x <= to; x++) {
    if (judgeShare(x, n, band, { confidence, comparisons: 1, sequential: false }).outcome === outcome) p += binomialPmf(x, n, truth);
  }
  return p;
}

/** Smallest n (to 10 requests) with probability(n) ≥ target; power grows with n (up to binomial ripples). */
export function fixedSampleSize(probability: (n: number) => number, target: number): number {
  let lo = 10;
  let hi = 10;
  while (probability(hi) < target) {
    lo = hi;
    hi *= 2;
    if (hi > 1_000_000) throw new Error('no fixed sample size below 1,000,000 reaches the target');
  }
  while (hi - lo > 10) {
    const mid = Math.round((lo + hi) / 20) * 10;
    if (mid <= lo || mid >= hi) break;
    if (probability(mid) >= target) hi = mid;
    else lo = mid;
  }
  return hi;
}

function binomialPmf(x: number, n: number, p: number): number {
  return Math.exp(gammaln(n + 1) - gammaln(x + 1) - gammaln(n - x + 1) + x * Math.log(p) + (n - x) * Math.log1p(-p));
}

/** The two-category counts the distribution judge reads, as a minimal ObservationView. */
class SplitCounts implements ObservationView {
  constructor(
    private readonly v1: number,
    private readonly v3: number,
  ) {}
  get total(): number {
    return this.v1 + this.v3;
  }
  count(): number {
    return this.total;
  }
  countBy(label: string, _where?: Labels): Map<string, number> {
    if (label !== 'reviews.version') return new Map();
    return new Map(
      [
        ['v1', this.v1],
        ['v3', this.v3],
      ].filter(([, c]) => (c as number) > 0) as [string, number][],
    );
  }
  latency(): LatencyView {
    throw new Error('not used by the distribution judge');
  }
  sendTimes(): Float64Array {
    return new Float64Array(0);
  }
}

function contextFor(observation: ObservationView, sequential: { looks: number; final: boolean }): JudgeContext {
  return {
    experiment: {
      file: 'bench',
      name: 'time-to-verdict',
      description: '',
      tags: [],
      scenario: 'bookinfo',
      apply: [],
      load: {} as JudgeContext['experiment']['load'],
      expect: [],
      warnings: [],
    },
    observation,
    counters: [],
    target: { kind: 'local', istioVersion: '1.28.0', context: 'local', description: 'simulation' },
    inFlightAllowance: 0,
    sequential,
  };
}

// `node --import tsx bench/verdict-speed.ts` prints the numbers on their own.
if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(measureTimeToVerdict(), null, 2));
}
