// The experiment schema's validator compiled once per machine (src/spec/compiled-schema.ts): the cached code gives
// exactly the errors a fresh compile gives, and a cache that cannot be written costs only the compile.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { compiledSchema, schemaCacheDir } from '../../src/spec/compiled-schema.ts';
import { experimentSchemaPath } from '../../src/spec/schema-check.ts';
import { tempDir } from '../support/temp-dir.ts';

const options = { allErrors: true, verbose: true, strict: false };
const schemaText = readFileSync(experimentSchemaPath, 'utf8');
const work = tempDir('meshproof-schema-cache-');

const documents: unknown[] = [
  { apiVersion: 'meshproof.dev/v1alpha1', kind: 'Experiment' },
  { apiVersion: 'x', kind: 'Experiment', metadata: { name: 'a' }, spec: { load: { rate: 'fast' }, expect: [{ kind: 'nope' }] } },
  JSON.parse(JSON.stringify({ apiVersion: 'meshproof.dev/v1alpha1', kind: 'Experiment', metadata: { name: 'ok' }, spec: {} })),
];

describe('the compiled experiment schema', () => {
  it('is written to the cache on the first use and read from it after; both give the errors of a fresh compile', () => {
    const dir = join(work, 'cache');
    const fresh = new Ajv2020(options).compile(JSON.parse(schemaText) as object);
    const first = compiledSchema(schemaText, options, dir);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    const second = compiledSchema(schemaText, options, dir);
    expect(second).not.toBe(first); // the cached code, not the compile of the first call
    for (const doc of documents) {
      const want = fresh(doc);
      for (const validate of [first, second]) {
        expect(validate(doc)).toBe(want);
        expect(validate.errors ?? null).toEqual(fresh.errors ?? null);
      }
    }
    expect(documents.some((d) => !fresh(d))).toBe(true);
  });

  it('a changed schema or other options get a file of their own', () => {
    const dir = join(work, 'keys');
    compiledSchema(schemaText, options, dir);
    compiledSchema(schemaText.replace('"description"', '"$comment": "changed", "description"'), options, dir);
    compiledSchema(schemaText, { ...options, allErrors: false }, dir);
    expect(readdirSync(dir)).toHaveLength(3);
  });

  it('a cache folder that cannot be made still validates (compiled each time)', () => {
    // Under a regular file, so that not even root can create it.
    const blocker = join(work, 'a-file');
    writeFileSync(blocker, '');
    const validate = compiledSchema(schemaText, options, join(blocker, 'schemas'));
    expect(validate({ kind: 'Experiment' })).toBe(false);
    expect(compiledSchema(schemaText, options, join(blocker, 'schemas'))({ kind: 'Experiment' })).toBe(false);
  });

  it('a cached file that is not a validator is compiled again', () => {
    const dir = join(work, 'broken');
    compiledSchema(schemaText, options, dir);
    const [file] = readdirSync(dir);
    writeFileSync(join(dir, file!), 'module.exports = 42;');
    const validate = compiledSchema(schemaText, options, dir);
    expect(validate({ kind: 'Experiment' })).toBe(false);
  });

  it('lives under XDG_CACHE_HOME, else ~/.cache', () => {
    expect(schemaCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/meshproof/schemas');
    expect(schemaCacheDir({})).toMatch(/\/\.cache\/meshproof\/schemas$/);
  });
});
