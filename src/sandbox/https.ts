// GET a path of the sandbox API server with its CA and token (readiness checks before any client is set up).
import { request } from 'node:https';

export function apiGet(server: string, path: string, ca: Buffer, token: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, server), { ca, headers: { authorization: `Bearer ${token}` }, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Plain-HTTP GET on loopback (etcd's /health, istiod's /ready). */
export async function httpStatus(url: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
}
