// A scenario baseline as the local mesh loads it: the objects of a built-in scenario (scenarios/<name>/) or of the
// user's folder (an absolute path), read by src/spec/scenario.ts (kustomization.yaml resources, or every YAML file).
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { SpecError } from '../../errors.ts';
import type { K8sObject } from '../../spec/types.ts';
import { loadScenario as loadSpecScenario } from '../../spec/scenario.ts';

export function readObjects(file: string): K8sObject[] {
  const text = readFileSync(file, 'utf8');
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    const [error] = doc.errors;
    if (error) throw new SpecError(`YAML error: ${error.message}`, { file, line: 1, col: 1 });
    const value = doc.toJS() as K8sObject | null;
    if (value) out.push(value);
  }
  return out;
}

/** The baseline's objects, read as src/spec/scenario.ts reads them for validation (they remember their file:line). */
export function loadScenario(name: string): K8sObject[] {
  return loadSpecScenario(name).resources.map((r) => r.object);
}
