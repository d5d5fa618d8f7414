// The checks `validate` and `run` share, done on every experiment before anything is applied: what the chosen target
// would refuse, and bad input in the JSON shape `--json` prints.
import { SpecError, SpecErrors } from '../errors.ts';
import type { Experiment } from '../spec/types.ts';

/**
 * What the local target would refuse at apply time (one error per experiment, repeated ones shown once). The kube
 * target has no such check: the API server and istiod judge there.
 */
export async function targetRefusals(experiments: Experiment[], target: 'local' | 'kube' = 'local'): Promise<SpecError[]> {
  if (target === 'kube') return [];
  const { checkLocalResources } = await import('../targets/local/resource-errors.ts');
  const seen = new Set<string>();
  const out: SpecError[] = [];
  for (const experiment of experiments) {
    let error: SpecError | undefined;
    try {
      error = checkLocalResources(experiment);
    } catch (thrown) {
      if (!(thrown instanceof SpecError)) throw thrown;
      error = thrown;
    }
    if (!error || seen.has(error.format())) continue;
    seen.add(error.format());
    out.push(error);
  }
  return out;
}

/** Bad input as `--json` prints it on stdout: `{ ok: false, errors: [{ file, line, col, path, message }] }`; undefined for other errors. */
export function badInputJson(error: unknown): string | undefined {
  const errors = error instanceof SpecErrors ? error.errors : error instanceof SpecError ? [error] : undefined;
  if (!errors) return undefined;
  return `${JSON.stringify({ ok: false, errors: errors.map((e) => ({ ...e.source, path: e.path, message: e.message })) }, null, 2)}\n`;
}
