// Where the sandbox's API server sends its traffic into the cluster: its egress selector (the kube-apiserver's
// --egress-selector-config-file, as konnectivity uses it) hands every connection of the `cluster` egress — the
// kubelet's streaming API (port-forward), the pods/proxy and services/proxy subresources — to an HTTP CONNECT proxy on a
// unix socket. That proxy leads a pod address (TEST-NET-1, never routed) to the local proxy that plays the pod and a
// loopback address (the kubelet kwok plays) to itself, and refuses everything else: nothing leaves loopback.
import net from 'node:net';
import { rmSync } from 'node:fs';

/** Where a CONNECT target leads: a loopback host:port, or undefined to refuse it. */
export type EgressRoute = (host: string, port: number) => { host: string; port: number } | undefined;

/** The EgressSelectorConfiguration for kube-apiserver: the `cluster` egress over HTTP CONNECT on `socketPath`. */
export function egressSelectorConfig(socketPath: string): string {
  return `apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: ${JSON.stringify(socketPath)}
`;
}

export const isLoopback = (host: string) => /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1' || host === 'localhost';

/** Splits `host:port` / `[v6]:port` of a CONNECT request line. */
function target(authority: string): { host: string; port: number } | undefined {
  const [, host, digits] = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(authority) ?? [];
  if (host === undefined || digits === undefined) return undefined;
  const port = Number(digits);
  return port > 0 && port < 65536 ? { host, port } : undefined;
}

export interface EgressProxy {
  /** Connections refused, with why (tests, the sandbox log). */
  refused: string[];
  close(): Promise<void>;
}

/**
 * An HTTP CONNECT proxy on a unix socket. One CONNECT per connection (the API server dials once per connection); the
 * answer is `200 Connection established` and then the bytes both ways, or a 403/502 naming the target.
 */
export async function startEgressProxy(socketPath: string, route: EgressRoute, log: (line: string) => void = () => {}): Promise<EgressProxy> {
  rmSync(socketPath, { force: true });
  const refused: string[] = [];
  const sockets = new Set<net.Socket>();
  // (On a unix socket noDelay does nothing; the rule in eslint.config.js asks it of every server all the same.)
  const server = net.createServer({ noDelay: true }, (client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 8192) client.end('HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n');
        return;
      }
      client.off('data', onData);
      const rest = head.subarray(end + 4);
      const [requestLine = ''] = head.subarray(0, end).toString('latin1').split('\r\n');
      const [method, authority] = requestLine.split(' ');
      const wanted = method === 'CONNECT' ? target(authority ?? '') : undefined;
      const to = wanted && route(wanted.host, wanted.port);
      if (!wanted || !to || !isLoopback(to.host)) {
        const why = `${method} ${authority}: ${!wanted ? 'not a CONNECT to host:port' : 'no sandbox pod or node has this address; nothing leaves loopback'}`;
        refused.push(why);
        log(`egress refused ${why}`);
        client.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n\r\n${why}\n`);
        return;
      }
      // Nagle's algorithm off, as the API server's own dialer has it (Go's default): with it on, two writes in a row to
      // the kubelet (a tunnel being opened, a request the API server passes on in two parts) waited for the kubelet's
      // delayed ACK before the second went out.
      const upstream = net.connect({ host: to.host, port: to.port, noDelay: true });
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        if (rest.length > 0) upstream.write(rest);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      upstream.on('error', (error) => {
        if (!connected) {
          log(`egress ${authority} → ${to.host}:${to.port}: ${error.message}`);
          client.end(`HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\n\r\n${authority} (played at ${to.host}:${to.port}): ${error.message}\n`);
        } else client.destroy();
      });
      client.on('close', () => upstream.destroy());
      upstream.on('end', () => client.end());
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return {
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
