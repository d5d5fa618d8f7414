// Row 2: the local mesh.
// (a) Full Bookinfo page throughput: GET /productpage through the ingress gateway with reviews pinned to v3 (red
//     stars), so every page takes every hop: gateway → productpage → details, and → reviews → ratings. The mesh
//     runs as the local target runs it (its own process, one core); the client is meshproof's autocannon driver
//     with classification in this process, closed model.
// (b) Added latency of one proxy hop, meshproof's mesh proxy vs a bare Node proxy (see bench/hop-fixture.ts):
//     one request at a time over one keep-alive connection per path, so latency is processing and loopback, never
//     queueing; the three paths take turns request by request.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { AutocannonDriver } from '../src/load/autocannon.ts';
import { resolveClassifiers } from '../src/observe/classifiers.ts';
import { Observation } from '../src/observe/observation.ts';
import type { K8sObject } from '../src/spec/types.ts';
import { LocalTarget } from '../src/targets/local/index.ts';
import type { HopFixture } from './hop-fixture.ts';
import { repoRoot, startBenchServer } from './process.ts';
import { summarize, type Summary } from './stats.ts';
import { elementAt } from '../src/must.ts';

export interface PageThroughput {
  connections: number;
  seconds: number;
  rps: Summary;
  p50Ms: Summary;
  p99Ms: Summary;
  /** Share of pages that were 200 with red stars from reviews v3 and ratings ok (every hop answered). */
  fullChainShare: number;
  /** One full page body (for the memory benchmark's records). */
  sampleBody: string;
}

export interface HopLatency {
  requestsPerRun: number;
  runs: number;
  /** Absolute latencies per path (ms). */
  direct: { p50: Summary; p99: Summary };
  node: { p50: Summary; p99: Summary };
  mesh: { p50: Summary; p99: Summary };
  /** Added by the hop, per run (path − direct in the same round), ms. */
  addedNode: { p50: Summary; p99: Summary };
  addedMesh: { p50: Summary; p99: Summary };
}

function bookinfoDestinationRules(): K8sObject[] {
  const text = readFileSync(`${repoRoot}/scenarios/bookinfo/destination-rule-all.yaml`, 'utf8');
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

const reviewsV3: K8sObject = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'reviews', namespace: 'default' },
  spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v3' } }] }] },
};

const WARM_UP_MS = 3000;

export async function benchPageThroughput(
  options: { connections?: number; seconds?: number; runs?: number; log?: (m: string) => void } = {},
): Promise<PageThroughput> {
  const connections = options.connections ?? 16;
  const seconds = options.seconds ?? 3;
  const runs = options.runs ?? 5;
  const log = options.log ?? (() => undefined);
  const target = new LocalTarget({ scenario: 'bookinfo', seed: 1 });
  await target.prepare();
  try {
    await target.apply([...bookinfoDestinationRules(), reviewsV3], 'bench');
    await target.waitConverged(30_000);
    const url = (await target.mesh.status()).gatewayUrl;
    const driver = new AutocannonDriver();
    const rps: number[] = [];
    const p50: number[] = [];
    const p99: number[] = [];
    let pages = 0;
    let full = 0;
    let sampleBody = '';
    // Unmeasured warm-up first: the mesh process's JIT and connection pools (the first measured runs were half as
    // fast after a 1 s warm-up).
    for (let run = -1; run < runs; run++) {
      const observation = new Observation({ classifiers: resolveClassifiers([]) });
      let lastDoneMs = 0;
      await driver.run(
        {
          baseUrl: url,
          requests: [{ name: 'productpage', method: 'GET', path: '/productpage', headers: {}, weight: 1 }],
          model: { kind: 'closed', connections },
          durationMs: run < 0 ? WARM_UP_MS : seconds * 1000,
          timeoutMs: 5000,
          seed: 1,
        },
        (r) => {
          observation.record(r);
          lastDoneMs = Math.max(lastDoneMs, r.sentAtMs + r.latencyMs);
          if (!sampleBody && r.status === 200) sampleBody = r.body;
        },
        { signal: new AbortController().signal },
      );
      if (run < 0) continue;
      const latency = observation.latency();
      rps.push(observation.total / (lastDoneMs / 1000));
      p50.push(latency.percentile(50));
      p99.push(latency.percentile(99));
      pages += observation.total;
      full += observation.count({ status: '200', 'reviews.version': 'v3', ratings: 'ok', details: 'ok' });
      log(`page run ${run + 1}/${runs}: ${Math.round(rps.at(-1) ?? 0)} pages/s`);
    }
    return { connections, seconds, rps: summarize(rps), p50Ms: summarize(p50), p99Ms: summarize(p99), fullChainShare: full / pages, sampleBody };
  } finally {
    await target.restore().catch(() => undefined);
    await target.close();
  }
}

