// result.json: the full RunResult, as published in schema/result.schema.json.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { SpecError, SpecErrors } from '../errors.ts';
import type { RunResult } from '../runner/result.ts';
import type { SourcePos } from '../spec/types.ts';
import { validationErrors } from '../spec/schema-check.ts';
import { parseYamlDocuments } from '../spec/yaml-source.ts';

export const resultSchemaPath = fileURLToPath(new URL('../../schema/result.schema.json', import.meta.url));

/**
 * Pretty JSON of the run. Non-finite numbers (an unbounded interval end, an undefined p-value) become null, as
 * JSON.stringify does; the schema allows null exactly where that can happen.
 */
export function renderJson(result: RunResult): string {
  return JSON.stringify(result, null, 2) + '\n';
}

let compiled: ValidateFunction | undefined;

function resultValidator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: false });
    (addFormats as unknown as (a: Ajv2020) => void)(ajv);
    compiled = ajv.compile(JSON.parse(readFileSync(resultSchemaPath, 'utf8')) as object);
  }
  return compiled;
}

/**
 * Read a result.json back, checked against schema/result.schema.json: a file that is not one (hand-edited, truncated,
 * of another version) is bad input, reported at file:line:col with the field, never a crash while rendering it.
 */
export async function readResultJson(path: string): Promise<RunResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SpecError(code === 'ENOENT' ? `no such file: ${path}` : `cannot read ${path}: ${String(code ?? error)}`);
  }
  return parseResultJson(text, path);
}

export function parseResultJson(text: string, file: string): RunResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SpecError(`JSON syntax error: ${(error as Error).message}`, positionInText(text, file, (error as Error).message));
  }
  const version = (parsed as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || version !== 1) {
    throw new SpecError(
      `not a meshproof result.json of schema version 1 (found ${version === undefined ? 'no schemaVersion' : `schemaVersion ${JSON.stringify(version)}`})`,
      { file, line: 1, col: 1 },
      'schemaVersion',
    );
  }
  const validate = resultValidator();
  if (!validate(parsed)) {
    const [source] = parseYamlDocuments(text, file);
    const errors = validationErrors(validate, source!, parsed);
    const shown = errors.slice(0, 10);
    if (errors.length > shown.length) shown.push(new SpecError(`... and ${errors.length - shown.length} more problems`, { file, line: 1, col: 1 }));
    throw new SpecErrors(shown);
  }
  return parsed as RunResult;
}

/**
 * Where JSON.parse stopped: its message names the offset ("at position 31"), or says the text ended early; otherwise
 * (V8 leaves the offset out when the very first token is wrong) the start.
 */
function positionInText(text: string, file: string, message: string): SourcePos {
  const offset = Number(/at position (\d+)/.exec(message)?.[1] ?? (/end of JSON input/.test(message) ? text.length : 0));
  const before = text.slice(0, offset).split('\n');
  return { file, line: before.length, col: before[before.length - 1]!.length + 1 };
}
