// Real signals sent to a child process: restore must run, a second signal must not skip it, exit code 130.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const child = fileURLToPath(new URL('./fixtures/signal-child.ts', import.meta.url));

function runChild(onLine: (line: string, send: (s: NodeJS.Signals) => void) => void): Promise<{ code: number | null; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let buffer = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let i: number;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        lines.push(line);
        onLine(line, (s) => proc.kill(s));
      }
    });
    let stderr = '';
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => (code === null ? reject(new Error(`child died by signal; stderr: ${stderr}`)) : resolve({ code, lines })));
  });
}

describe('signals (real SIGINT/SIGTERM to a child process)', () => {
  it('SIGINT during load: restore runs, a second SIGINT during restore does not skip it, exit 130', async () => {
    const { code, lines } = await runChild((line, send) => {
      if (line === 'LOAD-STARTED') setTimeout(() => send('SIGINT'), 100);
      if (line === 'RESTORE-START') setTimeout(() => send('SIGINT'), 100);
    });
    expect(code).toBe(130);
    expect(lines).toContain('RESTORE-END');
    expect(lines.some((l) => l.includes('SIGINT received again: still restoring'))).toBe(true);
    const result = JSON.parse(lines.find((l) => l.startsWith('RESULT '))!.slice(7));
    expect(result).toMatchObject({ exitCode: 130, objects: 0 });
    expect(result.calls.filter((c: string) => c === 'restore')).toHaveLength(1);
  });

  it('SIGTERM during load: restore runs, exit 130', async () => {
    const { code, lines } = await runChild((line, send) => {
      if (line === 'LOAD-STARTED') setTimeout(() => send('SIGTERM'), 100);
    });
    expect(code).toBe(130);
    expect(lines).toContain('RESTORE-END');
    expect(lines.some((l) => l.includes('SIGTERM received: stopping load, then restoring'))).toBe(true);
  });
});
