// The command line as users run it: a child process of bin/meshproof.js, its exit code, stdout and stderr.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseResultJson } from '../../src/report/json.ts';
import { tempDir } from '../support/temp-dir.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/meshproof.js');
const scenario = join(root, 'scenarios/bookinfo');

function meshproof(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dir = tempDir('meshproof-cli-');
function experiment(name: string, body: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `apiVersion: meshproof.dev/v1alpha1\nkind: Experiment\nmetadata: { name: ${name} }\nspec:\n${body}`);
  return file;
}

// 200 pages through the gateway with every review from v1: deterministic enough that each verdict is certain.
const allV1 = `  apply:
    - file: ${scenario}/destination-rule-all.yaml
    - inline:
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: reviews }
        spec: { hosts: [reviews], http: [{ route: [{ destination: { host: reviews, subset: v1 } }] }] }
  load:
    request: { path: /productpage }
    rate: 400
    total: 300
`;
const passing = experiment('all-v1', `${allV1}  expect:\n    - distribution: { of: reviews.version, weights: { v1: 100 } }\n`);
const failing = experiment('expects-v3', `${allV1}  expect:\n    - distribution: { of: reviews.version, weights: { v3: 100 } }\n`);

describe('meshproof CLI', () => {
  it('--version prints the version; --help lists the commands; both exit 0', () => {
    const version = meshproof(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = meshproof(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['run', 'validate', 'list', 'tutorial', 'cleanup', 'report', 'export']) expect(help.stdout).toContain(command);
  });

  it('an unknown flag or a bad flag value is bad input (exit 2) with a usage hint', () => {
    const unknown = meshproof(['run', '--sed', '1']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option '--sed'/);
    const badSeed = meshproof(['run', '--seed', 'abc', passing]);
    expect(badSeed.code).toBe(2);
    expect(badSeed.stderr).toMatch(/expected a whole number/);
  });

  it('validate names file:line:col, the field and a suggestion for a bad experiment, without a stack trace (exit 2)', () => {
    const r = meshproof(['validate', 'test/fixtures/bad/typo-top-level-spec-field.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/typo-top-level-spec-field\.yaml:18:\d+: spec\.laod: unknown field "laod"; did you mean "load"\?/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('validate prints errors and warnings without terminal control sequences from user text', () => {
    // A subset named with an escape sequence (YAML "\\e") is refused (not a DNS-1123 label); the error quotes it.
    const routes = (subset: string) => `  apply:
    - inline:
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: reviews }
        spec: { host: reviews, subsets: [{ name: "${subset}", labels: { version: v1 } }, { name: v2, labels: { version: v2 } }] }
    - inline:
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: reviews }
        spec:
          hosts: [reviews]
          http:
            - route:
                - { destination: { host: reviews, subset: "${subset}" }, weight: 30 }
                - { destination: { host: reviews, subset: v2 }, weight: 30 }
  load:
    request: { path: /productpage }
    rate: 10
    total: 10
  expect:
    - status: { code: 200, ratio: { min: 0.9 } }
`;
    const refused = meshproof(['validate', experiment('hostile-subset', routes('v1\\e[2J'))]);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/spec\.subsets\[0\]\.name: subset name .* is not a DNS-1123 label/);
    expect(refused.stderr).not.toContain('\u001b');
    // A file name is user text too, and the relative-weights warning names the file.
    const hostileFile = join(dir, 'weights-\u001b[2J.yaml');
    writeFileSync(hostileFile, `apiVersion: meshproof.dev/v1alpha1\nkind: Experiment\nmetadata: { name: weights }\nspec:\n${routes('v1')}`);
    const warned = meshproof(['validate', hostileFile]);
    expect(warned.code, warned.stderr).toBe(0);
    expect(warned.stderr).toContain('so traffic goes v1 50.0 %, v2 50.0 %');
    expect(warned.stderr).toContain('weights-\uFFFD[2J.yaml');
    expect(warned.stderr).not.toContain('\u001b');
  });

  it('validate and list accept good experiments', () => {
    expect(meshproof(['validate', passing]).code).toBe(0);
    const list = meshproof(['list', '--json', passing, failing]);
    expect(list.code).toBe(0);
    expect(
      JSON.parse(list.stdout)
        .map((e: { name: string }) => e.name)
        .sort(),
    ).toEqual(['all-v1', 'expects-v3']);
  });

  it('a path that does not exist is bad input naming it', () => {
    const r = meshproof(['run', join(dir, 'missing.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('missing.yaml');
  });

  it('one bad experiment among good ones stops the run before anything is applied (exit 2, no report)', () => {
    const reportDir = join(dir, 'never');
    const r = meshproof(['run', passing, 'test/fixtures/bad/typo-expectation-kind.yaml', '--report-dir', reportDir]);
    expect(r.code).toBe(2);
    expect(existsSync(reportDir)).toBe(false);
  });

  it('run checks every experiment as validate does before the first is applied: a resource the local target refuses in the last one stops the run (exit 2, file:line:col, nothing applied)', () => {
    // `retryOn: "5xx,bogus"` is refused by the local mesh at apply; `validate` finds it before a run, so must `run`.
    const refused = experiment(
      'refused-later',
      `  apply:
    - file: ${scenario}/destination-rule-all.yaml
    - inline:
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: reviews }
        spec:
          hosts: [reviews]
          http:
            - route: [{ destination: { host: reviews, subset: v1 } }]
              retries: { attempts: 2, retryOn: "5xx,bogus" }
  load:
    request: { path: /productpage }
    rate: 10
    total: 10
  expect:
    - status: { code: 200, ratio: { min: 0.9 } }
`,
    );
    const validate = meshproof(['validate', passing, refused]);
    expect(validate.code).toBe(2);
    const reportDir = join(dir, 'never-refused');
    const r = meshproof(['run', passing, refused, '--report-dir', reportDir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refused-later\.yaml:15:\d+: VirtualService reviews: spec\.http\[0\]\.retries\.retryOn: /);
    expect(r.stderr).not.toMatch(/all-v1|applying|PASS/);
    expect(existsSync(reportDir)).toBe(false);
    // --target kube does not run the local mesh's parse (the cluster judges), as `validate --target kube`.
    expect(meshproof(['validate', '--target', 'kube', passing, refused]).code).toBe(0);
  });

  it('run --json with bad input prints { ok: false, errors } on stdout as validate --json does, and the human error on stderr', () => {
    const bad = 'test/fixtures/bad/typo-top-level-spec-field.yaml';
    const validate = meshproof(['validate', '--json', bad]);
    const run = meshproof(['run', '--json', bad, '--report-dir', join(dir, 'never-json')]);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toEqual(JSON.parse(validate.stdout));
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, errors: [{ line: 18, path: 'spec.laod' }] });
    expect(run.stderr).toMatch(/^error: .*typo-top-level-spec-field\.yaml:18:\d+: spec\.laod: unknown field/m);
    // A bad flag value found before the run (no file position) has the same shape.
    const tag = meshproof(['run', '--json', passing, '--tag', 'nothing-has-it']);
    expect(tag.code).toBe(2);
    expect(JSON.parse(tag.stdout)).toMatchObject({ ok: false, errors: [{ path: '--tag' }] });
  });

  it('run: exit 0 when every expectation holds; --json puts only the result on stdout; reports are written', () => {
    const reportDir = join(dir, 'pass');
    const r = meshproof(['run', passing, '--seed', '11', '--json', '--report-dir', reportDir]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ seed: 11, exitCode: 0, outcome: 'pass' });
    expect(result.experiments[0].verdicts[0]).toMatchObject({ outcome: 'pass' });
    for (const f of ['index.html', 'result.json', 'junit.xml']) expect(existsSync(join(reportDir, f))).toBe(true);
    expect(r.stderr).toContain('all-v1');
    // A real run's result.json is valid against schema version 2 (parseResultJson validates it): each verdict names
    // the expectation it judged and carries its evidence.
    const written = parseResultJson(readFileSync(join(reportDir, 'result.json'), 'utf8'), 'result.json');
    expect(written.schemaVersion).toBe(2);
    expect(written.experiments[0]!.verdicts[0]).toMatchObject({
      expectationIndex: 0,
      evidence: {
        unit: 'share',
        expected: { v1: { value: 1, min: 0.95, max: 1 } },
        population: { source: 'client', of: 'responses that carried reviews.version' },
      },
    });
  });

  it('run: exit 1 when an expectation fails, with the failure in JUnit; report re-renders the HTML', () => {
    const reportDir = join(dir, 'fail');
    const junit = join(dir, 'extra-junit.xml');
    const r = meshproof(['run', failing, '--seed', '12', '--report-dir', reportDir, '--junit', junit]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FAIL/);
    expect(readFileSync(junit, 'utf8')).toMatch(/<failure/);
    const out = join(dir, 'again.html');
    const again = meshproof(['report', join(reportDir, 'result.json'), '-o', out]);
    expect(again.code).toBe(0);
    const rerendered = readFileSync(out, 'utf8');
    expect(rerendered).toContain('expects-v3');
    // issue 6: `meshproof report result.json` reproduces the same HTML as the run did, byte for byte.
    expect(rerendered === readFileSync(join(reportDir, 'index.html'), 'utf8')).toBe(true);
  });

  it('a report place that cannot be written is bad input before anything runs (exit 2, names the flag)', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const r = meshproof(['run', passing, '--report-dir', join(file, 'reports')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: --report-dir: cannot write the reports in ${join(file, 'reports')}: it or a folder above it is a file`);
    expect(r.stderr).not.toMatch(/applying|internal error/);
    const j = meshproof(['run', passing, '--report-dir', join(dir, 'ok-reports'), '--junit', join(file, 'junit.xml')]);
    expect(j.code).toBe(2);
    expect(j.stderr).toContain('error: --junit: cannot write the JUnit file in');
  });

  it("report of a result.json of schema version 1 (an earlier release's) renders it", () => {
    const out = join(dir, 'v1.html');
    const r = meshproof(['report', join(root, 'test/fixtures/report/result-v1.json'), '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('reviews-shift-80-20');
  });

  it('report of a file that is not a result is bad input', () => {
    const r = meshproof(['report', passing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/:1:1: JSON syntax error/);
  });

  it('report of a result.json with a broken field names its line and field, exit 2 (no crash while rendering)', () => {
    const broken = join(dir, 'broken-result.json');
    writeFileSync(broken, '{\n  "schemaVersion": 1,\n  "experiments": [\n    { "name": "x" }\n  ]\n}\n');
    const r = meshproof(['report', broken]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${broken}:4:5: experiments[0]: missing required field`);
    expect(r.stderr).not.toMatch(/internal error|TypeError/);
  });

  it('export k6 writes the script meshproof would run', () => {
    const r = meshproof(['export', 'k6', passing, '--base-url', 'http://gateway.example:8080']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('http://gateway.example:8080');
    expect(r.stdout).toMatch(/constant-arrival-rate/);
  });

  it('the kube target refuses a context that is not kind-* without --allow-context, before touching anything', () => {
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters: [{name: prod, cluster: {server: "http://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: prod, context: {cluster: prod, user: u}}]\ncurrent-context: prod\n',
    );
    const r = meshproof(['run', passing, '--target', 'kube', '--context', 'prod', '--report-dir', join(dir, 'kube')], { KUBECONFIG: kubeconfig });
    expect([2, 3]).toContain(r.code);
    expect(r.stderr).toMatch(/--allow-context/);
  });
});
