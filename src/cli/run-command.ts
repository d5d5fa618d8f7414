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
  for (const e of selected) {
    for (const w of e.warnings)
      if (!options.quiet && !options.json) say(`warning: ${printable(`${w.source.file}:${w.source.line}:${w.source.col}: ${w.path}: ${w.message}`)}`);
  }
  const { result } = await execute(selected, options);
  return result.exitCode;
}
