#!/usr/bin/env -S npx tsx
// The authorization filters of the built-in control plane (src/istio/xds/authorization-filters.ts) against istiod's
// own config generation (tools/istio-translate, in-process; no sandbox needed), over the catalogue's sets with
// AuthorizationPolicies and a seeded corpus of AuthorizationPolicy sets (src/fidelity/corpus.ts authorizationCorpus),
// every Bookinfo sidecar (and the gateway, which has HTTP listeners only with a Gateway). Prints each drift; last line:
//   fidelity: N configurations compared, D drifted
// where a configuration is one HTTP filter chain of one proxy. Options: --corpus 500, --seed 1, --max-lines 200.
import { resolve } from 'node:path';
import { argv, echo } from 'zx';
import { authzFidelity } from '../src/fidelity/authz-fidelity.ts';
import { bookinfoProxies, bookinfoRegistry } from '../src/fidelity/bookinfo.ts';
import { catalogueSets } from '../src/fidelity/catalogue.ts';
import { authorizationCorpus } from '../src/fidelity/corpus.ts';
import { IstiodTranslator } from '../src/fidelity/istiod-translator.ts';
import { buildInboundAuthzFilters } from '../src/istio/xds/authorization-filters.ts';

const root = resolve(import.meta.dirname, '..');
const maxLines = Number(argv['max-lines'] ?? 200);
const corpusSize = Number(argv.corpus ?? 500);
const seed = Number(argv.seed ?? 1);

const started = Date.now();
const translator = IstiodTranslator.start();
try {
  const registry = bookinfoRegistry();
  const proxies = bookinfoProxies(registry);
  const catalogue = catalogueSets(root).filter((s) => s.objects.some((o) => o.kind === 'AuthorizationPolicy'));
  const sets = [...catalogue, ...authorizationCorpus(seed, corpusSize)];
  echo(`authz fidelity: ${catalogue.length} catalogue sets and ${corpusSize} corpus sets (seed ${seed}) × ${proxies.length} proxies`);
  const result = await authzFidelity({ istiod: translator, registry, proxies, sets, builtin: buildInboundAuthzFilters });
  const problems = [
    ...result.invalid.map((l) => `refused by istiod's validation: ${l}`),
    ...result.refused.map((l) => `not loadable: ${l}`),
    ...result.builtinErrors.map((l) => `built-in error: ${l}`),
  ];
  for (const line of [...problems, ...result.lines].slice(0, maxLines)) echo(line);
  if (problems.length + result.lines.length > maxLines) echo(`… ${problems.length + result.lines.length - maxLines} more lines (--max-lines)`);
  echo(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
  echo(`fidelity: ${result.compared} configurations compared, ${result.drifted + problems.length} drifted`);
  process.exitCode = result.drifted + problems.length === 0 ? 0 : 1;
} finally {
  await translator.close();
}
