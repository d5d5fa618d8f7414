// Memory of the streaming observation for one million requests, in its own file (own process) so that nothing
// else's garbage distorts the numbers. Measured and printed; the only assertion is the generous budget.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { resolveClassifiers } from '../../src/observe/classifiers.ts';
import { Observation } from '../../src/observe/observation.ts';

describe('Observation memory', () => {
  it('holds one million requests in bounded memory (measured and printed; the budget is 300 MB)', () => {
    const bodies = ['ok', 'upstream connect error or disconnect/reset before headers. reset reason: overflow', 'fault filter abort'];
    const statuses = [200, 503, 500];
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage();
    const obs = new Observation({ classifiers: resolveClassifiers([]) });
    const started = performance.now();
    for (let i = 0; i < 1_000_000; i++) {
      const k = i % 10 === 0 ? 1 : i % 25 === 0 ? 2 : 0;
      obs.record({ requestIndex: 0, sentAtMs: i * 0.5, latencyMs: 1 + (i % 997) / 100, status: statuses[k]!, headers: {}, body: bodies[k]! });
    }
    const elapsed = performance.now() - started;
    gc();
    const after = process.memoryUsage();
    const retainedMb = (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / 2 ** 20;
    const rssMb = after.rss / 2 ** 20;
    console.log(
      `[observation] 1e6 records in ${(elapsed / 1000).toFixed(2)} s (${(elapsed / 1000).toFixed(2)} µs each): ` +
        `retained heap+arrayBuffers ${retainedMb.toFixed(1)} MB, process RSS ${rssMb.toFixed(0)} MB, groups ${obs.snapshot().groups.length}`,
    );
    expect(obs.total).toBe(1_000_000);
    expect(obs.count({ status: '503' })).toBe(100_000);
    expect(obs.sendTimes({ status: '503' })).toHaveLength(100_000);
    expect(retainedMb).toBeLessThan(300);
    expect(retainedMb).toBeGreaterThan(8); // at least 14 bytes per request (send time, latency, group id), grown by doubling
  });
});
