// One memory measurement in a fresh Node process:
//   node --import tsx bench/memory-child.ts <records> <page-body-file>
// Feeds <records> responses through the Observation with the default classifiers (status, envoy, bookinfo), as a
// run's onResponse does, and prints { records, peakRssMb, seconds }: the process's peak resident set size from
// process.resourceUsage().maxRSS (the kernel's ru_maxrss). With 0 records it measures the baseline (Node, tsx and
// the modules loaded). The records mimic a Bookinfo run: 90 % full product pages (200), 10 % Envoy local replies
// (503 UH/UO), each body a fresh string, latencies spread over 1–100 ms, sent at 10,000 requests per second.
import { readFileSync } from 'node:fs';
import { resolveClassifiers } from '../src/observe/classifiers.ts';
import { Observation } from '../src/observe/observation.ts';
import type { ResponseRecord } from '../src/observe/types.ts';
import { must } from '../src/must.ts';

const records = Number(process.argv[2]);
// Each response body is a new string, as the driver decodes every body: the garbage a run makes is part of its peak.
// Copied as latin1 (a byte copy) rather than decoded as UTF-8 (twice the feed time): the page's only non-ASCII
// character is an arrow in the footer, far from every marker the classifiers look for, so the labels are the same.
const page = readFileSync(must(process.argv[3], 'the page file (argument 2)'));
const overflow = 'upstream connect error or disconnect/reset before headers. reset reason: overflow';
const noHealthy = 'no healthy upstream';

const observation = new Observation({ classifiers: resolveClassifiers([]) });
const started = performance.now();
for (let i = 0; i < records; i++) {
  const k = i % 10;
  const record: ResponseRecord =
    k === 9
      ? {
          requestIndex: 0,
          sentAtMs: i / 10,
          latencyMs: 0.3 + (i % 7) / 10,
          status: 503,
          headers: { server: 'istio-envoy' },
          body: i % 20 === 9 ? overflow : noHealthy,
        }
      : {
          requestIndex: 0,
          sentAtMs: i / 10,
          latencyMs: 1 + (i % 9901) / 100,
          status: 200,
          headers: { 'content-type': 'text/html; charset=utf-8' },
          body: page.toString('latin1'),
        };
  observation.record(record);
}
const seconds = (performance.now() - started) / 1000;
if (observation.total !== records) throw new Error(`recorded ${observation.total} of ${records}`);
const snapshot = observation.snapshot();
console.log(JSON.stringify({ records, groups: snapshot.groups.length, peakRssMb: process.resourceUsage().maxRSS / 1024, seconds }));
