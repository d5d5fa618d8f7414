// istiod's GET of a jwksUri (model/jwks_resolver.go getRemoteContentWithRetry, no retry on the push path), made to the
// host's stand-in on loopback: the URI's host only names the stand-in (its certificate is trusted as istiod trusts the
// public CAs, and checked for the host). A non-2xx status, an error or no whole answer within the timeout is a failure.
import http from 'node:http';
import https from 'node:https';

export interface StandInAddress {
  ip: string;
  /** PEM of the stand-in's certificate (HTTPS). */
  certificate: string;
}

export function fetchJwks(uri: string, timeoutMs: number, standInOf: (host: string) => StandInAddress | undefined): Promise<string> {
  const url = new URL(uri);
  const standIn = standInOf(url.hostname.toLowerCase());
  if (!standIn) return Promise.reject(new Error(`no stand-in for ${url.hostname}`));
  const secure = url.protocol === 'https:';
  const options = {
    host: standIn.ip,
    port: Number(url.port || (secure ? 443 : 80)),
    path: `${url.pathname}${url.search}`,
    headers: { host: url.host },
    signal: AbortSignal.timeout(timeoutMs),
    ...(secure ? { servername: url.hostname, ca: standIn.certificate } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).get(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        // istiod's message: status and the body, quoted, cut at 100 characters.
        if (status < 200 || status >= 300) reject(new Error(`status ${status}, message ${JSON.stringify(body).slice(0, 100)}`));
        else resolve(body);
      });
    });
    req.on('error', (e) => reject(e.name === 'AbortError' || e.name === 'TimeoutError' ? new Error(`no answer within ${timeoutMs} ms`) : e));
  });
}
