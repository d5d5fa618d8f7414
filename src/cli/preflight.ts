// The checks `validate` and `run` share, done on every experiment before anything is applied: what the chosen target
// would refuse, and bad input in the JSON shape `--json` prints.
import { SpecError, SpecErrors } from '../errors.ts';
import type { ResourceCheck } from '../spec/load.ts';

/**
 * The loader's check of what the target would refuse at apply time: for the local target its configuration parse
 * (every refused resource, reported with the loader's own errors). The kube target has no such check: the API server
 * and istiod judge there.
 */
export async function resourceCheckFor(target: 'local' | 'kube' = 'local'): Promise<ResourceCheck | undefined> {
  if (target === 'kube') return undefined;
  const { localResourceErrors } = await import('../targets/local/resource-errors.ts');
  return localResourceErrors;
}

/** Bad input as `--json` prints it on stdout: `{ ok: false, errors: [{ file, line, col, path, message }] }`; undefined for other errors. */
export function badInputJson(error: unknown): string | undefined {
  const errors = error instanceof SpecErrors ? error.errors : error instanceof SpecError ? [error] : undefined;
  if (!errors) return undefined;
  return `${JSON.stringify({ ok: false, errors: errors.map((e) => ({ ...e.source, path: e.path, message: e.message })) }, null, 2)}\n`;
}
