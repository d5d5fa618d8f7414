// kube-controller-manager in the sandbox (src/sandbox/controller-manager.ts): its flags, and how sandbox-up decides the
// EndpointSlice controller has written what the pods imply. The running controller is checked in sandbox.test.ts.
import { describe, expect, it } from 'vitest';
import { controllerManagerArgs, endpointSlicesPending, SANDBOX_CONTROLLERS, type ListedSlice } from '../../src/sandbox/controller-manager.ts';
import type { EndpointSliceObject } from '../../src/sandbox/objects.ts';

const expected = (service: string, addresses: string[]): EndpointSliceObject => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: `${service}-sandbox`, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 9080, protocol: 'TCP' }],
  endpoints: addresses.map((a, i) => ({
    addresses: [a],
    conditions: { ready: true, serving: true, terminating: false },
    targetRef: { kind: 'Pod', namespace: 'default', name: `${service}-sandbox-${i}` },
  })),
});

const listed = (
  service: string,
  endpoints: { address: string; ready: boolean }[],
  managedBy = 'endpointslice-controller.k8s.io',
  ports: ListedSlice['ports'] = [{ name: 'http', port: 9080 }],
): ListedSlice => ({
  metadata: { namespace: 'default', labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': managedBy } },
  endpoints: endpoints.map((e) => ({ addresses: [e.address], conditions: { ready: e.ready } })),
  ports,
});

describe('kube-controller-manager flags', () => {
  it('runs only the controllers the sandbox needs, each under its own ServiceAccount, on 127.0.0.1', () => {
    const args = controllerManagerArgs({ kubeconfig: '/s/kcm.kubeconfig', port: 16410, cert: '/s/kcm.crt', key: '/s/kcm.key', rootCa: '/s/ca.crt' });
    expect(args).toContain('--bind-address=127.0.0.1');
    expect(args).toContain('--secure-port=16410');
    expect(args).toContain('--use-service-account-credentials=true');
    expect(args).toContain('--root-ca-file=/s/ca.crt');
    expect(args).toContain(`--controllers=${SANDBOX_CONTROLLERS.join(',')}`);
    // No controller that would make pods no kubelet runs, or evict the ones sandbox-up wrote.
    expect(SANDBOX_CONTROLLERS).not.toContain('replicaset-controller');
    expect(SANDBOX_CONTROLLERS).not.toContain('node-lifecycle-controller');
  });
});

describe('endpointSlicesPending', () => {
  it('is empty once the controller lists every expected address ready, with the expected ports', () => {
    expect(
      endpointSlicesPending(
        [expected('reviews', ['192.0.2.14', '192.0.2.15'])],
        [
          listed('reviews', [
            { address: '192.0.2.15', ready: true },
            { address: '192.0.2.14', ready: true },
          ]),
        ],
      ),
    ).toEqual([]);
  });

  it('names a Service the controller has not written yet, and ignores slices another manager wrote', () => {
    expect(
      endpointSlicesPending([expected('reviews', ['192.0.2.14'])], [listed('reviews', [{ address: '192.0.2.14', ready: true }], 'sandbox.meshproof.dev')]),
    ).toEqual(['default/reviews: no EndpointSlice from the controller yet']);
  });

  it('waits while a pod is listed not ready or missing', () => {
    expect(
      endpointSlicesPending(
        [expected('reviews', ['192.0.2.14', '192.0.2.15'])],
        [
          listed('reviews', [
            { address: '192.0.2.14', ready: true },
            { address: '192.0.2.15', ready: false },
          ]),
        ],
      ),
    ).toEqual(['default/reviews: ready addresses [192.0.2.14], expected [192.0.2.14, 192.0.2.15]']);
  });

  it('counts addresses across several slices of one Service, and checks the ports (a named target port resolved)', () => {
    const want = expected('reviews', ['192.0.2.14', '192.0.2.15']);
    const twoSlices = [listed('reviews', [{ address: '192.0.2.14', ready: true }]), listed('reviews', [{ address: '192.0.2.15', ready: true }])];
    expect(endpointSlicesPending([want], twoSlices)).toEqual([]);
    expect(
      endpointSlicesPending(
        [want],
        [
          listed(
            'reviews',
            [
              { address: '192.0.2.14', ready: true },
              { address: '192.0.2.15', ready: true },
            ],
            undefined,
            [{ name: 'http', port: 8080 }],
          ),
        ],
      ),
    ).toEqual(['default/reviews: ports [http:8080], expected [http:9080]']);
  });

  it('takes a Service without pods as done once its empty slice exists (the controller writes ports: null)', () => {
    expect(endpointSlicesPending([expected('idle', [])], [listed('idle', [], undefined, null)])).toEqual([]);
  });
});
