// AuthorizationPolicy `hosts` at the ingress gateway match the :authority as the client sent it, port included
// (istio/istio pilot/pkg/security/authz/model/generator.go hostGenerator → matcher/header.go HostMatcher on
// :authority; istiod sets no strip_port_mode on the gateway's connection manager).
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyAndWait, mesh, yaml, type MeshHandle } from './helpers.ts';

let m: MeshHandle;
beforeAll(async () => {
  m = await mesh({ seed: 31 });
});
afterAll(async () => m?.close());

function get(hostHeader: string): Promise<number> {
  const url = new URL(`${m.gatewayUrl}/productpage`);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, headers: { host: hostHeader } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

const allowHosts = (hosts: string) =>
  yaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ingress-hosts, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  action: ALLOW
  rules: [{ to: [{ operation: { hosts: [${hosts}] } }] }]
`);

describe('AuthorizationPolicy hosts at the ingress gateway', () => {
  it('a host without a port does not match a Host header that carries one; the host with its port does', async () => {
    await applyAndWait(m, allowHosts('bookinfo.example.com'));
    expect(await get('bookinfo.example.com')).toBe(200);
    expect(await get('bookinfo.example.com:8080')).toBe(403);
    await applyAndWait(m, allowHosts('"bookinfo.example.com:8080"'));
    expect(await get('BOOKINFO.example.com:8080')).toBe(200);
    expect(await get('bookinfo.example.com')).toBe(403);
    await applyAndWait(m, allowHosts('"bookinfo.example.com*"'));
    expect(await get('bookinfo.example.com:8080')).toBe(200);
  });
});
