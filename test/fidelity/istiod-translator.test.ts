// The real istiod as a batch translator (tools/istio-translate, built by scripts/ci.d/45-istio-translate.sh before the
// tests): it reproduces the committed istiod config dumps, reads a registry through istiod's Kubernetes registry,
// refuses what istiod's validating webhook refuses, and answers many sets from one process.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadEnvoyConfig } from '../../src/envoy/load/index.ts';
import type { EnvoyConfig } from '../../src/envoy/model/index.ts';
import { bookinfoProxies, bookinfoRegistry } from '../../src/fidelity/bookinfo.ts';
import { compareConfigs, formatDrift } from '../../src/fidelity/compare.ts';
import { corpus } from '../../src/fidelity/corpus.ts';
import { IstiodTranslator, type IstiodAnswer } from '../../src/fidelity/istiod-translator.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { must } from '../../src/must.ts';

const fixture = (name: string) => new URL(`../fixtures/envoy/istiod/${name}`, import.meta.url);
const fixtureObjects = parseAllDocuments(readFileSync(fixture('bookinfo.yaml'), 'utf8'))
  .map((d) => d.toJS() as K8sObject | null)
  .filter((o): o is K8sObject => o !== null);
const fixtureDump = (name: string) => loadEnvoyConfig(readFileSync(fixture(`${name}-config-dump.json`), 'utf8')).config;

/** Every RDS name the listeners subscribe to (an HCM's rds.route_config_name). */
function rdsNames(config: EnvoyConfig): string[] {
  const names: string[] = [];
  const walk = (x: unknown) => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') {
      for (const [k, v] of Object.entries(x)) {
        if (k === 'rds' && v && typeof v === 'object' && 'route_config_name' in v) names.push(String(v.route_config_name));
        else walk(v);
      }
    }
  };
  walk(config.listeners);
  return [...new Set(names)].sort();
}

const ok = (answer: IstiodAnswer) => {
  if (!answer.ok) throw new Error(`istiod refused the set: ${answer.error}`);
  return answer;
};

let istiod: IstiodTranslator;
beforeAll(() => {
  istiod = IstiodTranslator.start();
});
afterAll(async () => {
  await istiod.close();
});

