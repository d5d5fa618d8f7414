// `meshproof export k6` carries thresholds from the expectations k6 can judge, and the warm-up (issue: the user's
// journey, item 10): the real k6 binary runs the exported script against a loopback server and exits 99 exactly when
// an expectation's band is missed.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { exportK6Command } from '../../src/cli/export-command.ts';
import { k6Checks } from '../../src/load/k6-checks.ts';
import { K6_OFFLINE_ENV, k6Path } from '../../src/load/tools.ts';
import { loadExperimentText } from '../../src/spec/load.ts';
import { startServer, type TestServer } from './server.ts';
import { tempDir } from '../support/temp-dir.ts';

const experiment = (load: string, expect: string) => `apiVersion: meshproof.dev/v1alpha1
kind: Experiment
metadata: { name: thresholds }
spec:
  load:
${load}
  expect:
${expect}
`;

describe('exported k6 scripts judge what k6 can see', () => {
  let server: TestServer;
  let dir: string;
  beforeAll(async () => {
    server = await startServer();
    dir = tempDir('meshproof-thresholds-');
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await server.close();
  });

  async function runK6(name: string, text: string): Promise<{ code: number | null; script: string; out: string }> {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, text);
    const out = join(dir, `${name}.js`);
    expect(await exportK6Command(file, { baseUrl: server.url, seed: 5, out })).toBe(0);
    // Not spawnSync: the server answering k6 runs in this process.
    const child = spawn(k6Path(), ['run', '--quiet', '--no-color', '--no-usage-report', out], { env: { ...process.env, ...K6_OFFLINE_ENV } });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { code, script: readFileSync(out, 'utf8'), out: output };
  }

  it('a split the server does not give fails the run (exit 99); the split it gives passes (exit 0)', async () => {
    // The server's /productpage shows v1 50 %, v2 30 %, v3 20 % (test/load/server.ts).
    const load = '    request: { path: /productpage }\n    connections: 4\n    total: 400';
    const wrong = await runK6('wrong', experiment(load, '    - distribution: { of: reviews.version, weights: { v1: 80, v3: 20 } }'));
    expect(wrong.code, wrong.out).toBe(99);
    expect(wrong.out).toMatch(/thresholds on metrics 'meshproof_check_0_0'.* have been crossed|meshproof_check_0_0/);
    const right = await runK6('right', experiment(load, '    - distribution: { of: reviews.version, weights: { v1: 50, v2: 30, v3: 20 }, tolerance: "10%" }'));
    expect(right.code, right.out).toBe(0);
  }, 60_000);

  it('a share of 503s and a latency bound: met passes, missed fails; mesh-side expectations are listed as not judged', async () => {
    const load = '    request: { path: /flaky }\n    connections: 4\n    total: 400';
    const met = await runK6(
      'met',
      experiment(
        load,
        '    - status: { code: 503, ratio: { approx: 0.2, tolerance: 0.1 } }\n    - latency: { p99: { below: 5s } }\n    - retries: { service: ratings, max: 0 }',
      ),
    );
    expect(met.code, met.out).toBe(0);
    expect(met.script).toContain('// Not judged here: "retries to ratings": it reads the proxies\' own counters, which k6 cannot see.');
    const missed = await runK6('missed', experiment(load, '    - status: { code: 5xx, ratio: { max: 0.05 } }'));
    expect(missed.code, missed.out).toBe(99);
  }, 60_000);

  it('the warm-up is sent but not counted: 503s only in the warm-up do not fail a max-0 share', async () => {
    // /early-fail answers 503 for 300 ms after its first request, then 200: the failures are at the start. A 1.5 s
    // warm-up leaves them out (unless the first request were held back by more than 1.2 s); without it they count.
    const text = (key: string, warmup: string) =>
      experiment(
        `    request: { path: "/early-fail?key=${key}&ms=300" }\n    rate: 20\n    duration: 3s${warmup}`,
        '    - status: { code: 503, ratio: { max: 0 } }',
      );
    const run = await runK6('warmup', text('with', '\n    warmup: 1500ms'));
    expect(run.script).toContain('Warm-up: responses sent in the first 1500 ms are sent but not counted');
    expect(run.code, run.out).toBe(0);
    const noWarmup = await runK6('no-warmup', text('without', ''));
    expect(noWarmup.code, noWarmup.out).toBe(99);
  }, 60_000);

  it("the thresholds are the bands' edges, per category, with where by request name", () => {
    const [e] = loadExperimentText(
      experiment(
        '    requests:\n      - { name: jason, path: /productpage }\n      - { name: anonymous, path: /productpage }\n    rate: 10\n    duration: 10s',
        '    - distribution: { of: reviews.version, weights: { v2: 100 }, where: { request: jason } }\n    - latency: { p99: { below: 500ms }, max: { below: 2s } }',
      ),
      join(dir, 'x.yaml'),
    );
    const { checks, notCarried } = k6Checks(e!.expect, e!.load.requests);
    expect(notCarried).toEqual([]);
    expect(checks.map((c) => [c.metric, c.type, c.thresholds, c.where])).toEqual([
      ['meshproof_check_0_0', 'rate', ['rate>=0.95'], { request: 'jason' }],
      ['meshproof_check_1', 'trend', ['p(99)<500', 'max<2000'], {}],
    ]);
  });
});
