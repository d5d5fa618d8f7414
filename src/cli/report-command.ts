import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ExitCode, SpecError } from '../errors.ts';
import { renderFromJson } from '../report/index.ts';
import { say } from './output.ts';

export async function reportCommand(resultPath: string, options: { out?: string }): Promise<number> {
  let html: string;
  try {
    html = await renderFromJson(resultPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SpecError(`no such file: ${resultPath}`);
    if (error instanceof SyntaxError) throw new SpecError(`${resultPath} is not valid JSON: ${error.message}`);
    throw error;
  }
  const out = options.out ?? join(dirname(resultPath), 'index.html');
  await writeFile(out, html, 'utf8');
  say(`report: ${out}`);
  return ExitCode.ok;
}
