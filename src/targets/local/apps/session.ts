// productpage's login session: Flask keeps `user` in a signed cookie named `session`. The sample's secret key is
// fixed, so any productpage instance accepts a cookie another one issued.
import { createHmac } from 'node:crypto';

const secret = 'meshproof-bookinfo-productpage';
const cache = new Map<string, string | undefined>();

function sign(payload: string): string {
  return createHmac('sha1', secret).update(payload).digest('base64url');
}

export function sessionCookie(user: string): string {
  const payload = Buffer.from(JSON.stringify({ user })).toString('base64url');
  return `${payload}.${sign(payload)}`;
}

/** The logged-in user from a Cookie header, if its session cookie is valid. */
export function sessionUser(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  const value = /(?:^|;\s*)session=([^;]*)/.exec(cookieHeader)?.[1];
  if (value === undefined) return undefined;
  if (cache.has(value)) return cache.get(value);
  let user: string | undefined;
  const dot = value.lastIndexOf('.');
  if (dot > 0 && sign(value.slice(0, dot)) === value.slice(dot + 1)) {
    try {
      const data = JSON.parse(Buffer.from(value.slice(0, dot), 'base64url').toString()) as { user?: unknown };
      if (typeof data.user === 'string') user = data.user;
    } catch {
      user = undefined;
    }
  }
  if (cache.size > 1000) cache.clear();
  cache.set(value, user);
  return user;
}
