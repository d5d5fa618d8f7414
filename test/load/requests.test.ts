import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TargetError } from '../../src/errors.ts';
import { resolveRequests } from '../../src/load/requests.ts';
import type { RequestSpec } from '../../src/spec/types.ts';
import { closedPort, startServer, type TestServer } from './server.ts';

const req = (name: string, extra: Partial<RequestSpec> = {}): RequestSpec => ({
  name,
  method: 'GET',
  path: '/productpage',
  headers: {},
  weight: 1,
  ...extra,
});

describe('resolveRequests (Bookinfo login: POST /login, form username, Flask "session" cookie)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  it('logs each user in once and adds the session cookie; anonymous requests are unchanged', async () => {
    const anonymous = req('anonymous');
    const resolved = await resolveRequests(server.url, [req('jason', { user: 'jason' }), anonymous, req('jason-api', { user: 'jason', path: '/api' })]);
    const cookie = `session=${Buffer.from(JSON.stringify({ user: 'jason' })).toString('base64')}`;
    expect(resolved[0]!.headers).toEqual({ cookie });
    expect(resolved[2]!.headers).toEqual({ cookie });
    expect(resolved[1]).toBe(anonymous);
    expect(server.hits.get('/login')).toBe(1);
  });

  it('appends to a Cookie header the request already has', async () => {
    const [resolved] = await resolveRequests(server.url, [req('x', { user: 'kim', headers: { Cookie: 'theme=dark' } })]);
    expect(resolved!.headers.Cookie).toMatch(/^theme=dark; session=/);
  });

  it('fails with a TargetError when the login sets no session cookie', async () => {
    server.loginWorks = false;
    try {
      await expect(resolveRequests(server.url, [req('x', { user: 'jason' })])).rejects.toThrow(TargetError);
      await expect(resolveRequests(server.url, [req('x', { user: 'jason' })])).rejects.toThrow(
        /cannot log in as "jason": POST http:\/\/127\.0\.0\.1:\d+\/login answered 200 without a "session" cookie/,
      );
    } finally {
      server.loginWorks = true;
    }
  });

  it('fails with a TargetError naming the cause when nothing listens', async () => {
    const port = await closedPort();
    await expect(resolveRequests(`http://127.0.0.1:${port}`, [req('x', { user: 'jason' })])).rejects.toThrow(
      /cannot log in as "jason": POST http:\/\/127\.0\.0\.1:\d+\/login failed \(ECONNREFUSED\)/,
    );
  });
});
