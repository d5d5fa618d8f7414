// Child process of the kill tests: one whole kube-target lifecycle against the fake API server, killed by the parent
// at a seeded point. Reads MESHPROOF_TEST_KUBECONFIG and MESHPROOF_TEST_RUN_ID; XDG_STATE_HOME holds the local journal.
import { KubeTarget } from '../../src/targets/kube/index.ts';
import { experimentResources } from './helpers.ts';

const target = new KubeTarget({ kubeconfig: process.env.MESHPROOF_TEST_KUBECONFIG, pollIntervalMs: 10 });
await target.prepare({ scenario: 'bookinfo', seed: 1 });
await target.snapshot(experimentResources());
await target.apply(experimentResources(), process.env.MESHPROOF_TEST_RUN_ID ?? 'kill-run');
await target.waitConverged(10_000);
await target.counters();
const report = await target.restore();
await target.close();
process.stdout.write(JSON.stringify(report));
