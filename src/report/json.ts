// result.json: the full RunResult, as published in schema/result.schema.json (version 2); version-1 files are read too.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { SpecError, SpecErrors } from '../errors.ts';
import { RESULT_SCHEMA_VERSION, type RunResult } from '../runner/result.ts';
import type { SourcePos } from '../spec/types.ts';
import { validationErrors } from '../spec/schema-check.ts';
import { parseYamlDocuments, positionOf } from '../spec/yaml-source.ts';
import { upgradeV1, type RunResultV1 } from './result-v1.ts';
import { must } from '../must.ts';

export const resultSchemaPath = fileURLToPath(new URL('../../schema/result.schema.json', import.meta.url));
/** Version 1, frozen: what meshproof wrote before verdicts carried their evidence. */
export const resultV1SchemaPath = fileURLToPath(new URL('../../schema/result-v1.schema.json', import.meta.url));
const schemaPaths: Record<number, string> = { 1: resultV1SchemaPath, [RESULT_SCHEMA_VERSION]: resultSchemaPath };

/**
 * Pretty JSON of the run. Non-finite numbers (an unbounded interval end, an undefined p-value) become null, as
 * JSON.stringify does; the schema allows null exactly where that can happen.
 */
export function renderJson(result: RunResult): string {
  return JSON.stringify(result, null, 2) + '\n';
}

const compiled = new Map<number, ValidateFunction>();

function resultValidator(version: number): ValidateFunction {
  let validate = compiled.get(version);
  if (!validate) {
    const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: false });
    (addFormats as unknown as (a: Ajv2020) => void)(ajv);
    validate = ajv.compile(JSON.parse(readFileSync(must(schemaPaths[version], `the schema of result.json version ${version}`), 'utf8')) as object);
    compiled.set(version, validate);
  }
  return validate;
}

/**
 * Read a result.json back, checked against the schema of its version (schema/result.schema.json, or
 * result-v1.schema.json, then upgraded: src/report/result-v1.ts): a file that is not one (hand-edited, truncated, of
 * an unknown version) is bad input, reported at file:line:col with the field, never a crash while rendering it.
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
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || typeof version !== 'number' || !(version in schemaPaths)) {
    throw new SpecError(
      `not a meshproof result.json of schema version 1 or ${RESULT_SCHEMA_VERSION} (found ${version === undefined ? 'no schemaVersion' : `schemaVersion ${JSON.stringify(version)}`})`,
      { file, line: 1, col: 1 },
      'schemaVersion',
    );
  }
  const validate = resultValidator(version);
  if (!validate(parsed)) {
    const source = must(parseYamlDocuments(text, file)[0], `the document of ${file}`);
    const errors = validationErrors(validate, source, parsed);
    const shown = errors.slice(0, 10);
    if (errors.length > shown.length) shown.push(new SpecError(`... and ${errors.length - shown.length} more problems`, { file, line: 1, col: 1 }));
    throw new SpecErrors(shown);
  }
  return version === 1
    ? upgradeV1(parsed as RunResultV1, (path) => positionOf(must(parseYamlDocuments(text, file)[0], `the document of ${file}`), path))
    : (parsed as RunResult);
}

/**
 * Where JSON.parse stopped: its message names the offset ("at position 31"), or says the text ended early; otherwise
 * (V8 leaves the offset out when the very first token is wrong) the start.
 */
function positionInText(text: string, file: string, message: string): SourcePos {
  const offset = Number(/at position (\d+)/.exec(message)?.[1] ?? (/end of JSON input/.test(message) ? text.length : 0));
  const before = text.slice(0, offset).split('\n');
  return { file, line: before.length, col: (before.at(-1) ?? '').length + 1 };
}
