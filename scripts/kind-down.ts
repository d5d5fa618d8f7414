#!/usr/bin/env -S npx tsx
// Delete the kind cluster scripts/kind-up.ts made (and its generated config files). Idempotent.
//   npx tsx scripts/kind-down.ts [--name meshproof] [--dry-run]
import { $, argv, echo, fs, os, path, which } from 'zx';
import { defaultKindSetup, toolHints } from '../src/targets/kube/kind.ts';

const name = String(argv.name ?? defaultKindSetup.name);
const args = ['kind', 'delete', 'cluster', '--name', name];
const workDir = path.join(os.tmpdir(), `meshproof-kind-up-${name}`);

echo(`$ ${args.join(' ')}`);
if (argv['dry-run']) process.exit(0);
if (!(await which('kind', { nothrow: true }))) {
  echo(`kind is not installed (${toolHints.kind}); there is no kind cluster to delete.`);
  process.exit(1);
}
const clusters = (await $({ quiet: true, nothrow: true })`kind get clusters`).stdout.split('\n').map((l) => l.trim());
if (!clusters.includes(name)) {
  echo(`no kind cluster named ${name}: nothing to delete`);
} else {
  await $({ stdio: 'inherit' })`${args}`;
}
await fs.remove(workDir);
