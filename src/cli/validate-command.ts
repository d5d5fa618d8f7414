import { loadExperiments } from '../spec/load.ts';
import { displayPath } from '../spec/resources.ts';
import { ExitCode, SpecErrors } from '../errors.ts';
import { reportError } from './main.ts';
import { paint, say } from './output.ts';

export interface ValidateOptions {
  json?: boolean;
}

export async function validateCommand(paths: string[], options: ValidateOptions): Promise<number> {
  let loaded;
  try {
    loaded = loadExperiments(paths);
  } catch (error) {
    if (options.json && error instanceof SpecErrors) {
      process.stdout.write(`${JSON.stringify({ ok: false, errors: error.errors.map((e) => ({ ...e.source, path: e.path, message: e.message })) }, null, 2)}\n`);
      return ExitCode.badInput;
    }
    return reportError(error);
  }
  const { experiments, files } = loaded;
  const warnings = experiments.flatMap((e) => e.warnings.map((w) => ({ experiment: e.name, ...w })));
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ ok: true, files: files.map(displayPath), experiments: experiments.map((e) => ({ name: e.name, file: displayPath(e.file), expectations: e.expect.length, resources: e.apply.length })), warnings }, null, 2)}\n`,
    );
    return ExitCode.ok;
  }
  const seen = new Set<string>();
  for (const w of warnings) {
    const line = `${w.source.file}:${w.source.line}:${w.source.col}: ${w.path}: ${w.message}`;
    if (seen.has(line)) continue; // a sweep repeats its resources' warnings
    seen.add(line);
    say(`${paint('yellow', 'warning:')} ${line}`);
  }
  say(`${paint('green', 'ok:')} ${experiments.length} experiment${experiments.length === 1 ? ' is' : 's are'} valid (${files.length} file${files.length === 1 ? '' : 's'})${seen.size ? ` (${seen.size} warning${seen.size === 1 ? '' : 's'})` : ''}.`);
  return ExitCode.ok;
}
