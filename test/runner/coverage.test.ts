// What a run proved per service (issue 19 item 4): behaviours from the applied resources' fields, verified by an
// expectation of the same experiment that exercises them; the service graph from istio_requests_total.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { BEHAVIOURS, expectationBehaviours, resourceBehaviours, runCoverage, type CoverageInput } from '../../src/runner/coverage.ts';
import type { Expectation, K8sObject } from '../../src/spec/types.ts';

const source = { file: 'e.yaml', line: 1, col: 1 };
const reviewsRetries: K8sObject = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'reviews' },
  spec: {
    hosts: ['reviews'],
    http: [{ route: [{ destination: { host: 'reviews', subset: 'v2' } }], retries: { attempts: 3, perTryTimeout: '1s' }, timeout: '5s' }],
  },
};
const circuitBreaker: K8sObject = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'DestinationRule',
  metadata: { name: 'ratings' },
  spec: { host: 'ratings.default.svc.cluster.local', trafficPolicy: { connectionPool: { tcp: { maxConnections: 1 } } } },
};
const retriesExpectation: Expectation = { kind: 'retries', title: 'retries to reviews', source, confidence: 0.99, service: 'reviews', count: { min: 1 } };
const statusOk: Expectation = { kind: 'status', title: 'status 200', source, confidence: 0.99, code: '200', ratio: { min: 0.9 } };
const overflow: Expectation = {
  kind: 'flags',
  title: 'UO at ratings',
  source,
  confidence: 0.99,
  flag: 'UO',
  from: 'mesh',
  service: 'ratings',
  count: { min: 1 },
};

const input = (name: string, resources: K8sObject[], expectations: Expectation[]): CoverageInput => ({ name, resources, expectations, counters: [] });
const behaviour = (c: ReturnType<typeof runCoverage>, service: string, b: string) =>
  c.services.find((s) => s.service === service)?.behaviours.find((x) => x.behaviour === b);

describe('coverage per service', () => {
  it('an applied retry policy without a retries expectation is unverified; with one, verified by it', () => {
    const without = runCoverage([input('retry-applied', [reviewsRetries], [statusOk])]);
    expect(behaviour(without, 'reviews', 'retries')).toMatchObject({
      status: 'unverified',
      resource: 'VirtualService/default/reviews',
      field: 'spec.http[0].retries',
      verifiedBy: [],
      experiments: ['retry-applied'],
    });
    const withIt = runCoverage([input('retry-checked', [reviewsRetries], [retriesExpectation])]);
    expect(behaviour(withIt, 'reviews', 'retries')).toMatchObject({ status: 'verified', verifiedBy: ['retry-checked: retries to reviews'] });
    // The same rule's timeout is a behaviour of its own, unverified by a retries expectation.
    expect(behaviour(withIt, 'reviews', 'timeout')?.status).toBe('unverified');
    expect(withIt.services.find((s) => s.service === 'reviews')).toMatchObject({ verified: 1, total: 3 }); // routing (a subset), retries, timeout
  });

  it('an expectation naming another service does not verify this one; DestinationRule hosts are taken by their short name', () => {
    const c = runCoverage([input('cb', [circuitBreaker], [{ ...overflow, service: 'reviews' }])]);
    expect(behaviour(c, 'ratings', 'connection pool')?.status).toBe('unverified');
    const d = runCoverage([input('cb', [circuitBreaker], [overflow])]);
    expect(behaviour(d, 'ratings', 'connection pool')).toMatchObject({ status: 'verified', field: 'spec.trafficPolicy.connectionPool' });
  });

  it('the service graph sums istio_requests_total as the calling proxy reported it, with error shares and flags', () => {
    const counter = (source: string, destination: string, code: string, flags: string, value: number, reporter = 'source') => ({
      proxy: source,
      name: 'istio_requests_total',
      labels: { reporter, source_workload: source, destination_service_name: destination, response_code: code, response_flags: flags },
      value,
    });
    const c = runCoverage([
      {
        name: 'x',
        resources: [],
        expectations: [],
        counters: [
          counter('productpage-v1', 'reviews', '200', '-', 90),
          counter('productpage-v1', 'reviews', '503', 'UO', 10),
          counter('productpage-v1', 'reviews', '200', '-', 100, 'destination'),
        ],
      },
    ]);
    expect(c.graph).toEqual([{ source: 'productpage-v1', destination: 'reviews', requests: 100, errorShare: 0.1, flags: { UO: 10 } }]);
  });
});

describe("result.json's schema knows every behaviour", () => {
  it('the coverage behaviour enum of schema/result.schema.json is BEHAVIOURS', () => {
    const schema = readFileSync(new URL('../../schema/result.schema.json', import.meta.url), 'utf8');
    const m = /"enum": \[\s*("routing"[^\]]*)\]/.exec(schema);
    expect(m, 'the behaviour enum').not.toBeNull();
    expect(JSON.parse(`[${m![1]}]`)).toEqual([...BEHAVIOURS]);
  });

  it("a VirtualService's corsPolicy is the CORS behaviour, checked by a distribution of a CORS response header", () => {
    const vs = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'entry', namespace: 'shop' },
      spec: { hosts: ['*'], http: [{ corsPolicy: { allowOrigins: [{ exact: 'https://a' }] }, route: [{ destination: { host: 'web' } }] }] },
    } as K8sObject;
    expect(resourceBehaviours(vs).map((f) => [f.behaviour, f.field])).toEqual([['CORS', 'spec.http[0].corsPolicy']]);
    expect(
      expectationBehaviours({
        kind: 'distribution',
        of: 'allow-origin',
        weights: { 'https://a': 100 },
        tolerance: 5,
        title: 't',
        source,
        confidence: 0.99,
      } as Expectation).behaviours,
    ).toEqual(['CORS']);
  });

  it("a Telemetry with metrics decides its namespace's (or its selected workloads') Istio metrics; an istio_* counter expectation checks them", () => {
    const telemetry = {
      apiVersion: 'telemetry.istio.io/v1',
      kind: 'Telemetry',
      metadata: { name: 'm', namespace: 'shop' },
      spec: { metrics: [{ overrides: [] }] },
    };
    expect(resourceBehaviours(telemetry).map((f) => [f.behaviour, f.services, f.field])).toEqual([['metrics', ['namespace shop'], 'spec.metrics']]);
    const counter = { kind: 'counter', name: 'istio_requests_total', labels: {}, count: { min: 1 } } as unknown as Expectation;
    expect(expectationBehaviours(counter).behaviours).toEqual(['metrics']);
  });
});
