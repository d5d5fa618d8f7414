#!/usr/bin/env -S npx tsx
// Build the pinned k6 with xk6 and meshproof's extension (tools/xk6-meshproof, the k6 driver's binary records) from
// the Go module proxy, into the tools cache under a key holding the extension's source hash; reuse it when it is
// already there. After a new build, older k6-* builds are removed.
//   npx tsx scripts/k6-build.ts            build (or say where the existing build is)
//   npx tsx scripts/k6-build.ts --print    print the binary's path only
//   npx tsx scripts/k6-build.ts --keep-old keep older k6 builds (another checkout sharing the tools cache uses them)
//
// Why xk6 is built from its module source rather than `go install go.k6.io/xk6/cmd/xk6@v…`: the module proxy here
// answers 403 for xk6's version *list*, which `go install pkg@version` reads to check for deprecation, and building
// it inside a fresh module needs checksum-database look-ups that fail for one of its dependencies. `go mod download`
// of the exact version works, and building inside that module uses xk6's own go.sum (hashes pinned by xk6).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { K6_EXTENSION_DIR, K6_EXTENSION_MODULE, K6_VERSION, XK6_VERSION, k6BuildPath, toolPath, toolsDir } from '../src/load/tools.ts';

const k6 = k6BuildPath();
const xk6 = toolPath('xk6');

function say(message: string): void {
  console.log(`[k6-build] ${message}`);
}

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): void {
  say(`$ ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: options.cwd, env: options.env ?? process.env });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} exited with ${result.status}`);
}

function versionOf(binary: string): string | undefined {
  const result = spawnSync(binary, ['version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** Moves a finished build into place, so an interrupted build is never mistaken for a finished one. */
function install(staging: string, binary: string): void {
  const dir = dirname(binary);
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
}

function buildXk6(env: NodeJS.ProcessEnv): void {
  if (existsSync(xk6)) {
    say(`xk6 ${XK6_VERSION} present: ${xk6}`);
    return;
  }
  say(`building xk6 ${XK6_VERSION} from go.k6.io/xk6@v${XK6_VERSION} (module proxy)`);
  const info = JSON.parse(execFileSync('go', ['mod', 'download', '-json', `go.k6.io/xk6@v${XK6_VERSION}`], { encoding: 'utf8', env })) as {
    Dir?: string;
    Error?: string;
  };
  if (!info.Dir) throw new Error(`go mod download go.k6.io/xk6@v${XK6_VERSION} failed: ${info.Error ?? 'no directory'}`);
  const work = mkdtempSync(join(tmpdir(), 'xk6-src-'));
  const staging = `${dirname(xk6)}.partial`;
  try {
    cpSync(info.Dir, work, { recursive: true });
    execFileSync('chmod', ['-R', 'u+w', work]); // the module cache is read-only
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    run('go', ['build', '-trimpath', '-ldflags', `-s -w -X main.version=${XK6_VERSION}`, '-o', join(staging, 'xk6'), '.'], { cwd: work, env });
    install(staging, xk6);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function buildK6(env: NodeJS.ProcessEnv): void {
  const staging = `${dirname(k6)}.partial`;
  const work = mkdtempSync(join(tmpdir(), 'k6-build-'));
  try {
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    say(`building k6 v${K6_VERSION} with xk6 and ${K6_EXTENSION_DIR} (several minutes on 2 cores with a cold Go cache)`);
    const extension = `${K6_EXTENSION_MODULE}=${K6_EXTENSION_DIR}`;
    run(xk6, ['build', `v${K6_VERSION}`, '--with', extension, '--output', join(staging, 'k6')], { cwd: work, env });
    const version = versionOf(join(staging, 'k6'));
    if (!version?.includes(`v${K6_VERSION}`)) throw new Error(`the built k6 reports "${version}", expected v${K6_VERSION}`);
    install(staging, k6);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Removes k6 builds other than this one (older versions or extension sources), once this one is in place. */
function pruneOldBuilds(): void {
  const keep = basename(dirname(k6));
  for (const entry of readdirSync(toolsDir())) {
    if (entry.startsWith('k6-') && entry !== keep && !entry.endsWith('.partial')) {
      say(`removing the older build ${entry}`);
      rmSync(join(toolsDir(), entry), { recursive: true, force: true });
    }
  }
}

if (process.argv.includes('--print')) {
  console.log(k6);
  process.exit(0);
}

const present = existsSync(k6) ? versionOf(k6) : undefined;
if (present) {
  say(`k6 present (${present}): ${k6}`);
  process.exit(0);
}

if (spawnSync('go', ['version'], { encoding: 'utf8' }).status !== 0) {
  console.error('[k6-build] go is required: k6 is built from source (apt-get install golang-go, or https://go.dev/dl)');
  process.exit(1);
}

const started = Date.now();
const env: NodeJS.ProcessEnv = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' };
try {
  buildXk6(env);
  buildK6(env);
  if (!process.argv.includes('--keep-old')) pruneOldBuilds();
} catch (err) {
  console.error(`[k6-build] failed: ${(err as Error).message}`);
  process.exit(1);
}
say(`k6 v${K6_VERSION} built in ${Math.round((Date.now() - started) / 1000)} s: ${k6}`);
say(versionOf(k6) ?? '(the built k6 does not run)');
