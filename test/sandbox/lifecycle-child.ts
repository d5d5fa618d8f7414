// Child process of the sandbox kill tests: one kube-target lifecycle (prepare, snapshot, apply, waitConverged,
// restore) against the sandbox's real API server, reached through the parent's counting proxy. SIGINT/SIGTERM act as
// in the runner: the phase under way ends, restore runs, exit 130. SIGKILL leaves what it leaves for `cleanup`.
// Reads MESHPROOF_TEST_KUBECONFIG and MESHPROOF_TEST_RUN_ID; XDG_STATE_HOME holds the local journal.
import { KubeTarget } from '../../src/targets/kube/index.ts';
import { experimentResources } from '../kube/helpers.ts';

const target = new KubeTarget({
  scenario: 'bookinfo',
  context: 'meshproof-sandbox',
  kubeconfig: process.env.MESHPROOF_TEST_KUBECONFIG,
  pollIntervalMs: 10,
  // The settle before each push baseline only waits (its default, 300 ms, twice a lifecycle, is seconds over the 70
  // trials); istiod's own debounce is 100 ms. Every API request of the lifecycle is still made, so every kill point.
  baselineSettleMs: 100,
});
let interrupted: NodeJS.Signals | undefined;
process.on('SIGINT', (s) => (interrupted ??= s));
process.on('SIGTERM', (s) => (interrupted ??= s));
process.stderr.write('ready\n');

const phases = [
  () => target.prepare(),
  () => target.snapshot(experimentResources()),
  () => target.apply(experimentResources(), process.env.MESHPROOF_TEST_RUN_ID ?? 'kill-run'),
  () => target.waitConverged(20_000),
];
for (const phase of phases) {
  await phase();
  if (interrupted) break;
}
const report = await target.restore();
await target.close();
process.stdout.write(JSON.stringify({ ...report, interrupted: interrupted ?? null }));
process.exit(interrupted ? 130 : 0);
