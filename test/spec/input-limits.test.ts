// Hostile or oversized YAML is bad input with a position (exit 2), refused before it costs time or memory: the file
// size limits and the `yaml` package's alias-expansion guard (maxAliasCount), documented in the README ("Limits").
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SpecErrors } from '../../src/errors.ts';
import { loadExperimentFile, loadExperimentText } from '../../src/spec/load.ts';
import { LIMITS } from '../../src/spec/yaml-source.ts';
import { billionLaughs } from '../support/hostile-yaml.ts';
import { displayPath } from '../../src/spec/resources.ts';
import { tempDir } from '../support/temp-dir.ts';

const dir = tempDir('meshproof-limits-');
const scenario = fileURLToPath(new URL('../../scenarios/bookinfo', import.meta.url));
const header = 'apiVersion: meshproof.dev/v1alpha1\nkind: Experiment\nmetadata: { name: limits }\n';
const body = `spec:
  apply:
    - file: ${scenario}/destination-rule-all.yaml
  load: { request: { path: /productpage }, rate: 10, duration: 1s }
  expect:
    - status: { code: 200, ratio: { min: 0.9 } }
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

describe('input limits', () => {
  it('an alias bomb in an experiment is a SpecError at its first alias, not a ReferenceError from the yaml package', () => {
    const file = join(dir, 'bomb.yaml');
    writeFileSync(file, `${header.replace('metadata: { name: limits }\n', 'metadata:\n  name: limits\n')}${billionLaughs('  ')}${body}`);
    const { errors } = errorsOf(() => loadExperimentFile(file));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(new RegExp(`more than ${LIMITS.aliasExpansions} alias expansions`));
    // `b: &b [*a,...`: line 6 (after apiVersion, kind, metadata, name, a), the first `*a` at column 10.
    expect(errors[0]?.source).toEqual({ file: displayPath(file), line: 6, col: 10 });
  });

  it('an alias bomb in a referenced resource file is refused at its position in that file', () => {
    const resources = join(dir, 'bomb-resources.yaml');
    writeFileSync(resources, `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: bomb }\ndata:\n${billionLaughs('  ')}`);
    const { errors } = errorsOf(() =>
      loadExperimentText(`${header}${body.replace(`${scenario}/destination-rule-all.yaml`, resources)}`, join(dir, 'uses-bomb.yaml')),
    );
    expect(errors.map((e) => e.format())).toEqual([expect.stringMatching(/bomb-resources\.yaml:6:10: YAML aliases expand too much/)]);
  });

  it('a few aliases within the limit still load (anchors are legitimate YAML)', () => {
    const text = `${header}spec:
  apply:
    - file: ${scenario}/destination-rule-all.yaml
  load: &load { request: { path: /productpage }, rate: 10, duration: 1s }
  expect:
    - status: &ok { code: 200, ratio: { min: 0.9 } }
    - status: *ok
`;
    expect(loadExperimentText(text, join(dir, 'anchors.yaml'))[0]?.expect).toHaveLength(2);
  });

  it('an experiment file above the size limit is refused before it is parsed, naming its size and the limit', () => {
    const file = join(dir, 'huge.yaml');
    writeFileSync(file, `${header}${body}`);
    truncateSync(file, 50 * 1024 * 1024); // 50 MiB, the rest NUL bytes: parsing it would be a YAML error, not this one
    const { errors } = errorsOf(() => loadExperimentFile(file));
    expect(errors.map((e) => e.format())).toEqual([
      `${displayPath(file)}:1:1: ${displayPath(file)} is 50 MiB (52428800 bytes); the limit for an experiment file is 1 MiB`,
    ]);
  });

  it('a file whose size the file system does not know is read up to the limit and no further (/dev/zero is endless)', () => {
    const { errors } = errorsOf(() => loadExperimentFile('/dev/zero'));
    expect(errors[0]?.message).toBe('/dev/zero is more than 1 MiB; the limit for an experiment file is 1 MiB');
  });

  it('an experiment of exactly the limit loads; one byte more does not', () => {
    const text = `${header}${body}`;
    const padded = (bytes: number) => `${text}#${'x'.repeat(bytes - Buffer.byteLength(text) - 2)}\n`;
    const file = join(dir, 'at-limit.yaml');
    writeFileSync(file, padded(LIMITS.experimentBytes));
    expect(loadExperimentFile(file)).toHaveLength(1);
    writeFileSync(file, padded(LIMITS.experimentBytes + 1));
    expect(errorsOf(() => loadExperimentFile(file)).errors[0]?.message).toMatch(/is 1 MiB \(1048577 bytes\); the limit for an experiment file is 1 MiB/);
    expect(errorsOf(() => loadExperimentText(padded(LIMITS.experimentBytes + 1), file)).errors[0]?.message).toMatch(/1048577 bytes/);
  });

  it('a referenced resource file above its limit is refused at the reference', () => {
    const resources = join(dir, 'huge-resources.yaml');
    writeFileSync(resources, 'apiVersion: v1\n');
    truncateSync(resources, LIMITS.resourceFileBytes + 1);
    const { errors } = errorsOf(() =>
      loadExperimentText(`${header}${body.replace(`${scenario}/destination-rule-all.yaml`, resources)}`, join(dir, 'uses-huge.yaml')),
    );
    expect(errors.map((e) => e.format())).toEqual([
      expect.stringMatching(
        /uses-huge\.yaml:6:13: spec\.apply\[0\]\.file: referenced file .*huge-resources\.yaml is refused: .*huge-resources\.yaml is 4 MiB \(4194305 bytes\); the limit for a referenced resource file is 4 MiB$/,
      ),
    ]);
  });
});
