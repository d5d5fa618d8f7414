// What an exported k6 script can judge by itself (`meshproof export k6`): the expectations k6 can see from the client,
// as k6 metrics with thresholds, so `k6 run` exits 99 when one fails. k6 compares a point estimate with a threshold;
// meshproof compares a confidence interval with a band, and can also say "inconclusive". The thresholds are the bands'
// edges: a run that fails them would not pass meshproof, but a run that passes them may be inconclusive there.
import type { Bound, Expectation, RequestSpec } from '../spec/types.ts';
import type { Labels } from '../observe/types.ts';
import { bandOf, type Band } from '../assertions/stats/band.ts';
import { DEFAULT_SHARE_TOLERANCE } from '../assertions/share.ts';
import { derivedShare } from '../assertions/status.ts';
import { percentileOf } from '../assertions/latency.ts';
import { DENIED_LABEL, RBAC_DENIED } from '../assertions/labels.ts';

/** What one metric adds per response (evaluated by the script's runtime, src/load/k6-runtime.ts checkValue). */
export type K6CheckTest =
  | { kind: 'status'; pattern: string }
  | { kind: 'flag'; flag: string }
  | { kind: 'label'; label: string; value: string }
  | { kind: 'slower'; atLeastMs: number }
  | { kind: 'latency' };

export interface K6Check {
  /** The k6 metric's name: meshproof_check_<expectation>[_<part>]. */
  metric: string;
  type: 'rate' | 'trend';
  /** Only responses that match (the expectation's `where`; `request` is the rotation entry's name). */
  where: Labels;
  /** A distribution counts only responses that carry its label. */
  carries?: string;
  test: K6CheckTest;
  thresholds: string[];
  /** The expectation's title, for the script's comment. */
  title: string;
}

export interface K6Checks {
  checks: K6Check[];
  /** Expectations k6 cannot judge, with why (for the script's header). */
  notCarried: { title: string; why: string }[];
}

const number = (x: number) => String(+x.toFixed(10));

function rateThresholds(band: Band): string[] {
  const out: string[] = [];
  if (band.lower !== undefined && band.lower > 0) out.push(`rate>=${number(band.lower)}`);
  if (band.upper !== undefined && band.upper < 1) out.push(`rate<=${number(band.upper)}`);
  return out;
}

function shareBand(bound: Bound): Band {
  return bandOf(bound, DEFAULT_SHARE_TOLERANCE);
}

export function k6Checks(expectations: Expectation[], requests: RequestSpec[]): K6Checks {
  const checks: K6Check[] = [];
  const notCarried: K6Checks['notCarried'] = [];
  const names = new Set(requests.map((r) => r.name));
  expectations.forEach((e, i) => {
    const metric = `meshproof_check_${i}`;
    const where: Labels = 'where' in e && e.where ? e.where : {};
    const push = (check: Omit<K6Check, 'title' | 'where'>) => {
      if (check.thresholds.length > 0) checks.push({ ...check, where, title: e.title });
    };
    if (where.request !== undefined && !names.has(where.request)) {
      notCarried.push({ title: e.title, why: `no request of the rotation is named ${where.request}` });
      return;
    }
    switch (e.kind) {
      case 'status': {
        const bound = e.ratio.derived ? { ...e.ratio, approx: derivedShare(e.ratio.derived.failing, e.ratio.derived.retries) } : e.ratio;
        const test: K6CheckTest = e.flag !== undefined ? { kind: 'flag', flag: e.flag } : { kind: 'status', pattern: e.code ?? '' };
        push({ metric, type: 'rate', test, thresholds: rateThresholds(shareBand(bound)) });
        return;
      }
      case 'denied':
        if (e.service !== undefined) break;
        push({ metric, type: 'rate', test: { kind: 'label', label: DENIED_LABEL, value: RBAC_DENIED }, thresholds: rateThresholds(shareBand(e.ratio)) });
        return;
      case 'flags':
        if (e.from !== 'client' || e.ratio === undefined) break;
        push({ metric, type: 'rate', test: { kind: 'flag', flag: e.flag }, thresholds: rateThresholds(shareBand(e.ratio)) });
        return;
      case 'distribution': {
        const categories = Object.entries(e.weights);
        const sum = categories.reduce((s, [, w]) => s + w, 0);
        categories.forEach(([category, w], j) => {
          const weight = sum > 0 ? w / sum : 0;
          const band = { lower: weight - e.tolerance / 100, upper: weight + e.tolerance / 100 };
          push({
            metric: `${metric}_${j}`,
            type: 'rate',
            carries: e.of,
            test: { kind: 'label', label: e.of, value: category },
            thresholds: rateThresholds(band),
          });
        });
        return;
      }
      case 'latency': {
        const thresholds: string[] = [];
        for (const [key, bound] of Object.entries(e.percentiles)) {
          const stat = key === 'max' ? 'max' : percentileOf(key) !== undefined ? `p(${percentileOf(key)})` : undefined;
          if (stat === undefined) continue;
          if (bound.below !== undefined) thresholds.push(`${stat}<${number(bound.below)}`);
          if (bound.above !== undefined) thresholds.push(`${stat}>${number(bound.above)}`);
        }
        push({ metric, type: 'trend', test: { kind: 'latency' }, thresholds });
        if (e.delayed)
          push({
            metric: `${metric}_delayed`,
            type: 'rate',
            test: { kind: 'slower', atLeastMs: e.delayed.atLeastMs },
            thresholds: rateThresholds(shareBand(e.delayed.share)),
          });
        return;
      }
      default:
        break;
    }
    notCarried.push({ title: e.title, why: whyNot(e) });
  });
  return { checks, notCarried };
}

function whyNot(e: Expectation): string {
  switch (e.kind) {
    case 'retries':
    case 'counter':
    case 'reconcile':
      return "it reads the proxies' own counters, which k6 cannot see";
    case 'rateLimited':
      return "it replays the arrivals through the token bucket, which k6's thresholds cannot";
    case 'denied':
    case 'flags':
      return "it is judged from the mesh's counters at a service, which k6 cannot see";
    default:
      return 'k6 cannot judge it';
  }
}
