import { describe, expect, it } from 'vitest';
import type { HttpFault } from '../../../src/envoy/model/index.ts';
import { decideFault, fractionOf } from '../../../src/envoy/runtime/fault.ts';
import { perFilterConfig, selectRoute, selectVirtualHost } from '../../../src/envoy/runtime/routes.ts';
import { seededRandom } from '../../../src/assertions/stats/simulate.ts';
import { draws, loadIstiodDump } from './fixtures.ts';

const fault: HttpFault = {
  delay: { fixed_delay: '1.5s', percentage: { numerator: 25, denominator: 'HUNDRED' } },
  abort: { http_status: 503, percentage: { numerator: 5000, denominator: 'TEN_THOUSAND' } },
};

describe('decideFault (fault_filter.cc FaultFilter::decodeHeaders)', () => {
  it('draws the delay first, then the abort; both can hit one request', () => {
    expect(decideFault(fault, {}, draws(0.1, 0.4))).toEqual({ kind: 'injected', delayMs: 1500, abort: { httpStatus: 503 } });
    expect(decideFault(fault, {}, draws(0.25, 0.4))).toEqual({ kind: 'injected', abort: { httpStatus: 503 } });
    expect(decideFault(fault, {}, draws(0.1, 0.5))).toEqual({ kind: 'injected', delayMs: 1500 });
    expect(decideFault(fault, {}, draws(0.9, 0.9))).toEqual({ kind: 'injected' });
  });
  it('FractionalPercent: numerator over HUNDRED / TEN_THOUSAND / MILLION (HUNDRED unless set); unset percentage is 0 %', () => {
    expect(fractionOf({ numerator: 1, denominator: 'MILLION' })).toBe(1e-6);
    expect(fractionOf({ numerator: 7 })).toBe(0.07);
    const million: HttpFault = { abort: { grpc_status: 14, percentage: { numerator: 1, denominator: 'MILLION' } } };
    expect(decideFault(million, {}, draws(0.0000009))).toEqual({ kind: 'injected', abort: { grpcStatus: 14 } });
    expect(decideFault(million, {}, draws(0.000001))).toEqual({ kind: 'injected' });
    expect(decideFault({ abort: { http_status: 500 } }, {}, draws(0))).toEqual({ kind: 'injected' });
  });
  it('the fault applies only to requests its header matchers match', () => {
    const scoped: HttpFault = { ...fault, headers: [{ name: 'x-chaos', exact_match: 'on' }] };
    expect(decideFault(scoped, {}, draws())).toEqual({ kind: 'not-applicable' });
    expect(decideFault(scoped, { 'x-chaos': 'on' }, draws(0, 0))).toMatchObject({ delayMs: 1500 });
  });
  it('max_active_faults: no fault once that many are active (faultOverflow)', () => {
    const limited: HttpFault = { ...fault, max_active_faults: 2 };
    expect(decideFault(limited, {}, draws(), 2)).toEqual({ kind: 'overflow' });
    expect(decideFault(limited, {}, draws(0, 0), 1)).toMatchObject({ kind: 'injected', delayMs: 1500 });
  });
  it('refuses an abort status outside 200–599', () => {
    expect(() => decideFault({ abort: { http_status: 600, percentage: { numerator: 100 } } }, {}, draws(0))).toThrow(/outside 200–599/);
  });
});

describe('the ratings fault istiod wrote (bookinfo.yaml: abort 503 50 %, delay 7 s 10 %)', () => {
  for (const sidecar of ['productpage', 'ratings'] as const) {
    it(`on the ${sidecar} sidecar's outbound ratings route, over 20 000 seeded requests`, () => {
      const routeConfig = loadIstiodDump(sidecar).routes.find((r) => r.name === '9080')!;
      const vhost = selectVirtualHost(routeConfig, 'ratings:9080')!;
      const route = selectRoute(vhost, { path: '/ratings/0', headers: {} })!;
      const config = perFilterConfig('envoy.filters.http.fault', route, undefined, vhost, routeConfig) as HttpFault;
      expect(fractionOf(config.abort!.percentage)).toBe(0.5);
      expect(fractionOf(config.delay!.percentage)).toBe(0.1);
      const random = seededRandom(7);
      let delayed = 0;
      let aborted = 0;
      const n = 20_000;
      for (let i = 0; i < n; i++) {
        const d = decideFault(config, {}, random.uniform);
        if (d.kind !== 'injected') throw new Error(`unexpected ${d.kind}`);
        if (d.delayMs !== undefined) delayed++;
        if (d.abort) {
          expect(d.abort).toEqual({ httpStatus: 503 });
          aborted++;
        }
        if (d.delayMs !== undefined) expect(d.delayMs).toBe(7000);
      }
      // Five standard deviations: 0.1 → sd 42; 0.5 → sd 71.
      expect(Math.abs(delayed - 0.1 * n)).toBeLessThan(5 * 42);
      expect(Math.abs(aborted - 0.5 * n)).toBeLessThan(5 * 71);
    });
  }
});
