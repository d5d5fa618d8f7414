// The server that answers for an external host on loopback: HTTPS with a self-signed certificate for the host name
// (made with openssl, as src/sandbox/pki.ts makes the sandbox's), or plain HTTP, per port of its ExternalHost. It
// answers the documents its ExternalHost lists at their paths (e.g. a JWKS istiod fetches), and every other request
// as an echo in Istio's echo line format with the identity `Service=<host>`,
// `ServiceVersion=external`, so classifiers tell an external answer from a workload's.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExternalHostSpec } from './external-host.ts';

export interface StandInCertificate {
  cert: string;
  key: string;
}

const certificates = new Map<string, StandInCertificate>();

/** A self-signed P-256 certificate whose subject and only SAN is `host` (made once per host and process). */
export function standInCertificate(host: string): StandInCertificate {
  let made = certificates.get(host);
  if (!made) {
    const dir = mkdtempSync(join(tmpdir(), 'meshproof-stand-in-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '30',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
          '-subj',
          `/CN=${host}`,
          '-addext',
          `subjectAltName=DNS:${host}`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      made = { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    certificates.set(host, made);
  }
  return made;
}

/** Istio's echo lines (pkg/test/echo/server/endpoint/http.go addResponsePayload) for the external host. */
function echoBody(host: string, port: number, req: http.IncomingMessage, proto: string): string {
  const headers = Object.entries(req.headers).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const lines = [
    'ServiceVersion=external',
    `ServicePort=${port}`,
    `Host=${req.headers.host ?? ''}`,
    `URL=${req.url ?? '/'}`,
    `Method=${req.method ?? 'GET'}`,
    `Proto=${proto}`,
    ...headers.flatMap(([name, v]) => (Array.isArray(v) ? v : [v ?? '']).map((value) => `RequestHeader=${name}:${value}`)),
    `Hostname=${host}`,
    `Service=${host}`,
    'StatusCode=200',
  ];
  return `${lines.join('\n')}\n`;
}

export class StandIn {
  private readonly servers: net.Server[] = [];

  /** `ip`: the loopback address the mesh's name resolution gives the host. */
  constructor(
    readonly spec: ExternalHostSpec,
    readonly ip: string,
  ) {}

  /** The certificate an app must trust to call the host over HTTPS. */
  get certificate(): string {
    return standInCertificate(this.spec.host).cert;
  }

  async start(): Promise<void> {
    for (const port of this.spec.ports) {
      const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
        req.resume();
        req.on('end', () => {
          const document = this.spec.paths?.[(req.url ?? '/').split('?')[0] ?? '/'];
          if (document) {
            res.writeHead(document.status, { 'content-type': document.contentType, 'content-length': Buffer.byteLength(document.body) });
            res.end(document.body);
            return;
          }
          const body = echoBody(this.spec.host, port.number, req, port.protocol === 'HTTPS' ? 'HTTP/1.1 (TLS)' : 'HTTP/1.1');
          res.writeHead(200, {
            'content-type': 'application/text',
            'x-echo-service': this.spec.host,
            'x-echo-version': 'external',
            'content-length': Buffer.byteLength(body),
          });
          res.end(body);
        });
      };
      const server =
        port.protocol === 'HTTPS'
          ? https.createServer({ ...standInCertificate(this.spec.host), keepAliveTimeout: 60_000 }, handler)
          : http.createServer({ keepAliveTimeout: 60_000 }, handler);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port.number, this.ip, () => {
          server.off('error', reject);
          resolve();
        });
      });
      this.servers.push(server);
    }
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            (s as http.Server).closeAllConnections();
            s.close(() => resolve());
          }),
      ),
    );
    this.servers.length = 0;
  }
}
