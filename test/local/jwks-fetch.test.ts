// istiod's GET of a jwksUri, made to the host's stand-in (src/targets/local/jwks-fetch.ts): the document on a 2xx;
// a failure on another status, a refused connection, or no answer within the rule's timeout.
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchJwks } from '../../src/targets/local/jwks-fetch.ts';
import { StandIn } from '../../src/targets/local/stand-in.ts';

let server: http.Server;
let port: number;
const hanging: http.ServerResponse[] = [];
beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/jwks') res.end('{"keys":[]}');
    else if (req.url === '/slow') hanging.push(res);
    else {
      res.statusCode = 404;
      res.end('not here');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const local = (host: string) => (host === 'idp.example.com' ? { ip: '127.0.0.1', certificate: '' } : undefined);

describe('fetchJwks (jwks_resolver.go getRemoteContentWithRetry)', () => {
  it('returns the body of a 2xx answer; a non-2xx answer is a failure with its status', async () => {
    await expect(fetchJwks(`http://idp.example.com:${port}/jwks`, 2000, local)).resolves.toBe('{"keys":[]}');
    await expect(fetchJwks(`http://idp.example.com:${port}/missing`, 2000, local)).rejects.toThrow('status 404, message "not here"');
  });

  it('no answer within the timeout is a failure', async () => {
    await expect(fetchJwks(`http://idp.example.com:${port}/slow`, 150, local)).rejects.toThrow('no answer within 150 ms');
  });

  it('a refused connection and a host without a stand-in are failures', async () => {
    await expect(fetchJwks('http://idp.example.com:1/jwks', 2000, local)).rejects.toThrow(/ECONNREFUSED/);
    await expect(fetchJwks(`http://other.example.com:${port}/jwks`, 2000, local)).rejects.toThrow('no stand-in for other.example.com');
  });

  it("over HTTPS, checks the stand-in's certificate for the host", async () => {
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const tlsPort = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const standIn = new StandIn(
      {
        host: 'idp.example.com',
        ports: [{ number: tlsPort, protocol: 'HTTPS' }],
        paths: { '/jwks': { body: '{"keys":[1]}', contentType: 'application/json', status: 200 } },
      },
      '127.0.0.1',
    );
    await standIn.start();
    try {
      await expect(fetchJwks(`https://idp.example.com:${tlsPort}/jwks`, 2000, () => standIn)).resolves.toBe('{"keys":[1]}');
      const wrongCa = new StandIn({ host: 'other.example.com', ports: [] }, '127.0.0.1');
      await expect(fetchJwks(`https://idp.example.com:${tlsPort}/jwks`, 2000, () => ({ ip: '127.0.0.1', certificate: wrongCa.certificate }))).rejects.toThrow();
    } finally {
      await standIn.close();
    }
  });
});
