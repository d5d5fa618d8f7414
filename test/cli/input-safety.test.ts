// Input safety through the command line as users run it (issue 15 item 8): hostile YAML and oversized files are bad
// input (exit 2) with file:line:col and no stack trace, never an internal error (exit 3).
import { spawnSync } from 'node:child_process';
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { billionLaughs } from '../support/hostile-yaml.ts';
import { tempDir } from '../support/temp-dir.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/meshproof.js');
const dir = tempDir('meshproof-input-safety-');

function meshproof(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('meshproof validate on hostile input', () => {
  it('a YAML alias bomb of under 1000 bytes is bad input at its first alias (exit 2), not an internal error with a stack trace (exit 3)', () => {
    const file = join(dir, 'bomb.yaml');
    const text = `apiVersion: meshproof.dev/v1alpha1\nkind: Experiment\nmetadata:\n  name: bomb\n  description: billion laughs\n${billionLaughs('  ')}spec: {}\n`;
    writeFileSync(file, text);
    expect(Buffer.byteLength(text)).toBeLessThan(1000);
    const r = meshproof(['validate', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:7:10: YAML aliases expand too much: more than 100 alias expansions`);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  });

  it('a 50 MB experiment is refused for its size before it is parsed (exit 2), saying how big it is and the limit', () => {
    const file = join(dir, 'huge.yaml');
    writeFileSync(file, 'apiVersion: meshproof.dev/v1alpha1\nkind: Experiment\n');
    truncateSync(file, 50 * 1000 * 1000);
    const r = meshproof(['validate', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:1:1: ${file} is 47.7 MiB (50000000 bytes); the limit for an experiment file is 1 MiB`);
  });

  it('pseudo-headers, host and CR/LF in VirtualService header operations are refused at validate time as Istio refuses them, on either target (exit 2, file:line:col at each field)', () => {
    const file = join(dir, 'headers.yaml');
    writeFileSync(
      file,
      `apiVersion: meshproof.dev/v1alpha1
kind: Experiment
metadata: { name: bad-headers }
spec:
  apply:
    - file: ${root}scenarios/bookinfo/destination-rule-all.yaml
    - inline:
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: reviews }
        spec:
          hosts: [reviews]
          http:
            - headers:
                request:
                  set: { ":path": /admin }
                response:
                  set: { host: reviews }
              route:
                - destination: { host: reviews, subset: v1 }
                  headers:
                    request:
                      add: { ":method": POST, x-note: "a\\r\\nInjected: yes" }
                      remove: [":authority"]
  load: { request: { path: /productpage }, rate: 10, duration: 1s }
  expect:
    - status: { code: 200, ratio: { min: 0.99 } }
`,
    );
    for (const target of ['local', 'kube']) {
      const r = meshproof(['validate', '--target', target, file]);
      expect(r.code, r.stderr).toBe(2);
      const at = (line: number, col: number, path: string) => `${file}:${line}:${col}: VirtualService reviews: ${path}: `;
      expect(r.stderr).toContain(
        `${at(16, 26, 'spec.http[0].headers.request.set[":path"]')}invalid header ":path": header cannot have ":" prefix (refused by Istio's validation)`,
      );
      expect(r.stderr).toContain(`${at(18, 26, 'spec.http[0].headers.response.set.host')}invalid header "host": cannot set Host header`);
      expect(r.stderr).toContain(`${at(23, 30, 'spec.http[0].route[0].headers.request.add[":method"]')}invalid header ":method"`);
      expect(r.stderr).toContain(
        `${at(23, 47, 'spec.http[0].route[0].headers.request.add.x-note')}header value configuration "a\\r\\nInjected: yes" is invalid`,
      );
      expect(r.stderr).toContain(`${at(24, 32, 'spec.http[0].route[0].headers.request.remove[0]')}invalid header ":authority": header cannot have ":" prefix`);
      expect(r.stderr).toMatch(/5 problems found/);
    }
  });

  it('a typo in a resource (weigth) is reported with an undefined subset, a typo in the experiment and a typo in another resource, each at its position (validate and run, exit 2)', () => {
    const file = join(dir, 'many-problems.yaml');
    writeFileSync(
      file,
      `apiVersion: meshproof.dev/v1alpha1
kind: Experiment
metadata: { name: many-problems }
spec:
  apply:
    - file: ${root}scenarios/bookinfo/destination-rule-all.yaml
    - inline:
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: reviews }
        spec:
          hosts: [reviews]
          http:
            - route:
                - { destination: { host: reviews, subset: v1 }, weigth: 80 }
                - { destination: { host: reviews, subset: v4 }, weight: 20 }
    - inline:
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: ratings }
        spec:
          hosts: [ratings]
          http:
            - route: [{ destination: { host: ratings, subset: v1 } }]
              timeuot: 1s
  load: { request: { path: /productpage }, rate: 10, durration: 1s }
  expect:
    - status: { code: 200, ratio: { min: 0.99 } }
`,
    );
    for (const command of ['validate', 'run']) {
      const r = meshproof([command, file]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`${file}:15:65: VirtualService reviews: spec.http[0].route[0].weigth: unknown or unsupported field; did you mean "weight"?`);
      expect(r.stderr).toContain(`${file}:16:51: VirtualService reviews: spec.http[0].route[1].destination.subset: subset "v4" of host reviews is not defined`);
      expect(r.stderr).toContain(`${file}:25:15: VirtualService ratings: spec.http[0].timeuot: unknown or unsupported field; did you mean "timeout"?`);
      expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.]/g, '\\.')}:26:\\d+: spec\\.load\\.durration: unknown field "durration"`));
      expect(r.stderr).toMatch(/4 problems found/);
    }
  });
});
