// One OPA pod's process: the real OPA (tools/opa-envoy) started with the container's arguments, its REST API and its
// ext_authz gRPC service on the pod's loopback address, the mounted ConfigMaps written under a folder of its own.
// It exits with the mesh: its stdin is a pipe from the mesh process, and opa-envoy exits when that pipe closes
// (MESHPROOF_EXIT_WITH_STDIN), so a killed mesh leaves no OPA behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { AppHandler } from '../apps/types.ts';
import { OPA_BUILD_HINT, opaEnvoyPath } from './tool.ts';
import type { OpaSpec } from './workload.ts';

/** A free TCP port on `host` (asked of the kernel, then released for OPA to take). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ noDelay: true });
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** An argument naming a path under a mount (as the argument itself, or as a flag's value) names it under `root`. */
export function relocate(arg: string, mountPaths: string[], root: string): string {
  const eq = arg.startsWith('-') ? arg.indexOf('=') : -1;
  const [prefix, path] = eq >= 0 ? [arg.slice(0, eq + 1), arg.slice(eq + 1)] : ['', arg];
  const mount = mountPaths.find((m) => path === m || path.startsWith(`${m}/`));
  return mount === undefined ? arg : `${prefix}${join(root, path)}`;
}

export class OpaProcess {
  private child?: ChildProcess;
  private readonly root: string;
  private stderr = '';
  private exited?: string;
  restAddress = '';
  grpcAddress?: string;

  constructor(
    readonly podName: string,
    private readonly spec: OpaSpec,
    private readonly ip: string,
    private readonly files: Map<string, string>,
    private readonly grpcPort: number | undefined,
  ) {
    this.root = mkdtempSync(join(tmpdir(), `meshproof-opa-${podName.slice(0, 40)}-`));
  }

  /** Starts OPA and waits until its REST API answers /health (and its plugins are up). */
  async start(timeoutMs = 30_000): Promise<void> {
    const binary = opaEnvoyPath();
    if (!existsSync(binary)) throw new Error(`pod ${this.podName} runs Open Policy Agent, which is not built: ${binary} is missing; ${OPA_BUILD_HINT}`);
    for (const [file, content] of this.files) {
      const target = join(this.root, file);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, content);
    }
    this.restAddress = `${this.ip}:${await freePort(this.ip)}`;
    if (this.grpcPort !== undefined) this.grpcAddress = `${this.ip}:${this.grpcPort}`;
    const mountPaths = this.spec.mounts.map((m) => m.mountPath.replace(/\/$/, ''));
    // Mounted paths in any argument (policy files, --config-file) point into the folder holding the ConfigMaps' files.
    const args = this.spec.args.map((a) => relocate(a, mountPaths, this.root));
    args.push(`--addr=${this.restAddress}`);
    if (this.grpcAddress) args.push(`--set=plugins.envoy_ext_authz_grpc.addr=${this.grpcAddress}`);
    const child = spawn(binary, args, { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, MESHPROOF_EXIT_WITH_STDIN: '1' } });
    this.child = child;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
    // 'close' comes after the child's stderr is read to its end, so the reason it gave is in this.stderr.
    child.on('close', (code, signal) => {
      this.exited = `exited with ${signal ?? `code ${code}`}`;
    });
    const deadline = Date.now() + timeoutMs;
    const health = `http://${this.restAddress}/health${this.grpcAddress ? '?plugins' : ''}`;
    for (;;) {
      if (this.exited) throw new Error(`OPA of pod ${this.podName} ${this.exited}: ${this.stderr.trim().split('\n').slice(-5).join(' | ')}`);
      try {
        const res = await fetch(health, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(
          `OPA of pod ${this.podName} did not become healthy within ${timeoutMs / 1000} s: ${this.stderr.trim().split('\n').slice(-5).join(' | ')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && !this.exited) {
      const gone = new Promise<void>((r) => child.once('close', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(this.root, { recursive: true, force: true });
  }

  /** The pod's app behind its sidecar: requests to the REST API port go to OPA's REST API. */
  app(): AppHandler {
    return async (req) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (v !== undefined && k !== 'host' && k !== 'content-length') headers[k] = Array.isArray(v) ? v.join(',') : v;
      const res = await fetch(`http://${this.restAddress}${req.path}`, {
        method: req.method,
        headers,
        ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body: req.body }),
      });
      const out: Record<string, string> = {};
      res.headers.forEach((v, k) => {
        if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection') out[k] = v;
      });
      return { status: res.status, headers: out, body: await res.text() };
    };
  }
}
