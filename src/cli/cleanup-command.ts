import { ExitCode } from '../errors.ts';
import { cleanup } from '../targets/kube/index.ts';
import { paint, say } from './output.ts';

export interface CleanupOptions {
  context?: string;
  allowContext?: boolean;
  kubeconfig?: string;
}

export async function cleanupCommand(options: CleanupOptions): Promise<number> {
  const reports = await cleanup({
    context: options.context,
    allowContext: options.allowContext,
    ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}),
    log: (m) => say(m),
  });
  const deleted = reports.flatMap((r) => r.deleted);
  const restored = reports.flatMap((r) => r.restored);
  const errors = reports.flatMap((r) => r.errors);
  for (const d of deleted) say(`deleted  ${d}`);
  for (const r of restored) say(`restored ${r}`);
  for (const e of errors) say(`${paint('red', 'problem:')} ${e}`);
  if (reports.length === 0) say('nothing to clean up: no unfinished run journals and no objects labelled meshproof.dev/run.');
  else say(`${deleted.length} deleted, ${restored.length} restored, ${errors.length} problem${errors.length === 1 ? '' : 's'}.`);
  return errors.length > 0 ? ExitCode.infrastructure : ExitCode.ok;
}
