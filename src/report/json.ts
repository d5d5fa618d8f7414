// result.json: the full RunResult, as published in schema/result.schema.json.
import { readFile, writeFile } from 'node:fs/promises';
import type { RunResult } from '../runner/result.ts';

/**
 * Pretty JSON of the run. Non-finite numbers (an unbounded interval end, an undefined p-value) become null, as
 * JSON.stringify does; the schema allows null exactly where that can happen.
 */
export function renderJson(result: RunResult): string {
  return JSON.stringify(result, null, 2) + '\n';
}

export async function writeJson(result: RunResult, path: string): Promise<string> {
  await writeFile(path, renderJson(result), 'utf8');
  return path;
}

/** Read a result.json back; throws when it is not a meshproof RunResult of a schema version we know. */
export async function readResultJson(path: string): Promise<RunResult> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<RunResult>;
  if (parsed === null || typeof parsed !== 'object' || parsed.schemaVersion !== 1 || !Array.isArray(parsed.experiments)) {
    throw new Error(`${path} is not a meshproof result.json (schemaVersion 1)`);
  }
  return parsed as RunResult;
}
