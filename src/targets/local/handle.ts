// Starting a local mesh for the target, tests and benchmarks: in a child process by default (its own event loop and
// core, controlled over the IPC channel), or inline in this process.
import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SpecError, TargetError } from '../../errors.ts';
import { resourceId } from '../../spec/resources.ts';
import type { K8sObject } from '../../spec/types.ts';
import type { LocalMesh, MeshOptions, MeshStatus } from './mesh.ts';
import { compiledEntry } from '../../../bin/compiled.js';

export interface StartOptions extends MeshOptions {
  /** `process` (default): the mesh runs in a child Node process; `inline`: in this process. */
  mode?: 'process' | 'inline';
}

export type ObjectRef = { kind: string; metadata: { name: string; namespace?: string } };

/** A running mesh, whichever process it lives in. */
export interface MeshHandle {
  readonly gatewayUrl: string;
  readonly block: string;
  readonly seed: number;
  /** Istio version whose behaviour the mesh follows (normalised, e.g. 1.28.0). */
  readonly istioVersion: string;
  /** Who translates the Istio resources for the proxies. */
  readonly controlPlane: 'builtin' | 'istiod';
  /** Upserts and deletions (kind/namespace/name) as one new config version; resolves with that version. */
  change(upserts: K8sObject[], deletes: ObjectRef[]): Promise<string>;
  apply(objects: K8sObject[]): Promise<string>;
  remove(refs: ObjectRef[]): Promise<string>;
  get(kind: string, namespace: string, name: string): Promise<K8sObject | undefined>;
  status(): Promise<MeshStatus>;
  close(): Promise<void>;
}

const keyOf = resourceId;

/** Start a Bookinfo mesh (or another scenario) and return its handle. */
export async function startLocalMesh(options: StartOptions = {}): Promise<MeshHandle> {
  // The mesh's modules take about a second to load: a process whose mesh runs in a child does not load them.
  if (options.mode === 'inline') return inlineHandle(await (await import('./mesh.ts')).LocalMesh.start(options));
  return processHandle(options);
}

function inlineHandle(mesh: LocalMesh): MeshHandle {
  return {
    gatewayUrl: mesh.gatewayUrl,
    block: mesh.block,
    seed: mesh.seed,
    istioVersion: mesh.behaviour.version,
    controlPlane: mesh.controlPlane,
    change: (upserts, deletes) => mesh.change(upserts, deletes.map(keyOf)),
    apply: (objects) => mesh.apply(objects),
    remove: (refs) => mesh.remove(refs),
    get: async (kind, namespace, name) => mesh.get(kind, namespace, name),
    status: async () => mesh.status(),
    close: () => mesh.close(),
  };
}

// ---- child process --------------------------------------------------------------------------------------------

interface ChildError {
  name: string;
  message: string;
  path?: string;
}
type Reply = { id: number; ok: true; result?: unknown } | { id: number; ok: false; error: ChildError };

const entry = fileURLToPath(new URL('./mesh-process.ts', import.meta.url));

function tsxLoader(): string {
  const require = createRequire(import.meta.url);
  const dir = path.dirname(require.resolve('tsx/package.json'));
  return pathToFileURL(path.join(dir, 'dist', 'loader.mjs')).href;
}

function revive(error: ChildError): Error {
  if (error.name === 'SpecError') return new SpecError(error.message, undefined, error.path);
  return new TargetError(`local mesh: ${error.message}`);
}

function forkMesh(args: string[], output: 'inherit' | 'pipe' = 'inherit'): ChildProcess {
  const options: ForkOptions = { stdio: ['ignore', output, output, 'ipc'], serialization: 'advanced' };
  // From the bundle of the sources when it is up to date (bin/compiled.js): its modules load in a quarter of the time.
  const compiled = compiledEntry('src/targets/local/mesh-process.ts');
  if (compiled !== undefined) return fork(compiled, args, { ...options, execArgv: [] });
  return fork(entry, args, { ...options, execArgv: ['--import', tsxLoader()] });
}

/** A mesh process started ahead, loading its modules while this process does its own work; taken by the next start. */
let prewarmed: ChildProcess | undefined;

/**
 * Start the next local mesh's child process now, before its options are known: its modules (half a second from the
 * bundle, about two through tsx) load while this process loads and checks the experiments. It holds nothing open:
 * when this process exits without a mesh (bad input), the closed channel ends it, and its output comes through pipes
 * this process forwards rather than this process's own stdout and stderr, which it would otherwise keep open for
 * whoever reads them until it noticed. Returns the process id.
 */
export function prewarmMeshProcess(): number | undefined {
  if (prewarmed) return prewarmed.pid;
  const child = forkMesh([], 'pipe');
  child.stdout?.pipe(process.stdout);
  child.stderr?.pipe(process.stderr);
  for (const handle of heldOpenBy(child)) handle?.unref();
  child.once('exit', () => {
    if (prewarmed === child) prewarmed = undefined;
  });
  prewarmed = child;
  return child.pid;
}

/** What keeps this process running for a child: the child, its IPC channel and its output pipes (sockets). */
function heldOpenBy(child: ChildProcess): ({ ref(): unknown; unref(): unknown } | null | undefined)[] {
  return [child, child.channel, child.stdout as Socket | null, child.stderr as Socket | null];
}

function takeMeshProcess(meshOptions: MeshOptions): ChildProcess {
  const child = prewarmed;
  prewarmed = undefined;
  if (!child || child.exitCode !== null || child.signalCode !== null || !child.connected) return forkMesh([JSON.stringify(meshOptions)]);
  for (const handle of heldOpenBy(child)) handle?.ref();
  child.send({ op: 'start', options: meshOptions });
  return child;
}

async function processHandle(options: StartOptions): Promise<MeshHandle> {
  const { mode: _mode, ...meshOptions } = options;
  const child = takeMeshProcess(meshOptions);
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let exited = false;
  const started = new Promise<{ gatewayUrl: string; block: string; seed: number; istioVersion: string; controlPlane: 'builtin' | 'istiod' }>(
    (resolve, reject) => {
      child.once('message', (m: { ready?: boolean; fatal?: ChildError } & Record<string, unknown>) => {
        if (m.ready) resolve(m as never);
        else reject(m.fatal ? revive(m.fatal) : new TargetError('local mesh did not start'));
      });
      child.once('exit', (code) => reject(new TargetError(`local mesh process exited during start (code ${code})`)));
      child.once('error', (e) => reject(new TargetError(`local mesh process failed: ${e.message}`)));
    },
  );
  child.on('exit', () => {
    exited = true;
    for (const w of waiting.values()) w.reject(new TargetError('local mesh process exited'));
    waiting.clear();
  });
  const info = await started;
  child.on('message', (m: Reply) => {
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.ok) w.resolve(m.result);
    else w.reject(revive(m.error));
  });
  const call = <T>(op: string, ...args: unknown[]): Promise<T> => {
    if (exited) return Promise.reject(new TargetError('local mesh process is not running'));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, op, args });
    });
  };
  return {
    ...info,
    change: (upserts, deletes) => call('change', upserts, deletes.map(keyOf)),
    apply: (objects) => call('change', objects, []),
    remove: (refs) => call('change', [], refs.map(keyOf)),
    get: (kind, namespace, name) => call('get', kind, namespace, name),
    status: () => call('status'),
    close: async () => {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await call('close').catch(() => undefined);
      const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(kill);
    },
  };
}
