// The counters' baseline at the end of warm-up, and the requests that can fall on the wrong side of it.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WarmupBaseline } from '../../src/runner/warmup-baseline.ts';
import type { CounterSample, ResponseRecord } from '../../src/observe/types.ts';

const sample = (value: number): CounterSample[] => [{ proxy: 'istio-ingressgateway', name: 'istio_requests_total', labels: {}, value }];
const response = (sentAtMs: number): ResponseRecord => ({ requestIndex: 0, sentAtMs, latencyMs: 1, status: 200, headers: {}, body: '' });

describe('WarmupBaseline', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A counters read that takes `ms` of (fake) time. */
  const slowRead = (value: number, ms: number) => () => new Promise<CounterSample[]>((resolve) => setTimeout(() => resolve(sample(value)), ms));

  it('reads the counters `lead` ms before the warm-up ends, from the clock origin the driver reported', async () => {
    const reads: number[] = [];
    const baseline = new WarmupBaseline(1000, async () => (reads.push(Date.now()), sample(42)), 30);
    baseline.onClockOrigin(0, 1_000_100); // the driver started 100 ms after "now"
    await vi.advanceTimersByTimeAsync(1069);
    expect(reads).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(reads).toEqual([1_001_070]); // origin + warm-up − lead
    const read = await baseline.settle();
    expect(read.counters).toEqual(sample(42));
    expect(read.inFlight).toBe(0);
  });

  it('counts warm-up responses received after the read started and recorded requests sent before it ended', async () => {
    const baseline = new WarmupBaseline(1000, slowRead(10, 50), 20);
    baseline.onClockOrigin(0, 1_000_000);
    baseline.onResponse(0, response(100)); // warm-up, received before the read: in the baseline for sure
    await vi.advanceTimersByTimeAsync(980); // the read starts at 980 and ends at 1030
    baseline.onResponse(0, response(900)); // warm-up, received during the read: maybe counted after the snapshot
    await vi.advanceTimersByTimeAsync(30);
    baseline.onResponse(0, response(1001)); // recorded, received during the read: maybe in the baseline
    await vi.advanceTimersByTimeAsync(30);
    baseline.onResponse(0, response(1020)); // recorded, received after the read, sent before it ended
    baseline.onResponse(0, response(1040)); // recorded, sent after the read ended: never in the baseline
    const read = await baseline.settle();
    expect(read.counters).toEqual(sample(10));
    expect([read.startedAt, read.endedAt]).toEqual([1_000_980, 1_001_030]);
    expect(read.inFlight).toBe(3);
  });

  it('without a read (the load ended during warm-up) the baseline is the one before the load and every warm-up response is allowed', async () => {
    const read = vi.fn(async () => sample(1));
    const baseline = new WarmupBaseline(5000, read, 0);
    baseline.onClockOrigin(0, 1_000_000);
    for (let i = 0; i < 7; i++) baseline.onResponse(0, response(i * 100));
    const result = await baseline.settle();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(read).not.toHaveBeenCalled();
    expect(result).toEqual({ inFlight: 7 });
  });

  it('waits for the latest of several load parts, and reports a failed read', async () => {
    const baseline = new WarmupBaseline(1000, () => Promise.reject(new Error('apiserver gone')), 0);
    baseline.onClockOrigin(0, 1_000_000);
    baseline.onClockOrigin(1, 1_000_200);
    await vi.advanceTimersByTimeAsync(1100);
    const early = baseline.settle();
    const result = await early;
    expect(result.error).toBeUndefined(); // not due before 1200: cancelled by settle, nothing read
    const second = new WarmupBaseline(1000, () => Promise.reject(new Error('apiserver gone')), 0);
    second.onClockOrigin(0, 1_000_000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(((await second.settle()).error as Error).message).toBe('apiserver gone');
  });
});
