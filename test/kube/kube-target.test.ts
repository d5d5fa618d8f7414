// KubeTarget against the fake API server (a test double, test/kube/fake-apiserver.ts): the requests it makes are
// checked as a real API server would check them, and the cluster is left exactly as it was found. What a real server
// shows as well runs on the sandbox's real kube-apiserver and istiod instead (test/sandbox/sandbox.test.ts: the Target
// contract, replacing a user's object whole and restoring it, someone else's object left in place, cleanup from the
// cluster journal and without one; test/sandbox/kill.test.ts); what stays here needs a fault or an exact request the
// real one cannot be made to give on cue (an object changed between the journal and the replace, a proxy istiod never
// pushes to, a stuck acknowledgement).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SpecError, TargetError } from '../../src/errors.ts';
import { sumCounter } from '../../src/observe/prometheus.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { cleanup, KubeTarget } from '../../src/targets/kube/index.ts';
import { comparableForm, runLabel } from '../../src/targets/kube/objects.ts';
import { experimentResources, preexisting, startFixture, type KubeFixture } from './helpers.ts';
import { must } from '../../src/must.ts';

let fx: KubeFixture;
beforeAll(async () => {
  fx = await startFixture();
});
afterAll(async () => {
  await fx.server.stop();
});
beforeEach(() => {
  fx.server.reset(preexisting());
});

function target(extra: ConstructorParameters<typeof KubeTarget>[0] = {}): KubeTarget {
  return new KubeTarget({ kubeconfig: fx.kubeconfig, pollIntervalMs: 20, ...extra });
}

const prepareOptions = { scenario: 'bookinfo', seed: 1 };

