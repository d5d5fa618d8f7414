// /proc readers the sandbox test relies on to show "no listener left" and "no non-loopback connection".
import { createServer, connect, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isLoopback, leavesLoopback, listeningOn, socketInodes, tcpSockets } from '../../src/sandbox/sockets.ts';

describe('sandbox sockets', () => {
  it('tells loopback addresses from every other one, IPv4 and IPv6', () => {
    for (const a of ['127.0.0.1', '127.3.2.1', '0:0:0:0:0:0:0:1', '0:0:0:0:0:ffff:7f00:1']) expect(isLoopback(a), a).toBe(true);
    for (const a of ['0.0.0.0', '0:0:0:0:0:0:0:0', '192.0.2.10', '10.0.0.1', '128.0.0.1', '0:0:0:0:0:ffff:c000:20a', 'fe80:0:0:0:0:0:0:1'])
      expect(isLoopback(a), a).toBe(false);
  });

  it('counts a wildcard listener and a connection with a non-loopback end as leaving loopback', () => {
    const at = (address: string, port: number) => ({ address, port });
    const socket = (local: string, remote: string, listening: boolean) => ({ local: at(local, 1), remote: at(remote, listening ? 0 : 2), listening, inode: 1 });
    expect(leavesLoopback(socket('127.0.0.1', '0.0.0.0', true))).toBe(false);
    expect(leavesLoopback(socket('0.0.0.0', '0.0.0.0', true))).toBe(true);
    expect(leavesLoopback(socket('0:0:0:0:0:0:0:0', '0:0:0:0:0:0:0:0', true))).toBe(true);
    expect(leavesLoopback(socket('127.0.0.1', '127.0.0.1', false))).toBe(false);
    expect(leavesLoopback(socket('127.0.0.1', '192.0.2.10', false))).toBe(true);
    expect(leavesLoopback(socket('10.0.0.5', '10.0.0.1', false))).toBe(true);
  });

  it("finds a listener and this process's connection to it, with their loopback addresses", async () => {
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const port = (server.address() as AddressInfo).port;
    const client = connect(port, '127.0.0.1');
    await new Promise<void>((done) => client.on('connect', done));
    try {
      expect(listeningOn([port])).toEqual([port]);
      const ours = tcpSockets().filter((s) => socketInodes(process.pid).has(s.inode));
      const outbound = ours.find((s) => s.remote.port === port);
      expect(outbound?.remote.address).toBe('127.0.0.1');
      expect(outbound?.listening).toBe(false);
    } finally {
      client.destroy();
      await new Promise((done) => server.close(done));
    }
    expect(listeningOn([port])).toEqual([]);
  });
});
