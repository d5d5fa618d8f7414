// Differential fidelity over generated resource sets (issue 13 item 6): the built-in translator's route
// configurations against istiod's own config generation (tools/istio-translate, built by scripts/ci.d) for a seeded
// slice of the corpus, every Bookinfo sidecar and the ingress gateway. `npm run fidelity` runs all 500 sets.
import { afterAll, describe, expect, it } from 'vitest';
import { bookinfoProxies, bookinfoRegistry } from '../../src/fidelity/bookinfo.ts';
import { corpus } from '../../src/fidelity/corpus.ts';
import { IstiodTranslator } from '../../src/fidelity/istiod-translator.ts';
import { runFidelity } from '../../src/fidelity/run.ts';
import { buildRoutes } from '../../src/istio/xds/routes.ts';

const translator = IstiodTranslator.start();
afterAll(async () => translator.close());

describe('route fidelity over the generated corpus', () => {
  it('60 seeded sets: every proxy\'s route configurations equal istiod\'s, none refused', async () => {
    const registry = bookinfoRegistry();
    const proxies = bookinfoProxies(registry);
    const sets = corpus(1, 60).map((set) => ({ ...set, registry, proxies }));
    const lines: string[] = [];
    const result = await runFidelity({
      sets,
      istiod: translator,
      parts: ['routes'],
      log: (line) => lines.push(line),
      builtin: (input, proxy) => ({ listeners: [], routes: buildRoutes(input, proxy), clusters: [], endpoints: [] }),
    });
    expect(result.invalid).toEqual([]);
    expect(result.refused).toEqual([]);
    expect(result.builtinErrors).toEqual([]);
    expect(result.compared).toBe(60 * proxies.length);
    expect(lines.slice(0, 20)).toEqual([]);
    expect(result.drifted).toBe(0);
  }, 180_000);
});
