// Where tools built from source live: "${MESHPROOF_TOOLS:-$HOME/.cache/meshproof/tools}/<name>-<version>/<name>".
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** k6 release built by scripts/k6-build.ts (from the Go module proxy, with xk6). */
export const K6_VERSION = '1.8.1';
/** The xk6 extension the k6 driver's scripts import (k6/x/meshproof), built into meshproof's k6. */
export const K6_EXTENSION_DIR = fileURLToPath(new URL('../../tools/xk6-meshproof', import.meta.url));
/** Its Go module path (tools/xk6-meshproof/go.mod). */
export const K6_EXTENSION_MODULE = 'meshproof.local/xk6-meshproof';
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

/**
 * First 12 hex digits of sha256 over a Go tool's .go, go.mod and go.sum files (names and contents): the part of a
 * tools-cache key that gives an edited tool a build of its own instead of a stale binary.
 */
export function goSourceHash(dir: string): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(dir)
    .filter((f) => /\.go$|^go\.(mod|sum)$/.test(f))
    .sort()) {
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(join(dir, file)));
  }
  return hash.digest('hex').slice(0, 12);
}

let extensionHash: string | undefined;

/** Hash of the extension's sources: an edited extension gets a k6 build of its own. */
export function k6ExtensionHash(): string {
  return (extensionHash ??= goSourceHash(K6_EXTENSION_DIR));
}

/** Where scripts/k6-build.ts puts k6 built with the extension: "k6-<version>-<extension hash>/k6" in the tools cache. */
export function k6BuildPath(): string {
  return toolPath('k6', `${K6_VERSION}-${k6ExtensionHash()}`);
}

/** The k6 binary the k6 driver runs; MESHPROOF_K6 overrides it (a k6 built with tools/xk6-meshproof). */
export function k6Path(): string {
  return process.env.MESHPROOF_K6 || k6BuildPath();
}

/**
 * Environment for every k6 meshproof runs: no usage report, no web dashboard, and no automatic extension resolution
 * (k6 ≥ 1.0 would otherwise send a script's unknown imports to its build service on the internet and download a binary).
 */
export const K6_OFFLINE_ENV = { K6_NO_USAGE_REPORT: 'true', K6_WEB_DASHBOARD: 'false', K6_AUTO_EXTENSION_RESOLUTION: 'false' } as const;

export const K6_BUILD_HINT = 'build it with `npx tsx scripts/k6-build.ts` (or set MESHPROOF_K6 to a k6 built with the extension tools/xk6-meshproof)';
