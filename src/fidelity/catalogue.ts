// The resource sets the catalogue applies, for the fidelity check: Bookinfo alone, then each distinct set of objects
// an experiment of experiments/bookinfo applies (sweep points that apply the same objects count once).
import { join } from 'node:path';
import { loadExperiments } from '../spec/load.ts';
import type { ResourceSet } from './route-fidelity.ts';

export function catalogueSets(repoRoot: string): ResourceSet[] {
  const { experiments } = loadExperiments([join(repoRoot, 'experiments', 'bookinfo')]);
  const sets: ResourceSet[] = [{ name: 'bookinfo alone', objects: [] }];
  const seen = new Set(['[]']);
  for (const e of experiments) {
    const objects = e.apply.map((r) => r.object);
    const key = JSON.stringify(objects);
    if (seen.has(key)) continue;
    seen.add(key);
    sets.push({ name: e.name, objects });
  }
  return sets;
}
