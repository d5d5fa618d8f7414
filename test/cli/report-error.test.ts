// Errors quote user text (resource names, subsets, paths): it reaches the terminal without control sequences.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { reportError } from '../../src/cli/report-error.ts';
import { SpecError, SpecErrors, TargetError } from '../../src/errors.ts';

describe('reportError', () => {
  afterEach(() => vi.restoreAllMocks());

  function stderrOf(error: unknown): { code: number; text: string } {
    const chunks: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      chunks.push(String(chunk));
      return true;
    });
    const code = reportError(error);
    return { code, text: chunks.join('') };
  }

  it('replaces terminal control characters in every kind of user error', () => {
    const hostile = 'rev\u001b[31mX subset "v\u001b[2J3"';
    for (const [error, code] of [
      [new SpecError(hostile, { file: 'e.yaml', line: 3, col: 5 }, 'spec.apply[0]'), 2],
      [new SpecErrors([new SpecError(hostile)]), 2],
      [new TargetError(hostile), 3],
    ] as const) {
      const out = stderrOf(error);
      expect(out.code).toBe(code);
      expect(out.text).not.toContain('\u001b');
      expect(out.text).toContain('rev\uFFFD[31mX subset "v\uFFFD[2J3"');
    }
  });
});
