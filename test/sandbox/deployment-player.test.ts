// What the sandbox's pods process hands the local mesh for a Deployment made after sandbox-up
// (src/sandbox/deployment-player.ts): the fields the mesh reads, not the defaults and bookkeeping the API server adds.
import { describe, expect, it } from 'vitest';
import { meshDeployment, meshService } from '../../src/sandbox/deployment-player.ts';
import { parseDeployment } from '../../src/targets/local/topology.ts';

// As the API server returns a Deployment that --deploy-echo applied (defaults filled in, status, managed fields).
const fromApiServer = {
  metadata: { name: 'backend-v2', namespace: 'meshproof-echo-ab12', uid: 'u', generation: 1, labels: { 'meshproof.dev/echo-run': 'r' }, managedFields: [] },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'backend', version: 'v2' } },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
    revisionHistoryLimit: 10,
    progressDeadlineSeconds: 600,
    template: {
      metadata: { labels: { app: 'backend', version: 'v2' }, annotations: { 'meshproof.dev/echo': 'latency: { p50: 2ms }' } },
      spec: {
        serviceAccountName: 'backend',
        serviceAccount: 'backend',
        restartPolicy: 'Always',
        dnsPolicy: 'ClusterFirst',
        schedulerName: 'default-scheduler',
        terminationGracePeriodSeconds: 30,
        securityContext: {},
        containers: [
          {
            name: 'backend',
            image: 'meshproof/echo:dev',
            imagePullPolicy: 'IfNotPresent',
            ports: [{ containerPort: 9000, protocol: 'TCP' }],
            env: [{ name: 'MESHPROOF_ECHO_POD', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } }],
            resources: {},
            terminationMessagePath: '/dev/termination-log',
            terminationMessagePolicy: 'File',
          },
        ],
      },
    },
  },
  status: {},
};

describe('sandbox: a Deployment made after sandbox-up, as the local mesh takes it', () => {
  it('keeps what the mesh reads (replicas, selector, labels, annotation, service account, image, ports) and drops the rest', () => {
    const object = meshDeployment(fromApiServer as never);
    expect(object).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'backend-v2', namespace: 'meshproof-echo-ab12' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'backend', version: 'v2' } },
        template: {
          metadata: { labels: { app: 'backend', version: 'v2' }, annotations: { 'meshproof.dev/echo': 'latency: { p50: 2ms }' } },
          spec: { serviceAccountName: 'backend', containers: [{ name: 'backend', image: 'meshproof/echo:dev', ports: [{ containerPort: 9000 }] }] },
        },
      },
    });
    // The local topology runs it as an echo workload on 9000.
    expect(parseDeployment(object)).toMatchObject({ appKind: 'echo', port: 9000, replicas: 2, version: 'v2', serviceAccount: 'backend' });
  });

  it("a Service's selector and ports, without the addresses and policies the API server adds", () => {
    const service = meshService({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'backend', namespace: 'meshproof-echo-ab12' },
      spec: {
        type: 'ClusterIP',
        clusterIP: '198.51.100.63',
        clusterIPs: ['198.51.100.63'],
        sessionAffinity: 'None',
        ipFamilies: ['IPv4'],
        selector: { app: 'backend' },
        ports: [{ name: 'http-api', port: 9000, targetPort: 9000, protocol: 'TCP', appProtocol: 'http' }],
      },
    });
    expect(service).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'backend', namespace: 'meshproof-echo-ab12' },
      spec: { selector: { app: 'backend' }, ports: [{ name: 'http-api', port: 9000, targetPort: 9000, protocol: 'TCP', appProtocol: 'http' }] },
    });
  });
});
