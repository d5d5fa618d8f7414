// The generated fidelity corpus: the same sets for a seed, every set accepted by istiod's validating webhook
// (tools/istio-translate, pkg/config/validation), and every feature the comparison must cover present.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpus, corpusSet } from '../../src/fidelity/corpus.ts';
import { IstiodTranslator } from '../../src/fidelity/istiod-translator.ts';

const SEED = 1;
const SIZE = 500;
const sets = corpus(SEED, SIZE);

let istiod: IstiodTranslator;
beforeAll(() => {
  istiod = IstiodTranslator.start();
});
afterAll(async () => {
  await istiod.close();
});

const text = (o: unknown) => JSON.stringify(o);

describe('fidelity corpus', () => {
  it('is the same for the same seed and differs for another seed', () => {
    expect(corpus(SEED, 50)).toEqual(sets.slice(0, 50));
    expect(corpusSet(SEED, 7)).toEqual(sets[7]);
    expect(text(corpus(SEED + 1, 50))).not.toBe(text(sets.slice(0, 50)));
  });

  it(`has ${SIZE} sets, every one accepted by istiod's validation`, async () => {
    expect(sets).toHaveLength(SIZE);
    const refused: string[] = [];
    for (const set of sets) {
      const verdict = await istiod.validate(set.objects);
      if (verdict.error) refused.push(`${set.name}: ${verdict.error}`);
    }
    expect(refused).toEqual([]);
  });

  it('covers each feature in many sets', () => {
    const count = (test: (objectsText: string, kinds: string[]) => boolean) =>
      sets.filter((s) =>
        test(
          text(s.objects),
          s.objects.map((o) => o.kind),
        ),
      ).length;
    const features: Record<string, number> = {
      'header match': count((t) => t.includes('"headers":{"end-user"') || t.includes('"headers":{"x-')),
      'uri match': count((t) => t.includes('"uri":{')),
      weights: count((t) => t.includes('"weight":')),
      retries: count((t) => t.includes('"retries":')),
      timeouts: count((t) => t.includes('"timeout":')),
      'fault abort': count((t) => t.includes('"abort":')),
      'fault delay': count((t) => t.includes('"delay":')),
      'header operations': count((t) => t.includes('"headers":{"request"') || t.includes('"headers":{"response"')),
      rewrites: count((t) => t.includes('"rewrite":')),
      subsets: count((t) => t.includes('"subsets":')),
      'connection pool': count((t) => t.includes('"connectionPool":')),
      'outlier detection': count((t) => t.includes('"outlierDetection":')),
      'port-level settings': count((t) => t.includes('"portLevelSettings":')),
      'several rules per host': count((_, k) => k.filter((x) => x === 'DestinationRule').length >= 2),
      'wildcard hosts': count((t) => t.includes('"host":"*.')),
      AuthorizationPolicy: count((_, k) => k.includes('AuthorizationPolicy')),
      PeerAuthentication: count((_, k) => k.includes('PeerAuthentication')),
      'local rate limit': count((t) => t.includes('envoy.filters.http.local_ratelimit')),
      'local rate limit placed before the router, first or after CORS': count((t) => t.includes('"local-ratelimit-placed"')),
      RequestAuthentication: count((_, k) => k.includes('RequestAuthentication')),
      'port-level mTLS on a port no Service targets': count((t) => t.includes('"portLevelMtls":{"9090"') || t.includes('"15010":')),
      exportTo: count((t) => t.includes('"exportTo":')),
      'gateway bindings': count((t) => t.includes('"gateways":["')),
      'gateway in another namespace': count((t) => t.includes('"gateways":["istio-system/')),
    };
    const rare = Object.entries(features).filter(([, n]) => n < 10);
    expect(rare).toEqual([]);
  });
});
