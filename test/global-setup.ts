// Before any test file: the bundle of the sources made (bin/compiled.js), so that the first files do not each pay for
// it, and the local meshes the tests start in-process run their child processes from it rather than through tsx.
import { ensureCompiled } from '../bin/compiled.js';

export default async function setup(): Promise<void> {
  await ensureCompiled('src/cli/main.ts');
}
