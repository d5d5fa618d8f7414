#!/usr/bin/env -S npx tsx
// Stop every process sandbox-up started (pods, kwok, istiod, kube-controller-manager, kube-apiserver, etcd, in that order), by the pids it recorded; safe
// when nothing runs. The state (certificates, etcd data, kubeconfig) stays for the next sandbox-up unless --purge.
//   npx tsx scripts/sandbox-down.ts [--purge] [--dry-run]
import { argv, echo, fs } from 'zx';
import { sandboxFiles } from '../src/sandbox/layout.ts';
import { recordedNames, runningRecord, stopRecorded } from '../src/sandbox/processes.ts';

const files = sandboxFiles();
const order = ['pods', 'kwok', 'istiod', 'kube-controller-manager', 'kube-apiserver', 'etcd'];
const names = [...order, ...recordedNames(files.pids).filter((n) => !order.includes(n))];

if (argv['dry-run']) {
  echo(`# sandbox-down plan (dry run: nothing is stopped). State ${files.dir}.`);
  for (const name of names) {
    const record = runningRecord(files.pids, name);
    echo(record ? `# stop ${name} (pid ${record.pid}): SIGTERM, SIGKILL after 10 s` : `# ${name}: not running`);
  }
  if (argv.purge) echo(`# remove ${files.dir}`);
  process.exit(0);
}

for (const name of names) {
  const result = await stopRecorded(files.pids, name);
  if (result === 'stopped') echo(`${name} stopped`);
}
if (argv.purge) {
  await fs.remove(files.dir);
  echo(`removed ${files.dir}`);
}
echo('sandbox is down');
