// Anything the local mesh does not emulate is refused with the resource and field path; a refused change changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpecError } from '../../src/errors.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { parseService, portProtocol } from '../../src/targets/local/topology.ts';
import { mesh, yaml, type MeshHandle } from './helpers.ts';

let m: MeshHandle;
beforeAll(async () => {
  m = await mesh({ seed: 3 });
});
afterAll(async () => m?.close());

async function refusal(text: string): Promise<SpecError> {
  const before = (await m.status()).version;
  const error = await m.apply(yaml(text)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SpecError);
  expect((await m.status()).version).toBe(before);
  return error as SpecError;
}

describe('refused resources', () => {
  it('VirtualService mirror', async () => {
    const e = await refusal(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http: [{ route: [{ destination: { host: reviews } }], mirror: { host: reviews } }]
`);
    expect(e.path).toBe('VirtualService reviews: spec.http[0].mirror');
  });

  it('a misspelt field, with the known ones listed', async () => {
    const e = await refusal(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http: [{ route: [{ destination: { host: reviews } }], retry: { attempts: 3 } }]
`);
    expect(e.path).toBe('VirtualService reviews: spec.http[0].retry');
    expect(e.message).toContain('retries');
  });

  it('an unknown retry condition', async () => {
    const e = await refusal(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ratings }
spec:
  hosts: [ratings]
  http: [{ route: [{ destination: { host: ratings } }], retries: { attempts: 2, retryOn: "5xx,sometimes" } }]
`);
    expect(e.path).toBe('VirtualService ratings: spec.http[0].retries.retryOn');
  });

  it('DestinationRule Maglev hashing (ring hash is run; Maglev is not)', async () => {
    const e = await refusal(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: end-user, maglev: { tableSize: 65537 } } } }
`);
    expect(e.path).toBe('DestinationRule reviews: spec.trafficPolicy.loadBalancer.consistentHash.maglev');
  });

  it('an EnvoyFilter patch other than the local rate limit', async () => {
    const e = await refusal(`
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: { name: lua }
spec:
  configPatches:
  - applyTo: HTTP_FILTER
    match: { context: SIDECAR_INBOUND }
    patch: { operation: INSERT_BEFORE, value: { name: envoy.filters.http.lua } }
`);
    expect(e.path).toMatch(/^EnvoyFilter lua: spec\.configPatches\[0\]/);
  });

  it('a kind the local mesh does not know, and an echo workload whose behaviour is misspelt', async () => {
    expect(
      (
        await refusal(`
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: vm }
spec: { address: 10.0.0.1 }
`)
      ).path,
    ).toBe('WorkloadEntry vm: kind');
    expect(
      (
        await refusal(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: google }
spec: { hosts: [www.google.com], ports: [{ number: 443, name: https, protocol: HTTPS }], resolution: STATIC, endpoints: [{ address: 142.250.0.1 }] }
`)
      ).path,
    ).toBe('ServiceEntry google: spec.endpoints');
    expect(
      (
        await refusal(`
apiVersion: apps/v1
kind: Deployment
metadata: { name: sleep }
spec:
  selector: { matchLabels: { app: sleep } }
  template:
    metadata:
      labels: { app: sleep }
      annotations:
        meshproof.dev/echo: "errors: { share: 5 }"
    spec: { containers: [{ name: sleep, image: curlimages/curl }] }
`)
      ).path,
    ).toBe('Deployment sleep: spec.template.metadata.annotations["meshproof.dev/echo"].errors.share');
  });

  it('a bad object among good ones changes nothing', async () => {
    const before = (await m.status()).version;
    const error = await m
      .apply(
        yaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http: [{ route: [{ destination: { host: reviews, subset: v1 } }] }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  trafficPolicy: { connectionPool: { tcp: { maxConnections: -1 } } }
`),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SpecError);
    expect((error as SpecError).path).toBe('DestinationRule reviews: spec.trafficPolicy.connectionPool.tcp.maxConnections');
    expect((await m.status()).version).toBe(before);
    expect(await m.get('VirtualService', 'default', 'reviews')).toBeUndefined();
  });
});

describe('Service port protocols (pkg/config/kube/conversion.go ConvertProtocol)', () => {
  const service = (port: Record<string, unknown>) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'reviews' },
    spec: { selector: { app: 'reviews' }, ports: [{ port: 9080, ...port }] },
  });
  it('HTTP and detected ports are served; a port Istio proxies as TCP, TLS, gRPC or HTTP/2 is refused, not routed as HTTP/1.1', () => {
    expect(portProtocol(9080, 'http')).toBe('HTTP');
    expect(portProtocol(9080, 'http-web')).toBe('HTTP');
    expect(portProtocol(9080, 'web')).toBe('auto');
    expect(portProtocol(3306, 'db')).toBe('TCP');
    expect(portProtocol(9080, 'http', 'tcp')).toBe('TCP');
    expect(portProtocol(9080, 'grpc-web-x')).toBe('GRPC-Web');
    expect(portProtocol(9080, 'x', 'kubernetes.io/h2c')).toBe('HTTP2');
    expect(() => parseService(service({ name: 'http' }) as K8sObject)).not.toThrow();
    expect(() => parseService(service({ name: 'tcp-reviews' }) as K8sObject)).toThrow(/Istio serves this port as TCP \(from its name\)/);
    // A gRPC port is kept for later: only an Open Policy Agent pod's ext_authz service may serve one (below).
    expect(parseService(service({ name: 'http', appProtocol: 'grpc' }) as K8sObject).grpcPorts).toEqual([
      { port: 9080, targetPort: 9080, at: 'Service reviews: spec.ports[0].appProtocol' },
    ]);
  });

  it("a gRPC port whose pods are not OPA's ext_authz service is refused at the port, and nothing changes", async () => {
    const e = await refusal(`
apiVersion: v1
kind: Service
metadata: { name: reviews }
spec:
  selector: { app: reviews }
  ports: [{ port: 9080, name: http, appProtocol: grpc }]`);
    expect(e.path).toBe('Service reviews: spec.ports[0].appProtocol');
    expect(e.message).toMatch(/as GRPC, which the local target runs only as the ext_authz service of an Open Policy Agent pod/);
  });
});
