// The local mesh's child process started ahead (handle.ts prewarmMeshProcess, as `meshproof run` does before it
// loads the experiments): the next mesh runs in that very process, and a process nobody takes ends with its parent.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sleep } from '../../src/sandbox/processes.ts';

const handle = new URL('../../src/targets/local/handle.ts', import.meta.url).href;

/** The child processes of `pid` as [pid, command line], from /proc (field 4 of /proc/<pid>/stat is the parent). */
const childrenSource = `(pid) => {
  const fs = globalThis.__fs;
  return fs.readdirSync('/proc').filter((d) => /^\\d+$/.test(d)).flatMap((d) => {
    try {
      const stat = fs.readFileSync('/proc/' + d + '/stat', 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      return ppid === pid ? [[Number(d), fs.readFileSync('/proc/' + d + '/cmdline', 'utf8').replace(/\\0/g, ' ').trim()]] : [];
    } catch {
      return [];
    }
  });
}`;

/** Runs `body` in a fresh Node process with tsx, `prewarmMeshProcess`, `startLocalMesh` and `childrenOf` in scope; its stdout. */
function script(body: string): Promise<string> {
  const code = `globalThis.__fs = await import('node:fs');
const { prewarmMeshProcess, startLocalMesh } = await import(${JSON.stringify(handle)});
const childrenOf = ${childrenSource};
${body}`;
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { timeout: 60_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

/** Running and not a zombie (state field of /proc/<pid>/stat). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('a prewarmed mesh process', () => {
  it('is the one the next local mesh runs in: no second process is started, and the mesh answers', async () => {
    const out = await script(`
      const pid = prewarmMeshProcess();
      const mesh = await startLocalMesh({});
      const answer = await fetch(mesh.gatewayUrl + '/productpage');
      console.log(JSON.stringify({ pid, children: childrenOf(process.pid), status: answer.status }));
      await mesh.close();
    `);
    const { pid, children, status } = JSON.parse(out.trim().split('\n').at(-1)!) as { pid: number; children: [number, string][]; status: number };
    expect(status).toBe(200);
    // tsx's compiler (esbuild's service), started by this script's first import of a source tsx has not cached, is
    // not a mesh. The mesh: from the bundle of the sources (bin/compiled.js), or through tsx with MESHPROOF_COMPILE=0.
    const meshes = children.filter(([, command]) => !/\/esbuild --service=/.test(command));
    expect(meshes).toEqual([[pid, expect.stringMatching(/\/mesh-process\.(mjs|ts)$/)]]);
  });

  it('ends with its parent when no mesh takes it', async () => {
    const out = await script('console.log(prewarmMeshProcess());');
    const pid = Number(out.trim());
    expect(pid).toBeGreaterThan(0);
    // The parent has exited; its closed channel ends the waiting process. A bounded wait, not a timing claim.
    for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(100);
    expect(isAlive(pid), `mesh process ${pid} still running after its parent exited`).toBe(false);
  });
});
