// `spec.scenario` as a folder of the user's manifests (src/spec/scenario.ts): resolved against the experiment file,
// read as `kubectl apply -k` reads a kustomization (resources, nested folders, namespace), anything else refused.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpecErrors } from '../../src/errors.ts';
import { loadExperimentFile } from '../../src/spec/load.ts';
import { tempDir } from '../support/temp-dir.ts';

const work = tempDir('meshproof-scenario-folders-');

function write(path: string, text: string): string {
  const file = join(work, path);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
  return file;
}

const echoApp = (name: string, version: string) => `apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec: { selector: { app: ${name} }, ports: [{ name: http, port: 8080 }] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}-${version} }
spec:
  selector: { matchLabels: { app: ${name}, version: ${version} } }
  template:
    metadata: { labels: { app: ${name}, version: ${version} } }
    spec: { containers: [{ name: app, image: example.com/${name}:1 }] }
`;

const experiment = (scenario: string, expect = '- distribution: { of: api.version, weights: { v1: 100 } }') => `apiVersion: meshproof.dev/v1alpha1
kind: Experiment
metadata: { name: e }
spec:
  scenario: ${scenario}
  load: { request: { service: api, path: / }, rate: 10, requests: 10 }
  expect:
    ${expect}
`;

function errorsOf(file: string): string[] {
  try {
    loadExperimentFile(file);
  } catch (error) {
    if (error instanceof SpecErrors) return error.errors.map((e) => e.format());
    throw error;
  }
  return [];
}

describe('spec.scenario names a folder', () => {
  it("relative to the experiment file; a kustomization's folders and namespace are read as kubectl apply -k does", () => {
    write('shop/base/api/kustomization.yaml', 'resources: [api.yaml]\n');
    write('shop/base/api/api.yaml', echoApp('api', 'v1'));
    write(
      'shop/kustomization.yaml',
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: team\nresources:\n  - namespace.yaml\n  - base/api\n',
    );
    write('shop/namespace.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata: { name: team, labels: { istio-injection: enabled } }\n');
    const file = write('suite/e.yaml', experiment('../shop'));
    const [e] = loadExperimentFile(file);
    expect(e?.scenario).toBe(join(work, 'shop'));
    // The user's services answer as echo workloads: the echo classifier is the default, `api.version` a known label.
    expect(e?.load.classifiers).toEqual(['status', 'envoy', 'echo']);
    expect(e?.load.requests[0]?.port).toBe(8080);
  });

  it('plain YAML files without a kustomization are all read', () => {
    write('plain/a.yaml', echoApp('api', 'v1'));
    expect(errorsOf(write('plain-suite/e.yaml', experiment('../plain')))).toEqual([]);
  });

  it('a version no workload has, a folder that does not exist, and an unknown built-in name are bad input at spec.scenario', () => {
    write('plain2/a.yaml', echoApp('api', 'v1'));
    expect(errorsOf(write('s2/e.yaml', experiment('../plain2', '- distribution: { of: api.version, weights: { v9: 100 } }'))).join('\n')).toMatch(
      /api\.version "v9" cannot be observed/,
    );
    expect(errorsOf(write('s3/e.yaml', experiment('./nowhere'))).join('\n')).toMatch(
      /s3\/e\.yaml:5:\d+: spec\.scenario: scenario folder \.\/nowhere does not exist/,
    );
    expect(errorsOf(write('s4/e.yaml', experiment('shop'))).join('\n')).toMatch(
      /unknown scenario "shop" \(built-in: bookinfo.*written as a path, e\.g\. \.\/shop\)/,
    );
  });

  it('a kustomization field meshproof does not apply is refused at its line, not ignored', () => {
    write('patched/kustomization.yaml', 'resources: [a.yaml]\npatches:\n  - path: p.yaml\n');
    write('patched/a.yaml', echoApp('api', 'v1'));
    expect(errorsOf(write('s5/e.yaml', experiment('../patched'))).join('\n')).toMatch(
      /patched\/kustomization\.yaml:2:1: patches: kustomization field "patches" is not supported/,
    );
  });
});
