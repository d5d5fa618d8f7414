// The programs the benchmarks run, installed or built on first use and reused afterwards (idempotent):
// - wrk from Debian (apt-get), the reference every load tool is compared with;
// - fortio (Istio's load tool) with `go install` from the Go module proxy, pinned, into the tools cache;
// - k6 as the k6 driver uses it (scripts/k6-build.ts, pinned in src/load/tools.ts);
// - the trivial loopback server (bench/trivial-server/main.go, standard library only), built with the Go toolchain.
// Tools cache: "${MESHPROOF_TOOLS:-$HOME/.cache/meshproof/tools}/<name>-<version>/<name>", as for k6.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { K6_VERSION, k6Path, toolsDir } from '../src/load/tools.ts';
import { repoRoot } from './process.ts';

/**
 * fortio release built with `go install`. 1.69.0 and later import grol.io/grol (fortio's `script` command), which
 * the Go module proxy reachable here refuses (403), so 1.68.2 is the newest fortio that builds; its load engine is
 * the same one Istio's own performance benchmarks drive.
 */
export const FORTIO_VERSION = '1.68.2';

export interface Tool {
  path: string;
  version: string;
}

export interface BenchTools {
  wrk: Tool;
  fortio: Tool;
  k6: Tool;
  trivialServer: Tool;
  go: string;
}

function say(message: string): void {
  console.error(`[bench tools] ${message}`);
}

/** The environment for Go builds: the Go toolchain on PATH (Debian's or /usr/local/go), no cgo. */
function goEnv(): NodeJS.ProcessEnv {
  const path = existsSync('/usr/local/go/bin/go') ? `/usr/local/go/bin:${process.env.PATH ?? ''}` : process.env.PATH;
  return { ...process.env, PATH: path, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' };
}

function goVersion(env: NodeJS.ProcessEnv): string {
  const result = spawnSync('go', ['version'], { encoding: 'utf8', env });
  if (result.status !== 0) throw new Error('go is required to build fortio and the trivial server (apt-get install golang-go, or https://go.dev/dl)');
  return result.stdout.trim();
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, cwd?: string): void {
  say(`$ ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'], env, cwd });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status}`);
}

/** Build into `<dir>.partial`, then move into place: an interrupted build is never taken for a finished one. */
function buildInto(binary: string, build: (stagingDir: string) => void): void {
  const dir = dirname(binary);
  const staging = `${dir}.partial`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  build(staging);
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
}

function which(name: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

export function ensureWrk(): Tool {
  let path = which('wrk');
  if (!path) {
    if (process.getuid?.() !== 0) throw new Error('wrk is missing: install the Debian package (sudo apt-get install wrk)');
    say('installing wrk from Debian');
    run('apt-get', ['update', '-qq']);
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'wrk'], { ...process.env, DEBIAN_FRONTEND: 'noninteractive' });
    path = which('wrk');
    if (!path) throw new Error('apt-get installed wrk but it is not on PATH');
  }
  const version = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'wrk'], { encoding: 'utf8' }).stdout?.trim();
  return { path, version: `wrk ${version || '(version unknown)'}` };
}

export function ensureFortio(): Tool {
  const binary = join(toolsDir(), `fortio-${FORTIO_VERSION}`, 'fortio');
  if (!existsSync(binary)) {
    const env = goEnv();
    goVersion(env);
    say(`building fortio ${FORTIO_VERSION} (go install from the module proxy, about a minute)`);
    buildInto(binary, (staging) =>
      run('go', ['install', '-trimpath', '-ldflags', '-s -w', `fortio.org/fortio@v${FORTIO_VERSION}`], { ...env, GOBIN: staging }),
    );
  }
  const version = execFileSync(binary, ['version'], { encoding: 'utf8' }).trim();
  if (version !== FORTIO_VERSION) throw new Error(`${binary} reports version ${version}, expected ${FORTIO_VERSION}`);
  return { path: binary, version: `fortio ${version}` };
}

export function ensureK6(): Tool {
  const binary = k6Path();
  if (!existsSync(binary)) {
    say('building k6 (scripts/k6-build.ts; several minutes with a cold Go cache)');
    run(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts', 'k6-build.ts')], goEnv(), repoRoot);
  }
  const [version = ''] = execFileSync(binary, ['version'], { encoding: 'utf8' }).trim().split('\n');
  if (!version.includes(`v${K6_VERSION}`) && !process.env.MESHPROOF_K6) throw new Error(`${binary} reports "${version}", expected v${K6_VERSION}`);
  return { path: binary, version };
}

/** Built from source; the cache key is the source's hash, so an edited server is rebuilt. */
export function ensureTrivialServer(): Tool {
  const source = join(repoRoot, 'bench', 'trivial-server', 'main.go');
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 12);
  const binary = join(toolsDir(), `trivial-server-${hash}`, 'trivial-server');
  const env = goEnv();
  const go = goVersion(env);
  if (!existsSync(binary)) {
    say('building the trivial server (bench/trivial-server/main.go)');
    buildInto(binary, (staging) => run('go', ['build', '-trimpath', '-o', join(staging, 'trivial-server'), 'main.go'], env, dirname(source)));
  }
  return { path: binary, version: `Go net/http (${go.replace(/^go version /, '')})` };
}

export function ensureBenchTools(): BenchTools {
  const env = goEnv();
  return {
    wrk: ensureWrk(),
    fortio: ensureFortio(),
    k6: ensureK6(),
    trivialServer: ensureTrivialServer(),
    go: goVersion(env).replace(/^go version /, ''),
  };
}

// `node --import tsx bench/tools.ts` installs/builds everything and prints where it is.
if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(ensureBenchTools(), null, 2));
}
