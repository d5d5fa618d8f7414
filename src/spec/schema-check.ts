// JSON Schema validation of an experiment, with errors that say where, what was expected and what was found.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { compiledSchema } from './compiled-schema.ts';
import { SpecError } from '../errors.ts';
import { formatPath, positionOf, type PathSegment, type YamlDoc } from './yaml-source.ts';
import { suggest } from './suggest.ts';
import { isRecord, valueText } from './untyped.ts';

/** The parts of a node of schema/experiment.schema.json that messages quote. */
interface SchemaNode {
  description?: string;
  anyOf?: unknown[];
  const?: unknown;
  enum?: unknown[];
  type?: string | string[];
  properties?: Record<string, unknown>;
}

/** Ajv's `params` of the keywords messageFor explains (ajv lib/vocabularies: each keyword's error params). */
interface ErrorParams {
  additionalProperty?: string;
  missingProperty?: string;
  type?: string | string[];
  allowedValue?: unknown;
  allowedValues?: unknown[];
  pattern?: string;
  comparison?: string;
  limit?: number;
  i?: number;
  j?: number;
}

/** The schema node an error was found against (Ajv's `parentSchema`, given with `verbose`). */
function parentSchema(error: ErrorObject): SchemaNode {
  return isRecord(error.parentSchema) ? (error.parentSchema as SchemaNode) : {};
}

function paramsOf(error: ErrorObject): ErrorParams {
  return error.params as ErrorParams;
}

export const experimentSchemaPath = fileURLToPath(new URL('../../schema/experiment.schema.json', import.meta.url));

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  compiled ??= compiledSchema(readFileSync(experimentSchemaPath, 'utf8'), { allErrors: true, verbose: true, strict: false });
  return compiled;
}

export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return `an object with ${Object.keys(value).length ? `keys ${Object.keys(value).slice(0, 5).join(', ')}` : 'no keys'}`;
  return valueText(value);
}

