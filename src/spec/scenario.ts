// Scenario baselines: the workloads, services and Istio resources an experiment builds on. `spec.scenario` names a
// built-in folder of scenarios/ (`bookinfo`) or, when it is a path (`./shop`, `../scenarios/shop`, absolute), a folder
// of the user's own manifests, relative to the experiment file. A folder is read as `kubectl apply -k` reads it when
// it has a kustomization.yaml (its `resources`, files or folders with their own kustomization, and its `namespace`),
// else as every YAML file in it.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpecError } from '../errors.ts';
import type { ResourceRef, SourcePos } from './types.ts';
import { displayPath, loadResourceFile } from './resources.ts';
import { parseYamlDocuments, positionOf, readSourceFile } from './yaml-source.ts';
import { field } from './untyped.ts';

export const scenariosDir = fileURLToPath(new URL('../../scenarios/', import.meta.url));

export interface Scenario {
  /** As experiments and reports name it: `bookinfo`, or the folder's path. */
  name: string;
  dir: string;
  resources: ResourceRef[];
  /** Service names (Kubernetes Services) of the baseline. */
  services: string[];
  /** Workload names (Deployments), e.g. reviews-v2. */
  workloads: string[];
  /** The ports of each Service, in the order the Service lists them. */
  servicePorts: Record<string, number[]>;
  /** Namespaces the baseline declares (Namespace objects and the namespaces its objects name), `default` included. */
  namespaces: string[];
}

const cache = new Map<string, Scenario>();

/** Kinds without a namespace: a kustomization's `namespace` leaves them alone. */
const clusterScoped = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
]);

/** The fields of a kustomization.yaml meshproof reads; any other is refused rather than silently not applied. */
const kustomizationFields = ['apiVersion', 'kind', 'resources', 'namespace'];

/** Whether `spec.scenario` is a path to a folder rather than the name of a built-in scenario. */
export function isScenarioPath(ref: string): boolean {
  return ref.startsWith('.') || ref.includes('/') || isAbsolute(ref);
}

export function availableScenarios(): string[] {
  if (!existsSync(scenariosDir)) return [];
  return readdirSync(scenariosDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

/**
 * The scenario `ref` means, as the value experiments carry: a built-in name as is, a path as an absolute folder
 * (resolved against `baseDir`, the experiment file's folder).
 */
export function resolveScenarioRef(ref: string, baseDir: string, from?: SourcePos): string {
  if (!isScenarioPath(ref)) {
    if (!/^[a-z0-9][-a-z0-9]*$/.test(ref) || !existsSync(join(scenariosDir, ref))) {
      const known = availableScenarios();
      throw new SpecError(
        `unknown scenario "${ref}" (built-in: ${known.join(', ') || 'none'}; a folder of your own manifests is written as a path, e.g. ./${ref})`,
        from,
        'spec.scenario',
      );
    }
    return ref;
  }
  const dir = resolve(baseDir, ref);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new SpecError(`scenario folder ${ref} does not exist (looked for ${displayPath(dir)})`, from, 'spec.scenario');
  return dir;
}

/** The objects of a folder as `kubectl apply -k` (or `kubectl apply -f <folder>`) would create them. */
function folderResources(dir: string, seen: Set<string>): ResourceRef[] {
  if (seen.has(dir))
    throw new SpecError(`kustomization cycle: ${displayPath(dir)} includes itself`, { file: displayPath(join(dir, 'kustomization.yaml')), line: 1, col: 1 });
  seen.add(dir);
  const kustomization = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!kustomization) {
    const files = readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort();
    if (files.length === 0)
      throw new SpecError(`scenario folder ${displayPath(dir)} holds no YAML file`, { file: displayPath(dir), line: 1, col: 1 }, 'spec.scenario');
    return files.flatMap((f) => loadResourceFile(f, join(dir, 'experiment.yaml'), { file: displayPath(join(dir, f)), line: 1, col: 1 }, f));
  }
  const shown = displayPath(kustomization);
  const [doc] = parseYamlDocuments(readSourceFile(kustomization, shown), shown);
  const value = doc?.value as Record<string, unknown> | null | undefined;
  const at = (path: (string | number)[], options?: { key?: boolean }) => (doc ? positionOf(doc, path, options) : { file: shown, line: 1, col: 1 });
  if (!value || typeof value !== 'object' || !Array.isArray(value.resources) || !value.resources.every((r) => typeof r === 'string')) {
    throw new SpecError('kustomization.yaml needs a list of resources (files or folders)', at(['resources']), 'resources');
  }
  for (const key of Object.keys(value)) {
    if (!kustomizationFields.includes(key)) {
      throw new SpecError(
        `kustomization field "${key}" is not supported: meshproof reads ${kustomizationFields.join(', ')} (render the kustomization with \`kubectl kustomize\` into a folder of plain YAML instead)`,
        at([key], { key: true }),
        key,
      );
    }
  }
  if (value.namespace !== undefined && (typeof value.namespace !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value.namespace))) {
    throw new SpecError('namespace must be a Kubernetes namespace name', at(['namespace']), 'namespace');
  }
  const resources = value.resources.flatMap((entry, i) => {
    if (/^[a-z]+:\/\//.test(entry))
      throw new SpecError(`remote resources are not read (${entry}); meshproof works offline`, at(['resources', i]), `resources[${i}]`);
    const path = resolve(dir, entry);
    if (existsSync(path) && statSync(path).isDirectory()) return folderResources(path, seen);
    return loadResourceFile(entry, join(dir, 'kustomization.yaml'), at(['resources', i]), `resources[${i}]`);
  });
  if (typeof value.namespace === 'string') {
    for (const r of resources) if (!clusterScoped.has(r.object.kind)) r.object.metadata.namespace = value.namespace;
  }
  return resources;
}

/** The scenario a resolved reference (see resolveScenarioRef) names. Other references are resolved against the working folder. */
export function loadScenario(ref: string, from?: SourcePos): Scenario {
  const cached = cache.get(ref);
  if (cached) return cached;
  const resolved = resolveScenarioRef(ref, process.cwd(), from);
  const dir = isScenarioPath(resolved) ? resolved : join(scenariosDir, resolved);
  const resources = folderResources(dir, new Set());
  const kinds = (kind: string) => resources.filter((r) => r.object.kind === kind).map((r) => r.object.metadata.name);
  const servicePorts: Record<string, number[]> = {};
  for (const r of resources.filter((r) => r.object.kind === 'Service')) {
    const ports = (field(r.object.spec, 'ports') ?? []) as { port?: unknown }[];
    servicePorts[r.object.metadata.name] = ports.map((p) => p.port).filter((p): p is number => typeof p === 'number');
  }
  const namespaces = new Set(['default']);
  for (const r of resources) {
    if (r.object.kind === 'Namespace') namespaces.add(r.object.metadata.name);
    else if (typeof r.object.metadata.namespace === 'string') namespaces.add(r.object.metadata.namespace);
  }
  const name = isScenarioPath(resolved) ? displayPath(dir) : resolved;
  const scenario: Scenario = { name, dir, resources, services: kinds('Service'), workloads: kinds('Deployment'), servicePorts, namespaces: [...namespaces] };
  cache.set(ref, scenario);
  return scenario;
}

/** The folder an experiment's relative scenario path is resolved against. */
export function experimentDir(experimentFile: string): string {
  return dirname(resolve(experimentFile));
}
