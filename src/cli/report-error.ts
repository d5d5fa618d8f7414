import { ExitCode, InterruptedError, SpecError, SpecErrors, TargetError } from '../errors.ts';
import { printable } from '../report/printable.ts';

/** Print a user error without a stack trace and return its exit code. */
export function reportError(error: unknown): number {
  if (error instanceof SpecErrors) {
    for (const e of error.errors) process.stderr.write(`error: ${printable(e.format())}\n`);
    process.stderr.write(`${error.errors.length} problem${error.errors.length === 1 ? '' : 's'} found.\n`);
    return ExitCode.badInput;
  }
  if (error instanceof SpecError) {
    process.stderr.write(`error: ${printable(error.format())}\n`);
    return ExitCode.badInput;
  }
  if (error instanceof InterruptedError) {
    // Before any experiment started (e.g. while --deploy-echo waited for its workloads); what was made is removed.
    process.stderr.write(`${printable(error.message)}\n`);
    return ExitCode.interrupted;
  }
  if (error instanceof TargetError) {
    process.stderr.write(`target error: ${printable(error.message)}\n`);
    return ExitCode.infrastructure;
  }
  process.stderr.write(`internal error (please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return ExitCode.infrastructure;
}
