// `meshproof run --deploy-echo` as users call it: the combinations it refuses are bad input (exit 2) before anything
// is started or any cluster is contacted (no kubeconfig is given).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const twoServices = 'examples/two-services/experiments/01-backend-split-80-20.yaml';

function meshproof(args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin/meshproof.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', KUBECONFIG: join(root, 'no-such-kubeconfig') },
    timeout: 60_000,
  });
  return { code: r.status, stderr: r.stderr };
}

describe('meshproof run --deploy-echo: refused combinations (exit 2)', () => {
  it('on the local target, which runs a folder as echo workloads already', () => {
    const r = meshproof(['run', twoServices, '--deploy-echo']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('--deploy-echo: the local target already runs every Deployment of a scenario folder as an echo workload');
  });

  it("with the built-in Bookinfo scenario, whose workloads are Bookinfo's own apps", () => {
    const r = meshproof(['run', 'experiments/bookinfo/01-route-all-v1.yaml', '--target', 'kube', '--deploy-echo']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('these experiments use the built-in scenario bookinfo');
  });

  it('its options without it', () => {
    const r = meshproof(['run', twoServices, '--target', 'kube', '--echo-namespace', 'mine']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('--echo-namespace: --echo-namespace is an option of --deploy-echo, which was not given');
  });
});
