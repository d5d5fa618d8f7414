// Error types that map to exit codes. Anything else escaping to the CLI is a bug (exit 3 with a stack trace).
import type { SourcePos } from './spec/types.ts';

export const ExitCode = {
  ok: 0,
  failed: 1,
  badInput: 2,
  infrastructure: 3,
  interrupted: 130,
} as const;

/** Bad user input: an experiment, a resource, a flag. Exit 2, no stack trace. */
export class SpecError extends Error {
  override readonly name = 'SpecError';
  constructor(
    message: string,
    /** Where: file:line:col when known. */
    readonly source?: SourcePos,
    /** Field path such as `spec.load.rate` or `VirtualService reviews: spec.http[0].route[1].weight`. */
    readonly path?: string,
  ) {
    super(message);
  }

  /** `file:line:col: path: message` — the form editors and terminals make clickable. */
  format(): string {
    const where = this.source ? `${this.source.file}:${this.source.line}:${this.source.col}: ` : '';
    const field = this.path ? `${this.path}: ` : '';
    return `${where}${field}${this.message}`;
  }
}

/** Several SpecErrors found in one pass, reported together. */
export class SpecErrors extends Error {
  override readonly name = 'SpecErrors';
  constructor(readonly errors: SpecError[]) {
    super(errors.map((e) => e.format()).join('\n'));
  }
}

/** The target or infrastructure failed (cluster unreachable, proxies not converging, k6 missing). Exit 3. */
export class TargetError extends Error {
  override readonly name = 'TargetError';
}

/** The run was interrupted by a signal; restore has run. Exit 130. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
  constructor(
    message: string,
    /** The signal that interrupted (SIGINT for Ctrl-C, also at a tutorial prompt). */
    readonly signal: string = 'SIGINT',
  ) {
    super(message);
  }
}

/**
 * A problem in one field of an applied resource (unsupported or invalid), found by a target.
 * The runner and `validate` turn `fieldPath` into file:line:col through src/spec/resources.ts locateField().
 */
export class ResourceError extends SpecError {
  constructor(
    message: string,
    readonly resource: { kind: string; metadata: { name: string; namespace?: string } },
    /** Path inside the resource, e.g. `spec.http[0].fault.abort.percentage.value`. */
    readonly fieldPath: string,
    source?: SourcePos,
  ) {
    super(message, source, `${resource.kind} ${resource.metadata.name}: ${fieldPath}`);
  }
}

/** What was thrown, as an Error (a thrown non-Error becomes one with its text). */
export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}
