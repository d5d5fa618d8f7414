import { writeFile } from 'node:fs/promises';
import { ExitCode, SpecError } from '../errors.ts';
import { k6Script } from '../load/k6.ts';
import { loadExperimentFile } from '../spec/load.ts';
import { say } from './output.ts';

export interface ExportK6Options {
  out?: string;
  baseUrl: string;
  seed: number;
}

/** The k6 script meshproof itself would run; `user` logins happen in the script's setup(). */
export async function exportK6Command(file: string, options: ExportK6Options): Promise<number> {
  const experiments = loadExperimentFile(file);
  if (experiments.length > 1) throw new SpecError(`${file} is a sweep of ${experiments.length} runs; export one point by removing spec.matrix`);
  const { load } = experiments[0];
  const outside = load.requests.find((r) => r.service !== undefined);
  if (outside) {
    throw new SpecError(`request "${outside.name}" goes straight to service ${outside.service}; a k6 script has one base URL (the gateway), so export the experiment without it`, undefined, 'spec.load.requests');
  }
  const script = k6Script({
    baseUrl: options.baseUrl.replace(/\/$/, ''),
    requests: load.requests,
    model: load.model,
    ...(load.durationMs !== undefined ? { durationMs: load.durationMs } : {}),
    ...(load.totalRequests !== undefined ? { totalRequests: load.totalRequests } : {}),
    timeoutMs: load.timeoutMs,
    seed: options.seed,
    ...(load.classifiers.length > 0 ? { classifiers: load.classifiers } : {}),
  });
  if (options.out) {
    await writeFile(options.out, script, 'utf8');
    say(`k6 script: ${options.out} (run it with: k6 run ${options.out})`);
  } else {
    process.stdout.write(script);
  }
  return ExitCode.ok;
}
