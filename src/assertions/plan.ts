// Sample-size planning for `validate`: for each expectation judged as a share, how many requests give a conclusive
// verdict with a 90 % chance if the mesh behaves as hoped, against what the load plans. An 80/20 canary at 100 req/s
// for 20 s, or `max: 0.1%` over 1,800 requests, is told before it runs that it cannot be decided.
import type { Bound, Expectation, Experiment } from '../spec/types.ts';
import { bandOf, type Band } from './stats/band.ts';
import { requestsFor } from './stats/sample-size.ts';
import { DEFAULT_SHARE_TOLERANCE, PLANNING_CHANCE } from './share.ts';
import { derivedShare } from './status.ts';
import { percentileOf } from './latency.ts';

export interface SamplePlan {
  expectation: Expectation;
  /** Responses in this expectation's population the load plans; undefined when the load sets no count (closed model). */
  planned?: number;
  /** Responses needed for a 90 % chance of a conclusive verdict if `assumed` holds; null when no practical count would. */
  needed: number | null;
  /** The truth assumed, in words: "the expected split", "no response is a 503". */
  assumed: string;
  /** Requests of the whole load needed (needed ÷ the population's share of the load); null as for needed. */
  neededRequests: number | null;
  /** true / false when planned is known; undefined otherwise. */
  enough?: boolean;
  /** Why the population is an estimate (a `where` on labels other than the request's name). */
  note?: string;
}

interface ShareCheck {
  truth: number;
  band: Band;
  comparisons: number;
  assumed: string;
}

/** How the hoped-for truth is said: "a 503" → "no response is a 503", "every response is a 503", "the share of a 503". */
interface Words {
  share: string;
  every: string;
  none: string;
}

/** The share the experiment hopes for, inside its band: `approx`, the middle of min..max, or the far end of one bound. */
function hoped(bound: Bound, words: Words): { truth: number; assumed: string } {
  const pct = (x: number) => `${+(x * 100).toFixed(3)} %`;
  if (bound.approx !== undefined) return { truth: bound.approx, assumed: `${words.share} is ${pct(bound.approx)} as expected` };
  if (bound.min !== undefined && bound.max !== undefined) {
    const mid = (bound.min + bound.max) / 2;
    return { truth: mid, assumed: `${words.share} is ${pct(mid)}, mid-band` };
  }
  if (bound.max !== undefined) return { truth: 0, assumed: words.none };
  return { truth: 1, assumed: words.every };
}

const responses = (what: string): Words => ({ share: `the share of ${what}`, every: `every response is ${what}`, none: `no response is ${what}` });

/** The share checks an expectation is judged by; empty for kinds that are not shares (counts, the token bucket). */
function shareChecks(e: Expectation): ShareCheck[] {
  switch (e.kind) {
    case 'status': {
      const bound = e.ratio.derived ? { ...e.ratio, approx: derivedShare(e.ratio.derived.failing, e.ratio.derived.retries) } : e.ratio;
      const what = e.flag !== undefined ? `flagged ${e.flag}` : e.code === 'error' ? 'a transport error' : `a ${e.code}`;
      const h = hoped(bound, responses(what));
      return [{ ...h, band: bandOf(bound, DEFAULT_SHARE_TOLERANCE), comparisons: 1 }];
    }
    case 'denied': {
      if (e.service !== undefined) return []; // judged from the mesh's counters at the service
      return [{ ...hoped(e.ratio, responses('denied')), band: bandOf(e.ratio, DEFAULT_SHARE_TOLERANCE), comparisons: 1 }];
    }
    case 'flags': {
      if (e.from !== 'client' || e.ratio === undefined) return [];
      return [{ ...hoped(e.ratio, responses(`flagged ${e.flag}`)), band: bandOf(e.ratio, DEFAULT_SHARE_TOLERANCE), comparisons: 1 }];
    }
    case 'distribution': {
      const weights = Object.values(e.weights);
      const sum = weights.reduce((s, w) => s + w, 0);
      const tolerance = e.tolerance / 100;
      const comparisons = weights.length <= 2 ? 1 : weights.length;
      return weights.map((w) => {
        const weight = sum > 0 ? w / sum : 0;
        return { truth: weight, band: { lower: weight - tolerance, upper: weight + tolerance }, comparisons, assumed: `the split is as expected` };
      });
    }
    case 'latency': {
      const checks: ShareCheck[] = [];
      for (const [key, bound] of Object.entries(e.percentiles)) {
        const q = percentileOf(key);
        if (q === undefined) continue; // max is exact, not a share
        const tail = 1 - q / 100;
        if (bound.below !== undefined)
          checks.push({ truth: 0, band: { upper: tail }, comparisons: 0, assumed: `no request takes ${bound.below} ms or longer` });
        if (bound.above !== undefined)
          checks.push({ truth: 1, band: { lower: tail }, comparisons: 0, assumed: `every request takes ${bound.above} ms or longer` });
      }
      if (e.delayed)
        checks.push({
          ...hoped(e.delayed.share, {
            share: 'the share delayed',
            every: `every request is delayed ${e.delayed.atLeastMs} ms or more`,
            none: 'no request is delayed',
          }),
          band: bandOf(e.delayed.share, DEFAULT_SHARE_TOLERANCE),
          comparisons: 0,
        });
      return checks.map((c) => ({ ...c, comparisons: checks.length }));
    }
    default:
      return [];
  }
}

