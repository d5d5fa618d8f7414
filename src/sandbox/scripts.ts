// Running sandbox-up / sandbox-down as a child process with a chosen state folder and port base (tests, the fidelity
// run): the scripts are the one way a sandbox is started and stopped.
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

export interface ScriptRun {
  code: number;
  output: string;
}

/** Runs scripts/<name> (e.g. sandbox-up.ts) with `env`; never rejects: the exit code and output tell. */
export function runSandboxScript(name: string, env: NodeJS.ProcessEnv, args: string[] = [], timeoutMs = 180_000): Promise<ScriptRun> {
  return new Promise((done) =>
    execFile(process.execPath, ['--import', 'tsx', join(root, 'scripts', name), ...args], { env, cwd: root, timeout: timeoutMs }, (error, stdout, stderr) =>
      done({ code: error ? Number((error as NodeJS.ErrnoException).code ?? 1) : 0, output: `${stdout}${stderr}` }),
    ),
  );
}
