// The echo image's entry point (src/echo/main.ts) as a process on 127.0.0.1: for the same identity, behaviour, seed
// and requests it answers exactly what the local mesh's echo workload answers (src/targets/local/apps/echo.ts behind
// a sidecar) — status, identity headers and Istio's echo body lines (istio/istio pkg/test/echo/server/endpoint/http.go).
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FieldPath } from '../../src/istio/networking/fields.ts';
import { parseEchoBehaviour } from '../../src/targets/local/apps/echo-config.ts';
import { createEcho } from '../../src/targets/local/apps/echo.ts';
import { standaloneEchoFromEnv } from '../../src/echo/identity.ts';
import { plainCall, startEchoServer, type EchoServer } from '../../src/echo/server.ts';

const root = resolve(import.meta.dirname, '../..');
// /calls: nothing listens on 127.0.0.1:1 (no response); /chain: another echo, in this process, that answers.
const behaviour = (chainPort: number) => `
latency: { p50: 1ms, p99: 3ms }
errors: { share: 0.3, status: 503 }
paths:
  /calls:
    calls: [ { url: "http://127.0.0.1:1/nothing-listens", timeout: 2s } ]
  /chain:
    errors: { share: 0, status: 503 }
    calls: [ { url: "http://127.0.0.1:${chainPort}/q?x=1", timeout: 5s } ]
  /steady:
    errors: { share: 0, status: 503 }
`;
let behaviourText: string;
let downstream: EchoServer;
const seed = 1234;

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = net.createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => done(port));
    });
  });
}

let child: ChildProcess;
let port: number;
let output = '';
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  port = await freePort();
  downstream = await startEchoServer(
    {
      podName: 'db-v1-5c4f7d9b8-q8w2e',
      identity: { services: () => ['db'], app: 'db', version: 'v1', namespace: 'meshproof-echo-ab12', port: 5000 },
      behaviour: { calls: [], paths: [] },
      seed,
    },
    '127.0.0.1',
    0,
  );
  behaviourText = behaviour(Number(new URL(downstream.url).port));
  env = {
    MESHPROOF_ECHO_POD: 'backend-v2-7d9f8c6b5-x2x9q',
    MESHPROOF_ECHO_NAMESPACE: 'meshproof-echo-ab12',
    MESHPROOF_ECHO_BEHAVIOUR: behaviourText,
    MESHPROOF_ECHO_SERVICES: 'backend',
    MESHPROOF_ECHO_APP: 'backend',
    MESHPROOF_ECHO_VERSION: 'v2',
    MESHPROOF_ECHO_PORT: String(port),
    MESHPROOF_ECHO_SEED: String(seed),
    MESHPROOF_ECHO_LISTEN: '127.0.0.1',
  };
  child = spawn(process.execPath, ['--import', 'tsx', 'src/echo/main.ts'], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((done, fail) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('listening on')) done();
    });
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => fail(new Error(`the echo exited (${code}) before listening:\n${output}`)));
  });
}, 60_000);

afterAll(async () => {
  child.kill('SIGTERM');
  await downstream.close();
});

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One request without keep-alive: the headers the echo sees are exactly host, x-request-id and connection. */
function get(path: string, requestId: string): Promise<Answer> {
  return new Promise((done, fail) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent: false, headers: { host: `backend:${port}`, 'x-request-id': requestId } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const name of ['content-type', 'x-echo-service', 'x-echo-version', 'x-echo-pod', 'x-echo-namespace', 'x-extra']) {
          const value = res.headers[name];
          if (typeof value === 'string') headers[name] = value;
        }
        done({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString() });
      });
    });
    req.on('error', fail);
    req.end();
  });
}

describe('the echo image entry point against the local echo workload', () => {
  it('prints its identity when it starts', () => {
    expect(output).toContain(`echo meshproof-echo-ab12/backend-v2-7d9f8c6b5-x2x9q (backend v2) listening on http://127.0.0.1:${port}`);
  });

  it('answers every request as the local echo does for the same identity, behaviour, seed and attempt', async () => {
    const local = standaloneEchoFromEnv(env, () => 0);
    // The local mesh's echo with the same identity, behaviour and seed, its calls made by the image's HTTP client: only
    // the serving differs.
    const handler = createEcho(
      { podName: local.podName, env: {}, seed, call: (_scope, call) => plainCall(call) },
      local.identity,
      parseEchoBehaviour(behaviourText, FieldPath.of('Deployment', 'backend-v2')),
    );
    const paths = ['/', '/items?x=1', '/steady', '/calls', '/chain', '/?codes=500:3,200:1', '/?headers=x-extra:1', '/?delay=2ms', '/?delay=soon'];
    const statuses = new Set<number>();
    let n = 0;
    for (let round = 0; round < 3; round++) {
      for (const path of paths) {
        n++;
        const requestId = `req-${round}-${path}`;
        const got = await get(path, requestId);
        const want = await handler({
          method: 'GET',
          path,
          headers: { host: `backend:${port}`, 'x-request-id': requestId, connection: 'close' },
          body: '',
          decisionKey: `${requestId}|backend-v2-7d9f8c6b5-x2x9q|in${n}`,
        });
        const wantHeaders = Object.fromEntries(Object.entries(want.headers).map(([k, v]) => [k, String(v)]));
        expect({ path, ...got }).toEqual({ path, status: want.status, headers: wantHeaders, body: want.body });
        statuses.add(got.status);
      }
    }
    // The behaviour really acted: its own 503s, a ?codes 500, the failed call's 502, and plain 200s.
    expect([...statuses].sort()).toEqual([200, 500, 502, 503]);
    // The chain's answer carries the downstream echo's lines.
    const chained = await get('/chain', 'req-chain');
    expect(chained.status).toBe(200);
    expect(chained.body).toContain('[0] Url=http://127.0.0.1:');
    expect(chained.body).toContain('[0 body] Hostname=db-v1-5c4f7d9b8-q8w2e');
    expect(chained.body).toContain('[0 body] RequestHeader=X-Request-Id:req-chain');
  });
});

describe('the echo image configuration from its environment', () => {
  it('names a variable it lacks or cannot read, and the annotation field it refuses', () => {
    expect(() => standaloneEchoFromEnv({}, () => 0)).toThrow('MESHPROOF_ECHO_PORT is not set');
    expect(() => standaloneEchoFromEnv({ ...env, MESHPROOF_ECHO_PORT: '70000' }, () => 0)).toThrow('MESHPROOF_ECHO_PORT=70000 is not a port number');
    expect(() => standaloneEchoFromEnv({ ...env, MESHPROOF_ECHO_BEHAVIOUR: 'errors: { share: 1.5 }' }, () => 0)).toThrow(/errors\.share: must be at most 1/);
  });

  it('without a seed it draws its own; without an annotation it is the plain echo', () => {
    const echo = standaloneEchoFromEnv({ ...env, MESHPROOF_ECHO_SEED: '', MESHPROOF_ECHO_BEHAVIOUR: '' }, () => 77);
    expect(echo.seed).toBe(77);
    expect(echo.behaviour).toEqual({ calls: [], paths: [] });
    expect(echo.identity.services()).toEqual(['backend']);
  });
});
