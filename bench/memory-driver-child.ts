// One real-path memory measurement in a fresh Node process:
//   node --import tsx bench/memory-driver-child.ts <url> <requests> <connections>
// Runs meshproof's autocannon driver (src/load/autocannon.ts) against <url> (the trivial loopback server) for exactly
// <requests> requests, closed model, every response classified with the default classifiers into an Observation, as
// a run's onResponse does. Prints { requests, answered, errored, peakRssMb, beforeLoadRssMb, seconds }: peak RSS is
// process.resourceUsage().maxRSS (the kernel's ru_maxrss) at the end, beforeLoadRssMb the same reading just before
// the load started (Node, tsx and the modules loaded).
import { AutocannonDriver } from '../src/load/autocannon.ts';
import type { LoadPlan } from '../src/load/driver.ts';
import { resolveClassifiers } from '../src/observe/classifiers.ts';
import { Observation } from '../src/observe/observation.ts';

const [url, requestsArg, connectionsArg] = process.argv.slice(2);
const requests = Number(requestsArg);
const connections = Number(connectionsArg);
if (!url || !Number.isInteger(requests) || requests <= 0 || !Number.isInteger(connections) || connections <= 0) {
  throw new Error('usage: bench/memory-driver-child.ts <url> <requests> <connections>');
}

const plan: LoadPlan = {
  baseUrl: url,
  requests: [{ name: 'root', method: 'GET', path: '/', headers: {}, weight: 1 }],
  model: { kind: 'closed', connections },
  totalRequests: requests,
  timeoutMs: 5000,
  seed: 1,
};
const observation = new Observation({ classifiers: resolveClassifiers([]) });
const beforeLoadRssMb = process.resourceUsage().maxRSS / 1024;
const started = performance.now();
const summary = await new AutocannonDriver().run(plan, (r) => observation.record(r), { signal: new AbortController().signal });
const seconds = (performance.now() - started) / 1000;
observation.snapshot();
if (observation.total !== summary.sent) throw new Error(`recorded ${observation.total} of ${summary.sent} sent`);
console.log(
  JSON.stringify({
    requests: observation.total,
    answered: summary.answered,
    errored: summary.errored,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    beforeLoadRssMb,
    seconds,
  }),
);
