// An external host's stand-in (src/targets/local/stand-in.ts) and the echo's https:// call (apps/echo-https.ts): the
// stand-in serves TLS with a self-signed certificate for its host and answers as an echo with its identity; the app
// originates TLS over the connection its sidecar hands it and accepts only a certificate it trusts, for the host.
import net from 'node:net';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEchoBehaviour } from '../../src/targets/local/apps/echo-config.ts';
import { httpsCall } from '../../src/targets/local/apps/echo-https.ts';
import { CallScope, type AppContext } from '../../src/targets/local/apps/types.ts';
import { parseExternalHost } from '../../src/targets/local/external-host.ts';
import { StandIn, standInCertificate } from '../../src/targets/local/stand-in.ts';
import { FieldPath } from '../../src/istio/networking/fields.ts';
import { SpecError } from '../../src/errors.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { ConfigStore } from '../../src/targets/local/config-store.ts';
import { yaml } from './helpers.ts';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let port: number;
let standIn: StandIn;
beforeAll(async () => {
  port = await freePort();
  standIn = new StandIn({ host: 'api.openai.com', ports: [{ number: port, protocol: 'HTTPS' }] }, '127.0.0.1');
  await standIn.start();
});
afterAll(async () => standIn?.close());

/** An app context whose sidecar connects straight to the stand-in, trusting `trusted`. */
function ctx(trusted: string[]): AppContext {
  return {
    podName: 'client-v1-0',
    env: {},
    seed: 1,
    call: () => Promise.reject(new Error('no HTTP calls here')),
    connect: () =>
      new Promise((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => resolve({ socket }));
        socket.once('error', (e) => resolve({ closed: e.message }));
      }),
    trustedCertificates: () => trusted,
  };
}

const call = (host: string) =>
  parseEchoBehaviour(`calls: [ { url: "https://${host}:${port}/v1/chat/completions", method: POST, timeout: 5s } ]`, FieldPath.of('Deployment', 'client'))
    .calls[0]!;

describe('the stand-in of an external host', () => {
  it('has a self-signed certificate whose subject and SAN are the host', () => {
    const cert = new X509Certificate(standInCertificate('api.openai.com').cert);
    expect(cert.subject).toBe('CN=api.openai.com');
    expect(cert.subjectAltName).toBe('DNS:api.openai.com');
    expect(cert.verify(cert.publicKey)).toBe(true);
  });

  it("answers the app's TLS request as an echo naming the host (Service=, ServiceVersion=external)", async () => {
    const r = await httpsCall(ctx([standIn.certificate]), new CallScope('k'), call('api.openai.com'), { 'x-request-id': 'r1' });
    expect(r.status).toBe(200);
    const lines = r.body.split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'ServiceVersion=external',
        'Service=api.openai.com',
        `Host=api.openai.com:${port}`,
        'Method=POST',
        'Proto=HTTP/1.1 (TLS)',
        'RequestHeader=x-request-id:r1',
        'URL=/v1/chat/completions',
      ]),
    );
    expect(r.headers['x-echo-service']).toBe('api.openai.com');
  });

  it('an app that does not trust the certificate gets no response (its TLS client refuses the handshake)', async () => {
    const r = await httpsCall(ctx([]), new CallScope('k'), call('api.openai.com'), {});
    expect(r.status).toBe(0);
  });

  it("a certificate for another host is refused by the app's host name check", async () => {
    const r = await httpsCall(ctx([standIn.certificate]), new CallScope('k'), call('api.anthropic.com'), {});
    expect(r.status).toBe(0);
  });

  it('a connection the sidecar closes is no response', async () => {
    const closed: AppContext = { ...ctx([standIn.certificate]), connect: () => Promise.resolve({ closed: 'BlackHoleCluster' }) };
    expect((await httpsCall(closed, new CallScope('k'), call('api.openai.com'), {})).status).toBe(0);
  });
});

