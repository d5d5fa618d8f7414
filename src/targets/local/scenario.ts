// A scenario baseline: the objects of scenarios/<name>/, as listed by its kustomization.yaml (the same list
// `kubectl apply -k` uses on a cluster), or every YAML file of the folder when there is none.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { SpecError } from '../../errors.ts';
import type { K8sObject } from '../../spec/types.ts';

export const scenariosRoot = fileURLToPath(new URL('../../../scenarios/', import.meta.url));

export function scenarioDir(name: string): string {
  return path.isAbsolute(name) ? name : path.join(scenariosRoot, name);
}

export function readObjects(file: string): K8sObject[] {
  const text = readFileSync(file, 'utf8');
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new SpecError(`YAML error: ${doc.errors[0].message}`, { file, line: 1, col: 1 });
    const value = doc.toJS() as K8sObject | null;
    if (value) out.push(value);
  }
  return out;
}

export function loadScenario(name: string): K8sObject[] {
  const dir = scenarioDir(name);
  if (!existsSync(dir)) throw new SpecError(`no scenario ${name} (looked in ${dir})`, undefined, 'spec.scenario');
  const kustomization = path.join(dir, 'kustomization.yaml');
  let files: string[];
  if (existsSync(kustomization)) {
    const k = readObjects(kustomization)[0] as unknown as { resources?: string[] };
    files = (k.resources ?? []).map((r) => path.join(dir, r));
  } else {
    files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => path.join(dir, f));
  }
  return files.flatMap(readObjects);
}