function userObjectsUnchanged(): void {
  for (const before of preexisting()) {
    const now = fx.server.find(before.kind, before.metadata.namespace, before.metadata.name);
    expect(now, `${before.kind} ${before.metadata.name}`).toBeDefined();
    expect(comparableForm(now as K8sObject)).toEqual(comparableForm(before));
  }
  const labelled = fx.server.objects().filter((o) => o.metadata.labels?.[runLabel] || o.metadata.labels?.['meshproof.dev/journal']);
  expect(labelled.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
}

describe('KubeTarget.prepare (preflight)', () => {
  it('connects to a kind-* context, reads the Istio version from the istiod image and finds every proxy', async () => {
    const t = target();
    const info = await t.prepare(prepareOptions);
    expect(info).toMatchObject({ kind: 'kube', istioVersion: '1.28.0', context: 'kind-meshproof' });
    expect(info.description).toContain('7 proxies');
    for (const r of fx.server.requests) expect(r.authorization).toBe('Bearer meshproof-test-token');
    await t.close();
  });

  it('refuses a context that is not kind-* unless --context X --allow-context', async () => {
    await expect(target().prepare({ ...prepareOptions, context: 'staging' })).rejects.toThrow(/refusing to change cluster context "staging".*--context staging --allow-context/s);
    await expect(target().prepare({ ...prepareOptions, context: 'staging', allowContext: true })).resolves.toMatchObject({ context: 'staging' });
    expect(fx.server.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('names a context the kubeconfig does not have', async () => {
    await expect(target().prepare({ ...prepareOptions, context: 'kind-other' })).rejects.toThrow(/no context "kind-other".*kind-meshproof, staging/);
  });

  it('says which Istio kinds are missing when Istio is not installed', async () => {
    fx.server.istioInstalled = false;
    try {
      const error = await target().prepare(prepareOptions).catch((e: Error) => e);
      expect(error).toBeInstanceOf(TargetError);
      expect((error as Error).message).toMatch(/Istio is not installed.*VirtualService \(networking.istio.io\/v1\).*EnvoyFilter \(networking.istio.io\/v1alpha3\).*AuthorizationPolicy/);
    } finally {
      fx.server.istioInstalled = true;
    }
  });

  it('names workloads without a ready pod, without a sidecar, or not exporting the stats meshproof reads', async () => {
    const seed = preexisting().map((o) => {
      if (o.kind !== 'Pod') return o;
      // The seed's Pods have a status, containers and annotations.
      const pod = structuredClone(o) as K8sObject & { status: { conditions: unknown[] }; spec: { containers: { name: string }[] }; metadata: { annotations: Record<string, string> } };
      if (pod.metadata.name.startsWith('ratings-v1')) pod.status.conditions = [{ type: 'Ready', status: 'False' }];
      if (pod.metadata.name.startsWith('details-v1')) pod.spec.containers = pod.spec.containers.filter((c) => c.name !== 'istio-proxy');
      if (pod.metadata.name.startsWith('reviews-v2')) pod.metadata.annotations['proxy.istio.io/config'] = 'proxyStatsMatcher:\n  inclusionPrefixes: [cluster.outbound]\n';
      return pod;
    });
    fx.server.reset(seed.filter((o) => !(o.kind === 'Pod' && o.metadata.name.startsWith('reviews-v3'))));
    const message = ((await target().prepare(prepareOptions).catch((e: Error) => e)) as Error).message;
    expect(message).toContain('ratings-v1: none of its 1 pod(s) is ready');
    expect(message).toContain('details-v1: its pods have no istio-proxy sidecar');
    expect(message).toContain('reviews-v3: no pod in namespace default with labels {"app":"reviews","version":"v3"}');
    expect(message).toMatch(/reviews-v2 \(pod default\/reviews-v2-[^)]+\) does not export local rate limit counters \(e\.g\. http_local_rate_limiter\.http_local_rate_limit\.rate_limited\).*\{"proxyStatsMatcher":\{"inclusionRegexps":\["\.\*http_local_rate_limit\.\*"\]\}\}/);
    expect(message).not.toContain('productpage');
  });
});

describe('KubeTarget.apply', () => {
  it('creates new objects by server-side apply (field manager meshproof), replaces existing ones whole (PUT), labelled with the run id, journal first', async () => {
    const t = target();
    await t.prepare(prepareOptions);
    await t.snapshot(experimentResources());
    fx.server.requests.length = 0;
    await t.apply(experimentResources(), 'run-1');

    const writes = fx.server.requests.filter((r) => r.method !== 'GET');
    const patches = writes.filter((r) => r.method === 'PATCH');
    for (const p of patches) {
      expect(p.contentType).toBe('application/apply-patch+yaml');
      expect(p.query.fieldManager).toBe('meshproof');
    }
    // the journal ConfigMap is written before the first change to an Istio object
    expect(writes[0]?.path).toBe('/api/v1/namespaces/default/configmaps/meshproof-journal-run-1');
    const istioWrites = writes.filter((p) => p.path.includes('istio.io'));
    expect(istioWrites.map((p) => `${p.method} ${p.path}`)).toEqual([
      'PUT /apis/networking.istio.io/v1/namespaces/default/virtualservices/reviews', // the user's object: replaced whole
      'PATCH /apis/networking.istio.io/v1/namespaces/default/virtualservices/ratings',
      'PATCH /apis/networking.istio.io/v1/namespaces/default/destinationrules/ratings',
      'PATCH /apis/security.istio.io/v1/namespaces/default/authorizationpolicies/ratings-viewer',
    ]);
    expect(istioWrites.map((p) => p.query.force)).toEqual([undefined, undefined, undefined, undefined]);
    for (const p of istioWrites) expect(JSON.parse(p.body).metadata.labels[runLabel]).toBe('run-1');
    const put = must(istioWrites[0], 'put');
    expect(put).toMatchObject({ contentType: 'application/json', query: { fieldManager: 'meshproof' } });
    // conditional on the version that was journalled
    const journalled = preexisting().find((o) => o.kind === 'VirtualService')!;
    expect(JSON.parse(put.body).metadata.resourceVersion).toBeDefined();
    expect(JSON.parse(put.body).metadata.annotations).toEqual(journalled.metadata.annotations);

    const reviews = fx.server.find('VirtualService', 'default', 'reviews')!;
    expect(reviews.metadata.labels).toEqual({ team: 'books', [runLabel]: 'run-1' });
    expect((reviews.spec as { http: { route: unknown[] }[] }).http[0]?.route).toHaveLength(2);
    const journal = fx.server.find('ConfigMap', 'default', 'meshproof-journal-run-1')!;
    const saved = JSON.parse(must((journal.data as Record<string, string>)['journal.json'], '(journal.data as Record<string, string>)[\'journal.json\']')) as { entries: { ref: { kind: string; name: string }; existed: boolean; prior: { spec: unknown } }[] };
    expect(saved.entries.map((e) => [e.ref.kind, e.ref.name, e.existed])).toEqual([
      ['VirtualService', 'reviews', true],
      ['VirtualService', 'ratings', false],
      ['DestinationRule', 'ratings', false],
      ['AuthorizationPolicy', 'ratings-viewer', false],
    ]);
    expect(saved.entries[0]?.prior.spec).toEqual(preexisting().find((o) => o.kind === 'VirtualService')!.spec);
    expect(existsSync(join(fx.stateDir, 'meshproof', 'journal', 'run-1.json'))).toBe(true);
    await t.restore();
    await t.close();
  });

  it('turns an API server rejection into a SpecError naming the resource and field', async () => {
    const t = target();
    await t.prepare(prepareOptions);
    const bad: K8sObject = { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'bad', labels: { 'not valid!': 'x' } }, spec: {} };
    const error = await t.apply([bad], 'run-2').catch((e: Error) => e);
    expect(error).toBeInstanceOf(SpecError);
    expect((error as SpecError).format()).toMatch(/^VirtualService bad: metadata.labels: the API server rejected it: metadata.labels: Invalid value: "not valid!"/);
    await t.restore();
    userObjectsUnchanged();
  });

  it('rejects a kind the cluster does not serve before changing anything', async () => {
    const t = target();
    await t.prepare(prepareOptions);
    const unknown: K8sObject = { apiVersion: 'networking.istio.io/v1', kind: 'Telemetry', metadata: { name: 'x' }, spec: {} };
    await expect(t.snapshot([unknown])).rejects.toThrow(SpecError);
    expect(fx.server.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('refuses a run id that cannot be a label value', async () => {
    const t = target();
    await t.prepare(prepareOptions);
    await expect(t.apply(experimentResources(), 'run id with spaces')).rejects.toThrow(/cannot label Kubernetes objects/);
  });
});

describe('KubeTarget.waitConverged', () => {
  it('waits until every affected proxy acknowledged a push made after the change (istiod /debug/syncz via port-forward)', async () => {
    const t = target();
    await t.prepare(prepareOptions);
    await t.apply(experimentResources(), 'run-3');
    const report = await t.waitConverged(5_000);
    expect(report.proxies.map((p) => p.name)).toHaveLength(7); // the DestinationRule reaches every proxy, the gateway too
    expect(report.proxies.every((p) => p.synced)).toBe(true);
    expect(report.version).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\/\d+$/);
    const forwards = fx.server.requests.filter((r) => r.path.endsWith('/portforward'));
    expect(forwards.length).toBeGreaterThan(0);
    expect(forwards.every((r) => r.path === '/api/v1/namespaces/istio-system/pods/istiod-6d7c8b9f5-s3t4u/portforward' && r.query.ports === '15014')).toBe(true);
    await t.restore();
    await t.close();
  });

  it('times out with a TargetError naming the proxy that did not acknowledge', async () => {
    const t = target();
    await t.prepare(prepareOptions);
    fx.server.stuck.add('reviews-v2-8b9c7d6f5-j7k8l.default');
    await t.apply(experimentResources(), 'run-4');
    const error = (await t.waitConverged(600).catch((e: Error) => e)) as Error;
    expect(error).toBeInstanceOf(TargetError);
    expect(error.message).toMatch(/did not converge in 600 ms; 1 of 7 proxies are behind:\n {2}- reviews-v2-8b9c7d6f5-j7k8l\.default: has not acknowledged cds sent \S+\/\d+ acked \S+\/\d+/);
    await t.restore();
  });

  it('does not take an old acknowledgement for the new config: a proxy istiod has not pushed to is named', async () => {
    const t = target();
    await t.prepare(prepareOptions);
    fx.server.unpushed.add('ratings-v1-7d8f9c6b5-d3e4f.default');
    await t.apply(experimentResources(), 'run-5');
    const error = (await t.waitConverged(600).catch((e: Error) => e)) as Error;
    expect(error.message).toMatch(/ratings-v1-7d8f9c6b5-d3e4f\.default: no push since the change/);
    await t.restore();
  });

  it('confirms with the behavioural probe for N consecutive windows, and fails naming what the probe saw', async () => {
    let calls = 0;
    const t = target({ probeWindows: 3, probeWindowMs: 10, probe: async () => ++calls >= 2 });
    await t.prepare(prepareOptions);
    await t.apply(experimentResources(), 'run-6');
    await t.waitConverged(5_000);
    expect(calls).toBe(4); // one miss, then three passes in a row
    const probe = async () => ({ ok: false, detail: 'reviews v3 share 0 of 40' });
    await t.apply([must(experimentResources()[1], 'experimentResources()[1]')], 'run-6');
    await expect(t.waitConverged(300, probe)).rejects.toThrow(/behavioural probe did not see the change in 3 consecutive windows within 300 ms: reviews v3 share 0 of 40/);
    await t.restore();
  });
});

describe('KubeTarget: consecutive experiments, replacing, unchanged objects', () => {
  const detailsRoute: K8sObject = {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'details' },
    spec: { hosts: ['details'], http: [{ route: [{ destination: { host: 'details' } }] }] },
  };

  it('a second experiment is not converged by the first one\'s restore: never pushed, it times out (TargetError)', async () => {
    const t = target();
    await t.prepare(prepareOptions);
    await t.apply(experimentResources(), 'run-a');
    await t.waitConverged(5_000);
    const restored = await t.restore();
    expect(restored.errors).toEqual([]);
    // istiod never pushes experiment B to any proxy
    for (const p of fx.server.proxies()) fx.server.unpushed.add(`${p.pod}.${p.namespace}`);
    await t.apply([detailsRoute], 'run-b');
    const error = (await t.waitConverged(400).catch((e: Error) => e)) as Error;
    expect(error).toBeInstanceOf(TargetError);
    expect(error.message).toMatch(/configuration did not converge in 400 ms; 6 of 6 proxies are behind:\n {2}- details-v1-\S+: no push since the change/);
    fx.server.unpushed.clear();
    expect((await t.restore()).errors).toEqual([]);
    userObjectsUnchanged();
  });

  it('restore waits for the proxies to acknowledge its own push, and reports a proxy that does not', async () => {
    const t = target({ restoreTimeoutMs: 400 });
    await t.prepare(prepareOptions);
    await t.apply(experimentResources(), 'run-r');
    await t.waitConverged(5_000);
    fx.server.stuck.add('reviews-v2-8b9c7d6f5-j7k8l.default');
    const report = await t.restore();
    expect(report.restored).toEqual(['VirtualService/default/reviews']);
    expect(report.errors).toEqual([
      expect.stringMatching(/^restored, but restored configuration did not converge in 400 ms; 1 of 7 proxies are behind:\n {2}- reviews-v2-8b9c7d6f5-j7k8l\.default: has not acknowledged/),
    ]);
    userObjectsUnchanged();
  });

  it('journals the newer version when someone changes the object between the journal and the replace', async () => {
    const t = target();
    await t.prepare(prepareOptions);
    // after the journal ConfigMap is written, another tool updates the user's VirtualService
    let changed = false;
    fx.server.onRequest = (r) => (!changed && r.method === 'PATCH' && r.path.endsWith('/configmaps/meshproof-journal-run-c') ? 'after' : undefined);
    fx.server.onProcessed = () => {
      changed = true;
      const vs = fx.server.find('VirtualService', 'default', 'reviews')!;
      fx.server.update({ ...vs, metadata: { ...vs.metadata, labels: { ...vs.metadata.labels, team: 'other' } } });
    };
    try {
      await t.apply([must(experimentResources()[0], 'experimentResources()[0]')], 'run-c');
    } finally {
      fx.server.onRequest = undefined;
      fx.server.onProcessed = undefined;
    }
    expect(changed).toBe(true);
    const puts = fx.server.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/virtualservices/reviews'));
    expect(puts).toHaveLength(2); // the first was refused (409: resourceVersion), the second went in
    await t.waitConverged(5_000);
    expect((await t.restore()).errors).toEqual([]);
    expect(fx.server.find('VirtualService', 'default', 'reviews')!.metadata.labels).toEqual({ team: 'other' });
  });

  it('does not wait for a push of an object whose spec equals the one in the cluster (istiod needsPush skips it)', async () => {
    const t = target();
    await t.prepare(prepareOptions);
    const same = preexisting().find((o) => o.kind === 'VirtualService' && o.metadata.name === 'reviews')!;
    await t.apply([{ apiVersion: same.apiVersion, kind: same.kind, metadata: { name: 'reviews' }, spec: structuredClone(same.spec) }], 'run-u');
    const report = await t.waitConverged(600);
    expect(report.proxies).toEqual([]);
    const restore = await t.restore();
    expect(restore).toEqual({ deleted: [], restored: ['VirtualService/default/reviews'], errors: [] });
    userObjectsUnchanged();
  });

  it('waits on every proxy for a PeerAuthentication, also one selecting a single workload: callers in other namespaces change too', async () => {
    const t = target();
    await t.prepare(prepareOptions);
    const policy: K8sObject = {
      apiVersion: 'security.istio.io/v1',
      kind: 'PeerAuthentication',
      metadata: { name: 'ratings-strict' },
      spec: { selector: { matchLabels: { app: 'ratings' } }, mtls: { mode: 'STRICT' } },
    };
    await t.apply([policy], 'run-p');
    const report = await t.waitConverged(5_000);
    expect(report.proxies.map((p) => p.name)).toContain('istio-ingressgateway-5c6d7b8f9-v5w6x.istio-system');
    expect(report.proxies).toHaveLength(7);
    expect((await t.restore()).errors).toEqual([]);
  });
});

describe('KubeTarget.counters and entrypoint', () => {
  it("reads every sidecar's and the gateway's :15090/stats/prometheus through port-forward (as istioctl reads a proxy; the ClusterRole grants pods/portforward, not pods/proxy)", async () => {
    const t = target();
    await t.prepare(prepareOptions);
    fx.server.stats.set('reviews-v2-8b9c7d6f5-j7k8l', 'envoy_cluster_upstream_rq_retry{cluster_name="outbound|9080|v1|ratings.default.svc.cluster.local"} 7\n');
    fx.server.requests.length = 0;
    const samples = await t.counters();
    expect(fx.server.requests.filter((r) => r.path.includes('/proxy/'))).toEqual([]);
    const forwarded = fx.server.requests.filter((r) => r.path.endsWith('/portforward'));
    expect(forwarded).toHaveLength(7);
    expect(forwarded.every((r) => /^\/api\/v1\/namespaces\/(default|istio-system)\/pods\/[^/]+\/portforward$/.test(r.path) && r.query.ports === '15090')).toBe(true);
    expect(sumCounter(samples, 'envoy_cluster_upstream_rq_retry', {}, 'reviews-v2')).toBe(7);
    expect(sumCounter(samples, 'envoy_cluster_upstream_rq_retry', {}, 'reviews-v1')).toBe(3);
    expect(new Set(samples.map((s) => s.proxy))).toEqual(
      new Set(['details-v1', 'ratings-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3', 'productpage-v1', 'istio-ingressgateway']),
    );
  });

  it('adds up replicas of one workload into one series per workload', async () => {
    const seed = preexisting();
    const extra = structuredClone(seed.find((o) => o.metadata.name.startsWith('reviews-v1'))!);
    extra.metadata.name = 'reviews-v1-6c8d9f7b4-zzzzz';
    fx.server.reset([...seed, extra]);
    const t = target();
    await t.prepare(prepareOptions);
    const samples = await t.counters();
    expect(sumCounter(samples, 'envoy_cluster_upstream_rq_retry', {}, 'reviews-v1')).toBe(6);
    expect(samples.filter((s) => s.proxy === 'reviews-v1' && s.name === 'envoy_cluster_upstream_rq_retry')).toHaveLength(1);
  });

  it('uses the URL the user gives, else the gateway Service annotation kind-up sets, else a port-forward to the gateway', async () => {
    const given = target();
    await given.prepare({ ...prepareOptions, url: 'http://127.0.0.1:9999/' });
    expect(await given.entrypoint()).toBe('http://127.0.0.1:9999');

    const forwarded = target();
    await forwarded.prepare(prepareOptions);
    const url = await forwarded.entrypoint();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    fx.server.gatewayBody = 'productpage through the gateway';
    expect(await (await fetch(`${url}/productpage`)).text()).toBe('productpage through the gateway');
    expect(fx.server.requests.some((r) => r.path === '/api/v1/namespaces/istio-system/pods/istio-ingressgateway-5c6d7b8f9-v5w6x/portforward' && r.query.ports === '8080')).toBe(true);
    await forwarded.close();

    const seed = preexisting().map((o) =>
      o.kind === 'Service' ? { ...o, metadata: { ...o.metadata, annotations: { 'meshproof.dev/host-url': 'http://127.0.0.1:8080' } } } : o,
    );
    fx.server.reset(seed);
    const annotated = target();
    await annotated.prepare(prepareOptions);
    expect(await annotated.entrypoint()).toBe('http://127.0.0.1:8080');
  });
});

describe('KubeTarget.restore and cleanup', () => {
  it('deletes what the run created and puts back what existed exactly (spec, labels, annotations)', async () => {
    const t = target();
    await t.prepare(prepareOptions);
    await t.apply(experimentResources(), 'run-7');
    await t.waitConverged(5_000);
    const report = await t.restore();
    expect(report.errors).toEqual([]);
    expect(report.restored).toEqual(['VirtualService/default/reviews']);
    expect(report.deleted.sort()).toEqual(['AuthorizationPolicy/default/ratings-viewer', 'DestinationRule/default/ratings', 'VirtualService/default/ratings']);
    userObjectsUnchanged();
    const puts = fx.server.requests.filter((r) => r.method === 'PUT');
    expect(puts.every((r) => r.contentType === 'application/json' && JSON.parse(r.body).metadata.resourceVersion)).toBe(true);
    const deletes = fx.server.requests.filter((r) => r.method === 'DELETE' && r.path.includes('istio.io'));
    expect(deletes.every((r) => JSON.parse(r.body).preconditions.uid)).toBe(true);
    expect(readdirSync(join(fx.stateDir, 'meshproof', 'journal'))).toEqual([]);
    expect(await t.restore()).toEqual({ deleted: [], restored: [], errors: [] }); // idempotent
  });

  it('cleanup honours the context guard', async () => {
    await expect(cleanup({ kubeconfig: fx.kubeconfig, context: 'staging' })).rejects.toThrow(/--allow-context/);
  });
});
