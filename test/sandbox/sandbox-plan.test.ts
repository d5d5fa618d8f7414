// sandbox-up without starting anything: --dry-run, missing binaries, bad options, a port in use. No cluster.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compiledEntry } from '../../bin/compiled.js';
import { tempDir } from '../support/temp-dir.ts';

const root = resolve(import.meta.dirname, '../..');
const scratch = tempDir('meshproof-sandbox-plan-');
/** The pods process's program: the bundle's (made by the tests' global setup), else the source through tsx. */
const podsMain = compiledEntry('src/sandbox/pods-main.ts') ?? join(root, 'src', 'sandbox', 'pods-main.ts');

function sandboxDown(env: Record<string, string>): Promise<void> {
  return new Promise((done) =>
    execFile(
      process.execPath,
      ['--import', 'tsx', join(root, 'scripts', 'sandbox-down.ts'), '--purge'],
      { env: { ...process.env, ...env }, cwd: root, timeout: 60_000 },
      () => done(),
    ),
  );
}

function sandboxUp(args: string[], env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((done) =>
    execFile(
      process.execPath,
      ['--import', 'tsx', join(root, 'scripts', 'sandbox-up.ts'), ...args],
      { env: { ...process.env, ...env }, cwd: root, timeout: 60_000 },
      (error, stdout, stderr) => done({ code: error ? Number((error as NodeJS.ErrnoException).code ?? 1) : 0, output: `${stdout}${stderr}` }),
    ),
  );
}

describe('sandbox-up plan', () => {
  it('--dry-run prints every process with its loopback flags and the pods it would write, and creates nothing', async () => {
    const state = join(scratch, 'dry');
    const { code, output } = await sandboxUp(['--dry-run', '--port-base', '31000'], { MESHPROOF_SANDBOX: state });
    expect(code).toBe(0);
    expect(output).toContain('--listen-client-urls=http://127.0.0.1:31000');
    expect(output).toContain('--secure-port=31002');
    expect(output).toContain('--authorization-mode=Node,RBAC');
    expect(output).toContain('--endpoint-reconciler-type=none');
    expect(output).toContain('--grpcAddr=127.0.0.1:31003');
    expect(output).toContain('--clusterID=Kubernetes');
    expect(output).toMatch(/default\/reviews-v3-sandbox-0 192\.0\.2\.\d+/);
    expect(output).toContain(`--egress-selector-config-file=${join(state, 'egress-selector.yaml')}`);
    expect(output).toContain(`${podsMain} --scenario=bookinfo --play-when-told\n`);
    // The gateway on a port of this host, as kind-up's cluster maps its NodePort: the last of the twelve.
    expect(output).toContain("the ingress gateway on this host at http://127.0.0.1:31011 (the gateway Service's meshproof.dev/host-url");
    expect(existsSync(state)).toBe(false);
  });

  it('--scenario takes an example folder (its scenario/): its objects applied with -k, its namespace labelled, its pods planned', async () => {
    const state = join(scratch, 'folder');
    const { code, output } = await sandboxUp(['--dry-run', '--port-base', '31000', '--scenario', 'examples/two-services'], { MESHPROOF_SANDBOX: state });
    expect(code).toBe(0);
    const folder = join(root, 'examples', 'two-services', 'scenario');
    expect(output).toContain(`apply -k examples/two-services/scenario`);
    expect(output).toContain('label namespace shop istio-injection=enabled --overwrite');
    expect(output).toMatch(/shop\/backend-v1-sandbox-0 192\.0\.2\.\d+/);
    expect(output).toMatch(/shop\/backend-v2-sandbox-0 192\.0\.2\.\d+/);
    expect(output).not.toContain('reviews-v3');
    expect(output).toContain(`${podsMain} --scenario=${folder} --play-when-told\n`);
    expect(existsSync(state)).toBe(false);
  });

  it('refuses a scenario folder that does not exist, exit 2', async () => {
    const { code, output } = await sandboxUp(['--dry-run', '--scenario', 'examples/no-such-folder'], { MESHPROOF_SANDBOX: join(scratch, 'none') });
    expect(code).toBe(2);
    expect(output).toMatch(/--scenario: scenario folder .*no-such-folder does not exist/);
  });

  it("plans a scenario that runs Open Policy Agent like any other (istiod's HTTP/2 cluster of its gRPC port no longer stops the proxies)", async () => {
    const { code, output } = await sandboxUp(['--dry-run', '--scenario', 'examples/researchflow'], { MESHPROOF_SANDBOX: join(scratch, 'opa') });
    expect(code, output).toBe(0);
    expect(output).toContain(`${podsMain} --scenario=${join(root, 'examples', 'researchflow', 'scenario')} --play-when-told\n`);
  });

  it("refuses a scenario holding meshproof's own kinds (ExternalHost), exit 2", async () => {
    const { code, output } = await sandboxUp(['--dry-run', '--scenario', 'examples/threat-modeling'], { MESHPROOF_SANDBOX: join(scratch, 'own') });
    expect(code).toBe(2);
    expect(output).toMatch(/--scenario: scenario .*threat-modeling\/scenario holds meshproof's own objects \(ExternalHost\//);
  });

  it('names each missing binary and the command that builds it, and creates nothing', async () => {
    const state = join(scratch, 'missing');
    const { code, output } = await sandboxUp([], { MESHPROOF_SANDBOX: state, MESHPROOF_TOOLS: join(scratch, 'no-tools') });
    expect(code).toBe(1);
    expect(output).toMatch(/- etcd \(.*no-tools\/etcd-v3\.6\.8\/etcd\): npx tsx scripts\/k8s-build\.ts/);
    expect(output).toMatch(/- kube-apiserver \(.*\): npx tsx scripts\/k8s-build\.ts/);
    expect(output).toMatch(/- kubectl \(.*\): npx tsx scripts\/k8s-build\.ts/);
    expect(output).toMatch(/- pilot-discovery \(.*\): npx tsx scripts\/istiod-build\.ts/);
    expect(existsSync(state)).toBe(false);
  });

  it('a port of its twelve that another process holds is said at once (exit 1): nothing written, nothing started', async () => {
    const state = join(scratch, 'busy');
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(31111, '127.0.0.1', resolve));
    try {
      const { code, output } = await sandboxUp(['--port-base', '31100'], { MESHPROOF_SANDBOX: state });
      expect(code, output).toBe(1);
      expect(output).toContain(
        "port 31111 of the sandbox's 12 (31100-31111) in use by another process; --port-base N (or MESHPROOF_SANDBOX_PORT_BASE) moves them",
      );
      expect(existsSync(state)).toBe(false);
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
      // Had the check let it through, a whole sandbox would be running on these ports.
      if (existsSync(state)) await sandboxDown({ MESHPROOF_SANDBOX: state, MESHPROOF_SANDBOX_PORT_BASE: '31100' });
    }
  });

  it('refuses a port base that leaves no room for its twelve ports, exit 2', async () => {
    const { code, output } = await sandboxUp(['--dry-run', '--port-base', '65530'], { MESHPROOF_SANDBOX: join(scratch, 'bad') });
    expect(code).toBe(2);
    expect(output).toContain('--port-base: port base must be an integer from 1024 to 65523, got 65530');
  });
});
