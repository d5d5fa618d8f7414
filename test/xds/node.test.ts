import { describe, expect, it } from 'vitest';
import { proxyNode } from '../../src/xds/node.ts';

describe('proxyNode: the Node pilot-agent sends', () => {
  const reviews = proxyNode({
    type: 'sidecar',
    podName: 'reviews-v2-5b667bcbf8-x7k2p',
    namespace: 'default',
    ips: ['10.244.0.15'],
    labels: { app: 'reviews', version: 'v2', 'service.istio.io/canonical-name': 'reviews', 'service.istio.io/canonical-revision': 'v2' },
    serviceAccount: 'bookinfo-reviews',
    istioVersion: '1.31.0',
    owner: 'kubernetes://apis/apps/v1/namespaces/default/deployments/reviews-v2',
    podPorts: [{ name: 'http', containerPort: 9080, protocol: 'TCP' }],
    appContainers: ['reviews'],
  });

  it('id is type~ip~pod.namespace~namespace.svc.cluster.local (istio-agent Proxy.ServiceNode)', () => {
    expect(reviews.id).toBe('sidecar~10.244.0.15~reviews-v2-5b667bcbf8-x7k2p.default~default.svc.cluster.local');
  });

  it('cluster is <app>.<namespace> (bootstrap serviceClusterOrDefault)', () => {
    expect(reviews.cluster).toBe('reviews.default');
  });

  it('metadata carries the NodeMetadata names istiod reads, in their JSON forms', () => {
    expect(reviews.metadata).toMatchObject({
      NAME: 'reviews-v2-5b667bcbf8-x7k2p',
      NAMESPACE: 'default',
      LABELS: { app: 'reviews', version: 'v2' },
      INSTANCE_IPS: '10.244.0.15',
      SERVICE_ACCOUNT: 'bookinfo-reviews',
      CLUSTER_ID: 'Kubernetes',
      ISTIO_VERSION: '1.31.0',
      MESH_ID: 'cluster.local',
      WORKLOAD_NAME: 'reviews-v2',
      OWNER: 'kubernetes://apis/apps/v1/namespaces/default/deployments/reviews-v2',
      INTERCEPTION_MODE: 'REDIRECT',
      APP_CONTAINERS: 'reviews',
      POD_PORTS: '[{"name":"http","containerPort":9080,"protocol":"TCP"}]',
      ENVOY_STATUS_PORT: 15021,
      ENVOY_PROMETHEUS_PORT: 15090,
    });
    expect(reviews.metadata.PROXY_CONFIG).toBeTypeOf('object');
  });

  it('a gateway is a router; several IPs are comma-joined and the first is in the id', () => {
    const gw = proxyNode({
      type: 'router',
      podName: 'istio-ingressgateway-7d4f8c9b5-abcde',
      namespace: 'istio-system',
      ips: ['10.244.0.3', 'fd00::3'],
      labels: { app: 'istio-ingressgateway', istio: 'ingressgateway' },
      serviceAccount: 'istio-ingressgateway-service-account',
      istioVersion: '1.31.0',
      clusterId: 'sandbox',
    });
    expect(gw.id).toBe('router~10.244.0.3~istio-ingressgateway-7d4f8c9b5-abcde.istio-system~istio-system.svc.cluster.local');
    expect(gw.metadata.INSTANCE_IPS).toBe('10.244.0.3,fd00::3');
    expect(gw.metadata.CLUSTER_ID).toBe('sandbox');
    expect(gw.cluster).toBe('istio-ingressgateway.istio-system');
  });
});
