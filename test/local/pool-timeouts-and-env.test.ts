// Inputs the local target used to accept and then ignore: DestinationRule connectTimeout and idleTimeout (Envoy's
// cluster connect_timeout and upstream idle_timeout, as Istio's cluster_traffic_policy.go sets them), productpage's
// FLOOD_FACTOR (productpage.py floodReviews), details' ENABLE_EXTERNAL_BOOK_SERVICE (details.rb), SERVICES_DOMAIN.
import http from 'node:http';
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpecError } from '../../src/errors.ts';
import { parseDestinationRule } from '../../src/istio/networking/destination-rule.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { Cluster, type EndpointInfo } from '../../src/targets/local/proxy/cluster.ts';
import { ProxyStats } from '../../src/targets/local/proxy/stats.ts';
import { parseDeployment } from '../../src/targets/local/topology.ts';
import { applyAndWait, counters, mesh, page, scenarioFile, sum, type MeshHandle } from './helpers.ts';
import { clusterUnder } from '../support/envoy-routing.ts';
import { must } from '../../src/must.ts';

const block = `127.${200 + (process.pid % 40)}.${(process.pid >> 3) % 250}`;

function deployment(image: string, env: { name: string; value: string }[] = []): K8sObject {
  const app = /examples-bookinfo-(\w+)-/.exec(image)![1];
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `${app}-v1` },
    spec: { template: { metadata: { labels: { app, version: 'v1' } }, spec: { containers: [{ image, env }] } } },
  } as K8sObject;
}

function refusal(object: K8sObject): SpecError {
  try {
    parseDeployment(object);
  } catch (error) {
    expect(error).toBeInstanceOf(SpecError);
    return error as SpecError;
  }
  throw new Error('not refused');
}

describe('Bookinfo environment the apps read', () => {
  it('details with ENABLE_EXTERNAL_BOOK_SERVICE=true is refused at the field (details.rb calls googleapis.com)', () => {
    const e = refusal(deployment('docker.io/istio/examples-bookinfo-details-v1:1.20.3', [{ name: 'ENABLE_EXTERNAL_BOOK_SERVICE', value: 'true' }]));
    expect(e.path).toBe('Deployment details-v1: spec.template.spec.containers[0].env[0].value');
    expect(e.message).toContain('external book service');
    // details.rb compares with === 'true': anything else keeps the built-in book
    expect(
      parseDeployment(deployment('docker.io/istio/examples-bookinfo-details-v1:1.20.3', [{ name: 'ENABLE_EXTERNAL_BOOK_SERVICE', value: 'True' }])).env
        .ENABLE_EXTERNAL_BOOK_SERVICE,
    ).toBe('True');
  });

  it("a FLOOD_FACTOR Python's int() cannot read is refused (the real container exits at start)", () => {
    const e = refusal(deployment('docker.io/istio/examples-bookinfo-productpage-v1:1.20.3', [{ name: 'FLOOD_FACTOR', value: 'lots' }]));
    expect(e.path).toBe('Deployment productpage-v1: spec.template.spec.containers[0].env[0].value');
    expect(
      parseDeployment(deployment('docker.io/istio/examples-bookinfo-productpage-v1:1.20.3', [{ name: 'FLOOD_FACTOR', value: ' 1_0 ' }])).env.FLOOD_FACTOR,
    ).toBe(' 1_0 ');
    expect(parseDeployment(deployment('docker.io/istio/examples-bookinfo-productpage-v-flooding:1.20.3')).env.FLOOD_FACTOR).toBe('100');
    // The image is examples-bookinfo-productpage-v-flooding (samples/bookinfo/src/docker-bake.hcl); there is no v-flooded.
    expect(refusal(deployment('docker.io/istio/examples-bookinfo-productpage-v-flooded:1.20.3')).message).toContain('unknown Bookinfo image variant');
  });
});

describe('productpage-v-flooding: FLOOD_FACTOR extra reviews calls per page (productpage.py floodReviews)', () => {
  let m: MeshHandle;
  beforeAll(async () => {
    m = await mesh({ seed: 21 });
  });
  afterAll(async () => m?.close());

  it('one page makes 1 + FLOOD_FACTOR calls to reviews, after details, and still answers 200', async () => {
    const productpage = scenarioFile('bookinfo.yaml').find((o) => o.kind === 'Deployment' && o.metadata.name === 'productpage-v1')!;
    const flooded = structuredClone(productpage) as K8sObject & { spec: { template: { spec: { containers: { image: string; env?: unknown[] }[] } } } };
    const container = must(flooded.spec.template.spec.containers[0], 'the productpage container');
    container.image = 'docker.io/istio/examples-bookinfo-productpage-v-flooding:1.20.3';
    container.env = [{ name: 'FLOOD_FACTOR', value: '3' }];
    await applyAndWait(m, [flooded]);
    const p = await page(m);
    expect(p.status).toBe(200);
    expect(['v1', 'v2', 'v3']).toContain(p.reviews);
    const c = await counters(m);
    const at = { reporter: 'source', source_workload: 'productpage-v1' };
    expect(sum(c, 'istio_requests_total', { ...at, destination_service_name: 'reviews' })).toBe(4);
    expect(sum(c, 'istio_requests_total', { ...at, destination_service_name: 'details' })).toBe(1);
  });
});

