// Where tools built from source live: "${MESHPROOF_TOOLS:-$HOME/.cache/meshproof/tools}/<name>-<version>/<name>".
import { homedir } from 'node:os';
import { join } from 'node:path';

/** k6 release built by scripts/k6-build.ts (from the Go module proxy, with xk6). */
export const K6_VERSION = '1.8.1';
/** xk6 release used to build k6 (the newest one the module proxy serves here). */
export const XK6_VERSION = '0.20.1';

export function toolsDir(): string {
  return process.env.MESHPROOF_TOOLS || join(homedir(), '.cache', 'meshproof', 'tools');
}

/** Pinned versions of the tools meshproof builds itself. */
export const TOOL_VERSIONS: Record<string, string> = { k6: K6_VERSION, xk6: XK6_VERSION };

/** Path of a built tool; the version defaults to the pinned one. */
export function toolPath(name: string, version: string | undefined = TOOL_VERSIONS[name]): string {
  if (!version) throw new Error(`no pinned version for tool "${name}"; known: ${Object.keys(TOOL_VERSIONS).join(', ')}`);
  return join(toolsDir(), `${name}-${version}`, name);
}

/** The k6 binary the k6 driver runs; MESHPROOF_K6 overrides it (e.g. a team's own xk6 build). */
export function k6Path(): string {
  return process.env.MESHPROOF_K6 || toolPath('k6', K6_VERSION);
}

export const K6_BUILD_HINT = 'build it with `npx tsx scripts/k6-build.ts` (or set MESHPROOF_K6 to a k6 binary)';
