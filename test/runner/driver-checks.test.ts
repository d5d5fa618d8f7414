// What a load driver cannot do is bad input (exit 2, file:line:col of the field) before anything is applied, for the
// experiment's own driver and for a --driver override. Before, a fractional rate with autocannon failed only after
// apply and convergence, as a load error.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpecErrors } from '../../src/errors.ts';
import { loadExperimentText } from '../../src/spec/load.ts';
import { runCli } from '../catalogue/cli.ts';
import { tempDir } from '../support/temp-dir.ts';

const experiment = (driver: string, rate: string) => `apiVersion: meshproof.dev/v1alpha1
kind: Experiment
metadata: { name: fractional-rate }
spec:
  apply:
    - inline:
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: reviews }
        spec:
          hosts: [reviews]
          http:
            - route:
                - destination: { host: reviews }
  load:
    driver: ${driver}
    request: { path: /productpage }
    rate: ${rate}
    duration: 2s
  expect:
    - status: { code: 200, ratio: { min: 0.5 } }
`;

function errorsOf(work: () => unknown): SpecErrors {
  try {
    work();
  } catch (error) {
    if (error instanceof SpecErrors) return error;
    throw error;
  }
  throw new Error('loaded without error');
}

describe('driver checks before apply', () => {
  it('k6 takes a fractional rate; autocannon, or --driver autocannon over it, is refused at the rate field', () => {
    expect(loadExperimentText(experiment('k6', '2.5'), '/tmp/x.yaml')).toHaveLength(1);
    const { errors } = errorsOf(() => loadExperimentText(experiment('k6', '2.5'), '/tmp/x.yaml', { driver: 'autocannon' }));
    expect(errors).toHaveLength(1);
    expect(errors[0]!.path).toBe('spec.load.rate');
    expect(errors[0]!.source).toMatchObject({ line: 18, col: 11 });
    expect(errors[0]!.message).toContain('the autocannon driver (--driver autocannon) sends whole requests per second (got rate 2.5)');
    // a --driver k6 override lifts the experiment's own autocannon restriction
    expect(loadExperimentText(experiment('autocannon', '0.5'), '/tmp/x.yaml', { driver: 'k6' })).toHaveLength(1);
  });

  it('meshproof run --driver autocannon exits 2 naming file:line:col before touching the target', async () => {
    const dir = tempDir('meshproof-driver-');
    const file = join(dir, 'fractional.yaml');
    writeFileSync(file, experiment('k6', '2.5'));
    const r = await runCli(['run', file, '--driver', 'autocannon', '--report-dir', join(dir, 'report')], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/fractional\.yaml:18:11: spec\.load\.rate: the autocannon driver \(--driver autocannon\)/);
    expect(r.stderr).not.toMatch(/applying|converging/);
  });
});
