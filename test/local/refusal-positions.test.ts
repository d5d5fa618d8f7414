// A field the local target refuses is bad input found before anything runs, with the file:line:col of the field:
// `meshproof validate` parses the experiment's resources as the embedded mesh would, and at run time the mesh's
// error (which crosses a process boundary as text) is mapped back to the experiment file.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ResourceError, SpecError } from '../../src/errors.ts';
import { loadExperiments } from '../../src/spec/load.ts';
import { LocalTarget } from '../../src/targets/local/index.ts';
import { checkLocalResources, locateResourceError, parseResourcePath } from '../../src/targets/local/resource-errors.ts';
import { must } from '../../src/must.ts';
import { tempDir } from '../support/temp-dir.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = tempDir('meshproof-refusals-');

function experimentFile(name: string, resource: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `apiVersion: meshproof.dev/v1alpha1
kind: Experiment
metadata: { name: ${name} }
spec:
  apply:
    - file: ${root}scenarios/bookinfo/destination-rule-all.yaml
    - inline:
${resource}
  load:
    request: { path: /productpage }
    rate: 10
    total: 10
  expect:
    - status: { code: 200, ratio: { min: 0.9 } }
`,
  );
  return file;
}

// line 17 of the file: `retryOn: "5xx,bogus"` (the key at column 17)
const bogusRetryOn = experimentFile(
  'bogus-retry-on',
  `        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: reviews }
        spec:
          hosts: [reviews]
          http:
            - route: [{ destination: { host: reviews, subset: v1 } }]
              retries:
                attempts: 2
                retryOn: "5xx,bogus"`,
);

// line 24: `descriptors:` (column 21) inside the local rate limit's typed_config value
const descriptors = experimentFile(
  'ratelimit-descriptors',
  `        apiVersion: networking.istio.io/v1alpha3
        kind: EnvoyFilter
        metadata: { name: ratings-ratelimit }
        spec:
          workloadSelector: { labels: { app: ratings } }
          configPatches:
            - applyTo: HTTP_FILTER
              match: { context: SIDECAR_INBOUND }
              patch:
                operation: INSERT_BEFORE
                value:
                  name: envoy.filters.http.local_ratelimit
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
                    stat_prefix: http_local_rate_limiter
                    token_bucket: { max_tokens: 10, tokens_per_fill: 10, fill_interval: 60s }
                    descriptors:
                      - entries: [{ key: path, value: /ratings/0 }]
                        token_bucket: { max_tokens: 1, fill_interval: 60s }`,
);

function only(file: string) {
  const { experiments } = loadExperiments([file]);
  expect(experiments).toHaveLength(1);
  return must(experiments[0], `the experiment of ${file}`);
}

describe('where a refused field is written', () => {
  it("reads the resource and field out of the local parsers' paths", () => {
    expect(parseResourcePath('VirtualService reviews: spec.http[0].retries.retryOn')).toEqual({
      kind: 'VirtualService',
      name: 'reviews',
      fieldPath: 'spec.http[0].retries.retryOn',
    });
    expect(parseResourcePath('EnvoyFilter istio-system/rl: spec.configPatches[0]')).toEqual({
      kind: 'EnvoyFilter',
      namespace: 'istio-system',
      name: 'rl',
      fieldPath: 'spec.configPatches[0]',
    });
    expect(parseResourcePath('spec.load.rate')).toBeUndefined();
  });

  it('an error about something else, or already placed, is left as it is', () => {
    const e = only(bogusRetryOn);
    const resources = e.apply.map((r) => r.object);
    const other = new SpecError('x', undefined, 'VirtualService ratings: spec.http');
    expect(locateResourceError(other, resources)).toBe(other);
    const placed = new SpecError('x', { file: 'f', line: 1, col: 1 }, 'VirtualService reviews: spec');
    expect(locateResourceError(placed, resources)).toBe(placed);
  });

  it("validate's local check finds an unknown retry condition at its line and column", () => {
    const error = checkLocalResources(only(bogusRetryOn));
    expect(error).toBeInstanceOf(ResourceError);
    expect(error?.source).toEqual({ file: expect.stringContaining('bogus-retry-on.yaml'), line: 17, col: 17 });
    expect(error?.format()).toMatch(/bogus-retry-on\.yaml:17:17: VirtualService reviews: spec\.http\[0\]\.retries\.retryOn: .*bogus/);
  });

  it('and a local rate limit with descriptors, which the local target refuses', () => {
    const error = checkLocalResources(only(descriptors));
    expect(error?.source).toMatchObject({ line: 24, col: 21 });
    expect(error?.path).toMatch(/^EnvoyFilter ratings-ratelimit: spec\.configPatches\[0\]\.patch\.value\.typed_config\.descriptors$/);
  });
});

describe('meshproof validate (local target, the default)', () => {
  const meshproof = (args: string[]) =>
    spawnSync(process.execPath, [join(root, 'bin/meshproof.js'), ...args], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
      timeout: 60_000,
    });

  it('exits 2 naming file:line:col and the field of each refused resource', () => {
    const r = meshproof(['validate', bogusRetryOn, descriptors]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/error: .*bogus-retry-on\.yaml:17:17: VirtualService reviews: spec\.http\[0\]\.retries\.retryOn: /);
    expect(r.stderr).toMatch(
      /error: .*ratelimit-descriptors\.yaml:24:21: EnvoyFilter ratings-ratelimit: spec\.configPatches\[0\]\.patch\.value\.typed_config\.descriptors: /,
    );
    expect(r.stderr).toContain('2 problems found.');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("--target kube leaves the local target's refusals out", () => {
    expect(meshproof(['validate', '--target', 'kube', bogusRetryOn]).status).toBe(0);
  });

  it('--json lists them with their positions', () => {
    const r = meshproof(['validate', '--json', bogusRetryOn]);
    expect(r.status).toBe(2);
    const out = JSON.parse(r.stdout) as { ok: boolean; errors: { line: number; col: number; path: string }[] };
    expect(out.ok).toBe(false);
    expect(out.errors).toEqual([expect.objectContaining({ line: 17, col: 17, path: 'VirtualService reviews: spec.http[0].retries.retryOn' })]);
  });
});

describe('at run time the local target reports the position too (the mesh runs in another process)', () => {
  const target = new LocalTarget({ scenario: 'bookinfo', seed: 1, istioVersion: '1.28' });
  afterAll(async () => target.close());

  it("apply rejects with the field's file:line:col, and the mesh keeps its previous configuration", async () => {
    await target.prepare();
    const e = only(bogusRetryOn);
    const error = await target
      .apply(
        e.apply.map((r) => r.object),
        'run-1',
      )
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(error).toBeInstanceOf(ResourceError);
    expect((error as SpecError).format()).toMatch(/bogus-retry-on\.yaml:17:17: VirtualService reviews: spec\.http\[0\]\.retries\.retryOn: /);
    expect(await target.mesh.get('VirtualService', 'default', 'reviews')).toBeUndefined();
  });
});
