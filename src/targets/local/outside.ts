// Clients outside the mesh: a plain connection straight to a service's pods, bypassing the ingress gateway, as a pod
// without a sidecar would make through kube-proxy (no client certificate, so STRICT mTLS resets it).
import net from 'node:net';
import { TargetError } from '../../errors.ts';
import { loadScenario } from '../../spec/scenario.ts';
import type { MeshStatus } from './mesh.ts';
import { field } from '../../spec/untyped.ts';

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The workloads (Deployments) a scenario Service selects, with the container port behind `port`. */
export function serviceBackends(scenarioName: string, service: string, port: number): { deployments: string[]; targetPort: number } {
  const scenario = loadScenario(scenarioName);
  const svc = scenario.resources.find((r) => r.object.kind === 'Service' && r.object.metadata.name === service)?.object;
  if (!svc) throw new TargetError(`service ${service} is not part of scenario ${scenarioName}`);
  const selector = (field(svc.spec, 'selector') ?? {}) as Record<string, string>;
  const portSpec = ((field(svc.spec, 'ports') ?? []) as { port?: number; targetPort?: number }[]).find((p) => p.port === port);
  if (!portSpec) throw new TargetError(`service ${service} has no port ${port}`);
  const deployments = scenario.resources
    .filter(
      (r) => r.object.kind === 'Deployment' && matches(selector, (field(r.object.spec, 'template', 'metadata', 'labels') ?? {}) as Record<string, string>),
    )
    .map((r) => r.object.metadata.name);
  return { deployments, targetPort: typeof portSpec.targetPort === 'number' ? portSpec.targetPort : port };
}

/**
 * A TCP relay on loopback that spreads connections over the pods round-robin, as kube-proxy spreads a Service's
 * connections; a reset from the pod is passed on as a reset, so the client sees what it would see in a cluster. `pods` is
 * read for every connection (they may change); none: the connection is refused (reset).
 */
export class ServiceRelay {
  private server?: net.Server;
  private next = 0;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly pods: () => Pod[]) {}

  /** Listens on 127.0.0.1:`port` (0: a free one) and returns its URL. */
  async start(port = 0): Promise<string> {
    const server = net.createServer({ noDelay: true }, (client) => this.relay(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  }

  private relay(client: net.Socket): void {
    const pods = this.pods();
    const pod = pods[this.next++ % Math.max(1, pods.length)];
    if (!pod) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ port: pod.port, host: pod.host, noDelay: true });
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
    upstream.on('error', () => (client.destroyed ? undefined : client.resetAndDestroy()));
    client.on('error', () => (upstream.destroyed ? undefined : upstream.resetAndDestroy()));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

interface Pod {
  host: string;
  port: number;
}

/** The pods of `deployments` in the running mesh, as host:port. */
export function podAddresses(status: MeshStatus, deployments: string[]): Pod[] {
  return status.workloads
    .filter((w) => deployments.includes(w.deployment))
    .map((w) => {
      const url = new URL(w.url);
      return { host: url.hostname, port: Number(url.port) };
    });
}
