// The fidelity run's wiring: a built-in translator that answers exactly what istiod answers has no drift, one that
// differs in a field drifts on that field, and the last line counts configurations and drifted ones.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnvoyConfig } from '../../src/envoy/model/index.ts';
import { bookinfoProxies, bookinfoRegistry } from '../../src/fidelity/bookinfo.ts';
import { corpus } from '../../src/fidelity/corpus.ts';
import { IstiodTranslator, proxyKey } from '../../src/fidelity/istiod-translator.ts';
import { fidelitySummary, runFidelity, type FidelitySet } from '../../src/fidelity/run.ts';
import type { ProxyDescriptor, TranslationInput } from '../../src/istio/xds/input.ts';
import { must } from '../../src/must.ts';

let istiod: IstiodTranslator;
beforeAll(() => {
  istiod = IstiodTranslator.start();
});
afterAll(async () => {
  await istiod.close();
});

describe('runFidelity', () => {
  it('compares every proxy of every set; a planted difference in the built-in answer is the only drift', async () => {
    const registry = bookinfoRegistry();
    const proxies = bookinfoProxies(registry);
    const sets: FidelitySet[] = corpus(3, 2).map((s) => ({ ...s, registry, proxies }));
    const truth = new Map<string, EnvoyConfig>();
    for (const set of sets) {
      const answer = await istiod.translate(set);
      if (!answer.ok) throw new Error(answer.error);
      for (const [proxy, config] of answer.proxies) truth.set(`${set.name}/${proxy}`, config);
    }
    // The built-in stand-in answers istiod's own configuration; runFidelity goes through the sets in order and through
    // each set's proxies in order, so the first proxy starts the next set.
    let index = -1;
    const bySetOrder = (planted: boolean) => (_input: TranslationInput, proxy: ProxyDescriptor) => {
      if (proxy === proxies[0]) index++;
      const config = structuredClone(truth.get(`${must(sets[index], 'sets[index]').name}/${proxyKey(proxy)}`)!);
      if (planted && proxy.podName.startsWith('productpage')) must(config.clusters[0], 'config.clusters[0]').connect_timeout = '1s';
      return config;
    };
    const clean = await runFidelity({ sets, builtin: bySetOrder(false), istiod });
    expect(fidelitySummary(clean)).toBe(`fidelity: ${sets.length * proxies.length - clean.refused.length} configurations compared, 0 drifted`);
    index = -1;
    const lines: string[] = [];
    const planted = await runFidelity({ sets, builtin: bySetOrder(true), istiod, log: (l) => lines.push(l) });
    expect(planted.drifted).toBe(sets.length);
    expect(lines.filter((l) => !l.includes('not loadable'))).toEqual(
      sets.map((s) =>
        expect.stringMatching(new RegExp(`^${s.name} productpage-v1-sandbox-0\\.default cluster \\S+ connect_timeout: builtin "1s", istiod "10s"$`)),
      ),
    );
  });
});