describe('DestinationRule connection timeouts at an Envoy cluster', () => {
  const endpoint = (ip: string, port: number): EndpointInfo => ({
    ip,
    port,
    podName: 'p',
    workload: 'w',
    namespace: 'default',
    app: 'a',
    version: 'v1',
    principal: 'cluster.local/ns/default/sa/a',
    labels: {},
  });
  const newCluster = () => {
    const stats = new ProxyStats({ inclusionPrefixes: ['cluster.'], inclusionSuffixes: [], inclusionRegexps: [] });
    return new Cluster({ name: 'outbound|9080||x.default.svc.cluster.local', sourceIp: `${block}.2`, sourcePrincipal: 'p', meshSecret: 's', stats });
  };
  const get = { method: 'GET', path: '/', headers: { host: 'x' } };

  it('idleTimeout closes an idle upstream connection (upstream_cx_idle_timeout); without it the connection stays', async () => {
    const server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, `${block}.3`, r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const cluster = newCluster();
      // http.idleTimeout wins over tcp.idleTimeout, as Istio's applyConnectionPool sets it
      const rule = parseDestinationRule({
        apiVersion: 'networking.istio.io/v1',
        kind: 'DestinationRule',
        metadata: { name: 'x' },
        spec: { host: 'x', trafficPolicy: { tls: { mode: 'DISABLE' }, connectionPool: { tcp: { idleTimeout: '1h' }, http: { idleTimeout: '300ms' } } } },
      } as K8sObject);
      expect(rule.trafficPolicy?.connectionPool?.idleTimeoutMs).toBe(300);
      cluster.update(
        [endpoint(`${block}.3`, port)],
        clusterUnder({ tls: { mode: 'DISABLE' }, connectionPool: { tcp: { idleTimeout: '1h' }, http: { idleTimeout: '300ms' } } }),
      );
      const first = await cluster.send(endpoint(`${block}.3`, port), get, Infinity, undefined);
      expect(first).toMatchObject({ kind: 'response', status: 200 });
      expect((await cluster.send(endpoint(`${block}.3`, port), get, Infinity, undefined)).kind).toBe('response');
      expect(cluster.s.cxTotal.value).toBe(1); // reused while it was idle for less than 300 ms
      await new Promise((r) => setTimeout(r, 700));
      expect(cluster.s.cxIdleTimeout.value).toBe(1);
      expect(cluster.s.cxActive.value).toBe(0);
      expect((await cluster.send(endpoint(`${block}.3`, port), get, Infinity, undefined)).kind).toBe('response');
      expect(cluster.s.cxTotal.value).toBe(2);
      cluster.close();

      const keeps = newCluster();
      keeps.update([endpoint(`${block}.3`, port)], clusterUnder({ tls: { mode: 'DISABLE' } }));
      await keeps.send(endpoint(`${block}.3`, port), get, Infinity, undefined);
      await new Promise((r) => setTimeout(r, 400));
      expect(keeps.s.cxIdleTimeout.value).toBe(0);
      expect(keeps.s.cxActive.value).toBe(1);
      keeps.close();
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('connectTimeout: a connect that does not complete in time is a connection failure (upstream_cx_connect_timeout)', async () => {
    // A listener whose accept queue is full: Linux drops further SYNs, so a connect hangs (no accept() ever runs:
    // the worker's event loop is blocked right after listen).
    const shared = new SharedArrayBuffer(4);
    const worker = new Worker(
      `
      const { parentPort, workerData } = require('node:worker_threads');
      const server = require('node:net').createServer();
      server.listen({ host: workerData.host, port: 0, backlog: 1 }, () => {
        parentPort.postMessage(server.address().port);
        Atomics.wait(new Int32Array(workerData.flag), 0, 0);
        server.close();
      });`,
      { eval: true, workerData: { host: `${block}.4`, flag: shared } },
    );
    const port = await new Promise<number>((r) => worker.once('message', r));
    const fillers: net.Socket[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const s = net.connect({ host: `${block}.4`, port });
        s.on('error', () => undefined);
        fillers.push(s);
      }
      await new Promise((r) => setTimeout(r, 100));
      const cluster = newCluster();
      cluster.update([endpoint(`${block}.4`, port)], clusterUnder({ tls: { mode: 'DISABLE' }, connectionPool: { tcp: { connectTimeout: '200ms' } } }));
      const result = await cluster.send(endpoint(`${block}.4`, port), get, Infinity, undefined);
      expect(result.kind).toBe('connect-failure');
      expect(cluster.s.cxConnectTimeout.value).toBe(1);
      expect(cluster.s.cxConnectFail.value).toBe(1);
      cluster.close();
    } finally {
      for (const s of fillers) s.destroy();
      const flag = new Int32Array(shared);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      await worker.terminate();
    }
  });
});