describe('the ExternalHost declaration', () => {
  const object = (name: string, spec?: object): K8sObject =>
    ({ apiVersion: 'meshproof.dev/v1alpha1', kind: 'ExternalHost', metadata: { name }, ...(spec ? { spec } : {}) }) as K8sObject;
  const path = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      if (e instanceof SpecError) return e.path;
      throw e;
    }
    return undefined;
  };
  it('defaults to HTTPS on 443; names the field of a mistake', () => {
    expect(parseExternalHost(object('api.openai.com'))).toEqual({ host: 'api.openai.com', ports: [{ number: 443, protocol: 'HTTPS' }] });
    expect(path(() => parseExternalHost(object('api.openai.com', { ports: [{ number: 443, protocol: 'TLS' }] })))).toBe(
      'ExternalHost api.openai.com: spec.ports[0].protocol',
    );
    expect(path(() => parseExternalHost(object('backend.shop.svc.cluster.local')))).toBe('ExternalHost backend.shop.svc.cluster.local: metadata.name');
    expect(path(() => parseExternalHost(object('api.openai.com', { port: 443 })))).toBe('ExternalHost api.openai.com: spec.port');
  });

  it("serves documents at exact paths (an identity provider's JWKS); names the field of a mistake", async () => {
    const spec = parseExternalHost(
      object('auth.example.com', {
        ports: [{ number: 443, protocol: 'HTTP' }],
        paths: { '/.well-known/jwks.json': { contentType: 'application/json', body: '{"keys":[]}' } },
      }),
    );
    expect(spec.paths).toEqual({ '/.well-known/jwks.json': { contentType: 'application/json', body: '{"keys":[]}', status: 200 } });
    expect(path(() => parseExternalHost(object('auth.example.com', { paths: { 'jwks.json': { body: 'x' } } })))).toBe(
      'ExternalHost auth.example.com: spec.paths["jwks.json"]',
    );
    expect(path(() => parseExternalHost(object('auth.example.com', { paths: { '/k': { body: 'x', status: 99 } } })))).toBe(
      'ExternalHost auth.example.com: spec.paths["/k"].status',
    );
    const served = new StandIn({ ...spec, ports: [{ number: await freePort(), protocol: 'HTTP' }] }, '127.0.0.1');
    await served.start();
    try {
      const base = `http://127.0.0.1:${served.spec.ports[0]!.number}`;
      const doc = await fetch(`${base}/.well-known/jwks.json?x=1`);
      expect([doc.status, doc.headers.get('content-type'), await doc.text()]).toEqual([200, 'application/json', '{"keys":[]}']);
      expect(await (await fetch(`${base}/other`)).text()).toMatch(/^ServiceVersion=external$/m); // any other path: the echo
    } finally {
      await served.close();
    }
  });
});

describe("an echo's https:// call names an external host (echo-calls.ts checkEchoCalls)", () => {
  const objects = (url: string, extra = ''): K8sObject[] =>
    yaml(`
apiVersion: v1
kind: Service
metadata: { name: backend, namespace: default }
spec: { selector: { app: backend }, ports: [ { name: http, port: 9000 } ] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: client, namespace: default }
spec:
  selector: { matchLabels: { app: client } }
  template:
    metadata:
      labels: { app: client }
      annotations:
        meshproof.dev/echo: |
          calls: [ "${url}" ]
    spec: { containers: [ { name: c, image: example.com/c:1, ports: [ { containerPort: 8080 } ] } ] }
${extra}`);
  const refusal = (list: K8sObject[]) => {
    try {
      new ConfigStore().init(list);
    } catch (e) {
      if (e instanceof SpecError) return `${e.path}: ${e.message}`;
      throw e;
    }
    return 'accepted';
  };
  const standIn = '---\napiVersion: meshproof.dev/v1alpha1\nkind: ExternalHost\nmetadata: { name: api.openai.com }\n';
  it('refuses a host with neither a ServiceEntry nor a stand-in, and a Service of the mesh over https', () => {
    expect(refusal(objects('https://api.openai.com/v1'))).toMatch(/calls\[0\]\.url: no ServiceEntry or ExternalHost \(stand-in\) for api.openai.com/);
    expect(refusal(objects('https://backend:9000/x'))).toMatch(/calls\[0\]\.url: backend is a Service of the mesh: call it with http:\/\//);
    expect(refusal(objects('https://api.openai.com:8443/v1', standIn))).toMatch(/calls\[0\]\.url: api.openai.com has no port 8443/);
  });
  it("accepts a host the scenario gives a stand-in (reachable or not: that is the mesh's to decide)", () => {
    expect(refusal(objects('https://api.openai.com/v1', standIn))).toBe('accepted');
  });
});
