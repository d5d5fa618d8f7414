#!/usr/bin/env -S npx tsx
// npm run fidelity: the built-in control plane against the real istiod, configuration by configuration.
// Starts its own sandbox (real kube-apiserver, etcd, istiod as shipped; scripts/sandbox-up.ts) in a temporary folder,
// plays the Bookinfo sidecars as xDS clients, and for the empty set and every distinct resource set of the catalogue
// (experiments/bookinfo) applies it through the API server, reads what istiod pushed, builds the same with the built-in
// translator (src/istio/xds) and compares them per proxy, normalised to the fields the data plane executes (the Envoy
// model's loader). It compares the listeners of src/fidelity/listener-view.ts comparedListeners (the sidecars'
// virtualInbound and outbound HTTP listeners, the gateway's; the TCP chains' network authorization filters aside),
// route configurations, clusters and endpoints.
// Last line:
//   fidelity: N configurations compared, D drifted
// Then the same comparison over a seeded corpus of generated resource sets (src/fidelity/corpus.ts, default 500),
// with istiod's own config generation run in-process by tools/istio-translate (docs/fidelity.md).
// Options: --port-base 27400, --keep (leave the sandbox running), --max-lines 200, --corpus 500, --seed 1
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { argv, echo } from 'zx';
import { SandboxIstiod } from '../src/fidelity/sandbox-istiod.ts';
import { routeFidelity } from '../src/fidelity/route-fidelity.ts';
import { catalogueSets } from '../src/fidelity/catalogue.ts';
import { runSandboxScript } from '../src/sandbox/scripts.ts';
import { IstiodTranslator } from '../src/fidelity/istiod-translator.ts';
import { bookinfoProxies, bookinfoRegistry } from '../src/fidelity/bookinfo.ts';
import { corpus } from '../src/fidelity/corpus.ts';
import { runFidelity } from '../src/fidelity/run.ts';
import { buildClusters } from '../src/istio/xds/clusters.ts';
import { buildEndpoints } from '../src/istio/xds/endpoints.ts';
import { buildRoutes } from '../src/istio/xds/routes.ts';
import { buildListeners } from '../src/istio/xds/listeners.ts';
import { comparedListeners, withoutNetworkAuthzFilters } from '../src/fidelity/listener-view.ts';
import { istioctlVersion } from '../src/targets/kube/istioctl.ts';
import { istioBehaviour } from '../src/istio/version.ts';
import { sandboxFiles, type SandboxState } from '../src/sandbox/layout.ts';
import { kustomizationObjects } from '../src/sandbox/objects.ts';
import type { K8sObject } from '../src/spec/types.ts';

const root = resolve(import.meta.dirname, '..');
const stateDir = mkdtempSync(join(tmpdir(), 'meshproof-fidelity-'));
const env = { ...process.env, MESHPROOF_SANDBOX: stateDir, MESHPROOF_SANDBOX_PORT_BASE: String(argv['port-base'] ?? 27400) };
const maxLines = Number(argv['max-lines'] ?? 200);

const started = Date.now();
echo(`fidelity: starting a sandbox in ${stateDir} (istiod ${istioctlVersion})`);
const up = await runSandboxScript('sandbox-up.ts', env, ['--no-mesh']);
if (up.code !== 0) {
  echo(`sandbox-up failed (exit ${up.code}):\n${up.output}`);
  rmSync(stateDir, { recursive: true, force: true });
  process.exit(3);
}
let exitCode = 0;
try {
  const state = JSON.parse(readFileSync(sandboxFiles(stateDir).state, 'utf8')) as SandboxState;
  const istiod = await SandboxIstiod.connect(state);
  try {
    const sets = catalogueSets(root);
    echo(`fidelity: ${sets.length} resource sets × ${istiod.proxies.length} proxies (the sidecars and the ingress gateway)`);
    const baseline = kustomizationObjects(join(root, 'scenarios', 'bookinfo'), 'default') as K8sObject[];
    const result = await routeFidelity(istiod, sets, istioBehaviour('1.31.0'), (line) => echo(`  ${line}`), undefined, baseline);
    for (const line of result.lines.slice(0, maxLines)) echo(line);
    if (result.lines.length > maxLines) echo(`… ${result.lines.length - maxLines} more lines (--max-lines)`);
    for (const s of result.skipped) echo(`not compared: ${s}`);
    echo(`catalogue on the sandbox: ${result.compared} configurations compared, ${result.drifted} drifted (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    const corpusSize = Number(argv.corpus ?? 500);
    let compared = result.compared;
    let drifted = result.drifted;
    if (corpusSize > 0) {
      const corpusStarted = Date.now();
      const translator = IstiodTranslator.start();
      try {
        const registry = bookinfoRegistry();
        const proxies = bookinfoProxies(registry);
        const sets = corpus(Number(argv.seed ?? 1), corpusSize).map((set) => ({ ...set, registry, proxies }));
        let shown = 0;
        const generated = await runFidelity({
          sets,
          istiod: translator,
          parts: ['listeners', 'routes', 'clusters', 'endpoints'],
          // The compared listeners, the TCP chains' network authorization filters aside (listener-view.ts).
          view: (c) => withoutNetworkAuthzFilters(comparedListeners(c)),
          log: (line) => {
            if (shown++ < maxLines) echo(line);
          },
          builtin: (input, proxy) => ({
            listeners: buildListeners(input, proxy),
            routes: buildRoutes(input, proxy),
            clusters: buildClusters(input, proxy),
            endpoints: buildEndpoints(input, proxy),
          }),
        });
        for (const i of generated.invalid) echo(`corpus set refused by istiod's validation: ${i.set}: ${i.error}`);
        echo(
          `corpus (seed ${argv.seed ?? 1}, ${corpusSize} sets, istiod in-process): ${generated.compared} configurations compared, ${generated.drifted} drifted, ${generated.refused.length} not loadable, ${generated.builtinErrors.length} built-in errors (${((Date.now() - corpusStarted) / 1000).toFixed(1)} s)`,
        );
        compared += generated.compared;
        drifted += generated.drifted + generated.refused.length + generated.builtinErrors.length;
      } finally {
        await translator.close();
      }
    }
    echo(`fidelity: ${compared} configurations compared, ${drifted} drifted`);
  } finally {
    istiod.close();
  }
} catch (error) {
  echo(`fidelity failed: ${(error as Error).stack ?? error}`);
  exitCode = 3;
} finally {
  if (!argv.keep) {
    await runSandboxScript('sandbox-down.ts', env);
    rmSync(stateDir, { recursive: true, force: true });
  } else echo(`sandbox left running: MESHPROOF_SANDBOX=${stateDir} npx tsx scripts/sandbox-down.ts`);
}
process.exit(exitCode);
