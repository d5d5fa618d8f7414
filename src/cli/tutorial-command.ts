// `meshproof tutorial`: the tutorial experiments in order, each explained, run and checked.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline/promises';
import { Document, isCollection, isMap, isScalar, isSeq, visit } from 'yaml';
import { ExitCode, InterruptedError, SpecError } from '../errors.ts';
import { loadExperiments } from '../spec/load.ts';
import type { Expectation, Experiment } from '../spec/types.ts';
import type { ExperimentResult, RunResult } from '../runner/result.ts';
import type { Verdict } from '../assertions/verdict.ts';
import { execute, type ExecuteOptions } from './execute.ts';
import { isTerminal, paint, say } from './output.ts';
import { wrap } from '../report/wrap.ts';
import type { StepChoice } from '../runner/run.ts';
import { resourceCheckFor } from './preflight.ts';

export interface TutorialOptions extends ExecuteOptions {
  yes?: boolean;
  /** Start at this step (1-based); the steps before it are listed as skipped. */
  step?: number;
}

/** The tutorial's width: the terminal's (80 columns when unknown), at least 40, at most 100. */
export function tutorialWidth(columns = process.stderr.columns): number {
  return Math.max(40, Math.min(100, columns || 80));
}

let WIDTH = tutorialWidth();

/**
 * Lines longer than the width (a long type URL in YAML cannot be folded at a space) continue on the next line after
 * a "↩", indented as the line was, as a pager shows them.
 */
export function foldLines(text: string, width: number): string {
  return text
    .split('\n')
    .flatMap((line) => {
      if (line.length <= width) return [line];
      const indent = ' '.repeat(Math.min(line.length - line.trimStart().length + 2, width / 2));
      const out = [line.slice(0, width - 1) + '↩'];
      let rest = line.slice(width - 1);
      while (indent.length + rest.length > width) {
        out.push(indent + rest.slice(0, width - 1 - indent.length) + '↩');
        rest = rest.slice(width - 1 - indent.length);
      }
      out.push(indent + rest);
      return out;
    })
    .join('\n');
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
  return ` (${Object.entries(where)
    .map(([k, v]) => `${k} = ${v}`)
    .join(', ')})`;
}

