// autocannon's Client internals are used from one file, and only with the version they were read against.
import autocannon from 'autocannon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAutocannonVersion, takeOverResponses, type CannonClient, type HeadersInfo } from '../../src/load/autocannon-client.ts';
import { startServer, type TestServer } from './server.ts';

describe('autocannon version guard', () => {
  it('accepts 8.0.x, the version whose lib/httpClient.js the driver follows', () => {
    expect(() => checkAutocannonVersion('8.0.0')).not.toThrow();
    expect(() => checkAutocannonVersion('8.0.7')).not.toThrow();
  });

  it('refuses another minor or major version, naming the file to check', () => {
    expect(() => checkAutocannonVersion('8.1.0')).toThrow(/autocannon 8\.1\.0 is installed.*src\/load\/autocannon-client\.ts/);
    expect(() => checkAutocannonVersion('7.15.0')).toThrow(/pin autocannon ~8\.0\.0/);
  });
});

describe('taking over a client from autocannon', () => {
  let server: TestServer;
  beforeAll(async () => (server = await startServer()));
  afterAll(() => server.close());

  it("reads each response from the parser and leaves autocannon's own counters and histogram unfed", async () => {
    const clients: CannonClient[] = [];
    const statuses: number[] = [];
    const bodies: string[] = [];
    let body: Buffer[] = [];
    const ours = () => bodies.push(Buffer.concat(body).toString());
    const result = await autocannon({
      url: `${server.url}/ok`,
      connections: 1,
      amount: 5,
      setupClient: (raw: unknown) => {
        const client = raw as CannonClient;
        clients.push(client);
        client.on('response', ours);
        queueMicrotask(() =>
          takeOverResponses(
            client,
            {
              headers: (info: HeadersInfo) => {
                statuses.push(info.statusCode);
                body = [];
              },
              bodyPiece: (buffer, start, length) => body.push(buffer.subarray(start, start + length)),
            },
            ours,
          ),
        );
      },
    } as autocannon.Options);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(bodies).toHaveLength(5);
    expect(bodies[0]).not.toBe('');
    // autocannon's run.js counted nothing: its listeners were removed before the first response.
    expect(result.requests.total).toBe(0);
    expect(result.latency.max).toBe(0);
    const [client] = clients;
    expect(client?.listeners('request')).toEqual([]);
    expect(client?.listeners('response')).toEqual([ours]);
  });
});
