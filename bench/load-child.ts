// One load-tool measurement in a fresh Node process (so no run inherits another's JIT state or garbage):
//   node --import tsx bench/load-child.ts <tool> <url> <connections> <seconds>
// tools: meshproof-autocannon (the autocannon driver + classification + Observation, as a run uses them),
//        meshproof-k6 (the k6 driver + Observation), autocannon (autocannon's own API, no hooks).
// Prints one JSON line: { completed, ok, errors, seconds, rps }.
import autocannon from 'autocannon';
import { AutocannonDriver } from '../src/load/autocannon.ts';
import type { LoadDriver, LoadPlan } from '../src/load/driver.ts';
import { K6Driver } from '../src/load/k6.ts';
import { resolveClassifiers } from '../src/observe/classifiers.ts';
import { Observation } from '../src/observe/observation.ts';

export interface LoadChildResult {
  completed: number;
  ok: number;
  errors: number;
  /** The load window the rate is taken over. */
  seconds: number;
  rps: number;
}

async function meshproofDriver(driver: LoadDriver, url: string, connections: number, seconds: number): Promise<LoadChildResult> {
  const plan: LoadPlan = {
    baseUrl: url,
    requests: [{ name: 'root', method: 'GET', path: '/', headers: {}, weight: 1 }],
    model: { kind: 'closed', connections },
    durationMs: seconds * 1000,
    timeoutMs: 5000,
    seed: 1,
  };
  const observation = new Observation({ classifiers: resolveClassifiers([]) });
  // The window ends at the last completion: k6's process start-up is not load time.
  let lastDoneMs = 0;
  await driver.run(
    plan,
    (r) => {
      observation.record(r);
      const done = r.sentAtMs + r.latencyMs;
      if (done > lastDoneMs) lastDoneMs = done;
    },
    { signal: new AbortController().signal },
  );
  const ok = observation.count({ status: '200' });
  const window = lastDoneMs / 1000;
  return { completed: observation.total, ok, errors: observation.total - ok, seconds: window, rps: observation.total / window };
}

async function rawAutocannon(url: string, connections: number, seconds: number): Promise<LoadChildResult> {
  const result = await autocannon({ url, connections, duration: seconds, pipelining: 1 });
  const completed = result.requests.total;
  const errors = result.errors + result.timeouts + result.non2xx;
  return { completed, ok: completed - result.non2xx, errors, seconds: result.duration, rps: completed / result.duration };
}

const [tool, url = '', connections, seconds] = process.argv.slice(2);
const c = Number(connections);
const s = Number(seconds);
let result: LoadChildResult;
if (tool === 'meshproof-autocannon') result = await meshproofDriver(new AutocannonDriver(), url, c, s);
else if (tool === 'meshproof-k6') result = await meshproofDriver(new K6Driver(), url, c, s);
else if (tool === 'autocannon') result = await rawAutocannon(url, c, s);
else throw new Error(`unknown tool ${tool}`);
console.log(JSON.stringify(result));
