// KubeTarget against the fake API server (a test double, test/kube/fake-apiserver.ts), only for what the real one
// cannot be made to give on cue: a cluster without Istio, workloads not ready or without sidecars, an object changed
// between the journal and the replace, a proxy istiod never pushes to, a stuck acknowledgement, a behavioural probe
// that never sees the change, two replicas of one workload. Everything else runs on the sandbox's real kube-apiserver
// and istiod (test/sandbox/sandbox.test.ts: the Target contract, prepare, apply and its journal, convergence, an
// unchanged object, a PeerAuthentication, counters, the entrypoint, the API server's refusals, restore and cleanup;
// test/sandbox/kill.test.ts).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TargetError } from '../../src/errors.ts';
import { sumCounter } from '../../src/observe/prometheus.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { cleanup, KubeTarget, type KubeTargetOptions } from '../../src/targets/kube/index.ts';
import { comparableForm, runLabel } from '../../src/targets/kube/objects.ts';
import { experimentResources, preexisting, startFixture, type KubeFixture } from './helpers.ts';
import { must } from '../../src/must.ts';

let fx: KubeFixture;
beforeAll(async () => {
  fx = await startFixture();
});
afterAll(async () => {
  await fx.stop();
});
beforeEach(() => {
  fx.server.reset(preexisting());
});

function target(extra: Partial<KubeTargetOptions> = {}): KubeTarget {
  return new KubeTarget({ scenario: 'bookinfo', kubeconfig: fx.kubeconfig, pollIntervalMs: 20, ...extra });
}

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
  it('refuses a context that is not kind-* unless --context X --allow-context', async () => {
    await expect(target({ context: 'staging' }).prepare()).rejects.toThrow(/refusing to change cluster context "staging".*--context staging --allow-context/s);
    await expect(target({ context: 'staging', allowContext: true }).prepare()).resolves.toMatchObject({ context: 'staging' });
    expect(fx.server.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('names a context the kubeconfig does not have', async () => {
    await expect(target({ context: 'kind-other' }).prepare()).rejects.toThrow(/no context "kind-other".*kind-meshproof, staging/);
  });

  it('says which Istio kinds are missing when Istio is not installed', async () => {
    fx.server.istioInstalled = false;
    try {
      const error = await target()
        .prepare()
        .catch((e: Error) => e);
      expect(error).toBeInstanceOf(TargetError);
      expect((error as Error).message).toMatch(
        /Istio is not installed.*VirtualService \(networking.istio.io\/v1\).*EnvoyFilter \(networking.istio.io\/v1alpha3\).*AuthorizationPolicy/,
      );
    } finally {
      fx.server.istioInstalled = true;
    }
  });

  it('names workloads without a ready pod, without a sidecar, or not exporting the stats meshproof reads', async () => {
    const seed = preexisting().map((o) => {
      if (o.kind !== 'Pod') return o;
      // The seed's Pods have a status, containers and annotations.
      const pod = structuredClone(o) as K8sObject & {
        status: { conditions: unknown[] };
        spec: { containers: { name: string }[] };
        metadata: { annotations: Record<string, string> };
      };
      if (pod.metadata.name.startsWith('ratings-v1')) pod.status.conditions = [{ type: 'Ready', status: 'False' }];
      if (pod.metadata.name.startsWith('details-v1')) pod.spec.containers = pod.spec.containers.filter((c) => c.name !== 'istio-proxy');
      if (pod.metadata.name.startsWith('reviews-v2'))
        pod.metadata.annotations['proxy.istio.io/config'] = 'proxyStatsMatcher:\n  inclusionPrefixes: [cluster.outbound]\n';
      return pod;
    });
    fx.server.reset(seed.filter((o) => !(o.kind === 'Pod' && o.metadata.name.startsWith('reviews-v3'))));
    const message = (
      (await target()
        .prepare()
        .catch((e: Error) => e)) as Error
    ).message;
    expect(message).toContain('ratings-v1: none of its 1 pod(s) is ready');
    expect(message).toContain('details-v1: its pods have no istio-proxy sidecar');
    expect(message).toContain('reviews-v3: no pod in namespace default with labels {"app":"reviews","version":"v3"}');
    expect(message).toMatch(
      /reviews-v2 \(pod default\/reviews-v2-[^)]+\) does not export local rate limit counters \(e\.g\. http_local_rate_limiter\.http_local_rate_limit\.rate_limited\).*\{"proxyStatsMatcher":\{"inclusionRegexps":\["\.\*http_local_rate_limit\.\*"\]\}\}/,
    );
    expect(message).not.toContain('productpage');
  });
});