describe('istio-translate: the pinned istiod generating each proxy configuration', () => {
  it('reproduces the committed istiod config dumps of the ratings and productpage sidecars (test/fixtures/envoy/istiod) for the same input', async () => {
    const answer = ok(
      await istiod.translate({
        objects: fixtureObjects,
        proxies: [
          { type: 'sidecar', podName: 'ratings-v1', namespace: 'default', ip: '10.0.0.30', labels: { app: 'ratings', version: 'v1' }, serviceAccount: '' },
          {
            type: 'sidecar',
            podName: 'productpage-v1',
            namespace: 'default',
            ip: '10.0.0.10',
            labels: { app: 'productpage', version: 'v1' },
            serviceAccount: '',
          },
        ],
      }),
    );
    expect(answer.refused.size).toBe(0);
    for (const name of ['ratings', 'productpage']) {
      const ours = answer.proxies.get(`${name}-v1.default`)!;
      const dump = fixtureDump(name);
      // The dump's generator (pkg/adsc) also subscribed to a route named after the inbound port, 15006, that no
      // listener refers to; Envoy, like this harness, asks RDS only for the names its listeners carry.
      expect(dump.routes.map((r) => r.name).filter((n) => !rdsNames(dump).includes(n))).toEqual(['15006']);
      const subscribed = { ...dump, routes: dump.routes.filter((r) => rdsNames(dump).includes(r.name)) };
      expect(ours.routes.map((r) => r.name)).toEqual(rdsNames(ours));
      expect(compareConfigs(name, ours, subscribed).map(formatDrift)).toEqual([]);
    }
  });

  it('reads Services, Pods and EndpointSlices through the Kubernetes registry; short hosts resolve in the namespace (model.ResolveShortnameToFQDN with the cluster domain)', async () => {
    const registry = bookinfoRegistry();
    const answer = ok(
      await istiod.translate({
        registry,
        objects: [
          {
            apiVersion: 'networking.istio.io/v1',
            kind: 'DestinationRule',
            metadata: { name: 'reviews', namespace: 'default' },
            spec: { host: 'reviews', subsets: [{ name: 'v2', labels: { version: 'v2' } }] },
          },
          {
            apiVersion: 'networking.istio.io/v1',
            kind: 'VirtualService',
            metadata: { name: 'reviews', namespace: 'default' },
            spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v2' } }], timeout: '3s' }] },
          },
        ],
        proxies: bookinfoProxies(registry),
      }),
    );
    expect([...answer.proxies.keys()].sort()).toEqual(
      bookinfoProxies(registry)
        .map((p) => `${p.podName}.${p.namespace}`)
        .sort(),
    );
    const productpage = answer.proxies.get('productpage-v1-sandbox-0.default')!;
    const reviews = productpage.routes.find((r) => r.name === '9080')!.virtual_hosts!.find((v) => v.name === 'reviews.default.svc.cluster.local:9080')!;
    expect(reviews.routes![0]?.route).toMatchObject({ cluster: 'outbound|9080|v2|reviews.default.svc.cluster.local', timeout: '3s' });
    const v2 = productpage.endpoints.find((e) => e.cluster_name === 'outbound|9080|v2|reviews.default.svc.cluster.local')!;
    const v2Pod = registry.instances.find((i) => i.podName.startsWith('reviews-v2'))!;
    expect(v2.endpoints!.flatMap((l) => l.lb_endpoints!.map((e) => e.endpoint!.address!.socket_address!.address))).toEqual([v2Pod.ip]);
  });

  it("refuses an invalid resource with istiod's validation error, as the API server's webhook would (pkg/config/validation)", async () => {
    const invalid: K8sObject = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'reviews', namespace: 'default' },
      spec: { hosts: ['reviews'], http: [{ timeout: '2s' }] },
    };
    const answer = await istiod.translate({ objects: [must(fixtureObjects[0], 'fixtureObjects[0]'), invalid], proxies: [] });
    expect(answer).toMatchObject({
      ok: false,
      error: 'objects[1] VirtualService default/reviews: configuration is invalid: HTTP route, redirect or direct_response is required',
    });
    expect(
      await istiod.validate([{ ...invalid, spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }], timeout: 'soon' }] } }]),
    ).toEqual({
      error: 'objects[0] VirtualService default/reviews: error decoding configuration: bad Duration: time: invalid duration "soon"',
      warnings: [],
    });
  });

  it('answers 20 corpus sets for every Bookinfo proxy from one process', async () => {
    const registry = bookinfoRegistry();
    const proxies = bookinfoProxies(registry);
    const millis: number[] = [];
    for (const set of corpus(11, 20)) {
      const answer = ok(await istiod.translate({ registry, objects: set.objects, proxies }));
      expect(answer.proxies.size + answer.refused.size, set.name).toBe(proxies.length);
      millis.push(answer.millis);
    }
    millis.sort((a, b) => a - b);
    console.log(`istio-translate: ${proxies.length} proxies per set, median ${millis[10]} ms, slowest ${millis[19]} ms per set`);
  });

  it('replaces its process every setsPerProcess sets (bounded memory) and answers the same across processes', async () => {
    const registry = bookinfoRegistry();
    const set = { registry, objects: must(corpus(11, 1)[0], 'corpus(11, 1)[0]').objects, proxies: bookinfoProxies(registry).slice(0, 2) };
    const recycling = IstiodTranslator.start(undefined, { setsPerProcess: 1 });
    try {
      const answers = [ok(await recycling.translate(set)), ok(await recycling.translate(set)), ok(await recycling.translate(set))];
      expect(answers[0]?.proxies.size).toBe(2);
      // istiod lists resources in map order, which varies between runs; compare them as Envoy reads them.
      for (const a of answers.slice(1)) {
        for (const [proxy, config] of must(answers[0], 'answers[0]').proxies)
          expect(compareConfigs(proxy, a.proxies.get(proxy)!, config).map(formatDrift)).toEqual([]);
      }
    } finally {
      await recycling.close();
    }
  });

  it('says how to build the tool when it is missing', () => {
    expect(() => IstiodTranslator.start('/nonexistent/istio-translate')).toThrow(
      /istio-translate is not built \(\/nonexistent\/istio-translate\): run `npm run tools`/,
    );
  });
});
