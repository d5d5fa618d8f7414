// Turns `user:` requests into plain requests carrying the session cookie Bookinfo's productpage sets at login.
import { TargetError } from '../errors.ts';
import type { RequestSpec } from '../spec/types.ts';
import { headerKey } from './headers.ts';

const LOGIN_TIMEOUT_MS = 10_000;

/**
 * Logs in once per user (`POST /login`, form `username=<user>`; productpage keeps the user in its Flask `session`
 * cookie, which it then forwards as `end-user`) and returns the cookies as one Cookie header value.
 */
async function login(baseUrl: string, user: string): Promise<string> {
  const url = `${baseUrl.replace(/\/+$/, '')}/login`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: user }).toString(),
      redirect: 'manual',
      signal: AbortSignal.timeout(LOGIN_TIMEOUT_MS),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new TargetError(`cannot log in as "${user}": POST ${url} failed (${why})`);
  }
  await response.arrayBuffer().catch(() => undefined);
  const cookies = response.headers
    .getSetCookie()
    .map((line) => (line.split(';', 1)[0] ?? '').trim())
    .filter((pair) => pair.includes('='));
  if (!cookies.some((pair) => pair.startsWith('session='))) {
    throw new TargetError(
      `cannot log in as "${user}": POST ${url} answered ${response.status} without a "session" cookie` +
        (cookies.length > 0 ? ` (cookies: ${cookies.map((c) => c.split('=')[0]).join(', ')})` : ''),
    );
  }
  return cookies.join('; ');
}

/** Requests with `user` get a Cookie header with that user's session; the others are returned unchanged. */
export async function resolveRequests(baseUrl: string, requests: RequestSpec[]): Promise<RequestSpec[]> {
  const sessions = new Map<string, Promise<string>>();
  return Promise.all(
    requests.map(async (request) => {
      if (!request.user) return request;
      let session = sessions.get(request.user);
      if (!session) sessions.set(request.user, (session = login(baseUrl, request.user)));
      const cookie = await session;
      const headers = { ...request.headers };
      const existing = headerKey(headers, 'cookie');
      if (existing) headers[existing] = `${headers[existing]}; ${cookie}`;
      else headers.cookie = cookie;
      return { ...request, headers };
    }),
  );
}
