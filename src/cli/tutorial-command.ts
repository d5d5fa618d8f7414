// `meshproof tutorial`: the tutorial experiments in order, each explained, run and checked.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { stringify } from 'yaml';
import { ExitCode, SpecError } from '../errors.ts';
import { loadExperiments } from '../spec/load.ts';
import type { Experiment } from '../spec/types.ts';
import type { ExperimentResult } from '../runner/result.ts';
import { execute, type ExecuteOptions } from './execute.ts';
import { paint, say } from './output.ts';

export interface TutorialOptions extends ExecuteOptions {
  yes?: boolean;
}

function wrap(text: string, width = 100, indent = '  '): string {
  const words = text.replace(/\s+/g, ' ').trim().split(' ');
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => indent + l).join('\n');
}

/** The resources a step adds, as YAML; file references to the baseline's destination rules are named, not printed. */
function resourcesText(experiment: Experiment): string {
  const parts: string[] = [];
  const files = new Set<string>();
  for (const ref of experiment.apply) {
    if (ref.origin !== 'inline' && /destination-rule-all/.test(ref.origin)) {
      files.add(ref.origin);
      continue;
    }
    parts.push(stringify(ref.object, { lineWidth: 0 }).trimEnd());
  }
  const header = files.size ? `  (plus the subsets of ${[...files].join(', ')})\n` : '';
  return header + parts.map((p) => p.replace(/^/gm, '    ')).join('\n    ---\n');
}

function observedText(result: ExperimentResult): string {
  const groups = result.observation?.groups ?? [];
  const tally = (label: string) => {
    const counts = new Map<string, number>();
    for (const g of groups) if (g.labels[label] !== undefined) counts.set(g.labels[label], (counts.get(g.labels[label]) ?? 0) + g.count);
    return [...counts].sort().map(([k, n]) => `${k} ×${n}`).join(', ');
  };
  const lines = [`responses: ${tally('status') || 'none'}`];
  for (const label of ['reviews.version', 'ratings', 'reviews', 'flag']) {
    const t = tally(label);
    if (t) lines.push(`${label}: ${t}`);
  }
  return lines.map((l) => `    ${l}`).join('\n');
}

export async function tutorialCommand(name: string, options: TutorialOptions): Promise<number> {
  const dir = join('experiments', name);
  if (!/^[a-z0-9][-a-z0-9]*$/.test(name) || !existsSync(dir)) throw new SpecError(`no tutorial "${name}": experiments/${name}/ does not exist`);
  const steps = loadExperiments([dir]).experiments.filter((e) => e.tags.includes('tutorial'));
  if (steps.length === 0) throw new SpecError(`experiments/${name}/ has no experiment tagged "tutorial"`);
  const interactive = !options.yes && process.stdin.isTTY === true;
  const prompt = interactive ? createInterface({ input: process.stdin, output: process.stderr }) : undefined;
  say(`${paint('bold', `meshproof tutorial: ${name}`)} — ${steps.length} steps on the ${options.target} target.${interactive ? ' Press Enter to run each step (Ctrl-C stops and restores the mesh).' : ''}\n`);
  try {
    const { result, reports } = await execute(steps, {
      ...options,
      beforeExperiment: async (experiment, index, total) => {
        say(`\n${paint('bold', `Step ${index + 1}/${total}: ${experiment.name}`)}`);
        if (experiment.description) say(wrap(experiment.description));
        say(`\n  What is applied:\n${resourcesText(experiment) || '    nothing (the baseline alone)'}`);
        say(`\n  What must be observed:\n${experiment.expect.map((e) => `    - ${e.title}`).join('\n')}`);
        if (prompt) await prompt.question(paint('dim', '\n  Press Enter to run this step... '));
      },
      listener: {
        onExperimentEnd: (_experiment, result) => say(`  What was observed:\n${observedText(result)}`),
      },
    });
    say(`\nThe tutorial's report: ${reports.html}`);
    return result.exitCode ?? ExitCode.infrastructure;
  } finally {
    prompt?.close();
  }
}
