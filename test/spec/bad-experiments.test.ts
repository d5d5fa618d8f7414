// The corpus of bad experiments (test/fixtures/bad): each names its file:line, the field, and what is wrong, as
// `meshproof validate` finds it for the local target.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadExperimentFile } from '../../src/spec/load.ts';
import { SpecErrors } from '../../src/errors.ts';
import { checkLocalResources } from '../../src/targets/local/resource-errors.ts';

const dir = fileURLToPath(new URL('../fixtures/bad/', import.meta.url));
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<
  string,
  { line: number | null; col?: number; path: string | null; message: string }
>;

/** What `meshproof validate` refuses for the default (local) target: the loader's errors, then the local mesh's parse. */
function errorsOf(file: string): SpecErrors {
  let experiments;
  try {
    experiments = loadExperimentFile(file);
  } catch (error) {
    if (error instanceof SpecErrors) return error;
    throw new Error(`expected SpecErrors, got ${String(error)}`);
  }
  const refused = experiments.map(checkLocalResources).filter((e) => e !== undefined);
  if (refused.length > 0) return new SpecErrors(refused);
  throw new Error(`${file} loaded without error`);
}

describe('bad experiments are refused with file:line:col, field and reason', () => {
  it('has a case for every fixture and at least 25 of them', () => {
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.replace(/\.yaml$/, ''));
    expect(files.sort()).toEqual(Object.keys(expected).sort());
    expect(files.length).toBeGreaterThanOrEqual(25);
  });

  for (const [name, want] of Object.entries(expected)) {
    it(name, () => {
      const file = join(dir, `${name}.yaml`);
      const { errors } = errorsOf(file);
      const match = errors.find((e) => e.message.includes(want.message) || e.format().includes(want.message));
      expect(match, `no error mentions "${want.message}"; got:\n${errors.map((e) => e.format()).join('\n')}`).toBeDefined();
      expect(match!.source?.file).toBe(relative(process.cwd(), file));
      if (want.line !== null) expect(match!.source?.line).toBe(want.line);
      if (want.col !== undefined) expect(match!.source?.col).toBe(want.col);
      if (want.path !== null) expect(match!.path).toBe(want.path);
      expect(match!.format()).toMatch(/^[^:]+\.yaml:\d+:\d+: /);
    });
  }
});
