// meshproof's TypeScript run from a bundle of itself kept in node_modules/.cache, rather than module by module through
// tsx's loader. On Node 20 (no module.registerHooks, no compile cache) loading ~150 modules through tsx's off-thread
// hooks costs every process 1.5–2 s of CPU: `meshproof run` took 2.4 s of CPU to load, 0.9 s from the bundle; the local
// mesh's child process 1.95 s, 0.45 s.
//
// Still no build step to forget: the bundle (esbuild's, the compiler tsx itself uses) is made again whenever a source
// it was made from has changed (compared by size, then by content when the time differs), the first time a process
// needs it. In each source, import.meta.url, .dirname and .filename stay that source file's own, so what the code finds
// next to itself (schemas, scenarios, tools, packages through createRequire) is found the same way in both.
// MESHPROOF_COMPILE=0 runs through tsx only; so does any process for which the bundle cannot be made or written.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * The sources meshproof starts as processes: the bundle's entries, each `<its file name>.mjs` in the bundle. The
 * sandbox's scripts are run from it by the tests and the fidelity run (src/sandbox/scripts.ts); `npx tsx` runs them as
 * they are.
 */
export const compiledEntries = [
  'src/cli/main.ts',
  'src/targets/local/mesh-process.ts',
  'src/sandbox/pods-main.ts',
  'scripts/sandbox-up.ts',
  'scripts/sandbox-down.ts',
];

/** Bumped when the way bundles are made changes, so older ones are not taken. */
const LAYOUT = 1;
/** Bundles no longer current are removed a day after they were made (a long-running process may still load from its own). */
const KEEP_OLD_MS = 24 * 3600 * 1000;

/**
 * The folder of this checkout's bundles: inside its node_modules, so the bundle's imports of packages resolve to this
 * checkout's own (and `.mjs`, since node_modules has no package.json saying "module"). Named after the checkout's
 * place, as worktrees may share one node_modules.
 */
export function compiledCacheDir() {
  const key = createHash('sha256').update(`${LAYOUT}\0${root}`).digest('hex').slice(0, 16);
  return join(root, 'node_modules', '.cache', 'meshproof-compiled', key);
}

/**
 * The compiled file of `source` (one of compiledEntries) when the current bundle is up to date with the sources, else
 * undefined (run `source` through tsx). Never builds: see ensureCompiled.
 * @param {string} source
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {string | undefined}
 */
export function compiledEntry(source, env = process.env) {
  if (!compiledEntries.includes(source)) throw new Error(`not a compiled entry: ${source}`);
  if (env.MESHPROOF_COMPILE === '0') return undefined;
  const dir = currentBundle(compiledCacheDir());
  const file = dir === undefined ? undefined : join(dir, entryFile(source));
  return file !== undefined && existsSync(file) ? file : undefined;
}

/**
 * The compiled file of `source`, the bundle made first when it is missing or stale (about a second); undefined when
 * compiling is off or the bundle cannot be made (the process then runs through tsx, which reports any error in a
 * source itself).
 * @param {string} source
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {Promise<string | undefined>}
 */
export async function ensureCompiled(source, env = process.env) {
  const found = compiledEntry(source, env);
  if (found !== undefined || env.MESHPROOF_COMPILE === '0') return found;
  try {
    return join(await build(compiledCacheDir()), entryFile(source));
  } catch {
    return undefined;
  }
}

/** @param {string} source */
function entryFile(source) {
  return `${source.replace(/^.*\//, '').replace(/\.ts$/, '')}.mjs`;
}

/**
 * The bundle folder `current.json` names, when every input it records is unchanged.
 * @param {string} cache
 */
function currentBundle(cache) {
  try {
    const manifest = JSON.parse(readFileSync(join(cache, 'current.json'), 'utf8'));
    if (typeof manifest.bundle !== 'string' || !/^bundle-[\w-]+$/.test(manifest.bundle)) return undefined;
    for (const [file, recorded] of Object.entries(manifest.inputs)) {
      const path = join(root, file);
      const stat = statSync(path);
      if (stat.size !== recorded.size) return undefined;
      if (stat.mtimeMs !== recorded.mtimeMs && digest(readFileSync(path)) !== recorded.sha1) return undefined;
    }
    return join(cache, manifest.bundle);
  } catch {
    return undefined; // none yet, unreadable or damaged, or an input gone: made again
  }
}

/** @param {Buffer} contents */
function digest(contents) {
  return createHash('sha1').update(contents).digest('hex');
}

/**
 * Bundles the entries into a new folder of `cache` and makes it the current one. Several processes may do this at once:
 * each writes its own folder and the last `current.json` renamed into place wins; every one of them is whole.
 * @param {string} cache
 * @returns {Promise<string>} the new bundle's folder
 */
async function build(cache) {
  const esbuild = await import('esbuild');
  const name = `bundle-${Date.now()}-${process.pid}`;
  const outdir = join(cache, name);
  /** @type {Record<string, { size: number, mtimeMs: number, sha1: string }>} */
  const inputs = {};
  const result = await esbuild.build({
    absWorkingDir: root,
    // Those present: an installed package may leave out scripts/.
    entryPoints: compiledEntries.map((e) => join(root, e)).filter((file) => existsSync(file)),
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    keepNames: true,
    entryNames: '[name]',
    chunkNames: 'chunk-[hash]',
    outExtension: { '.js': '.mjs' },
    logLevel: 'silent',
    plugins: [ownImportMeta(inputs)],
  });
  if (result.errors.length > 0) throw new Error('esbuild failed');
  mkdirSync(cache, { recursive: true });
  const partial = join(cache, `current.json.${process.pid}.tmp`);
  writeFileSync(partial, JSON.stringify({ bundle: name, inputs }));
  renameSync(partial, join(cache, 'current.json'));
  pruneOld(cache, name);
  return outdir;
}

/**
 * Loads each source with its own import.meta values written in, and records every file it loads as an input.
 * @param {Record<string, { size: number, mtimeMs: number, sha1: string }>} inputs
 * @returns {import('esbuild').Plugin}
 */
function ownImportMeta(inputs) {
  /** @param {string} path */
  const read = (path) => {
    const contents = readFileSync(path);
    const { size, mtimeMs } = statSync(path);
    inputs[relative(root, path)] = { size, mtimeMs, sha1: digest(contents) };
    return contents;
  };
  return {
    name: 'meshproof-own-import-meta',
    setup(b) {
      b.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
        if (args.path.includes('/node_modules/')) return undefined;
        const text = read(args.path)
          .toString('utf8')
          .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
          .replaceAll('import.meta.dirname', JSON.stringify(join(args.path, '..')))
          .replaceAll('import.meta.filename', JSON.stringify(args.path));
        return { contents: text, loader: args.path.endsWith('ts') ? 'ts' : 'js' };
      });
      b.onLoad({ filter: /\.json$/ }, (args) => ({ contents: read(args.path), loader: 'json' }));
    },
  };
}

/**
 * @param {string} cache
 * @param {string} keep
 */
function pruneOld(cache, keep) {
  for (const entry of readdirSync(cache)) {
    if (!entry.startsWith('bundle-') || entry === keep) continue;
    const path = join(cache, entry);
    try {
      if (Date.now() - statSync(path).mtimeMs > KEEP_OLD_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // another process removed it first
    }
  }
}
