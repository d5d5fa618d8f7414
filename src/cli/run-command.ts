import { loadExperiments } from '../spec/load.ts';
import { ExitCode, SpecError } from '../errors.ts';
import { reportError } from './main.ts';
import { execute, type ExecuteOptions } from './execute.ts';
import { filterByTags } from './list-command.ts';
import { say } from './output.ts';

export interface RunCommandOptions extends ExecuteOptions {
  tag?: string[];
}

export async function runCommand(paths: string[], options: RunCommandOptions): Promise<number> {
  // Checked for the driver that will run (--driver included) before anything is applied.
  const { experiments } = loadExperiments(paths, options.driver ? { driver: options.driver } : {});
  const selected = filterByTags(experiments, options.tag);
  if (selected.length === 0) {
    return reportError(new SpecError(`no experiment has any of the tags ${options.tag!.join(', ')} (${experiments.length} experiments loaded)`, undefined, '--tag'));
  }
  for (const e of selected) {
    for (const w of e.warnings) if (!options.quiet && !options.json) say(`warning: ${w.source.file}:${w.source.line}:${w.source.col}: ${w.path}: ${w.message}`);
  }
  const { result } = await execute(selected, options);
  return result.exitCode ?? ExitCode.infrastructure;
}
