// The echo workload the local mesh runs for a Deployment of the user's own image (src/targets/local/apps/echo.ts), on
// the example scenario examples/two-services (namespace shop, frontend v1 calling backend v1/v2).
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpecError } from '../../src/errors.ts';
import { echoClassifier } from '../../src/observe/classifiers.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { ConfigStore } from '../../src/targets/local/config-store.ts';
import { loadScenario } from '../../src/targets/local/scenario.ts';
import { applyAndWait, mesh, restoreBaseline, yaml, type MeshHandle } from './helpers.ts';

const scenario = fileURLToPath(new URL('../../examples/two-services/scenario', import.meta.url));

let m: MeshHandle;
beforeAll(async () => {
  m = await mesh({ scenario, seed: 11 });
});
afterAll(async () => m?.close());

async function podUrl(deployment: string): Promise<string> {
  const w = (await m.status()).workloads.find((x) => x.deployment === deployment);
  if (!w) throw new Error(`no pod of ${deployment}`);
  return w.url;
}

/** GET with a Host header of our choosing (fetch sets its own). */
function getWithHost(url: string, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { host } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

function lines(body: string): string[] {
  return body.split('\n').filter((l) => l !== '');
}

describe('the echo answers with its identity (istio/istio pkg/test/echo/server/endpoint/http.go addResponsePayload)', () => {
  it("in Istio's Field=value lines and in x-echo-* headers, request headers echoed in Go's canonical form", async () => {
    const res = await fetch(`${m.gatewayUrl}/hello?x=1`, { headers: { 'x-custom-thing': 'yes' } });
    const body = await res.text();
    expect(res.status).toBe(200);
    const pod = res.headers.get('x-echo-pod')!;
    expect(pod).toMatch(/^frontend-v1-[0-9a-f]{10}-[0-9a-f]{5}$/);
    expect([res.headers.get('x-echo-service'), res.headers.get('x-echo-version'), res.headers.get('x-echo-namespace')]).toEqual(['frontend', 'v1', 'shop']);
    const l = lines(body);
    expect(l.slice(0, 2)).toEqual(['ServiceVersion=v1', 'ServicePort=8080']);
    expect(l).toContain('URL=/hello?x=1');
    expect(l).toContain('Namespace=shop');
    expect(l).toContain('Method=GET');
    expect(l).toContain('RequestHeader=X-Custom-Thing:yes');
    expect(l).toContain(`Hostname=${pod}`);
    expect(l.slice(-2)).toEqual(['Service=frontend', 'StatusCode=200']);
  });

  it("shows each call it makes through its sidecar as Istio's forwarder does ([0] Url=, [0] StatusCode=, [0 body] …)", async () => {
    const res = await fetch(`${m.gatewayUrl}/checkout`);
    const l = lines(await res.text());
    expect(res.status).toBe(200);
    expect(l).toContain('[0] Url=http://backend:9000/items');
    expect(l).toContain('[0] StatusCode=200');
    expect(l).toContain('[0 body] Service=backend');
    expect(l).toContain('[0 body] Host=backend:9000');
    expect(l.find((x) => x.startsWith('[0 body] ServiceVersion='))).toMatch(/^\[0 body\] ServiceVersion=v[12]$/);
    // The sidecar passed the request id on to the call (x-request-id is propagated).
    const id = l.find((x) => x.startsWith('RequestHeader=X-Request-Id:'))!.split(':')[1];
    expect(l).toContain(`[0 body] RequestHeader=X-Request-Id:${id}`);
  });

  it('as its Service: the one the Host names, else the one that selects it', async () => {
    const res = await fetch(`${await podUrl('backend-v2')}/x`);
    expect(res.headers.get('x-echo-service')).toBe('backend');
    expect(res.headers.get('x-echo-version')).toBe('v2');
  });
});

describe("identities in the scenario's namespace", () => {
  it("an ALLOW policy on frontend's principal cluster.local/ns/shop/sa/frontend lets frontend call backend, and nobody else", async () => {
    const policy = yaml(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: backend-from-frontend, namespace: shop }
spec:
  selector: { matchLabels: { app: backend } }
  action: ALLOW
  rules:
    - from: [ { source: { principals: [cluster.local/ns/shop/sa/frontend] } } ]
`);
    await applyAndWait(m, policy);
    try {
      const viaFrontend = await fetch(`${m.gatewayUrl}/checkout`);
      expect(viaFrontend.status).toBe(200);
      // A plaintext client outside the mesh has no principal: backend's sidecar denies it.
      const direct = await fetch(`${await podUrl('backend-v1')}/items`);
      expect([direct.status, await direct.text()]).toEqual([403, 'RBAC: access denied']);
    } finally {
      await restoreBaseline(m, policy);
    }
  });
});

describe('a Service port reaching the pods on another port (targetPort)', () => {
  it('port 80 → targetPort 9000: callers use :80, the pods answer on 9000', async () => {
    const objects = yaml(`
apiVersion: v1
kind: Service
metadata: { name: backend-public, namespace: shop }
spec: { selector: { app: backend }, ports: [{ name: http, port: 80, targetPort: 9000 }] }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: shop, namespace: shop }
spec:
  hosts: ["*"]
  gateways: [shop-gateway]
  http: [ { route: [ { destination: { host: backend-public, port: { number: 80 } } } ] } ]
`);
    const before = loadScenario(scenario).filter((o) => o.kind === 'VirtualService' && o.metadata.name === 'shop');
    await applyAndWait(m, objects);
    try {
      const res = await fetch(`${m.gatewayUrl}/items`);
      const l = lines(await res.text());
      expect(res.status).toBe(200);
      expect(l).toContain('ServicePort=9000');
      // Through the gateway the Host names no Service: the first selecting the pod answers (backend < backend-public).
      expect(l).toContain('Service=backend');
      const direct = lines(await getWithHost(await podUrl('backend-v1'), 'backend-public:80'));
      expect(direct).toContain('Service=backend-public');
    } finally {
      await restoreBaseline(
        m,
        objects.filter((o) => o.kind === 'Service'),
      );
      await applyAndWait(m, before);
    }
  });

  it("a named targetPort is looked up in the pods' container ports; a name they lack is refused", () => {
    const objects = (target: string) =>
      yaml(`
apiVersion: v1
kind: Service
metadata: { name: named, namespace: shop }
spec: { selector: { app: named }, ports: [{ name: http, port: 80, targetPort: ${target} }] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: named, namespace: shop }
spec:
  selector: { matchLabels: { app: named } }
  template:
    metadata: { labels: { app: named } }
    spec: { containers: [{ name: app, image: example.com/named:1, ports: [{ name: web, containerPort: 3000 }] }] }
`);
    const compiled = new ConfigStore().init([...loadScenario(scenario), ...objects('web')]);
    expect(compiled.services.get('named.shop.svc.cluster.local')?.targetPorts).toEqual({ 80: 3000 });
    const store = new ConfigStore();
    expect(() => store.init([...loadScenario(scenario), ...objects('api')])).toThrow(/the pods of named have no container port named api \(theirs is web\)/);
  });
});

describe("per request, as Istio's echo: ?delay=, ?codes=, ?headers=", () => {
  it('?codes=418 answers 418 with the identity still in the body; ?headers=name:value sets response headers', async () => {
    const res = await fetch(`${m.gatewayUrl}/x?codes=418&headers=x-a:1,x-b:2`);
    expect(res.status).toBe(418);
    expect([res.headers.get('x-a'), res.headers.get('x-b')]).toEqual(['1', '2']);
    expect(echoClassifier({ requestIndex: 0, sentAtMs: 0, latencyMs: 1, status: 418, headers: {}, body: await res.text() })).toMatchObject({
      service: 'frontend',
      'frontend.status': '418',
    });
  });

  it('?delay=150ms waits at least that long; a malformed one is reported in the body (http.go delayResponse)', async () => {
    const started = Date.now();
    const res = await fetch(`${m.gatewayUrl}/x?delay=150ms`);
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    const bad = await (await fetch(`${m.gatewayUrl}/x?delay=soon`)).text();
    expect(bad).toContain('error delaying response error: time: invalid duration "soon"');
  });

  it('?codes=500:1,200:3 picks a code per request with those chances, seeded', async () => {
    const url = await podUrl('frontend-v1');
    const statuses = await Promise.all(Array.from({ length: 200 }, () => fetch(`${url}/x?codes=500:1,200:3`).then((r) => r.status)));
    const failed = statuses.filter((s) => s === 500).length;
    expect(statuses.every((s) => s === 500 || s === 200)).toBe(true);
    // Binomial(200, 0.25): 50 ± 6; these bounds are 4 standard deviations out.
    expect(failed).toBeGreaterThan(25);
    expect(failed).toBeLessThan(75);
  });
});

describe('per workload, the meshproof.dev/echo annotation', () => {
  it('errors: { share: 0.5, status: 503 } on /flaky fails about half of the requests', async () => {
    const url = await podUrl('backend-v1');
    const statuses = await Promise.all(Array.from({ length: 200 }, () => fetch(`${url}/flaky`).then((r) => r.status)));
    const failed = statuses.filter((s) => s === 503).length;
    expect(statuses.every((s) => s === 503 || s === 200)).toBe(true);
    expect(failed).toBeGreaterThan(70);
    expect(failed).toBeLessThan(130);
  });

  it('errors: { share: 1, status: reset } closes the connection unanswered: the sidecar answers 503 UC (connection termination)', async () => {
    const objects = yaml(`
apiVersion: v1
kind: Service
metadata: { name: crashy, namespace: shop }
spec: { selector: { app: crashy }, ports: [{ name: http, port: 8080 }] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: crashy, namespace: shop }
spec:
  selector: { matchLabels: { app: crashy } }
  template:
    metadata:
      labels: { app: crashy, version: v1 }
      annotations: { meshproof.dev/echo: "errors: { share: 1, status: reset }" }
    spec: { containers: [{ name: app, image: example.com/crashy:1 }] }
`);
    await applyAndWait(m, objects);
    try {
      const res = await fetch(`${await podUrl('crashy')}/`);
      expect([res.status, await res.text()]).toEqual([503, 'upstream connect error or disconnect/reset before headers. reset reason: connection termination']);
    } finally {
      await restoreBaseline(m, objects);
    }
  });

  it('latency: { p50: 300ms, p99: 400ms } on /slow: no answer comes before 200 ms', async () => {
    const url = await podUrl('backend-v2');
    const times = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const started = Date.now();
        await (await fetch(`${url}/slow`)).text();
        return Date.now() - started;
      }),
    );
    times.sort((a, b) => a - b);
    // Log-normal with sigma = ln(400/300)/2.326 = 0.12: below 200 ms is 3.3 sigma out.
    expect(times[0]).toBeGreaterThanOrEqual(200);
  });
});

describe('namespaces and injection of a scenario, refused clearly when the local target cannot run it', () => {
  const baseline = loadScenario(scenario);
  const refusal = (objects: K8sObject[]): SpecError => {
    const store = new ConfigStore();
    try {
      store.init([...baseline, ...objects]);
    } catch (error) {
      expect(error).toBeInstanceOf(SpecError);
      return error as SpecError;
    }
    throw new Error('accepted');
  };
  const deployment = (namespace: string, extra = '') =>
    yaml(`
apiVersion: apps/v1
kind: Deployment
metadata: { name: extra, namespace: ${namespace} }
spec:
  selector: { matchLabels: { app: extra } }
  template:
    metadata: { labels: { app: extra }${extra} }
    spec: { containers: [{ name: extra, image: example.com/extra:1 }] }
`);

  it("the scenario's own namespace (declared by a Namespace labelled istio-injection=enabled) runs its workloads", () => {
    const store = new ConfigStore();
    const compiled = store.init(baseline);
    expect(compiled.workloads.map((w) => `${w.namespace}/${w.deployment}:${w.port}:${w.appKind}`).sort()).toEqual([
      'shop/backend-v1:9000:echo',
      'shop/backend-v2:9000:echo',
      'shop/frontend-v1:8080:echo',
    ]);
    // Objects applied later may only use the namespaces the baseline declares.
    expect(() => store.change(deployment('elsewhere'), [])).toThrow(/namespace elsewhere is not emulated/);
  });

  it('a namespace without istio-injection=enabled runs no sidecar: refused, unless the pod asks for one', () => {
    const ns = yaml('apiVersion: v1\nkind: Namespace\nmetadata: { name: plain }');
    expect(refusal([...ns, ...deployment('plain')]).path).toBe('Deployment extra: metadata.namespace');
    const store = new ConfigStore();
    expect(store.init([...baseline, ...ns, ...deployment('plain', ', annotations: { sidecar.istio.io/inject: "true" }')]).workloads).toHaveLength(4);
  });

  it('a pod that refuses its sidecar, and istio-injection=disabled, are refused', () => {
    expect(refusal(deployment('shop', ', annotations: { sidecar.istio.io/inject: "false" }')).message).toMatch(/refuses a sidecar/);
    const disabled = yaml('apiVersion: v1\nkind: Namespace\nmetadata: { name: off, labels: { istio-injection: disabled } }');
    expect(refusal([...disabled, ...deployment('off', ', annotations: { sidecar.istio.io/inject: "true" }')]).message).toMatch(/istio-injection=disabled/);
  });

  it("an echo without a containerPort listens on its Service's port; a Service port no pod listens on is refused", () => {
    const service = (port: number) =>
      yaml(`
apiVersion: v1
kind: Service
metadata: { name: extra, namespace: shop }
spec: { selector: { app: extra }, ports: [{ name: http, port: ${port} }] }
`);
    expect(new ConfigStore().init([...baseline, ...service(7000), ...deployment('shop')]).workloads.find((w) => w.deployment === 'extra')?.port).toBe(7000);
    const twoPorts = yaml(`
apiVersion: v1
kind: Service
metadata: { name: extra, namespace: shop }
spec: { selector: { app: extra }, ports: [{ name: http, port: 7000 }, { name: http-admin, port: 7001 }] }
`);
    expect(refusal([...twoPorts, ...deployment('shop')]).path).toBe('Service extra: spec.ports[1].port');
  });

  it('a configured call to a service the mesh does not have is refused at the annotation field', () => {
    const e = refusal(deployment('shop', ', annotations: { meshproof.dev/echo: "calls: [http://nowhere:80/]" }'));
    expect(e.path).toBe('Deployment extra: spec.template.metadata.annotations["meshproof.dev/echo"].calls[0].url');
    expect(e.message).toMatch(/no Service nowhere/);
  });

  it('traffic.sidecar.istio.io annotations: a port that would bypass the sidecar is refused; proxy sizing annotations are inert', () => {
    const annotated = (a: string) => deployment('shop', `, annotations: { ${a} }`);
    expect(refusal(annotated('traffic.sidecar.istio.io/includeInboundPorts: "8000"')).path).toBe(
      'Deployment extra: spec.template.metadata.annotations["traffic.sidecar.istio.io/includeInboundPorts"]',
    );
    expect(refusal(annotated('traffic.sidecar.istio.io/excludeInboundPorts: "8080"')).message).toMatch(/port 8080 is excluded/);
    expect(refusal(annotated('traffic.sidecar.istio.io/excludeOutboundPorts: "9000", meshproof.dev/echo: "calls: [http://backend:9000/]"')).message).toMatch(
      /would bypass the sidecar \(port 9000 is excluded\)/,
    );
    expect(refusal(annotated('traffic.sidecar.istio.io/includeOutboundIPRanges: "10.0.0.0/8"')).message).toMatch(/not emulated/);
    const store = new ConfigStore();
    const accepted = annotated(
      'sidecar.istio.io/proxyCPULimit: "200m", sidecar.istio.io/proxyMemoryLimit: "128Mi", traffic.sidecar.istio.io/includeInboundPorts: "8080", traffic.sidecar.istio.io/excludeOutboundPorts: "3306"',
    );
    expect(store.init([...baseline, ...accepted]).workloads.find((w) => w.deployment === 'extra')?.port).toBe(8080);
  });
});
