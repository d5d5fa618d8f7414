// `meshproof init` (issue 19 item 5): a starting experiment for a service that validates without a warning (its budget
// comes from the sample-size planner) and runs green on the local target as written.
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { initExperiment } from '../../src/cli/init-command.ts';
import { tempDir } from '../support/temp-dir.ts';

const bin = fileURLToPath(new URL('../../bin/meshproof.js', import.meta.url));
const cli = (args: string[], cwd: string) =>
  spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 120_000 });

describe('meshproof init', () => {
  it('writes experiments for reviews and ratings that validate without warnings and pass on the local target', () => {
    const dir = tempDir('meshproof-init-');
    for (const service of ['reviews', 'ratings']) expect(cli(['init', service], dir).status).toBe(0);
    const reviews = parse(readFileSync(join(dir, 'reviews-baseline.yaml'), 'utf8'));
    // No even split is promised by the baseline (least-request balancing favours faster versions): the description says
    // how to expect one.
    expect(reviews.spec.expect).toEqual([{ status: { code: 200, ratio: { min: 0.99 } } }]);
    expect(reviews.metadata.description).toContain('route it with weights under spec.apply and add a distribution of reviews.version');
    expect(reviews.spec.load.until).toBe('verdict');
    const validate = cli(['validate', 'reviews-baseline.yaml', 'ratings-baseline.yaml'], dir);
    expect(validate.status, validate.stderr).toBe(0);
    expect(validate.stderr).not.toMatch(/warning/);
    const run = cli(['run', 'reviews-baseline.yaml', 'ratings-baseline.yaml', '--quiet', '--seed', '3', '--report-dir', join(dir, 'report')], dir);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^PASS 2 passed/m);
  }, 120_000);

  it('an unknown service is bad input naming the services there are (exit 2); an existing file is not overwritten without --force', () => {
    const dir = tempDir('meshproof-init-');
    const unknown = cli(['init', 'payments'], dir);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('scenario bookinfo has no service "payments" (it has: ');
    expect(cli(['init', 'details'], dir).status).toBe(0);
    const again = cli(['init', 'details'], dir);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('details-baseline.yaml exists; pass --force');
    expect(cli(['init', 'details', '--force'], dir).status).toBe(0);
  });

  it('plans a budget that can decide every expectation (the planner, with room)', () => {
    const { text } = initExperiment('reviews');
    const budget = parse(text).spec.load.budget as number;
    // every response a 200 (min 99 %) decides at 528 (⌈ln 0.005 / ln 0.99⌉) with a single look; the anytime interval needs more.
    expect(budget).toBeGreaterThanOrEqual(800);
    expect(budget % 100).toBe(0);
  });

  it('for a service of a scenario folder: spec.scenario relative to the written file, the echo version named; it runs green', () => {
    const dir = tempDir('meshproof-init-');
    const scenario = fileURLToPath(new URL('../../examples/two-services/scenario', import.meta.url));
    expect(cli(['init', 'backend', '--scenario', scenario, '--out', 'suite/backend.yaml'], dir).status).toBe(0);
    const written = parse(readFileSync(join(dir, 'suite', 'backend.yaml'), 'utf8'));
    expect(resolve(join(dir, 'suite'), written.spec.scenario)).toBe(scenario);
    expect(written.metadata.description).toContain('add a distribution of backend.version');
    const run = cli(['run', 'suite/backend.yaml', '--quiet', '--seed', '3', '--report-dir', join(dir, 'report')], dir);
    expect(run.status, run.stderr).toBe(0);
  }, 60_000);

  it('in a scenario with a gateway route to the service, the load goes through the ingress gateway; under STRICT mTLS without one, init says what to add (exit 2)', () => {
    const scenario = fileURLToPath(new URL('../../examples/researchflow/scenario', import.meta.url));
    const written = parse(initExperiment('orchestrator', scenario, join(tmpdir(), 'orchestrator.yaml')).text);
    expect(written.spec.load.request).toEqual({ path: '/' }); // the entry VirtualService's catch-all route leads to it
    expect(() => initExperiment('worker', scenario, join(tmpdir(), 'worker.yaml'))).toThrow(/"worker" takes only mutual TLS .* no Gateway route leads to it/);
    const dir = tempDir('meshproof-init-');
    const r = cli(['init', 'worker', '--scenario', scenario, '--out', 'w.yaml'], dir);
    expect(r.status).toBe(2);
  });

  it('for a service whose DestinationRule caps its pool, the load is a closed model the pool always takes (an open rate can burst past it into 503 UO)', () => {
    const scenario = fileURLToPath(new URL('../../examples/researchflow/scenario', import.meta.url));
    // orchestrator: maxConnections 100 + http1MaxPendingRequests 50, http2MaxRequests 100 → 100 at once.
    const written = parse(initExperiment('orchestrator', scenario, join(tmpdir(), 'orchestrator.yaml')).text);
    expect(written.spec.load.connections).toBe(16);
    expect(written.spec.load.rate).toBeUndefined();
    expect(written.metadata.description).toContain("caps orchestrator's pool at 100 requests at once");
    // Bookinfo's services have no pool limits: the open model at 200 requests per second.
    expect(parse(initExperiment('reviews').text).spec.load.rate).toBe(200);
  });

  it("a pool capped only on a subset's or a port's traffic policy counts too", () => {
    const dir = tempDir('meshproof-init-pool-');
    cpSync(fileURLToPath(new URL('../../examples/researchflow/scenario', import.meta.url)), dir, { recursive: true });
    const rules = join(dir, 'destination-rules.yaml');
    const text = readFileSync(rules, 'utf8');
    const pool = '    connectionPool:\n      tcp: { maxConnections: 100 }\n      http: { http1MaxPendingRequests: 50, http2MaxRequests: 100 }\n';
    expect(text.split(pool)).toHaveLength(3);
    // The orchestrator's pool moves to a port's settings (8 at once), the worker's is dropped.
    const [orchestrator, worker] = text.split('---');
    const portLevel =
      '    portLevelSettings:\n      - port: { number: 8000 }\n        connectionPool:\n          tcp: { maxConnections: 4 }\n          http: { http1MaxPendingRequests: 4 }\n';
    writeFileSync(rules, [orchestrator!.replace(pool, portLevel), worker!.replace(pool, '')].join('---'));
    const written = parse(initExperiment('orchestrator', dir, join(dir, 'o.yaml')).text);
    expect(written.spec.load).toMatchObject({ connections: 8 });
    expect(written.metadata.description).toContain("caps orchestrator's pool at 8 requests at once");
  });
});
