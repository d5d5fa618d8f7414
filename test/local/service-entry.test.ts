// ServiceEntry hosts outside the mesh on the local target: the stand-in a scenario declares (ExternalHost) answers for
// the host on loopback, the mesh's name resolution maps the host to it, and the sidecars send to it as istiod's
// configuration says — HTTPS passed through by SNI to `outbound|443||<host>` (the app originates TLS and checks the
// stand-in's certificate), HTTP through the HTTP routes; hosts outside the registry go to the PassthroughCluster
// (ALLOW_ANY: nothing outside is reachable) or the BlackHoleCluster (REGISTRY_ONLY).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoClassifier } from '../../src/observe/classifiers.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { applyAndWait, counters, mesh, restoreBaseline, sum, yaml, type MeshHandle } from './helpers.ts';
import { tempDir } from '../support/temp-dir.ts';

const scenarioYaml = `
apiVersion: v1
kind: Namespace
metadata: { name: ai, labels: { istio-injection: enabled } }
---
apiVersion: v1
kind: Service
metadata: { name: client, namespace: ai }
spec:
  selector: { app: client }
  ports: [ { name: http, port: 8080 } ]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: client-v1, namespace: ai }
spec:
  replicas: 1
  selector: { matchLabels: { app: client, version: v1 } }
  template:
    metadata:
      labels: { app: client, version: v1 }
      annotations:
        proxy.istio.io/config: |
          proxyStatsMatcher:
            inclusionPrefixes: ["cluster.outbound", "cluster.BlackHoleCluster"]
        meshproof.dev/echo: |
          paths:
            /openai: { calls: [ { url: "https://api.openai.com/v1/chat/completions", method: POST, timeout: 5s } ] }
            /plain: { calls: [ { url: "http://api.example.com/status", timeout: 5s } ] }
            /anthropic: { calls: [ { url: "https://api.anthropic.com/v1/messages", timeout: 5s } ] }
            /anthropic-http: { calls: [ { url: "http://api.anthropic.com/v1/messages", timeout: 5s } ] }
            /passthrough: { calls: [ { url: "https://api.none.example.com:9443/q", timeout: 5s } ] }
            /anthropic-http-8081: { calls: [ { url: "http://api.anthropic.com:8081/v1/messages", timeout: 5s } ] }
    spec:
      containers: [ { name: client, image: example.com/client:1, ports: [ { containerPort: 8080 } ] } ]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: ai }
spec:
  selector: { istio: ingressgateway }
  servers: [ { port: { number: 8080, name: http, protocol: HTTP }, hosts: ["*"] } ]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: entry, namespace: ai }
spec:
  hosts: ["*"]
  gateways: [gw]
  http: [ { route: [ { destination: { host: client, port: { number: 8080 } } } ] } ]
---
apiVersion: meshproof.dev/v1alpha1
kind: ExternalHost
metadata: { name: api.openai.com }
---
apiVersion: meshproof.dev/v1alpha1
kind: ExternalHost
metadata: { name: api.anthropic.com }
spec:
  ports: [ { number: 443, protocol: HTTPS }, { number: 80, protocol: HTTP } ]
---
apiVersion: meshproof.dev/v1alpha1
kind: ExternalHost
metadata: { name: api.none.example.com }
spec:
  ports: [ { number: 9443, protocol: HTTPS } ]
---
apiVersion: meshproof.dev/v1alpha1
kind: ExternalHost
metadata: { name: api.example.com }
spec:
  ports: [ { number: 80, protocol: HTTP } ]
`;

const serviceEntries = yaml(`
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: { name: external-ai-api, namespace: ai }
spec:
  hosts: [api.openai.com]
  ports: [ { number: 443, name: https, protocol: HTTPS } ]
  location: MESH_EXTERNAL
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: example-http, namespace: ai }
spec:
  hosts: [api.example.com]
  ports: [ { number: 80, name: http, protocol: HTTP } ]
  location: MESH_EXTERNAL
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: passthrough-tls, namespace: ai }
spec:
  hosts: [api.none.example.com]
  ports: [ { number: 9443, name: tls, protocol: TLS } ]
  resolution: NONE
`);

const registryOnly: K8sObject = yaml(`
apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: istio-system }
data:
  mesh: |
    outboundTrafficPolicy: { mode: REGISTRY_ONLY }
`)[0]!;

const work = tempDir('meshproof-service-entry-');
writeFileSync(join(work, 'scenario.yaml'), scenarioYaml);

