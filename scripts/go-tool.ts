// What every "build a Go tool into the tools cache" script shares (k6, opa-envoy, istio-translate, istioctl,
// pilot-discovery, the sandbox's Kubernetes binaries): `--print` prints the paths, a present build is reused, Go must
// be installed, a build goes to a staging folder and moves into place only when complete (an interrupted build is
// never taken for a finished one), and builds of older versions of the same tool are removed.
import { argv, echo, fs, path, which } from 'zx';

export interface GoTool {
  /** The name in messages, e.g. `kube-apiserver 1.36.1`. */
  label: string;
  /** Where the built binary lives in the tools cache (its folder is the tool's cache key). */
  binary: string;
}

/**
 * `--print`: print every binary's path and exit. Otherwise say which are present and return the missing ones; exit 0
 * when none is missing.
 */
export function missingOrExit(tools: GoTool[]): GoTool[] {
  if (argv.print) {
    for (const t of tools) echo(t.binary);
    process.exit(0);
  }
  const missing = tools.filter((t) => !fs.existsSync(t.binary));
  for (const t of tools) if (!missing.includes(t)) echo(`${t.label} present: ${t.binary}`);
  if (missing.length === 0) process.exit(0);
  return missing;
}

/** Exit 1 with how to get Go when it is not installed. */
export async function requireGo(missing: GoTool[]): Promise<void> {
  if (await which('go', { nothrow: true })) return;
  const names = missing.map((t) => t.label).join(', ');
  echo(`go is not installed: ${names} ${missing.length === 1 ? 'is' : 'are'} built from source with the Go toolchain (https://go.dev/doc/install).`);
  process.exit(1);
}

/**
 * Runs `build` with an empty staging folder beside the binary's folder, then moves the staging folder into place.
 * Returns the build's duration in seconds.
 */
export async function buildStaged(binary: string, build: (staging: string) => Promise<void>): Promise<number> {
  const dir = path.dirname(binary);
  const staging = `${dir}.partial`;
  await fs.remove(staging);
  await fs.mkdirp(staging);
  const started = Date.now();
  await build(staging);
  await fs.remove(dir);
  await fs.move(staging, dir);
  return Math.round((Date.now() - started) / 1000);
}

/**
 * Removes the other builds whose cache folder starts with `prefix` (older versions of this tool's source, tens of MB
 * each, that nothing in this clone runs any more), keeping the binary's own folder and unfinished builds.
 */
export async function pruneOlderBuilds(binary: string, prefix: string): Promise<void> {
  const dir = path.dirname(binary);
  const parent = path.dirname(dir);
  for (const entry of await fs.readdir(parent)) {
    if (entry.startsWith(prefix) && entry !== path.basename(dir) && !entry.endsWith('.partial')) {
      echo(`removing the older build ${entry}`);
      await fs.remove(path.join(parent, entry));
    }
  }
}
