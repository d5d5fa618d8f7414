// The sandbox API server's egress (src/sandbox/egress.ts): an HTTP CONNECT proxy on a unix socket, as kube-apiserver's
// egress selector dials it (egress_selector.go tunnelHTTPConnect: one CONNECT per connection, 200 then raw bytes).
import http from 'node:http';
import net from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egressSelectorConfig, startEgressProxy, type EgressProxy } from '../../src/sandbox/egress.ts';
import { parse } from 'yaml';
import { tempDir } from '../support/temp-dir.ts';

const dir = tempDir('meshproof-egress-');
const socket = join(dir, 'egress.sock');
let backend: http.Server;
let backendPort: number;
let proxy: EgressProxy;
const dialled: string[] = [];

beforeAll(async () => {
  backend = http.createServer((req, res) => res.end(`played ${req.url}`));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  backendPort = (backend.address() as AddressInfo).port;
  proxy = await startEgressProxy(socket, (host, port) => {
    dialled.push(`${host}:${port}`);
    if (host === '127.0.0.1') return { host, port };
    if (host === '192.0.2.12') return { host: '127.0.0.1', port: backendPort };
    if (host === '192.0.2.99') return { host: '10.1.2.3', port };
    return undefined;
  });
});

afterAll(async () => {
  await proxy.close();
  await new Promise((r) => backend.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** One CONNECT then one HTTP request through the tunnel, as the API server's pod proxy does. */
function through(authority: string, path = '/stats'): Promise<{ connect: string; body?: string }> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(socket);
    let data = '';
    let tunnelled = false;
    conn.on('data', (chunk) => {
      data += chunk.toString();
      if (!tunnelled && data.includes('\r\n\r\n')) {
        const [head = '', ...rest] = data.split('\r\n\r\n');
        if (!head.startsWith('HTTP/1.1 200')) {
          conn.destroy();
          return resolve({ connect: data });
        }
        tunnelled = true;
        data = rest.join('\r\n\r\n');
        conn.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      }
    });
    conn.on('end', () => resolve({ connect: 'HTTP/1.1 200', body: data.split('\r\n\r\n').slice(1).join('') }));
    conn.on('error', reject);
    conn.write(`CONNECT ${authority} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  });
}

describe("the sandbox API server's egress", () => {
  it('is the `cluster` egress over HTTP CONNECT on a unix socket (EgressSelectorConfiguration)', () => {
    expect(parse(egressSelectorConfig(socket))).toEqual({
      apiVersion: 'apiserver.k8s.io/v1beta1',
      kind: 'EgressSelectorConfiguration',
      egressSelections: [{ name: 'cluster', connection: { proxyProtocol: 'HTTPConnect', transport: { uds: { udsName: socket } } } }],
    });
  });

  it('leads a played pod address to the local proxy that plays it', async () => {
    const got = await through('192.0.2.12:15090', '/stats/prometheus');
    expect(got.connect).toMatch(/^HTTP\/1\.1 200/);
    expect(got.body).toBe('played /stats/prometheus');
  });

  it('passes a loopback address (the kubelet kwok plays) through unchanged', async () => {
    const got = await through(`127.0.0.1:${backendPort}`, '/portforward');
    expect(got.body).toBe('played /portforward');
  });

  it('refuses an address no pod or node has with 403, dialling nothing', async () => {
    const got = await through('203.0.113.7:80');
    expect(got.connect).toMatch(/^HTTP\/1\.1 403 Forbidden/);
    expect(got.connect).toContain('nothing leaves loopback');
    expect(proxy.refused).toContain('CONNECT 203.0.113.7:80: no sandbox pod or node has this address; nothing leaves loopback');
  });

  it('refuses a route that would leave loopback, even if asked to', async () => {
    const got = await through('192.0.2.99:80');
    expect(got.connect).toMatch(/^HTTP\/1\.1 403/);
  });

  it('refuses what is not a CONNECT', async () => {
    const answer = await new Promise<string>((resolve) => {
      const conn = net.connect(socket);
      let data = '';
      conn.on('data', (c) => (data += c.toString()));
      conn.on('close', () => resolve(data));
      conn.write('GET http://192.0.2.12/ HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    expect(answer).toMatch(/^HTTP\/1\.1 403/);
  });

  it('answers 502 naming the player when the local proxy is not listening', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const got = await through(`127.0.0.1:${port}`);
    expect(got.connect).toMatch(/^HTTP\/1\.1 502 Bad Gateway/);
    expect(got.connect).toContain(`played at 127.0.0.1:${port}`);
  });
});
