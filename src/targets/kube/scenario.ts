// The workloads a scenario deploys (its Deployments), read from scenarios/<name>/*.yaml or from the user's scenario
// folder (spec.scenario as a path, read as src/spec/scenario.ts reads it): preflight checks they run.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { field } from '../../spec/untyped.ts';
import { isScenarioPath, loadScenario } from '../../spec/scenario.ts';

export interface ScenarioWorkload {
  name: string;
  namespace?: string;
  /** Labels of its pod template (app, version). */
  labels: Record<string, string>;
}

export function scenariosDir(): string {
  return fileURLToPath(new URL('../../../scenarios', import.meta.url));
}

/** Deployments of the scenario; empty when the scenario has no folder or no Deployment. */
export function scenarioWorkloads(scenario: string, dir = scenariosDir()): ScenarioWorkload[] {
  if (isScenarioPath(scenario)) {
    return loadScenario(scenario)
      .resources.map((r) => r.object)
      .filter((o) => o.kind === 'Deployment')
      .map((o) => ({
        name: o.metadata.name,
        namespace: o.metadata.namespace,
        labels: (field(o.spec, 'template', 'metadata', 'labels') ?? {}) as Record<string, string>,
      }));
  }
  const folder = join(dir, scenario);
  if (!existsSync(folder)) return [];
  const workloads: ScenarioWorkload[] = [];
  for (const file of readdirSync(folder)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(folder, file), 'utf8'))) {
      const object = doc.toJS() as { kind?: string; metadata?: { name?: string; namespace?: string }; spec?: unknown } | null;
      if (object?.kind !== 'Deployment' || !object.metadata?.name) continue;
      workloads.push({
        name: object.metadata.name,
        namespace: object.metadata.namespace,
        labels: (field(object.spec, 'template', 'metadata', 'labels') ?? {}) as Record<string, string>,
      });
    }
  }
  return workloads;
}

/** Bookinfo's Deployments (istio/istio samples/bookinfo/platform/kube/bookinfo.yaml), used when no scenario folder exists. */
export const bookinfoWorkloads: ScenarioWorkload[] = [
  { name: 'details-v1', labels: { app: 'details', version: 'v1' } },
  { name: 'ratings-v1', labels: { app: 'ratings', version: 'v1' } },
  { name: 'reviews-v1', labels: { app: 'reviews', version: 'v1' } },
  { name: 'reviews-v2', labels: { app: 'reviews', version: 'v2' } },
  { name: 'reviews-v3', labels: { app: 'reviews', version: 'v3' } },
  { name: 'productpage-v1', labels: { app: 'productpage', version: 'v1' } },
];

/** The namespace the scenario declares its Service `name` in; undefined when it names none or is not a folder of the user's. */
export function scenarioServiceNamespace(scenario: string, name: string): string | undefined {
  if (!isScenarioPath(scenario)) return undefined;
  return loadScenario(scenario).resources.find((r) => r.object.kind === 'Service' && r.object.metadata.name === name)?.object.metadata.namespace;
}
