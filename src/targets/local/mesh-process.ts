// Entry of the mesh's child process: starts a LocalMesh and serves the parent's requests over the IPC channel.
// The mesh stops when the parent says so or disappears. Its options come as the first argument, or, for a process
// started before they were known (handle.ts prewarmMeshProcess), in a `start` message.
import { meshLogError } from './log.ts';
import type { MeshOptions } from './mesh.ts';

// Ctrl-C in a terminal signals the whole foreground process group, this child included. The parent owns the
// lifecycle: it stops the load, restores the mesh through this process, then closes it (or, if the parent dies, the
// IPC channel disconnects and the mesh stops below). Dying here on SIGINT would make that restore impossible.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);

function startOptions(): Promise<MeshOptions> {
  const given = process.argv[2];
  if (given !== undefined) return Promise.resolve(JSON.parse(given) as MeshOptions);
  // A parent that exits (or never needs this mesh) closes the channel: nothing to start. Listened for before the mesh's
  // modules load, so that after a parent done quickly (bad input) this process does not load them for nothing.
  const leave = () => process.exit(0);
  process.once('disconnect', leave);
  return new Promise((resolve) =>
    process.once('message', (m: { op?: string; options?: MeshOptions }) => {
      process.off('disconnect', leave);
      resolve(m.options ?? {});
    }),
  );
}
const optionsReady = startOptions();
const { LocalMesh } = await import('./mesh.ts');
const options = await optionsReady;

function serialize(error: unknown): { name: string; message: string; path?: string } {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { name?: string; message?: string; path?: string };
  return { name: e.name ?? 'Error', message: e.message ?? String(error), path: e.path };
}

// Every request path catches its own errors (one request fails, not the mesh); this is the last resort for a promise
// nobody awaited, which Node would otherwise turn into the exit of every proxy at once.
process.on('unhandledRejection', (reason) => meshLogError('mesh', 'unhandled rejection', reason));

try {
  const mesh = await LocalMesh.start(options);
  const stop = async () => {
    await mesh.close().catch(() => undefined);
    process.exit(0);
  };
  process.on('disconnect', () => void stop());
  // Each request answers itself, its errors included (the handler never rejects).
  const handle = async (m: { id: number; op: string; args: unknown[] }) => {
    try {
      let result: unknown;
      switch (m.op) {
        case 'change':
          result = await mesh.change(m.args[0] as never, m.args[1] as never);
          break;
        case 'get':
          result = mesh.get(m.args[0] as string, m.args[1] as string, m.args[2] as string);
          break;
        case 'status':
          result = mesh.status();
          break;
        case 'close':
          process.send?.({ id: m.id, ok: true });
          await stop();
          return;
        default:
          throw new Error(`unknown operation ${m.op}`);
      }
      process.send?.({ id: m.id, ok: true, result });
    } catch (error) {
      process.send?.({ id: m.id, ok: false, error: serialize(error) });
    }
  };
  process.on('message', (m: { id: number; op: string; args: unknown[] }) => void handle(m));
  process.send?.({
    ready: true,
    gatewayUrl: mesh.gatewayUrl,
    block: mesh.block,
    seed: mesh.seed,
    istioVersion: mesh.behaviour.version,
    controlPlane: mesh.controlPlane,
  });
} catch (error) {
  process.send?.({ fatal: serialize(error) });
  process.exit(1);
}