describe('KubeTarget.apply', () => {
  it('refuses a run id that cannot be a label value', async () => {
    const t = target();
    await t.prepare();
    await expect(t.apply(experimentResources(), 'run id with spaces')).rejects.toThrow(/cannot label Kubernetes objects/);
  });
});

describe('KubeTarget.waitConverged', () => {
  it('times out with a TargetError naming the proxy that did not acknowledge', async () => {
    const t = target();
    await t.prepare();
    fx.server.stuck.add('reviews-v2-8b9c7d6f5-j7k8l.default');
    await t.apply(experimentResources(), 'run-4');
    const error = (await t.waitConverged(600).catch((e: Error) => e)) as Error;
    expect(error).toBeInstanceOf(TargetError);
    expect(error.message).toMatch(
      /did not converge in 600 ms; 1 of 7 proxies are behind:\n {2}- reviews-v2-8b9c7d6f5-j7k8l\.default: has not acknowledged cds sent \S+\/\d+ acked \S+\/\d+/,
    );
    await t.restore();
  });

  it('does not take an old acknowledgement for the new config: a proxy istiod has not pushed to is named', async () => {
    const t = target();
    await t.prepare();
    fx.server.unpushed.add('ratings-v1-7d8f9c6b5-d3e4f.default');
    await t.apply(experimentResources(), 'run-5');
    const error = (await t.waitConverged(600).catch((e: Error) => e)) as Error;
    expect(error.message).toMatch(/ratings-v1-7d8f9c6b5-d3e4f\.default: no push since the change/);
    await t.restore();
  });

  it('confirms with the behavioural probe for N consecutive windows, and fails naming what the probe saw', async () => {
    let calls = 0;
    const t = target({ probeWindows: 3, probeWindowMs: 10, probe: async () => ++calls >= 2 });
    await t.prepare();
    await t.apply(experimentResources(), 'run-6');
    await t.waitConverged(5_000);
    expect(calls).toBe(4); // one miss, then three passes in a row
    const probe = async () => ({ ok: false, detail: 'reviews v3 share 0 of 40' });
    await t.apply([must(experimentResources()[1], 'experimentResources()[1]')], 'run-6');
    await expect(t.waitConverged(300, probe)).rejects.toThrow(
      /behavioural probe did not see the change in 3 consecutive windows within 300 ms: reviews v3 share 0 of 40/,
    );
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

  it("a second experiment is not converged by the first one's restore: never pushed, it times out (TargetError)", async () => {
    const t = target();
    await t.prepare();
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
    await t.prepare();
    await t.apply(experimentResources(), 'run-r');
    await t.waitConverged(5_000);
    fx.server.stuck.add('reviews-v2-8b9c7d6f5-j7k8l.default');
    const report = await t.restore();
    expect(report.restored).toEqual(['VirtualService/default/reviews']);
    expect(report.errors).toEqual([
      expect.stringMatching(
        /^restored, but restored configuration did not converge in 400 ms; 1 of 7 proxies are behind:\n {2}- reviews-v2-8b9c7d6f5-j7k8l\.default: has not acknowledged/,
      ),
    ]);
    userObjectsUnchanged();
  });

  it('journals the newer version when someone changes the object between the journal and the replace', async () => {
    const t = target();
    await t.prepare();
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
});

describe('KubeTarget.counters and entrypoint', () => {
  it('adds up replicas of one workload into one series per workload', async () => {
    const seed = preexisting();
    const extra = structuredClone(seed.find((o) => o.metadata.name.startsWith('reviews-v1'))!);
    extra.metadata.name = 'reviews-v1-6c8d9f7b4-zzzzz';
    fx.server.reset([...seed, extra]);
    const t = target();
    await t.prepare();
    const samples = await t.counters();
    expect(sumCounter(samples, 'envoy_cluster_upstream_rq_retry', {}, 'reviews-v1')).toBe(6);
    expect(samples.filter((s) => s.proxy === 'reviews-v1' && s.name === 'envoy_cluster_upstream_rq_retry')).toHaveLength(1);
  });
});

describe('KubeTarget.restore and cleanup', () => {
  it('cleanup honours the context guard', async () => {
    await expect(cleanup({ kubeconfig: fx.kubeconfig, context: 'staging' })).rejects.toThrow(/--allow-context/);
  });
});
