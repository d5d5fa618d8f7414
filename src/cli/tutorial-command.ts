// `meshproof tutorial`: the tutorial experiments in order, each explained, run and checked.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline/promises';
import { Document, isCollection, isMap, isScalar, isSeq, visit } from 'yaml';
import { ExitCode, SpecError } from '../errors.ts';
import { loadExperiments } from '../spec/load.ts';
import type { Expectation, Experiment } from '../spec/types.ts';
import type { ExperimentResult, RunResult } from '../runner/result.ts';
import type { Verdict } from '../assertions/verdict.ts';
import { execute, type ExecuteOptions } from './execute.ts';
import { paint, say } from './output.ts';
import { resourceCheckFor } from './preflight.ts';

export interface TutorialOptions extends ExecuteOptions {
  yes?: boolean;
}

const WIDTH = 100;

export function wrap(text: string, width = WIDTH, indent = '  ', hanging = indent): string {
  const words = text.replace(/\s+/g, ' ').trim().split(' ');
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    const room = width - (lines.length === 0 ? indent.length : hanging.length);
    if (line && line.length + word.length + 1 > room) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l, i) => (i === 0 ? indent : hanging) + l).join('\n');
}

/** Short collections of scalars (`hosts: [reviews]`, `{ app: ratings }`) in flow style, as people write them. */
function compactYaml(object: unknown): string {
  const doc = new Document(object);
  visit(doc, {
    Collection(_, node) {
      if (!isCollection(node)) return;
      const items = isMap(node) ? node.items.map((pair) => pair.value) : isSeq(node) ? node.items : [];
      const scalars = items.every((item) => isScalar(item));
      const text = scalars ? items.map((item) => String((item as { value: unknown }).value)).join(', ') : '';
      if (scalars && items.length > 0 && items.length <= 4 && text.length <= 60) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: true }).trimEnd();
}

/** The resources a step adds, as YAML; file references to the baseline's destination rules are named, not printed. */
export function resourcesText(experiment: Experiment): string {
  const parts: string[] = [];
  const files = new Set<string>();
  for (const ref of experiment.apply) {
    if (ref.origin !== 'inline' && /destination-rule-all/.test(ref.origin)) {
      files.add(ref.origin.replace(/^(\.\.\/)+/, ''));
      continue;
    }
    parts.push(compactYaml(ref.object));
  }
  const header = files.size ? `    # plus the version subsets (DestinationRules) of ${[...files].join(', ')}\n` : '';
  return header + parts.map((p) => p.replace(/^/gm, '    ')).join('\n    ---\n');
}

function whereText(where: Record<string, string> | undefined): string {
  if (!where || Object.keys(where).length === 0) return '';
  return ` (${Object.entries(where).map(([k, v]) => `${k} = ${v}`).join(', ')})`;
}

/** One line per expectation: what it checks, in the experiment's own terms. */
export function expectationText(e: Expectation): string {
  switch (e.kind) {
    case 'distribution': {
      const sum = Object.values(e.weights).reduce((a, b) => a + b, 0);
      const shares = Object.entries(e.weights).map(([k, w]) => `${k} ${Math.round((1000 * w) / sum) / 10} %`).join(', ');
      return `${e.of} split ${shares}, each ± ${e.tolerance} points${whereText(e.where)}`;
    }
    case 'status':
    case 'denied':
    case 'latency':
      return `${e.title}${'where' in e ? whereText(e.where) : ''}`;
    case 'rateLimited':
      return `${e.title}${whereText(e.where)}`;
    default:
      return e.title;
  }
}

const MARK: Record<Verdict['outcome'], string> = { pass: '✓', fail: '✗', inconclusive: '?' };
const COLOUR: Record<Verdict['outcome'], 'green' | 'red' | 'yellow'> = { pass: 'green', fail: 'red', inconclusive: 'yellow' };

function verdictsText(result: ExperimentResult): string {
  if (result.error?.exitCode === ExitCode.interrupted) return `    ${paint('yellow', 'interrupted')}: no verdicts for a step that was stopped`;
  if (result.error) return `    ${paint('red', '✗ error')} ${result.error.message}`;
  return result.verdicts
    .map((v) => {
      const head = `${MARK[v.outcome]} ${v.outcome}`;
      const body = wrap(`${v.title}: ${v.explanation}`, WIDTH, '', '      ');
      return `    ${paint(COLOUR[v.outcome], head)} ${body}`;
    })
    .join('\n');
}

type Group = NonNullable<ExperimentResult['observation']>['groups'][number];

/** "v1 ×120, v2 ×80": counts of one label's values; empty and "-" (no flag) are left out. */
function tally(groups: Group[], label: string): string {
  const counts = new Map<string, number>();
  for (const g of groups) {
    const value = g.labels[label];
    if (value !== undefined && value !== '-' && value !== '') counts.set(value, (counts.get(value) ?? 0) + g.count);
  }
  return [...counts].sort().map(([k, n]) => `${k} ×${n}`).join(', ');
}

const OBSERVED_LABELS = ['error', 'reviews.version', 'details', 'reviews', 'ratings', 'denied', 'flag'];

/** The labels a learner looks at, per request of the rotation when there are several. */
function observedText(result: ExperimentResult): string {
  const groups = result.observation?.groups ?? [];
  const names = [...new Set(groups.map((g) => g.labels.request))].sort();
  const perRequest = names.length > 1 ? names.map((n) => ({ name: `${n}: `, groups: groups.filter((g) => g.labels.request === n) })) : [{ name: '', groups }];
  return perRequest
    .map(({ name, groups: mine }) => {
      const parts = [`status ${tally(mine, 'status') || 'none'}`];
      for (const label of OBSERVED_LABELS) {
        const t = tally(mine, label);
        if (t) parts.push(`${label} ${t}`);
      }
      return wrap(`${name}${parts.join('; ')}`, WIDTH, '    ', '      ');
    })
    .join('\n');
}

function interruptedText(result: RunResult): string {
  const last = result.experiments.at(-1);
  const problems = result.experiments.flatMap((e) => e.restore?.errors ?? []);
  if (problems.length > 0) return paint('red', `Interrupted, and restoring left problems: ${problems.join('; ')}`);
  const removed = last?.restore?.deleted.length ?? 0;
  const stopped = last?.error?.exitCode === ExitCode.interrupted;
  const where = !last
    ? ''
    : stopped
      ? ` Step ${result.experiments.length} (${last.name}) was stopped and its ${removed} resource${removed === 1 ? ' was' : 's were'} removed.`
      : ` It stopped after step ${result.experiments.length} (${last.name}).`;
  return `${paint('bold', 'Interrupted.')} The mesh was restored to how it was before the tutorial.${where}`;
}

/** Waits for Enter on the terminal. Ctrl-C at the prompt interrupts the tutorial like Ctrl-C anywhere else. */
async function waitForEnter(text: string): Promise<void> {
  // The interface exists only while asking: outside the prompt the terminal is back in its normal mode, so Ctrl-C
  // during a step reaches the process as SIGINT (and the runner restores the mesh).
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const abort = new AbortController();
  rl.on('SIGINT', () => {
    abort.abort();
    process.kill(process.pid, 'SIGINT');
  });
  try {
    await rl.question(text, { signal: abort.signal });
  } catch (error) {
    if (!abort.signal.aborted) throw error;
    process.stderr.write('\n');
  } finally {
    rl.close();
  }
}

/** meshproof's own experiments/ folder, for running a tutorial from any directory. */
const packageExperiments = fileURLToPath(new URL('../../experiments/', import.meta.url));

/** experiments/<name>/ of the current directory when it has one (a user's own copy), else the package's. */
export function tutorialDir(name: string, cwd = process.cwd()): string | undefined {
  if (!/^[a-z0-9][-a-z0-9]*$/.test(name)) return undefined;
  return [join(cwd, 'experiments', name), join(packageExperiments, name)].find((dir) => existsSync(dir));
}

export async function tutorialCommand(name: string, options: TutorialOptions): Promise<number> {
  const dir = tutorialDir(name);
  if (!dir) throw new SpecError(`no tutorial "${name}": neither ./experiments/${name}/ nor meshproof's ${join(packageExperiments, name)}/ exists`);
  // Loaded with the checks `run` does (what the target refuses) on every step before the first is applied: a step the
  // target would refuse must not let the earlier steps run first.
  const steps = loadExperiments([dir], { checkResources: await resourceCheckFor(options.target) }).experiments.filter((e) => e.tags.includes('tutorial'));
  if (steps.length === 0) throw new SpecError(`${dir}/ has no experiment tagged "tutorial"`);
  const interactive = !options.yes && process.stdin.isTTY === true;
  say(
    `${paint('bold', `meshproof tutorial: ${name}`)} — ${steps.length} steps on the ${options.target} target. Each step applies Istio ` +
      `resources, drives load and checks what the mesh does; the mesh is put back after every step.` +
      (interactive ? ' Press Enter to run each step; Ctrl-C stops and restores the mesh.' : '') +
      '\n',
  );
  const { result, reports } = await execute(steps, {
    ...options,
    beforeExperiment: async (experiment, index, total) => {
      say(`\n${paint('bold', `Step ${index + 1}/${total}: ${experiment.name}`)}`);
      if (experiment.description) say(wrap(experiment.description));
      say(`\n  What is applied:\n${resourcesText(experiment) || '    nothing (the baseline alone)'}`);
      say(`\n  What must be observed:\n${experiment.expect.map((e) => wrap(expectationText(e), WIDTH, '    - ', '      ')).join('\n')}`);
      if (interactive) await waitForEnter(paint('dim', '\n  Press Enter to run this step... '));
    },
    listener: {
      onExperimentEnd: (_experiment, result) => {
        say(`  What was observed:\n${observedText(result)}`);
        say(`  Verdicts:\n${verdictsText(result)}`);
      },
    },
  });
  if (result.interrupted) say(`\n${interruptedText(result)}`);
  say(`\nThe tutorial's report: ${reports.html}`);
  return result.exitCode ?? ExitCode.infrastructure;
}
