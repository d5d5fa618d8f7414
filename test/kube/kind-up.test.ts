// scripts/kind-up.ts and kind-down.ts without a container engine: the dry run prints exactly the kind config,
// IstioOperator and commands the real run executes; the IstioOperator is checked by the real, pinned istioctl
// (`istioctl manifest generate`, offline); missing tools are named with how to get them.
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { istioctlPath, istioctlVersion } from '../../src/targets/kube/istioctl.ts';
import { istioctlCandidates, istioRelease, pickIstioctl } from '../../src/targets/kube/kind.ts';
import { tempDir } from '../support/temp-dir.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

function script(name: string, args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(root, 'scripts', name), ...args],
      { cwd: root, env: { ...process.env, ...env } as NodeJS.ProcessEnv, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

/** The YAML block printed after a `# ...:` header line, up to the next `$ ` or `# ` line. */
function blockAfter(lines: string[], header: RegExp): string {
  const start = lines.findIndex((l) => header.test(l));
  expect(start, `header ${header}`).toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((l, i) => i > start && (l.startsWith('$ ') || l.startsWith('# ')));
  return lines.slice(start + 1, end).join('\n');
}

describe('kind-up.ts --dry-run', () => {
  const tmp = tempDir('meshproof-kindup-');
  const workDir = join(tmp, 'meshproof-kind-up-meshproof');
  const run = () => script('kind-up.ts', ['--dry-run', '--istioctl', '/opt/istio/bin/istioctl'], { TMPDIR: tmp, PATH: '/nonexistent' });

  it('prints the kind config and every command, in order, without docker or kind', async () => {
    const { code, stdout } = await run();
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    const kind = parse(blockAfter(lines, /^# 1\. kind cluster/));
    expect(kind).toEqual({
      kind: 'Cluster',
      apiVersion: 'kind.x-k8s.io/v1alpha4',
      name: 'meshproof',
      nodes: [{ role: 'control-plane', extraPortMappings: [{ containerPort: 30080, hostPort: 8080, listenAddress: '127.0.0.1', protocol: 'TCP' }] }],
    });
    const ctx = 'kubectl --context kind-meshproof';
    expect(lines.filter((l) => l.startsWith('$ '))).toEqual([
      `$ kind create cluster --name meshproof --config ${workDir}/kind-config.yaml --wait 120s`,
      `$ ${ctx} wait --for=condition=Ready nodes --all --timeout=120s`,
      `$ /opt/istio/bin/istioctl install --context kind-meshproof -y -f ${workDir}/istio-operator.yaml`,
      `$ ${ctx} label namespace default istio-injection=enabled --overwrite`,
      `$ ${ctx} -n default apply -k scenarios/bookinfo`,
      `$ ${ctx} -n default rollout restart 'deployment/<name>'`,
      ...['details-v1', 'ratings-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3', 'productpage-v1'].map(
        (d) => `$ ${ctx} -n default rollout status deployment/${d} --timeout=300s`,
      ),
    ]);
    expect(lines.at(-1)).toBe('# 4. wait until http://127.0.0.1:8080/productpage answers 200, then print the URL');
  });

  it('prints an IstioOperator that the real istioctl renders as promised: pinned images, NodePort 30080, the URL annotation, the stats meshproof reads', async () => {
    const { stdout } = await run();
    const operator = blockAfter(stdout.split('\n'), /^# 2\. Istio, with/);
    const file = join(tmp, 'operator.yaml');
    writeFileSync(file, operator);
    const manifest = await new Promise<string>((resolve, reject) =>
      execFile(
        istioctlPath(),
        ['manifest', 'generate', '-f', file],
        { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, KUBECONFIG: '/dev/null' } },
        (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
      ),
    );
    const objects = parseAllDocuments(manifest)
      .map((d) => d.toJS())
      .filter(Boolean) as { kind: string; metadata: { name: string; annotations?: Record<string, string> }; spec?: unknown; data?: Record<string, string> }[];
    type ServiceSpec = { type: string; ports: unknown[] };
    type DeploymentSpec = { template: { spec: { containers: { image: string }[] } } };
    const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'istio-ingressgateway')!;
    expect((service.spec as ServiceSpec).type).toBe('NodePort');
    expect((service.spec as ServiceSpec).ports).toContainEqual({ name: 'http2', port: 80, targetPort: 8080, nodePort: 30080, protocol: 'TCP' });
    expect(service.metadata.annotations).toMatchObject({ 'meshproof.dev/host-url': 'http://127.0.0.1:8080' });
    const mesh = parse(objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'istio')?.data?.mesh ?? '');
    expect(mesh.defaultConfig.proxyStatsMatcher).toEqual({
      inclusionPrefixes: ['cluster.outbound'],
      inclusionRegexps: ['.*http_local_rate_limit.*', '.*rbac.*'],
    });
    const images = objects.filter((o) => o.kind === 'Deployment').flatMap((o) => (o.spec as DeploymentSpec).template.spec.containers.map((c) => c.image));
    expect(images.sort()).toEqual([`docker.io/istio/pilot:${istioRelease}`, `docker.io/istio/proxyv2:${istioRelease}`]);
  });

  it('follows --name and --port', async () => {
    const { stdout } = await script('kind-up.ts', ['--dry-run', '--name', 'demo', '--port', '9090', '--istioctl', 'istioctl'], {
      TMPDIR: tmp,
      PATH: '/nonexistent',
    });
    expect(stdout).toContain('hostPort: 9090');
    expect(stdout).toContain('meshproof.dev/host-url: http://127.0.0.1:9090');
    expect(stdout).toContain(`$ kind create cluster --name demo --config ${tmp}/meshproof-kind-up-demo/kind-config.yaml --wait 120s`);
    expect(stdout).toContain('$ kubectl --context kind-demo -n default apply -k scenarios/bookinfo');
  });
});

describe('kind-up.ts and the istioctl version', () => {
  /** A PATH whose docker, kind and kubectl only log their arguments and fail, plus an istioctl printing `versionText` (no `'`). */
  function fakeTools(versionText: string): { bin: string; log: string; istioctl: string } {
    const dir = tempDir('meshproof-fake-tools-');
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const log = join(dir, 'calls.log');
    for (const tool of ['docker', 'kind', 'kubectl']) {
      writeFileSync(join(bin, tool), `#!/bin/bash\necho "${tool} $*" >> ${log}\nexit 1\n`, { mode: 0o755 });
    }
    const istioctl = join(dir, 'istioctl');
    writeFileSync(istioctl, `#!/bin/bash\necho "istioctl $*" >> ${log}\necho '${versionText}'\n`, { mode: 0o755 });
    return { bin, log, istioctl };
  }
  const calls = (log: string) => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);

  it('the dry run shows the version of the istioctl it would use and that a real run refuses another minor', async () => {
    const { code, stdout } = await script('kind-up.ts', ['--dry-run', '--istioctl', istioctlPath()], { PATH: '/nonexistent' });
    expect(code).toBe(0);
    expect(stdout.split('\n')[1]).toBe(
      `# istioctl ${istioctlPath()} is version ${istioctlVersion}, not 1.28.x: its charts are not Istio ${istioRelease}'s (kind-up pins only the images), so kind-up refuses it unless --force. ` +
        `Get istioctl ${istioRelease}: \`curl -L https://istio.io/downloadIstio | ISTIO_VERSION=${istioRelease} sh -\`, then pass --istioctl istio-${istioRelease}/bin/istioctl (or put it first on PATH). (The pinned source build is for \`meshproof validate --istio\`, not for installing.)`,
    );
  });

  it('the dry run says when it cannot tell the version', async () => {
    const { stdout } = await script('kind-up.ts', ['--dry-run', '--istioctl', '/opt/istio/bin/istioctl'], { PATH: '/nonexistent' });
    expect(stdout.split('\n')[1]).toMatch(
      /^# istioctl \/opt\/istio\/bin\/istioctl: cannot tell its version \(not found\); kind-up installs Istio 1\.28\.3 only with istioctl 1\.28\.x unless --force/,
    );
  });

  it('a real run refuses an istioctl of another minor before running anything', async () => {
    const tools = fakeTools('client version: 1.31-eed52ebb66ad');
    const { code, stdout } = await script('kind-up.ts', ['--istioctl', tools.istioctl], { PATH: tools.bin });
    expect(code).toBe(1);
    expect(stdout).toContain(`istioctl ${tools.istioctl} is version 1.31-eed52ebb66ad, not 1.28.x`);
    expect(stdout).toContain(`ISTIO_VERSION=${istioRelease} sh -`);
    expect(stdout).not.toContain('$ ');
    expect(calls(tools.log)).toEqual(['istioctl version --remote=false -o json']);
  });

  it('picks an istioctl of the Istio minor it installs: a downloadIstio folder in the home directory over a 1.31 one on PATH (issue 16 item 11)', async () => {
    const tools = fakeTools('client version: 1.31-eed52ebb66ad');
    writeFileSync(join(tools.bin, 'istioctl'), readFileSync(tools.istioctl));
    chmodSync(join(tools.bin, 'istioctl'), 0o755);
    const home = tempDir('meshproof-home-');
    const downloaded = join(home, `istio-${istioRelease}`, 'bin');
    mkdirSync(downloaded, { recursive: true });
    writeFileSync(join(downloaded, 'istioctl'), `#!/bin/bash\necho 'client version: ${istioRelease}'\n`, { mode: 0o755 });
    const { stdout } = await script('kind-up.ts', ['--dry-run'], { PATH: `${tools.bin}:/usr/bin:/bin`, HOME: home });
    expect(stdout.split('\n')[1]).toBe(`# istioctl ${join(downloaded, 'istioctl')} is version ${istioRelease}`);
  });

  it('istioctl candidates: PATH, downloadIstio folders newest first (here, then home), then the pinned build; the first of the right minor wins', () => {
    const dirs = (folder: string) =>
      folder === '/work' ? ['istio-1.27.1', 'istio-1.28.10', 'istio-1.28.3', 'notes'] : folder === '/home/u' ? ['istio-1.28.0'] : [];
    const candidates = istioctlCandidates({ onPath: '/usr/local/bin/istioctl', cwd: '/work', home: '/home/u', pinned: '/cache/istioctl', dirs });
    expect(candidates).toEqual([
      '/usr/local/bin/istioctl',
      '/work/istio-1.28.10/bin/istioctl',
      '/work/istio-1.28.3/bin/istioctl',
      '/work/istio-1.27.1/bin/istioctl',
      '/home/u/istio-1.28.0/bin/istioctl',
      '/cache/istioctl',
    ]);
    const versions = new Map<string, string | undefined>([
      ['/usr/local/bin/istioctl', '1.31.0'],
      ['/work/istio-1.28.10/bin/istioctl', '1.28.10'],
      ['/cache/istioctl', '1.31-eed52ebb66ad'],
    ]);
    expect(pickIstioctl(candidates, versions, '1.28.3')).toBe('/work/istio-1.28.10/bin/istioctl');
    // None of the right minor: the first that runs, which the check refuses with how to get one.
    expect(
      pickIstioctl(
        ['/a', '/b'],
        new Map([
          ['/a', undefined],
          ['/b', '1.31.0'],
        ]),
        '1.28.3',
      ),
    ).toBe('/b');
  });

  it('--force goes on with a warning', async () => {
    const tools = fakeTools('client version: 1.31-eed52ebb66ad');
    const { code, stdout } = await script('kind-up.ts', ['--istioctl', tools.istioctl, '--force'], { PATH: tools.bin });
    expect(stdout).toContain(`warning (--force): istioctl ${tools.istioctl} is version 1.31-eed52ebb66ad`);
    // the next step: the (fake) docker daemon does not answer
    expect(stdout).toContain('docker is installed but its daemon does not answer');
    expect(code).toBe(1);
  });

  it('a matching release istioctl (JSON version output) goes on without a warning', async () => {
    const tools = fakeTools(JSON.stringify({ clientVersion: { version: istioRelease, revision: 'abc', tag: istioRelease } }));
    const { stdout } = await script('kind-up.ts', ['--istioctl', tools.istioctl], { PATH: tools.bin });
    expect(stdout).toContain(`istioctl ${tools.istioctl} is version ${istioRelease}\n`);
    expect(stdout).not.toContain('warning');
    expect(stdout).toContain('docker is installed but its daemon does not answer');
  });
});

describe('kind-up.ts without its tools', () => {
  it('names docker and kind as missing, says how to get them, and changes nothing', async () => {
    // a PATH with only a shell: no docker, no kind, no kubectl
    const bin = join(tempDir('meshproof-path-'), 'bin');
    mkdirSync(bin);
    symlinkSync('/bin/bash', join(bin, 'bash'));
    const { code, stdout } = await script('kind-up.ts', [], { PATH: bin, MESHPROOF_ISTIOCTL: '/opt/istio/bin/istioctl' });
    expect(code).toBe(1);
    expect(stdout).toContain('kind-up needs docker, kind, kubectl, which are not installed:');
    expect(stdout).toContain(
      '  - docker: kind runs Kubernetes nodes as containers: install Docker Engine (https://docs.docker.com/engine/install/) and start it',
    );
    expect(stdout).toContain(
      '  - kind: install kind v0.29.0: `go install sigs.k8s.io/kind@v0.29.0` or https://kind.sigs.k8s.io/docs/user/quick-start/#installation',
    );
    expect(stdout).not.toContain('$ ');
  });

  it('names istioctl when there is none on PATH nor a pinned build', async () => {
    const bin = join(tempDir('meshproof-path-'), 'bin');
    mkdirSync(bin);
    const { code, stdout } = await script('kind-up.ts', [], { PATH: bin, MESHPROOF_TOOLS: join(bin, 'no-tools') });
    expect(code).toBe(1);
    expect(stdout).toContain('kind-up needs docker, kind, kubectl, istioctl');
    expect(stdout).toContain(
      `  - istioctl: download Istio ${istioRelease}'s istioctl (\`curl -L https://istio.io/downloadIstio | ISTIO_VERSION=${istioRelease} sh -\``,
    );
  });
});

describe('kind-down.ts', () => {
  it('--dry-run prints the delete command', async () => {
    const { code, stdout } = await script('kind-down.ts', ['--dry-run', '--name', 'demo'], { PATH: '/nonexistent' });
    expect(code).toBe(0);
    expect(stdout.trim()).toBe('$ kind delete cluster --name demo');
  });

  it('says kind is missing', async () => {
    const { code, stdout } = await script('kind-down.ts', [], { PATH: '/nonexistent' });
    expect(code).toBe(1);
    expect(stdout).toContain('kind is not installed');
  });
});