/** One path's client: one keep-alive connection, one request at a time. */
class SequentialClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  private readonly url: URL;

  constructor(
    base: string,
    private readonly host: string,
  ) {
    this.url = new URL('/details/0', base);
  }

  /** Latency of one GET, ms. */
  async once(): Promise<number> {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const req = http.request(this.url, { agent: this.agent, headers: { host: this.host } }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`${this.url.href} (host ${this.host}) answered ${res.statusCode}`));
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
    return performance.now() - started;
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * `count` latencies per path, interleaved request by request (path order rotating), so that a noisy moment on the
 * machine lands on every path alike instead of on whichever path happened to be running.
 */
async function interleavedLatencies<P extends string>(clients: Record<P, SequentialClient>, count: number): Promise<Record<P, Float64Array>> {
  const names = Object.keys(clients) as P[];
  const out = Object.fromEntries(names.map((n) => [n, new Float64Array(count)])) as Record<P, Float64Array>;
  for (let i = 0; i < count; i++) {
    const turn = i % names.length;
    for (const name of [...names.slice(turn), ...names.slice(0, turn)]) out[name][i] = await clients[name].once();
  }
  return out;
}

function percentile(sorted: Float64Array, p: number): number {
  return elementAt(sorted, Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1));
}

export async function benchHopLatency(options: { requests?: number; runs?: number; log?: (m: string) => void } = {}): Promise<HopLatency> {
  const requests = options.requests ?? 3000;
  const runs = options.runs ?? 5;
  const log = options.log ?? (() => undefined);
  const server = await startBenchServer('hop-fixture.ts');
  try {
    const fixture = JSON.parse(server.firstLine) as HopFixture;
    const clients = {
      direct: new SequentialClient(fixture.direct, fixture.serviceHost),
      node: new SequentialClient(fixture.node, fixture.serviceHost),
      mesh: new SequentialClient(fixture.mesh, fixture.meshHost),
    };
    type Path = keyof typeof clients;
    const names = Object.keys(clients) as Path[];
    const at: Record<Path, { p50: number[]; p99: number[] }> = { direct: { p50: [], p99: [] }, node: { p50: [], p99: [] }, mesh: { p50: [], p99: [] } };
    const added = { node: { p50: [] as number[], p99: [] as number[] }, mesh: { p50: [] as number[], p99: [] as number[] } };
    try {
      await interleavedLatencies(clients, 500); // warm-up
      for (let run = 0; run < runs; run++) {
        const latencies = await interleavedLatencies(clients, requests);
        const thisRun = {} as Record<Path, { p50: number; p99: number }>;
        for (const name of names) {
          const sorted = latencies[name].sort();
          thisRun[name] = { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
          at[name].p50.push(thisRun[name].p50);
          at[name].p99.push(thisRun[name].p99);
        }
        for (const hop of ['node', 'mesh'] as const) {
          added[hop].p50.push(thisRun[hop].p50 - thisRun.direct.p50);
          added[hop].p99.push(thisRun[hop].p99 - thisRun.direct.p99);
        }
        log(
          `hop run ${run + 1}/${runs}: p50 direct ${thisRun.direct.p50.toFixed(3)} node ${thisRun.node.p50.toFixed(3)} mesh ${thisRun.mesh.p50.toFixed(3)} ms`,
        );
      }
    } finally {
      for (const client of Object.values(clients)) client.close();
    }
    const both = (x: { p50: number[]; p99: number[] }) => ({ p50: summarize(x.p50), p99: summarize(x.p99) });
    return {
      requestsPerRun: requests,
      runs,
      direct: both(at.direct),
      node: both(at.node),
      mesh: both(at.mesh),
      addedNode: both(added.node),
      addedMesh: both(added.mesh),
    };
  } finally {
    await server.stop();
  }
}
