import { loadExperiments } from '../spec/load.ts';
import { displayPath } from '../spec/resources.ts';
import type { Experiment } from '../spec/types.ts';
import { ExitCode } from '../errors.ts';
import { table } from './output.ts';
import { wrap } from '../report/wrap.ts';

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
  const text = table(
    rows.map((r) => [r.name, r.tags.join(','), summarise(r.resources), summarise(r.expectations)]),
    ['NAME', 'TAGS', 'RESOURCES', 'EXPECTATIONS'],
  );
  // On a terminal narrower than the table, one block per experiment, wrapped to its width.
  const width = process.stdout.isTTY ? process.stdout.columns || 80 : Infinity;
  const fits = text.split('\n').every((line) => line.length <= width);
  const blocks = rows
    .map((r) =>
      [
        wrap(`${r.name}${r.tags.length ? ` [${r.tags.join(', ')}]` : ''}`, width),
        wrap(`resources: ${summarise(r.resources) || 'none'}`, width, '    ', '      '),
        wrap(`expectations: ${summarise(r.expectations)}`, width, '    ', '      '),
      ].join('\n'),
    )
    .join('\n');
  process.stdout.write(`${fits ? text : blocks}\n${rows.length} experiment${rows.length === 1 ? '' : 's'}\n`);
  return ExitCode.ok;
}
