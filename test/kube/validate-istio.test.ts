// `meshproof validate --istio` through the CLI: the real, pinned istioctl (scripts/istioctl-build.ts) analyses the
// scenario plus each experiment's resources offline, and findings point at the line the user wrote.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp-dir.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

function meshproof(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(root, 'bin', 'meshproof.js'), ...args],
      { cwd: root, env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

function experimentDir(name: string, resource: string): string {
  const dir = tempDir('meshproof-validate-');
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      'apiVersion: meshproof.dev/v1alpha1',
      'kind: Experiment',
      'metadata:',
      `  name: ${name}`,
      '  description: test experiment',
      'spec:',
      '  scenario: bookinfo',
      '  apply:',
      '    - inline:',
      ...resource.split('\n').map((l) => `        ${l}`),
      '  load:',
      '    request: { path: /productpage }',
      '    connections: 2',
      '    requests: 10',
      '  expect:',
      '    - status: { code: 200, ratio: { min: 0.99 } }',
      '',
    ].join('\n'),
  );
  return file;
}

describe('meshproof validate --istio (real istioctl, offline)', () => {
  it('passes the shipped Bookinfo catalogue with no istioctl error', async () => {
    const { code, stderr } = await meshproof(['validate', '--istio', 'experiments/bookinfo']);
    expect(stderr).not.toContain('istio error:');
    expect(stderr).toMatch(/ok: \d+ experiments are valid .*; istioctl analyze: no errors/);
    expect(code).toBe(0);
  });

  it('exits 2 on an Error finding and names the experiment file, line and column of the field', async () => {
    // line 15 of the experiment file is `gateways: [no-such-gateway]`; col 22 is the list item
    const file = experimentDir(
      'broken-routing',
      [
        'apiVersion: networking.istio.io/v1',
        'kind: VirtualService',
        'metadata: { name: reviews }',
        'spec:',
        '  hosts: [reviews]',
        '  gateways: [no-such-gateway]',
        '  http:',
        '    - route:',
        '        - destination: { host: reviews }',
      ].join('\n'),
    );
    const { code, stderr } = await meshproof(['validate', '--istio', file]);
    expect(stderr).toContain(
      `istio error: ${file}:15:22: IST0101 (VirtualService default/reviews): Referenced gateway not found: "no-such-gateway" [experiment broken-routing]`,
    );
    expect(stderr).toContain('error: istioctl analyze found 1 error in the resources of 1 experiment.');
    expect(code).toBe(2);

    const json = await meshproof(['validate', '--istio', '--json', file]);
    expect(json.code).toBe(2);
    const parsed = JSON.parse(json.stdout) as {
      ok: boolean;
      istio: { code: string; level: string; where: { file: string; line: number }; experiments: string[] }[];
    };
    expect(parsed.ok).toBe(false);
    expect(parsed.istio).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'IST0101', level: 'Error', where: { file, line: 15, col: 22 }, experiments: ['broken-routing'] }),
      ]),
    );
  });

  it('shows warnings and still exits 0', async () => {
    const file = experimentDir(
      'unreachable-rule',
      [
        'apiVersion: networking.istio.io/v1',
        'kind: VirtualService',
        'metadata: { name: ratings }',
        'spec:',
        '  hosts: [ratings]',
        '  http:',
        '    - route:',
        '        - destination: { host: ratings }',
        '    - route:',
        '        - destination: { host: ratings }',
      ].join('\n'),
    );
    const { code, stderr } = await meshproof(['validate', '--istio', file]);
    expect(stderr).toMatch(
      new RegExp(
        `istio warning: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:10:9: IST0130 \\(VirtualService default/ratings\\): VirtualService rule #1 not used`,
      ),
    );
    expect(stderr).toContain('istioctl analyze: no errors, 1 other finding.');
    expect(code).toBe(0);
  });

  it('says how to get istioctl when it is missing (exit 3)', async () => {
    const { code, stderr } = await meshproof(['validate', '--istio', 'experiments/bookinfo'], { MESHPROOF_ISTIOCTL: '/nonexistent/istioctl' });
    expect(stderr).toContain('istioctl not found at /nonexistent/istioctl; build the pinned one with `npx tsx scripts/istioctl-build.ts`');
    expect(code).toBe(3);
  });

  it('without --istio does not need istioctl', async () => {
    const { code, stderr } = await meshproof(['validate', 'experiments/bookinfo'], { MESHPROOF_ISTIOCTL: '/nonexistent/istioctl' });
    expect(stderr).not.toContain('istioctl');
    expect(code).toBe(0);
  });
});
