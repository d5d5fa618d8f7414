import { loadExperiments } from '../spec/load.ts';
import { isAbsolute } from 'node:path';
import { displayPath } from '../spec/resources.ts';
import { SpecError } from '../errors.ts';
import { printable } from '../report/printable.ts';
import { reportError } from './report-error.ts';
import { execute, type ExecuteOptions } from './execute.ts';
import { filterByTags } from './list-command.ts';
import { say } from './output.ts';
import { badInputJson, resourceCheckFor } from './preflight.ts';
import { isScenarioPath } from '../spec/scenario.ts';

export interface RunCommandOptions extends ExecuteOptions {
  tag?: string[];
}

export async function runCommand(paths: string[], options: RunCommandOptions): Promise<number> {
  try {
    return await checkedRun(paths, options);
  } catch (error) {
    // Bad input under --json: the same `{ ok: false, errors }` on stdout as `validate --json`; stderr stays human.
    const json = options.json ? badInputJson(error) : undefined;
    if (json) process.stdout.write(json);
    return reportError(error);
  }
}

/** A built-in scenario by name, a folder by its path from here. */
function displayScenario(scenario: string): string {
  return isAbsolute(scenario) ? displayPath(scenario) : scenario;
}

async function checkedRun(paths: string[], options: RunCommandOptions): Promise<number> {
  // Checked for the driver that will run (--driver included) and, for every experiment, for what the target refuses
  // (as `validate` does) before anything is applied: a resource refused in a later experiment must not let earlier ones
  // run first.
  const { experiments } = loadExperiments(paths, {
    ...(options.driver ? { driver: options.driver } : {}),
    checkResources: await resourceCheckFor(options.target),
  });
  const selected = filterByTags(experiments, options.tag);
  if (selected.length === 0) {
    throw new SpecError(`no experiment has any of the tags ${(options.tag ?? []).join(', ')} (${experiments.length} experiments loaded)`, undefined, '--tag');
  }
  // One target is prepared per run, with one baseline: experiments on another scenario would run against the wrong one.
  const [first] = selected;
  const other = selected.find((e) => e.scenario !== first?.scenario);
  if (first && other) {
    throw new SpecError(
      `experiments of one run share a scenario: ${displayPath(first.file)} uses ${displayScenario(first.scenario)}, ${displayPath(other.file)} uses ${displayScenario(other.scenario)}; run them separately`,
      { file: displayPath(other.file), line: 1, col: 1 },
      'spec.scenario',
    );
  }
  checkEchoOptions(options, first?.scenario);
  for (const e of selected) {
    for (const w of e.warnings)
      if (!options.quiet && !options.json) say(`warning: ${printable(`${w.source.file}:${w.source.line}:${w.source.col}: ${w.path}: ${w.message}`)}`);
  }
  const { result } = await execute(selected, options);
  return result.exitCode;
}

/** --deploy-echo and its options: only on the kube target, only for a scenario folder, and not one without the other. */
export function checkEchoOptions(
  options: Pick<RunCommandOptions, 'target' | 'deployEcho' | 'echoNamespace' | 'echoImage'>,
  scenario: string | undefined,
): void {
  if (!options.deployEcho) {
    const stray = options.echoNamespace !== undefined ? '--echo-namespace' : options.echoImage !== undefined ? '--echo-image' : undefined;
    if (stray) throw new SpecError(`${stray} is an option of --deploy-echo, which was not given`, undefined, stray);
    return;
  }
  if (options.target !== 'kube') {
    throw new SpecError(
      'the local target already runs every Deployment of a scenario folder as an echo workload; --deploy-echo is for --target kube',
      undefined,
      '--deploy-echo',
    );
  }
  if (scenario !== undefined && !isScenarioPath(scenario)) {
    throw new SpecError(
      `--deploy-echo deploys a scenario folder of your own Deployments and Services; these experiments use the built-in scenario ${scenario}, whose workloads are Bookinfo's own apps (deploy it with scripts/kind-up.ts)`,
      undefined,
      '--deploy-echo',
    );
  }
}
