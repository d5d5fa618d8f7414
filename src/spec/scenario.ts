// Scenario baselines (scenarios/<name>/*.yaml): the workloads, services and routing an experiment builds on.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpecError } from '../errors.ts';
import type { ResourceRef, SourcePos } from './types.ts';
import { displayPath, loadResourceFile } from './resources.ts';

export const scenariosDir = fileURLToPath(new URL('../../scenarios/', import.meta.url));

export interface Scenario {
  name: string;
  dir: string;
  resources: ResourceRef[];
  /** Service names (Kubernetes Services) of the baseline. */
  services: string[];
  /** Workload names (Deployments), e.g. reviews-v2. */
  workloads: string[];
  /** The ports of each Service, in the order the Service lists them. */
  servicePorts: Record<string, number[]>;
}

const cache = new Map<string, Scenario>();

/** The baseline's files: a kustomization.yaml's `resources` when there is one (as `kubectl apply -k` would), else every YAML file. */
function baselineFiles(dir: string): string[] {
  const kustomization = join(dir, 'kustomization.yaml');
  if (existsSync(kustomization)) {
    const value = parse(readFileSync(kustomization, 'utf8')) as { resources?: unknown };
    if (!Array.isArray(value?.resources) || !value.resources.every((r) => typeof r === 'string')) {
      throw new SpecError('kustomization.yaml needs a list of resource files', { file: displayPath(kustomization), line: 1, col: 1 }, 'resources');
    }
    return value.resources as string[];
  }
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
}

export function availableScenarios(): string[] {
  if (!existsSync(scenariosDir)) return [];
  return readdirSync(scenariosDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

export function loadScenario(name: string, from?: SourcePos): Scenario {
  const cached = cache.get(name);
  if (cached) return cached;
  const dir = join(scenariosDir, name);
  if (!/^[a-z0-9][-a-z0-9]*$/.test(name) || !existsSync(dir)) {
    const known = availableScenarios();
    throw new SpecError(`unknown scenario "${name}" (available: ${known.join(', ') || 'none'})`, from, 'spec.scenario');
  }
  const files = baselineFiles(dir);
  const resources = files.flatMap((f) => loadResourceFile(f, join(dir, 'experiment.yaml'), { file: displayPath(join(dir, f)), line: 1, col: 1 }, f));
  const kinds = (kind: string) => resources.filter((r) => r.object.kind === kind).map((r) => r.object.metadata.name);
  const servicePorts: Record<string, number[]> = {};
  for (const r of resources.filter((r) => r.object.kind === 'Service')) {
    const ports = (r.object.spec?.ports ?? []) as { port?: unknown }[];
    servicePorts[r.object.metadata.name] = ports.map((p) => p.port).filter((p): p is number => typeof p === 'number');
  }
  const scenario: Scenario = { name, dir, resources, services: kinds('Service'), workloads: kinds('Deployment'), servicePorts };
  cache.set(name, scenario);
  return scenario;
}
