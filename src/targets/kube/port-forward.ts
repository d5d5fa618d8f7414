// A local TCP listener whose connections are port-forwarded to a pod (client-node's PortForward, as kubectl does).
import http from 'node:http';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { PortForward, type KubeConfig } from '@kubernetes/client-node';
import { asError } from '../../errors.ts';

export interface Forward {
  /** http://127.0.0.1:<local port> */
  url: string;
  port: number;
  /** Why the last forwarded connection was cut (a refused port-forward: 403 RBAC, 404 pod gone, no node), if it was. */
  lastError(): Error | undefined;
  close(): Promise<void>;
}

/** Listen on 127.0.0.1 (a free port) and forward each connection to `pod:port`. */
export async function forwardPort(config: KubeConfig, namespace: string, pod: string, port: number): Promise<Forward> {
  const forwarder = new PortForward(config);
  const sockets = new Set<net.Socket>();
  let lastError: Error | undefined;
  // A refusal cuts the local connection and is kept for the request that used it: destroying the socket with the error
  // instead would emit 'error' on a socket nobody listens to, and crash the process before restore (issue 14 D4).
  const cut = (socket: net.Socket, error: Error) => {
    lastError = error;
    socket.destroy();
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', (error) => {
      lastError ??= error;
    });
    const errors = new PassThrough();
    errors.on('data', (chunk: Buffer) => cut(socket, new Error(`port-forward to ${namespace}/${pod}:${port}: ${chunk.toString('utf8')}`)));
    forwarder
      .portForward(namespace, pod, [port], socket, errors, socket)
      .then((ws) => {
        const socketOf = typeof ws === 'function' ? ws() : ws;
        // client-node does not end the local socket when the API server closes the stream; do it here.
        socketOf?.on('close', () => socket.end());
        socket.on('close', () => socketOf?.close());
      })
      .catch((error: unknown) => cut(socket, new Error(`port-forward to ${namespace}/${pod}:${port} refused: ${asError(error).message}`)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const local = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${local}`,
    port: local,
    lastError: () => lastError,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One GET over a fresh port-forward to `pod:port` (istioctl's portForwardRequest does the same for istiod). */
export async function portForwardGet(config: KubeConfig, namespace: string, pod: string, port: number, path: string, timeoutMs = 10_000): Promise<string> {
  const forward = await forwardPort(config, namespace, pod, port);
  try {
    return await new Promise<string>((resolve, reject) => {
      const req = http.get(`${forward.url}${path}`, { agent: false, headers: { Connection: 'close' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300) resolve(body);
          else reject(new Error(`GET ${path} on ${namespace}/${pod}:${port}: ${res.statusCode} ${body.slice(0, 200)}`));
        });
        res.on('error', reject);
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${path} on ${namespace}/${pod}:${port}: no answer in ${timeoutMs} ms`)));
      // The connection was cut: say why the port-forward failed, not just "socket hang up".
      req.on('error', (error) => reject(forward.lastError() ?? error));
    });
  } finally {
    await forward.close();
  }
}
