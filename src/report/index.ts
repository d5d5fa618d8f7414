// Reports of a run: index.html, result.json and junit.xml in one folder, plus re-rendering from result.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RunResult } from '../runner/result.ts';
import { renderHtml } from './html.ts';
import { readResultJson, renderJson } from './json.ts';
import { renderJunit } from './junit.ts';

export { renderHtml } from './html.ts';
export { renderMarkdown, appendStepSummary } from './markdown.ts';
export { TerminalReporter, colorsWanted, summaryLine, type OutputStream } from './terminal.ts';
export { multiplex } from './multiplexer.ts';

export interface ReportOptions {
  /** Folder for index.html, result.json and junit.xml (created if missing). */
  dir: string;
  /** A second copy of the JUnit XML, e.g. where CI collects it. */
  junitFile?: string;
  inconclusiveAs?: 'fail' | 'pass';
}

export interface ReportPaths {
  html: string;
  json: string;
  junit: string;
}

export async function writeReports(result: RunResult, options: ReportOptions): Promise<ReportPaths> {
  await mkdir(options.dir, { recursive: true });
  const json = renderJson(result);
  // The HTML is rendered from the JSON form, so `meshproof report result.json` gives the same bytes.
  const html = await renderHtml(JSON.parse(json) as RunResult);
  const junit = renderJunit(result, { inconclusiveAs: options.inconclusiveAs });
  const paths: ReportPaths = { html: join(options.dir, 'index.html'), json: join(options.dir, 'result.json'), junit: join(options.dir, 'junit.xml') };
  await Promise.all([writeFile(paths.html, html, 'utf8'), writeFile(paths.json, json, 'utf8'), writeFile(paths.junit, junit, 'utf8')]);
  if (options.junitFile) {
    await mkdir(dirname(options.junitFile), { recursive: true });
    await writeFile(options.junitFile, junit, 'utf8');
  }
  return paths;
}

/** The HTML report of a saved result.json (`meshproof report <result.json>`), identical to the one the run wrote. */
export async function renderFromJson(jsonPath: string): Promise<string> {
  return renderHtml(await readResultJson(jsonPath));
}
