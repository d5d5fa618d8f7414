// `meshproof tutorial` checks every step as `run` does (src/cli/preflight.ts targetRefusals) before the first is
// applied: a step the local target refuses stops the tutorial with exit 2 and file:line:col, nothing run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp-dir.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/meshproof.js');
const scenario = join(root, 'scenarios/bookinfo');

function step(name: string, retryOn: string): string {
  return `apiVersion: meshproof.dev/v1alpha1
kind: Experiment
metadata: { name: ${name}, tags: [tutorial] }
spec:
  apply:
    - file: ${scenario}/destination-rule-all.yaml
    - inline:
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: reviews }
        spec:
          hosts: [reviews]
          http:
            - route: [{ destination: { host: reviews, subset: v1 } }]
              retries: { attempts: 2, retryOn: "${retryOn}" }
  load:
    request: { path: /productpage }
    rate: 20
    total: 20
  expect:
    - status: { code: 200, ratio: { min: 0.9 } }
`;
}

describe('meshproof tutorial', () => {
  it('refuses a step the local target would refuse before the first step runs (exit 2, file:line:col, no report)', () => {
    const cwd = tempDir('meshproof-tutorial-');
    const tutorial = join(cwd, 'experiments', 'checked');
    mkdirSync(tutorial, { recursive: true });
    writeFileSync(join(tutorial, '1-first.yaml'), step('first', '5xx'));
    // `retryOn: "5xx,bogus"` is refused by the local mesh at apply, as in `run`'s test in cli.test.ts.
    writeFileSync(join(tutorial, '2-refused.yaml'), step('refused', '5xx,bogus'));
    const reportDir = join(cwd, 'report');
    const r = spawnSync(process.execPath, [bin, 'tutorial', 'checked', '--yes', '--report-dir', reportDir], {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/2-refused\.yaml:15:\d+: VirtualService reviews: spec\.http\[0\]\.retries\.retryOn: /);
    expect(r.stderr).not.toMatch(/Step 1\/2|What was observed/);
    expect(existsSync(reportDir)).toBe(false);
  });
});
