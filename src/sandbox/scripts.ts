// Running sandbox-up / sandbox-down as a child process with a chosen state folder and port base (tests, the fidelity
// run): the scripts are the one way a sandbox is started and stopped.
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { compiledEntries, ensureCompiled } from '../../bin/compiled.js';

const root = resolve(import.meta.dirname, '../..');

export interface ScriptRun {
  code: number;
  output: string;
}

/**
 * Runs scripts/<name> (e.g. sandbox-up.ts) with `env`, from the bundle of the sources when it can be made (as the CLI
 * runs), else through tsx; never rejects: the exit code and output tell.
 */
export async function runSandboxScript(name: string, env: NodeJS.ProcessEnv, args: string[] = [], timeoutMs = 180_000): Promise<ScriptRun> {
  const source = `scripts/${name}`;
  const compiled = compiledEntries.includes(source) ? await ensureCompiled(source, env) : undefined;
  const launcher = compiled ? [compiled] : ['--import', 'tsx', join(root, source)];
  return new Promise((done) =>
    execFile(process.execPath, [...launcher, ...args], { env, cwd: root, timeout: timeoutMs }, (error, stdout, stderr) =>
      done({ code: error ? Number((error as NodeJS.ErrnoException).code ?? 1) : 0, output: `${stdout}${stderr}` }),
    ),
  );
}
