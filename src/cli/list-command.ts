import { loadExperiments } from '../spec/load.ts';
import { displayPath } from '../spec/resources.ts';
import type { Experiment } from '../spec/types.ts';
import { ExitCode } from '../errors.ts';
import { table } from './output.ts';

export interface ListOptions {
  tag?: string[];
  json?: boolean;
}

export function filterByTags(experiments: Experiment[], tags: string[] | undefined): Experiment[] {
  if (!tags || tags.length === 0) return experiments;
  return experiments.filter((e) => e.tags.some((t) => tags.includes(t)));
}

export async function listCommand(paths: string[], options: ListOptions): Promise<number> {
  const experiments = filterByTags(loadExperiments(paths).experiments, options.tag);
  const rows = experiments.map((e) => ({
    name: e.name,
    file: displayPath(e.file),
    tags: e.tags,
    resources: e.apply.map((r) => `${r.object.kind}/${r.object.metadata.name}`),
    expectations: e.expect.map((x) => x.kind),
  }));
  if (options.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return ExitCode.ok;
  }
  const summarise = (items: string[]) => {
    const counts = new Map<string, number>();
    for (const i of items) counts.set(i, (counts.get(i) ?? 0) + 1);
    return [...counts].map(([k, n]) => (n > 1 ? `${k}×${n}` : k)).join(', ');
  };
  process.stdout.write(
    `${table(
      rows.map((r) => [r.name, r.tags.join(','), summarise(r.resources), summarise(r.expectations)]),
      ['NAME', 'TAGS', 'RESOURCES', 'EXPECTATIONS'],
    )}\n${rows.length} experiment${rows.length === 1 ? '' : 's'}\n`,
  );
  return ExitCode.ok;
}
