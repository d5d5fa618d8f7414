import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ExitCode } from '../errors.ts';
import { renderFromJson } from '../report/index.ts';
import { say } from './output.ts';

export async function reportCommand(resultPath: string, options: { out?: string }): Promise<number> {
  // Bad input (missing file, broken JSON, not a result of this schema) is a SpecError with its position: exit 2.
  const html = await renderFromJson(resultPath);
  const out = options.out ?? join(dirname(resultPath), 'index.html');
  await writeFile(out, html, 'utf8');
  say(`report: ${out}`);
  return ExitCode.ok;
}