/** The responses the load plans (after the warm-up); undefined for a closed model run for a duration. */
export function plannedRequests(experiment: Experiment): number | undefined {
  const { load } = experiment;
  if (load.sequential) return Math.min(load.sequential.budget, load.totalRequests ?? Infinity);
  if (load.totalRequests !== undefined) return load.totalRequests;
  if (load.model.kind === 'open' && load.durationMs !== undefined) return Math.floor((load.model.rate * (load.durationMs - load.warmupMs)) / 1000);
  return undefined;
}

/** The share of the load a `where` selects: the weight of the named requests; other labels cannot be told before a run. */
function populationShare(experiment: Experiment, where: Record<string, string> | undefined): { share: number; note?: string } {
  if (!where || Object.keys(where).length === 0) return { share: 1 };
  const { request, ...others } = where;
  let share = 1;
  if (request !== undefined) {
    const total = experiment.load.requests.reduce((s, r) => s + r.weight, 0);
    const named = experiment.load.requests.filter((r) => r.name === request).reduce((s, r) => s + r.weight, 0);
    share = total > 0 ? named / total : 0;
  }
  const labels = Object.keys(others);
  return labels.length ? { share, note: `if every response carries ${labels.map((k) => `${k}=${others[k]}`).join(', ')}` } : { share };
}

export function planSampleSizes(experiment: Experiment): SamplePlan[] {
  const total = plannedRequests(experiment);
  const sequential = experiment.load.sequential !== undefined;
  const plans: SamplePlan[] = [];
  for (const expectation of experiment.expect) {
    const checks = shareChecks(expectation);
    const [first] = checks;
    if (first === undefined) continue;
    let needed: number | null = 0;
    for (const check of checks) {
      const n = requestsFor(check.truth, check.band, { confidence: expectation.confidence, comparisons: check.comparisons, sequential }, PLANNING_CHANCE);
      needed = n === undefined || needed === null ? null : Math.max(needed, n);
    }
    const where = 'where' in expectation ? expectation.where : undefined;
    const population = populationShare(experiment, where);
    const planned = total === undefined ? undefined : Math.floor(total * population.share);
    const neededRequests = needed === null || population.share === 0 ? null : Math.ceil(needed / population.share);
    plans.push({
      expectation,
      ...(planned !== undefined ? { planned } : {}),
      needed,
      assumed: first.assumed,
      neededRequests,
      ...(planned !== undefined ? { enough: needed !== null && planned >= needed } : {}),
      ...(population.note ? { note: population.note } : {}),
    });
  }
  return plans;
}

/** One sentence for a plan whose load is too small: what is needed, what is planned, what to change. */
export function describeShortPlan(plan: SamplePlan, experiment: Experiment): string {
  const fmt = (n: number) => n.toLocaleString('en-US');
  const { load } = experiment;
  const population = plan.note ? ` ${plan.note}` : '';
  if (plan.needed === null) {
    return `no practical number of requests gives a conclusive verdict with a ${Math.round(PLANNING_CHANCE * 100)} % chance if ${plan.assumed}${population}: widen the band or change what is expected`;
  }
  const plannedText =
    load.sequential !== undefined
      ? `the budget is ${fmt(load.sequential.budget)}`
      : load.totalRequests !== undefined
        ? `the load sends ${fmt(load.totalRequests)}`
        : load.model.kind === 'open' && load.durationMs !== undefined
          ? `the load plans ${fmt(Math.floor((load.model.rate * (load.durationMs - load.warmupMs)) / 1000))} (rate ${load.model.rate}/s for ${(load.durationMs - load.warmupMs) / 1000} s after the warm-up)`
          : 'the load sets no count';
  const share =
    plan.planned !== undefined && plan.neededRequests !== null && plan.neededRequests !== plan.needed ? `, ${fmt(plan.planned)} of them in its population` : '';
  const fix =
    load.sequential !== undefined
      ? `raise budget to at least ${fmt(plan.neededRequests ?? plan.needed)}`
      : load.model.kind === 'open' && load.durationMs !== undefined && load.totalRequests === undefined
        ? `raise duration to at least ${Math.ceil((plan.neededRequests ?? plan.needed) / load.model.rate + load.warmupMs / 1000)}s, or use until: verdict with budget ≥ ${fmt(plan.neededRequests ?? plan.needed)}`
        : `send at least ${fmt(plan.neededRequests ?? plan.needed)} requests, or use until: verdict with budget ≥ ${fmt(plan.neededRequests ?? plan.needed)}`;
  return `needs about ${fmt(plan.neededRequests ?? plan.needed)} requests for a ${Math.round(PLANNING_CHANCE * 100)} % chance of a conclusive verdict if ${plan.assumed}${population}; ${plannedText}${share}: ${fix}`;
}
