import { describe, expect, it } from 'vitest';
import { SpecError } from '../../src/errors.ts';
import { resolveClassifiers } from '../../src/observe/classifiers.ts';
import { labelKey, Observation } from '../../src/observe/observation.ts';
import type { ResponseRecord } from '../../src/observe/types.ts';

function rec(sentAtMs: number, status: number, latencyMs: number, body = '', error?: string): ResponseRecord {
  const r: ResponseRecord = { requestIndex: 0, sentAtMs, latencyMs, status, headers: {}, body };
  if (error) r.error = error;
  return r;
}

describe('Observation', () => {
  it('counts per label combination and answers count/countBy with where filters', () => {
    const obs = new Observation({ classifiers: resolveClassifiers(['status', 'envoy']) });
    for (let i = 0; i < 70; i++) obs.record(rec(i, 200, 5, 'ok'));
    for (let i = 0; i < 20; i++) obs.record(rec(100 + i, 503, 2, 'upstream connect error or disconnect/reset before headers. reset reason: overflow'));
    for (let i = 0; i < 10; i++) obs.record(rec(200 + i, 0, 1000, '', 'timeout'));

    expect(obs.total).toBe(100);
    expect([obs.sent, obs.answered, obs.errored]).toEqual([100, 90, 10]);
    expect(obs.count()).toBe(100);
    expect(obs.count({ status: '503' })).toBe(20);
    expect(obs.count({ class: '5xx', flag: 'UO' })).toBe(20);
    expect(obs.count({ status: '503', flag: '-' })).toBe(0);
    expect(obs.countBy('status')).toEqual(
      new Map([
        ['200', 70],
        ['503', 20],
        ['error', 10],
      ]),
    );
    expect(obs.countBy('flag')).toEqual(
      new Map([
        ['-', 70],
        ['UO', 20],
      ]),
    ); // transport errors carry no flag
    expect(obs.countBy('error', { status: 'error' })).toEqual(new Map([['timeout', 10]]));
  });

  it('no percentile exceeds the largest latency recorded nor falls below the smallest (HDR bucket edges; p99.9 > max in reports)', () => {
    const obs = new Observation({ classifiers: resolveClassifiers(['status']) });
    // 6,013 ms sits inside an HDR bucket whose highest equivalent value is above it.
    for (let i = 0; i < 2000; i++) obs.record(rec(i, 200, i % 500 === 0 ? 6013.2 : 129.7));
    const all = obs.latency();
    for (const p of [50, 90, 99, 99.9, 99.99, 100]) {
      expect(all.percentile(p)).toBeLessThanOrEqual(all.max);
      expect(all.percentile(p)).toBeGreaterThanOrEqual(all.min);
    }
    expect(all.percentile(100)).toBe(all.max);
    const snap = obs.snapshot();
    expect(snap.latency.p999).toBeLessThanOrEqual(snap.latency.max);
    for (const g of snap.groups) expect(g.latency!.p99).toBeLessThanOrEqual(g.latency!.max);
  });

  it('keeps an HDR histogram per combination: percentiles, extremes and countAtLeast in ms', () => {
    const obs = new Observation({ classifiers: resolveClassifiers(['status']) });
    for (let i = 1; i <= 1000; i++) obs.record(rec(i, 200, i / 10)); // 0.1 .. 100 ms
    for (let i = 0; i < 100; i++) obs.record(rec(i, 504, 7000));
    const ok = obs.latency({ status: '200' });
    expect(ok.count).toBe(1000);
    expect(ok.percentile(50)).toBeCloseTo(50, 0);
    expect(ok.percentile(99)).toBeCloseTo(99, 0);
    expect(ok.min).toBeCloseTo(0.1, 3);
    expect(ok.max).toBeCloseTo(100, 0);
    expect(ok.mean).toBeCloseTo(50.05, 0);
    expect(ok.countAtLeast(90)).toBe(101); // 90.0 .. 100.0 ms
    expect(obs.latency().countAtLeast(6999)).toBe(100);
    expect(obs.latency({ status: '404' }).count).toBe(0);
    expect(Number.isNaN(obs.latency({ status: '404' }).percentile(50))).toBe(true);
  });

  it('skips responses sent during warm-up but still returns their labels', () => {
    const obs = new Observation({ classifiers: resolveClassifiers(['status']), warmupMs: 1000 });
    expect(obs.record(rec(999.9, 503, 1))).toEqual({ status: '503', class: '5xx' });
    obs.record(rec(1000, 200, 1));
    expect(obs.total).toBe(1);
    expect(obs.countBy('status')).toEqual(new Map([['200', 1]]));
  });

  it("keeps the warm-up's send times apart (a rate limiter's bucket replays them), out of every count", () => {
    const obs = new Observation({ classifiers: resolveClassifiers(['status']), warmupMs: 1000 });
    obs.record(rec(500, 429, 1));
    obs.record(rec(20, 200, 1));
    obs.record(rec(900, 503, 1));
    obs.record(rec(1500, 429, 1));
    expect([...obs.warmupSendTimes()]).toEqual([20, 500, 900]);
    expect([...obs.warmupSendTimes({ status: '429' })]).toEqual([500]);
    expect([...obs.sendTimes()]).toEqual([1500]);
    // a label combination seen only during warm-up is no category of the recorded data
    expect(obs.countBy('status')).toEqual(new Map([['429', 1]]));
    expect(obs.count({ status: '503' })).toBe(0);
    expect(obs.snapshot().groups.map((g) => g.labels.status)).toEqual(['429']);
  });

  it('returns send times in send order for the requests matching where', () => {
    const obs = new Observation({ classifiers: resolveClassifiers(['status']) });
    // completion order differs from send order (different latencies)
    obs.record(rec(30, 429, 1));
    obs.record(rec(10, 200, 50));
    obs.record(rec(20, 429, 40));
    obs.record(rec(5, 429, 100));
    expect([...obs.sendTimes({ status: '429' })]).toEqual([5, 20, 30]);
    expect([...obs.sendTimes()]).toEqual([5, 10, 20, 30]);
    expect(obs.sendTimes({ status: '500' })).toHaveLength(0);
  });

  it('builds a per-second time series by status (by send time)', () => {
    const obs = new Observation({ classifiers: resolveClassifiers(['status']) });
    obs.record(rec(100, 200, 1));
    obs.record(rec(900, 503, 1));
    obs.record(rec(2500, 200, 1));
    obs.record(rec(2600, 0, 1, '', 'ECONNRESET'));
    expect(obs.snapshot().timeSeries).toEqual([
      { second: 0, byStatus: { '200': 1, '503': 1 } },
      { second: 1, byStatus: {} },
      { second: 2, byStatus: { '200': 1, error: 1 } },
    ]);
  });

  it('uses labels a driver already computed (k6) instead of classifying an empty body', () => {
    const obs = new Observation({ classifiers: resolveClassifiers([]) });
    const r = rec(0, 200, 3);
    r.labels = { status: '200', class: '2xx', flag: '-', 'reviews.version': 'v3' };
    expect(obs.record(r)).toEqual(r.labels);
    expect(obs.countBy('reviews.version')).toEqual(new Map([['v3', 1]]));
  });

  it('snapshots groups, overall latency and a bounded number of truncated sample bodies', () => {
    const obs = new Observation({ classifiers: resolveClassifiers(['status']), sampleBodies: 1 });
    obs.record(rec(0, 200, 2, 'a'.repeat(5000)));
    obs.record(rec(1, 200, 4, 'second'));
    obs.record(rec(2, 503, 8, 'no healthy upstream'));
    const snap = obs.snapshot();
    expect(snap.total).toBe(3);
    expect(snap.groups.map((g) => [g.labels.status, g.count])).toEqual([
      ['200', 2],
      ['503', 1],
    ]);
    expect(snap.groups[0]!.latency.max).toBeCloseTo(4, 2);
    expect(snap.latency.p50).toBeCloseTo(4, 2);
    expect(snap.latency.min).toBeCloseTo(2, 2);
    expect(snap.samples).toHaveLength(2);
    expect(snap.samples[0]!.body.length).toBeLessThan(2100);
    expect(snap.samples[1]).toMatchObject({ status: 503, body: 'no healthy upstream', labels: { status: '503' } });
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
  });

  it('adds request labels to responses a driver labelled already (k6), and runs response classifiers only when it did not', () => {
    const names = ['jason', 'anonymous'];
    const obs = new Observation({
      classifiers: resolveClassifiers(['status']),
      requestClassifiers: [(r) => ({ request: names[r.requestIndex]! })],
    });
    // as the k6 driver reports them: labels computed inside k6, no body
    obs.record({ ...rec(1, 503, 1), requestIndex: 0, labels: { status: '503', flag: 'FI' } });
    // as the autocannon driver reports them: a body, no labels
    obs.record({ ...rec(2, 200, 1, 'ok'), requestIndex: 1 });
    expect(obs.count({ request: 'jason', status: '503', flag: 'FI' })).toBe(1);
    expect(obs.count({ request: 'anonymous', status: '200' })).toBe(1);
    expect(obs.countBy('request')).toEqual(
      new Map([
        ['jason', 1],
        ['anonymous', 1],
      ]),
    );
  });

  it('reuses the labels of a repeated short answer only when classifying it read no more than index, status, error and body', () => {
    let calls = 0;
    const counting = (r: ResponseRecord) => (calls++, { status: String(r.status), size: String(r.body.length) });
    const byHeader = (r: ResponseRecord) => ({ limited: r.headers['x-envoy-ratelimited'] === undefined ? 'no' : 'yes' });
    const obs = new Observation({ classifiers: [counting, byHeader], requestClassifiers: [(r) => ({ request: `r${r.requestIndex}` })] });
    const limited = { ...rec(1, 429, 1, 'local_rate_limited'), headers: { 'x-envoy-ratelimited': 'true' } };
    obs.record(limited);
    obs.record(rec(2, 429, 1, 'local_rate_limited'));
    obs.record(limited);
    // a classifier read headers: nothing remembered, every response classified
    expect(calls).toBe(3);
    expect(obs.count({ limited: 'yes' })).toBe(2);
    expect(obs.count({ limited: 'no' })).toBe(1);

    calls = 0;
    const plain = new Observation({ classifiers: [counting], requestClassifiers: [(r) => ({ request: `r${r.requestIndex}` })] });
    for (let i = 0; i < 50; i++) plain.record({ ...rec(i, 200, 1, 'ok'), requestIndex: i % 2 });
    plain.record(rec(60, 200, 1, 'ok!'));
    plain.record(rec(61, 0, 1, '', 'timeout'));
    plain.record(rec(62, 0, 1, '', 'ECONNRESET'));
    // one classification per distinct (request index, status, error, body)
    expect(calls).toBe(5);
    expect(plain.countBy('request')).toEqual(
      new Map([
        ['r0', 28],
        ['r1', 25],
      ]),
    );
    expect(plain.count({ status: '200', size: '2' })).toBe(50);
    expect(plain.count({ size: '3' })).toBe(1);
    expect(plain.total).toBe(53);
  });

  it('labelKey ignores key order', () => {
    expect(labelKey({ a: '1', b: '2' })).toBe(labelKey({ b: '2', a: '1' }));
    expect(labelKey({ a: '1' })).not.toBe(labelKey({ a: '2' }));
  });

  it('refuses a classifier that invents a label value per request', () => {
    const obs = new Observation({ classifiers: [(r) => ({ id: String(r.sentAtMs) })] });
    expect(() => {
      for (let i = 0; i < 2000; i++) obs.record(rec(i, 200, 1));
    }).toThrow(SpecError);
    const obs2 = new Observation({ classifiers: [(r) => ({ status: String(r.status), id: String(r.sentAtMs) })] });
    let message = '';
    try {
      for (let i = 0; i < 2000; i++) obs2.record(rec(i, 200, 1));
    } catch (error) {
      message = (error as SpecError).format();
    }
    expect(message).toBe(
      "spec.load.classifiers: the responses carry more than 1024 distinct label combinations (the observation's limit; each " +
        'keeps its own latency histogram): label "id" alone took 1025 distinct values, e.g. "1024". A label must take a few ' +
        'values, not one per request: leave out the classifier that sets it (spec.load.classifiers)',
    );
  });
});