/** One line per expectation: what it checks, in the experiment's own terms. */
export function expectationText(e: Expectation): string {
  switch (e.kind) {
    case 'distribution': {
      const sum = Object.values(e.weights).reduce((a, b) => a + b, 0);
      const shares = Object.entries(e.weights)
        .map(([k, w]) => `${k} ${Math.round((1000 * w) / sum) / 10} %`)
        .join(', ');
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
  if (result.error) return `    ${paint('red', '✗ error')} ${wrap(result.error.message, WIDTH, ' '.repeat(12), '      ').slice(12)}`;
  return result.verdicts
    .map((v) => {
      const head = `${MARK[v.outcome]} ${v.outcome}`;
      // Wrapped with the head's room on the first line, then the (maybe coloured) head put in front.
      const lead = `    ${head} `;
      const body = wrap(`${v.title}: ${v.explanation}`, WIDTH, ' '.repeat(lead.length), '      ').slice(lead.length);
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
  return [...counts]
    .sort()
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');
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
  const ran = result.experiments.filter((e) => e.outcome !== 'skipped');
  const skipped = result.experiments.length - ran.length;
  const last = ran.at(-1);
  const problems = ran.flatMap((e) => e.restore?.errors ?? []);
  if (problems.length > 0) return paint('red', `Interrupted, and restoring left problems: ${problems.join('; ')}`);
  const removed = last?.restore?.deleted.length ?? 0;
  const stopped = last?.outcome === 'interrupted';
  const where = !last
    ? ' No step had started.'
    : stopped
      ? ` Step ${ran.length} (${last.name}) was stopped and its ${removed} resource${removed === 1 ? ' was' : 's were'} removed.`
      : ` It stopped after step ${ran.length} (${last.name}).`;
  const left = skipped > 0 ? ` ${skipped} step${skipped === 1 ? ' was' : 's were'} not run.` : '';
  return `${paint('bold', 'Interrupted.')} The mesh was restored to how it was before the tutorial.${where}${left}`;
}

/**
 * Asks at the terminal and returns the line typed. Ctrl-C at the prompt interrupts the tutorial like Ctrl-C anywhere
 * else: it throws InterruptedError, which the runner takes as an interrupt before the step starts (the step and later
 * ones are listed as skipped; nothing of the step was applied).
 */
async function ask(text: string): Promise<string> {
  // The interface exists only while asking: outside the prompt the terminal is back in its normal mode, so Ctrl-C
  // during a step reaches the process as SIGINT (and the runner restores the mesh).
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const abort = new AbortController();
  rl.on('SIGINT', () => abort.abort());
  try {
    return (await rl.question(text, { signal: abort.signal })).trim().toLowerCase();
  } catch (error) {
    if (!abort.signal.aborted) throw error;
    process.stderr.write('\n');
    throw new InterruptedError('interrupted by SIGINT at the prompt', 'SIGINT');
  } finally {
    rl.close();
  }
}

/** Before a step: Enter runs it, s skips it, b goes back, q quits, a number goes to that step. */
export function beforeChoice(answer: string, index: number, total: number): StepChoice | 'again' {
  if (answer === '' || answer === 'r' || answer === 'y') return 'run';
  if (answer === 's') return 'skip';
  if (answer === 'b') return { goto: Math.max(0, index - 1) };
  if (answer === 'q') return 'quit';
  const n = Number(answer);
  if (Number.isInteger(n) && n >= 1 && n <= total) return { goto: n - 1 };
  return 'again';
}

/** After a step's verdicts: Enter goes on, r runs it again, b goes back, q quits, a number goes to that step. */
export function afterChoice(answer: string, index: number, total: number): StepChoice | 'again' {
  if (answer === '') return { goto: index + 1 };
  if (answer === 'r') return { goto: index };
  if (answer === 'b') return { goto: Math.max(0, index - 1) };
  if (answer === 'q') return 'quit';
  const n = Number(answer);
  if (Number.isInteger(n) && n >= 1 && n <= total) return { goto: n - 1 };
  return 'again';
}

/** Asks until the answer is one `choose` understands. */
async function prompt(text: string, choose: (answer: string) => StepChoice | 'again'): Promise<StepChoice> {
  for (;;) {
    const choice = choose(await ask(text));
    if (choice !== 'again') return choice;
    say(paint('dim', '  Enter, s, b, q or a step number.'));
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
  const shown = new Set<number>();
  const dir = tutorialDir(name);
  if (!dir) throw new SpecError(`no tutorial "${name}": neither ./experiments/${name}/ nor meshproof's ${join(packageExperiments, name)}/ exists`);
  // Loaded with the checks `run` does (what the target refuses) on every step before the first is applied: a step the
  // target would refuse must not let the earlier steps run first.
  const steps = loadExperiments([dir], { checkResources: await resourceCheckFor(options.target) }).experiments.filter((e) => e.tags.includes('tutorial'));
  if (steps.length === 0) throw new SpecError(`${dir}/ has no experiment tagged "tutorial"`);
  const interactive = !options.yes && isTerminal(process.stdin);
  WIDTH = tutorialWidth();
  const start = options.step ?? 1;
  if (!Number.isInteger(start) || start < 1 || start > steps.length)
    throw new SpecError(`--step ${options.step}: the tutorial has steps 1 to ${steps.length}`, undefined, '--step');
  const title = `${paint('bold', `meshproof tutorial: ${name}`)} — `;
  say(
    `${title}${wrap(
      `${steps.length} steps on the ${options.target} target${start > 1 ? `, from step ${start}` : ''}. Each step applies Istio resources, drives load and ` +
        `checks what the mesh does; the mesh is put back after every step.` +
        (interactive
          ? ' At each prompt: Enter goes on, s skips a step, b goes back, r runs a step again, a number goes to that step, q quits; Ctrl-C stops and restores the mesh.'
          : ''),
      WIDTH,
      ' '.repeat(`meshproof tutorial: ${name} — `.length),
      '',
    ).trimStart()}\n`,
  );
  const { result, reports } = await execute(steps, {
    ...options,
    beforeExperiment: async (experiment, index, total) => {
      // --step N: the steps before it are not run, unless the learner goes back to them.
      if (index < start - 1 && shown.size === 0) return 'skip';
      shown.add(index);
      say(`\n${paint('bold', wrap(`Step ${index + 1}/${total}: ${experiment.name}`, WIDTH))}`);
      if (experiment.description) say(wrap(experiment.description, WIDTH, '  '));
      say(`\n  What is applied:\n${foldLines(resourcesText(experiment) || '    nothing (the baseline alone)', WIDTH)}`);
      say(`\n  What must be observed:\n${experiment.expect.map((e) => wrap(expectationText(e), WIDTH, '    - ', '      ')).join('\n')}`);
      if (!interactive) return 'run';
      return prompt(paint('dim', '\n  Enter runs this step (s skip, b back, q quit): '), (answer) => beforeChoice(answer, index, total));
    },
    afterExperiment: async (_experiment, _result, index, total) => {
      if (!interactive) return undefined;
      const next = index + 1 < total ? 'Enter for the next step' : 'Enter to finish';
      return prompt(paint('dim', `\n  ${next} (r run it again, b back, q quit): `), (answer) => afterChoice(answer, index, total));
    },
    listener: {
      onExperimentEnd: (_experiment, result) => {
        say(`  What was observed:\n${observedText(result)}`);
        say(`  Verdicts:\n${verdictsText(result)}`);
      },
    },
  });
  if (result.interrupted) say(`\n${wrap(interruptedText(result), WIDTH)}`);
  say(`\nThe tutorial's report: ${reports.html}`);
  return result.exitCode;
}
