// Running the benchmarks' child processes: a command to completion with its output, or a long-lived server.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { must } from '../src/must.ts';

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
}

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** Runs a command to completion (killed after `timeoutMs`); never throws for a non-zero exit. */
export function runCommand(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<Finished> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd ?? repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, wallMs: performance.now() - started });
    });
  });
}

function tsxLoader(): string {
  const require = createRequire(import.meta.url);
  return pathToFileURL(path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'loader.mjs')).href;
}

/** A TypeScript file of bench/ in a fresh Node process. */
export function runBenchScript(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Finished> {
  return runCommand(process.execPath, ['--import', tsxLoader(), path.join(repoRoot, 'bench', file), ...args], options);
}

/** The last line of stdout as JSON; a failed child is an error with its stderr. */
export function jsonResult<T>(finished: Finished, what: string): T {
  const line = finished.stdout.trim().split('\n').pop() ?? '';
  if (finished.code !== 0 || !line.startsWith('{')) {
    throw new Error(`${what} failed (exit ${finished.code}): ${finished.stderr.trim().split('\n').slice(-8).join('\n')}`);
  }
  return JSON.parse(line) as T;
}

export interface Server {
  child: ChildProcess;
  /** The first line the server printed (its address or a JSON description). */
  firstLine: string;
  stop(): Promise<void>;
}

/** Starts a long-lived process that prints one line when it is ready. */
export function startServer(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Server> {
  const child = spawn(command, args, { env, cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const stdout = must(child.stdout, "the child's stdout pipe");
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (d: string) => {
      buffered += d;
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      stdout.off('data', onData);
      stdout.resume(); // keep draining anything else it prints
      resolve({
        child,
        firstLine: buffered.slice(0, newline).trim(),
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 3000).unref();
          }),
      });
    };
    stdout.setEncoding('utf8').on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${command} exited (${code}) before it was ready`)));
  });
}

/** startServer for a TypeScript file of bench/. */
export function startBenchServer(file: string, args: string[] = []): Promise<Server> {
  return startServer(process.execPath, ['--import', tsxLoader(), path.join(repoRoot, 'bench', file), ...args]);
}
