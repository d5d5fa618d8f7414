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
import { $, argv, echo, fs, os, path } from 'zx';
import { K6_EXTENSION_DIR, K6_EXTENSION_MODULE, K6_VERSION, XK6_VERSION, k6BuildPath, toolPath } from '../src/load/tools.ts';
import { buildStaged, missingOrExit, pruneOlderBuilds, requireGo } from './go-tool.ts';

const k6 = k6BuildPath();
const xk6 = toolPath('xk6');
const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' };

async function versionOf(binary: string): Promise<string | undefined> {
  const result = await $({ nothrow: true, quiet: true })`${binary} version`;
  return result.exitCode === 0 ? result.stdout.trim() : undefined;
}

async function buildXk6(): Promise<void> {
  if (fs.existsSync(xk6)) {
    echo(`xk6 ${XK6_VERSION} present: ${xk6}`);
    return;
  }
  echo(`building xk6 ${XK6_VERSION} from go.k6.io/xk6@v${XK6_VERSION} (module proxy)`);
  const download = await $({ env, quiet: true })`go mod download -json ${`go.k6.io/xk6@v${XK6_VERSION}`}`;
  const info = JSON.parse(download.stdout) as { Dir?: string; Error?: string };
  if (!info.Dir) throw new Error(`go mod download go.k6.io/xk6@v${XK6_VERSION} failed: ${info.Error ?? 'no directory'}`);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'xk6-src-'));
  try {
    await fs.copy(info.Dir, work);
    await $`chmod -R u+w ${work}`; // the module cache is read-only
    await buildStaged(xk6, async (staging) => {
      await $({ cwd: work, env, stdio: 'inherit' })`go build -trimpath -ldflags ${`-s -w -X main.version=${XK6_VERSION}`} -o ${path.join(staging, 'xk6')} .`;
    });
  } finally {
    await fs.remove(work);
  }
}

async function buildK6(): Promise<void> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'k6-build-'));
  try {
    echo(`building k6 v${K6_VERSION} with xk6 and ${K6_EXTENSION_DIR} (several minutes on 2 cores with a cold Go cache)`);
    await buildStaged(k6, async (staging) => {
      const extension = `${K6_EXTENSION_MODULE}=${K6_EXTENSION_DIR}`;
      await $({ cwd: work, env, stdio: 'inherit' })`${xk6} build ${`v${K6_VERSION}`} --with ${extension} --output ${path.join(staging, 'k6')}`;
      const version = await versionOf(path.join(staging, 'k6'));
      if (!version?.includes(`v${K6_VERSION}`)) throw new Error(`the built k6 reports "${version ?? ''}", expected v${K6_VERSION}`);
    });
  } finally {
    await fs.remove(work);
  }
}

const missing = missingOrExit([{ label: `k6 v${K6_VERSION} (${path.basename(path.dirname(k6))})`, binary: k6 }]);
await requireGo(missing);
const started = Date.now();
try {
  await buildXk6();
  await buildK6();
  if (!argv['keep-old']) await pruneOlderBuilds(k6, 'k6-');
} catch (err) {
  echo(`k6-build failed: ${(err as Error).message}`);
  process.exit(1);
}
echo(`k6 v${K6_VERSION} built in ${Math.round((Date.now() - started) / 1000)} s: ${k6}`);
echo((await versionOf(k6)) ?? '(the built k6 does not run)');
