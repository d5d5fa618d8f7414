// A JSON Schema compiled to a validator once per machine, not once per process: Ajv's compile of the experiment schema
// (and loading Ajv's compiler) takes about half a second, on every `meshproof` command that reads experiments. The
// compiled code (Ajv's standalone output, https://ajv.js.org/standalone.html) is kept in the user's cache folder under
// a name made from the schema's text, Ajv's version and the options, and loaded from there by the next process.
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Options, ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);

/** `${XDG_CACHE_HOME:-~/.cache}/meshproof/schemas`. */
export function schemaCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'meshproof', 'schemas');
}

/** Ajv 2020-12 validator of the schema in `schemaText`, from the cache when it holds one, else compiled (and kept). */
export function compiledSchema(schemaText: string, options: Options, cacheDir = schemaCacheDir()): ValidateFunction {
  const ajvPackage = require.resolve('ajv/package.json');
  const ajvVersion = (require(ajvPackage) as { version: string }).version;
  // The installed Ajv's place is part of the name: the cached code requires Ajv's runtime helpers by their paths.
  const key = createHash('sha256')
    .update(JSON.stringify([ajvPackage, ajvVersion, options, schemaText]))
    .digest('hex')
    .slice(0, 32);
  const file = join(cacheDir, `validator-${key}.cjs`);
  const cached = load(file);
  if (cached) return cached;
  // Ajv's compiler only on a miss; its standalone code needs Ajv's small runtime helpers only.
  const { Ajv2020 } = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  const standaloneCode = (require('ajv/dist/standalone/index.js') as typeof import('ajv/dist/standalone/index.js')).default;
  const ajv = new Ajv2020({ ...options, code: { ...options.code, source: true } });
  const validate = ajv.compile(JSON.parse(schemaText) as object);
  try {
    mkdirSync(cacheDir, { recursive: true });
    const partial = `${file}.${process.pid}.tmp`;
    // Its require("ajv/dist/runtime/...") calls resolved here: the file is loaded from the cache folder.
    const code = standaloneCode(ajv, validate).replace(/require\("(ajv\/[^"]+)"\)/g, (_, id: string) => `require(${JSON.stringify(require.resolve(id))})`);
    writeFileSync(partial, code);
    renameSync(partial, file); // whole or not at all, also with several processes writing at once
  } catch {
    // A cache that cannot be written (read-only home) only costs the next process the compile.
  }
  return validate;
}

function load(file: string): ValidateFunction | undefined {
  let loaded: unknown;
  try {
    loaded = require(file);
  } catch {
    return undefined; // not there yet, or unreadable: compiled again
  }
  return typeof loaded === 'function' ? (loaded as ValidateFunction) : undefined;
}