function instancePath(error: ErrorObject): PathSegment[] {
  if (error.instancePath === '') return [];
  return error.instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function describeSchema(schema: SchemaNode): string {
  if (schema.description && schema.anyOf) return lowerFirst(schema.description.replace(/\.$/, ''));
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.enum) return `one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  if (schema.type) return `a ${[schema.type].flat().join(' or ')}`;
  return 'a valid value';
}

function messageFor(error: ErrorObject): { path: PathSegment[]; key: boolean; message: string } {
  const path = instancePath(error);
  const params = paramsOf(error);
  const found = error.data;
  switch (error.keyword) {
    case 'additionalProperties': {
      const field = String(params.additionalProperty);
      const known = Object.keys(parentSchema(error).properties ?? {});
      const hint = suggest(field, known);
      const list = known.length ? ` (known fields: ${known.join(', ')})` : '';
      return {
        path: [...path, field],
        key: true,
        message: `unknown field "${field}"${hint ? `; did you mean "${hint}"?` : list}`,
      };
    }
    case 'required':
      return { path, key: false, message: `missing required field "${String(params.missingProperty)}"` };
    case 'type':
      // Ajv gives the expected type as a string ("integer", "string,number") or, for `type: [..]`, as a list.
      return { path, key: false, message: `expected ${[params.type].flat().join(',').split(',').join(' or ')}, found ${show(found)}` };
    case 'const':
      return { path, key: false, message: `expected ${JSON.stringify(params.allowedValue)}, found ${show(found)}` };
    case 'enum': {
      const allowed = params.allowedValues ?? [];
      const hint = typeof found === 'string' ? suggest(found, allowed.map(String)) : undefined;
      return {
        path,
        key: false,
        message: `expected one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}, found ${show(found)}${hint ? `; did you mean "${hint}"?` : ''}`,
      };
    }
    case 'anyOf': {
      // A share written as a percentage number (5 for 5 %): say how to write it.
      const percent = typeof found === 'number' && found > 1 && found <= 100 && /^A share\b|as a share\b/.test(parentSchema(error).description ?? '');
      return {
        path,
        key: false,
        message: `expected ${describeSchema(parentSchema(error))}, found ${show(found)}${percent ? `; for ${found} percent write "${found}%"` : ''}`,
      };
    }
    case 'pattern': {
      const description = parentSchema(error).description;
      return {
        path,
        key: false,
        message: `found ${show(found)}, which does not have the expected form${description ? ` (${description.replace(/\.$/, '')})` : ` ${params.pattern}`}`,
      };
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { path, key: false, message: `expected a number ${params.comparison} ${params.limit}, found ${show(found)}` };
    case 'minItems':
      return { path, key: false, message: `expected at least ${params.limit} item${params.limit === 1 ? '' : 's'}, found ${show(found)}` };
    case 'maxItems':
      return { path, key: false, message: `expected at most ${params.limit} items, found ${show(found)}` };
    case 'minProperties':
      return { path, key: false, message: `expected at least ${params.limit} field${params.limit === 1 ? '' : 's'}, found ${show(found)}` };
    case 'maxProperties': {
      const keys = found && typeof found === 'object' ? Object.keys(found) : [];
      return { path, key: false, message: `expected exactly one entry here, found ${keys.length}: ${keys.join(', ')}` };
    }
    case 'minLength':
      return { path, key: false, message: `expected a non-empty string, found ${show(found)}` };
    case 'maxLength':
      return { path, key: false, message: `expected at most ${params.limit} characters, found ${String(found).length}` };
    case 'uniqueItems':
      return { path, key: false, message: `items must be unique (items ${params.j} and ${params.i} are the same)` };
    default:
      return { path, key: false, message: `${error.message ?? 'invalid'}; found ${show(found)}` };
  }
}

const preference = ['additionalProperties', 'required', 'maxProperties', 'const', 'enum', 'type', 'anyOf', 'pattern'];

/** Keep the most useful error per location: anyOf branches and their children collapse into one message. */
function selectErrors(errors: ErrorObject[]): ErrorObject[] {
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const kept = errors.filter((e) => e.keyword === 'anyOf' || !anyOfPaths.has(e.instancePath) || e.keyword === 'additionalProperties');
  const byPath = new Map<string, ErrorObject[]>();
  for (const e of kept) {
    const key = e.keyword === 'additionalProperties' ? `${e.instancePath}/${String(paramsOf(e).additionalProperty)}` : e.instancePath;
    byPath.set(key, [...(byPath.get(key) ?? []), e]);
  }
  const out: ErrorObject[] = [];
  for (const group of byPath.values()) {
    const [first] = group.sort((a, b) => rank(a) - rank(b));
    if (first) out.push(first);
  }
  return out;
}

function rank(e: ErrorObject): number {
  const i = preference.indexOf(e.keyword);
  return i === -1 ? preference.length : i;
}

/** Validate one experiment document against the schema; returns every problem found, in document order. */
export function schemaErrors(source: YamlDoc, value: unknown = source.value): SpecError[] {
  return validationErrors(validator(), source, value);
}

/** Problems `validate` finds in a document, each at its file:line:col and field path, in document order. */
export function validationErrors(validate: ValidateFunction, source: YamlDoc, value: unknown = source.value): SpecError[] {
  if (validate(value)) return [];
  const selected = selectErrors(validate.errors ?? []);
  // "unknown field laod; did you mean load?" already explains the missing "load": say it once.
  const explained = new Set(
    selected
      .filter((e) => e.keyword === 'additionalProperties')
      .map((e) => `${e.instancePath}/${suggest(String(paramsOf(e).additionalProperty), Object.keys(parentSchema(e).properties ?? {})) ?? ''}`),
  );
  const errors = selected
    .filter((e) => !(e.keyword === 'required' && explained.has(`${e.instancePath}/${String(paramsOf(e).missingProperty)}`)))
    .map((error) => {
      const { path, key, message } = messageFor(error);
      return new SpecError(message, positionOf(source, path, { key }), formatPath(path) || '(document)');
    });
  // Every error here has a position (positionOf above).
  errors.sort((a, b) => (a.source?.line ?? 0) - (b.source?.line ?? 0) || (a.source?.col ?? 0) - (b.source?.col ?? 0));
  return errors;
}
