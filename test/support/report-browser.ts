// The HTML report in Debian's chromium (scripts/ci.d/20-chromium.sh) driven by playwright-core: write a run's reports
// and launch the browser, for the browser tests of the report.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { writeReports } from '../../src/report/index.ts';
import type { RunResult } from '../../src/runner/result.ts';

const executablePath = process.env.MESHPROOF_CHROMIUM ?? '/usr/bin/chromium';

/** A headless Chromium; `args` adds to the flags every report test uses. */
export async function launchChromium(args: string[] = []): Promise<Browser> {
  if (!existsSync(executablePath)) throw new Error(`${executablePath} missing: run scripts/ci.d/20-chromium.sh`);
  return chromium.launch({ executablePath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', ...args] });
}

/** Writes the run's reports into `dir` and returns the file URL of its index.html. */
export async function reportUrl(run: RunResult, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  return pathToFileURL((await writeReports(run, { dir })).html).href;
}
