// The objects sandbox-up writes in place of the scheduler and the kubelet, and the EndpointSlices it expects kube-controller-manager to write (src/sandbox/objects.ts), without a cluster.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  asInjected,
  deploymentWorkloads,
  endpointSlices,
  istioSystemObjects,
  istioWorkloads,
  kustomizationObjects,
  plannedPods,
  podSpec,
  readyStatus,
  type ContainerPort,
  type KubeObject,
  type Workload,
} from '../../src/sandbox/objects.ts';
import { must } from '../../src/must.ts';

const bookinfo = kustomizationObjects(join(import.meta.dirname, '../../scenarios/bookinfo'), 'default');

const workload = (name: string, labels: Record<string, string>, replicas = 1, ports: ContainerPort[] = [{ containerPort: 9080 }]): Workload => ({
  name,
  namespace: 'default',
  replicas,
  labels,
  spec: { containers: [{ name: 'app', image: 'app:1', ports }] },
});

const service = (name: string, selector: Record<string, string> | undefined, ports: object[]): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { ...(selector ? { selector } : {}), ports },
});

describe('sandbox objects', () => {
  it('reads the scenario through its kustomization, in the namespace kind-up applies it to', () => {
    const kinds = bookinfo.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(kinds).toContain('Deployment/reviews-v2');
    expect(kinds).toContain('Gateway/bookinfo-gateway');
    expect(bookinfo.every((o) => o.metadata.namespace === 'default')).toBe(true);
    expect(deploymentWorkloads(bookinfo).map((w) => w.name)).toEqual(['details-v1', 'ratings-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3', 'productpage-v1']);
  });

  it('gives each replica its own TEST-NET-1 address, in order, and refuses more pods than the range holds', () => {
    const pods = plannedPods([workload('a', { app: 'a' }, 2), workload('b', { app: 'b' })]);
    expect(pods.map((p) => [p.object.metadata.name, p.ip])).toEqual([
      ['a-sandbox-0', '192.0.2.10'],
      ['a-sandbox-1', '192.0.2.11'],
      ['b-sandbox-0', '192.0.2.12'],
    ]);
    expect(() => plannedPods([workload('many', { app: 'm' }, 246)])).toThrow(/do not fit the sandbox pod range 192.0.2.0\/24/);
    expect(plannedPods([workload('many', { app: 'm' }, 245)])).toHaveLength(245);
  });

  it('marks pods as the sidecar injector does: istio-proxy container, status annotation, tlsMode and canonical labels', () => {
    const [pod] = plannedPods([asInjected(workload('reviews-v2', { app: 'reviews', version: 'v2' }))]);
    expect(podSpec(must(pod, 'the pod').object).containers?.map((c) => c.name)).toEqual(['app', 'istio-proxy']);
    expect(pod?.object.metadata.labels).toMatchObject({
      'security.istio.io/tlsMode': 'istio',
      'service.istio.io/canonical-name': 'reviews',
      'service.istio.io/canonical-revision': 'v2',
    });
    expect(JSON.parse(pod?.object.metadata.annotations?.['sidecar.istio.io/status'] ?? '{}').containers).toEqual(['istio-proxy']);
  });

  it('writes a Ready, Running status with the pod IP and one ready status per container', () => {
    const pod = must(plannedPods([asInjected(workload('details-v1', { app: 'details' }))])[0], 'the planned pod');
    const status = readyStatus(pod.object, pod.ip, '2026-01-01T00:00:00Z');
    expect(status).toMatchObject({ phase: 'Running', podIP: '192.0.2.10', podIPs: [{ ip: '192.0.2.10' }] });
    expect((status.conditions as { type: string; status: string }[]).find((c) => c.type === 'Ready')?.status).toBe('True');
    expect((status.containerStatuses as { name: string; ready: boolean }[]).map((c) => [c.name, c.ready])).toEqual([
      ['app', true],
      ['istio-proxy', true],
    ]);
  });

  it('makes one EndpointSlice per selecting Service: matching pods only, target ports resolved (numbers and names)', () => {
    const pods = plannedPods([
      workload('web-v1', { app: 'web', version: 'v1' }, 1, [{ name: 'http-web', containerPort: 8000 }]),
      workload('web-v2', { app: 'web', version: 'v2' }, 1, [{ name: 'http-web', containerPort: 8000 }]),
      workload('db', { app: 'db' }),
    ]);
    const slices = endpointSlices(
      [
        service('web', { app: 'web' }, [
          { name: 'http', port: 80, targetPort: 'http-web' },
          { name: 'admin', port: 9000, targetPort: 9001 },
        ]),
        service('db', { app: 'db' }, [{ port: 5432 }]),
        service('external', undefined, [{ port: 443 }]),
      ],
      pods,
    );
    expect(slices.map((s) => s.metadata.name)).toEqual(['web-sandbox', 'db-sandbox']);
    expect(slices[0]?.metadata.labels!['kubernetes.io/service-name']).toBe('web');
    expect(slices[0]?.ports).toEqual([
      { name: 'http', port: 8000, protocol: 'TCP' },
      { name: 'admin', port: 9001, protocol: 'TCP' },
    ]);
    expect(slices[0]?.endpoints.map((e) => [e.targetRef.name, e.addresses[0]])).toEqual([
      ['web-v1-sandbox-0', '192.0.2.10'],
      ['web-v2-sandbox-0', '192.0.2.11'],
    ]);
    expect(slices[1]?.ports).toEqual([{ name: '', port: 5432, protocol: 'TCP' }]);
  });

  it('names the Service and port when a named target port matches no container port', () => {
    const pods = plannedPods([workload('web-v1', { app: 'web' })]);
    expect(() => endpointSlices([service('web', { app: 'web' }, [{ port: 80, targetPort: 'http-missing' }])], pods)).toThrow(
      'Service default/web: no pod has a container port named http-missing',
    );
  });

  it('gives istiod a pod labelled istio.io/rev=default behind the istiod Service (istioctl looks for it)', () => {
    const pods = plannedPods(istioWorkloads());
    const slices = endpointSlices(
      istioSystemObjects().filter((o) => o.kind === 'Service'),
      pods,
    );
    expect(pods[0]?.object.metadata.labels).toMatchObject({ app: 'istiod', 'istio.io/rev': 'default' });
    expect(slices.find((s) => s.metadata.name === 'istiod-sandbox')?.endpoints[0]?.targetRef.name).toBe('istiod-sandbox-0');
    expect(slices.find((s) => s.metadata.name === 'istio-ingressgateway-sandbox')?.ports.map((p) => p.port)).toEqual([15021, 8080, 8443]);
  });
});