// The same behaviour whether the built-in control plane or the pinned istiod translates the ServiceEntries (under
// istiod the sidecars run istiod's own clusters, routes and outbound listeners).
describe.each(['builtin', 'istiod'] as const)('control plane %s', (controlPlane) => {
  let m: MeshHandle;
  beforeAll(async () => {
    m = await mesh({ scenario: work, seed: 5, controlPlane });
  }, 60_000);
  afterAll(async () => m?.close());

  async function get(path: string): Promise<{ status: number; body: string; labels: Record<string, string> }> {
    const res = await fetch(`${m.gatewayUrl}${path}`);
    const body = await res.text();
    return { status: res.status, body, labels: echoClassifier({ status: res.status, body, headers: {}, ms: 0 } as never) };
  }

  describe('without a ServiceEntry (outboundTrafficPolicy ALLOW_ANY): the PassthroughCluster reaches nothing outside the local mesh', () => {
    it('an https call is closed by its sidecar (tcp_proxy to PassthroughCluster), so the echo answers 502; an http call gets 404 NR', async () => {
      expect((await get('/passthrough')).status).toBe(502);
      expect((await get('/anthropic-http-8081')).status).toBe(404);
      const tls = await get('/openai');
      expect(tls.status).toBe(502);
      expect(tls.body).toContain('[0] Url=https://api.openai.com/v1/chat/completions');
      expect(tls.body).toMatch(/\[0 error\] no response/);
      expect(tls.labels['api.openai.com.status']).toBe('none');
      const plain = await get('/plain');
      expect(plain.status).toBe(404);
      expect(plain.labels['api.example.com.status']).toBe('404');
    });
  });

  describe('with the ServiceEntries (serviceentry/conversion.go convertServices; cluster.go convertResolution DNSLB → STRICT_DNS)', () => {
    beforeAll(async () => applyAndWait(m, serviceEntries));
    afterAll(async () => restoreBaseline(m, serviceEntries));

    it("HTTPS: the app's TLS passes through the sidecar by SNI to outbound|443||api.openai.com, and the stand-in answers over TLS for its host", async () => {
      const before = sum(await counters(m), 'envoy_cluster_upstream_cx_total', { cluster_name: 'outbound|443||api.openai.com' }, 'client-v1');
      const r = await get('/openai');
      expect(r.status, r.body).toBe(200);
      expect(r.body).toContain('[0] StatusCode=200');
      expect(r.body).toContain('[0 body] Proto=HTTP/1.1 (TLS)');
      expect(r.body).toContain('[0 body] Host=api.openai.com');
      expect(r.body).toContain('[0 body] Method=POST');
      expect(r.labels).toMatchObject({ 'api.openai.com.version': 'external', 'api.openai.com.status': '200', 'client.status': '200' });
      const after = sum(await counters(m), 'envoy_cluster_upstream_cx_total', { cluster_name: 'outbound|443||api.openai.com' }, 'client-v1');
      expect(after - before).toBe(1);
    });

    it("HTTP: the route of port 80 names api.example.com's virtual host (generateVirtualHostDomains) and its DNS cluster sends to the stand-in", async () => {
      const r = await get('/plain');
      expect(r.status, r.body).toBe(200);
      expect(r.body).toContain('[0 body] Proto=HTTP/1.1');
      expect(r.labels).toMatchObject({ 'api.example.com.version': 'external', 'api.example.com.status': '200' });
      expect(sum(await counters(m), 'envoy_cluster_upstream_rq_total', { cluster_name: 'outbound|80||api.example.com' }, 'client-v1')).toBeGreaterThan(0);
    });

    it("resolution NONE: the ORIGINAL_DST cluster outbound|9443||api.none.example.com connects where the app's name resolution pointed (its stand-in)", async () => {
      const r = await get('/passthrough');
      expect(r.status, r.body).toBe(200);
      expect(r.labels).toMatchObject({ 'api.none.example.com.version': 'external' });
      expect(sum(await counters(m), 'envoy_cluster_upstream_cx_total', { cluster_name: 'outbound|9443||api.none.example.com' }, 'client-v1')).toBeGreaterThan(
        0,
      );
    });

    it('a host with a stand-in but no entry stays unreachable under ALLOW_ANY', async () => {
      expect((await get('/anthropic')).status).toBe(502);
      expect((await get('/anthropic-http')).status).toBe(404);
    });
  });

  describe('outboundTrafficPolicy REGISTRY_ONLY (listener_builder.go buildOutboundCatchAllNetworkFiltersOnly, httproute.go buildCatchAllVirtualHost)', () => {
    beforeAll(async () => applyAndWait(m, [registryOnly, ...serviceEntries]));
    afterAll(async () => restoreBaseline(m, [registryOnly, ...serviceEntries]));

    it('a registered host is still reached', async () => {
      expect((await get('/openai')).status).toBe(200);
      expect((await get('/plain')).status).toBe(200);
    });

    it("TLS to a host outside the registry: the PassthroughFilterChain's tcp_proxy to the BlackHoleCluster closes it (upstream_cx_none_healthy)", async () => {
      const before = sum(await counters(m), 'envoy_cluster_upstream_cx_none_healthy', { cluster_name: 'BlackHoleCluster' }, 'client-v1');
      const r = await get('/anthropic');
      expect(r.status).toBe(502);
      expect(r.labels['api.anthropic.com.status']).toBe('none');
      expect(sum(await counters(m), 'envoy_cluster_upstream_cx_none_healthy', { cluster_name: 'BlackHoleCluster' }, 'client-v1') - before).toBe(1);
    });

    it("HTTP on a port no Service serves as HTTP: no HTTP listener, so virtualOutbound's tcp_proxy to the BlackHoleCluster closes the connection", async () => {
      const before = sum(await counters(m), 'envoy_cluster_upstream_cx_none_healthy', { cluster_name: 'BlackHoleCluster' }, 'client-v1');
      const r = await get('/anthropic-http-8081');
      expect(r.status).toBe(502);
      expect(r.labels['api.anthropic.com.status']).toBe('none');
      expect(sum(await counters(m), 'envoy_cluster_upstream_cx_none_healthy', { cluster_name: 'BlackHoleCluster' }, 'client-v1') - before).toBe(1);
    });

    it('HTTP to a host outside the registry: the block_all virtual host answers 502 itself (a direct response, no response flag)', async () => {
      const r = await get('/anthropic-http');
      expect(r.status).toBe(502);
      expect(r.labels['api.anthropic.com.status']).toBe('502');
    });
  });
});
