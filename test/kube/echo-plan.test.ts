// --deploy-echo's plan (src/targets/kube/echo-plan.ts): what goes into the test namespace for a scenario folder, how
// names move from the folder's namespace, and the folders it refuses; and how the wait reads the pods (echo-namespace.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InterruptedError, SpecError, TargetError } from '../../src/errors.ts';
import { checkEchoOptions } from '../../src/cli/run-command.ts';
import { EchoNamespace, readiness } from '../../src/targets/kube/echo-namespace.ts';
import { echoNamespaceFor, NamespaceMapping, planEchoDeployment, type EchoPlanOptions } from '../../src/targets/kube/echo-plan.ts';
import type { Pod } from '../../src/targets/kube/pods.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { field } from '../../src/spec/untyped.ts';
import { tempDir } from '../support/temp-dir.ts';

const examples = resolve(import.meta.dirname, '../../examples');
const twoServices = join(examples, 'two-services/scenario');
const options = (scenario: string, extra: Partial<EchoPlanOptions> = {}): EchoPlanOptions => ({
  scenario,
  namespace: 'meshproof-echo-ab12',
  image: 'meshproof/echo:dev',
  runId: 'mp-20261206-041200-ab12',
  owner: { pid: 4242, host: 'ci-runner' },
  ...extra,
});
const temp = tempDir('meshproof-echo-plan-');

function folder(name: string, files: Record<string, string>): string {
  const dir = join(temp, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

describe('--deploy-echo: the plan for examples/two-services', () => {
  const plan = planEchoDeployment(options(twoServices));
  const find = (kind: string, name: string) => plan.objects.find((o) => o.kind === kind && o.metadata.name === name);

  it('a namespace labelled for injection and with its run and owner, the folder namespace skipped', () => {
    expect(plan.namespace.metadata).toEqual({
      name: 'meshproof-echo-ab12',
      labels: { 'istio-injection': 'enabled', 'meshproof.dev/echo-run': 'mp-20261206-041200-ab12' },
      annotations: { 'meshproof.dev/owner-pid': '4242', 'meshproof.dev/owner-host': 'ci-runner' },
    });
    expect(plan.skipped).toEqual(['Namespace shop (the test namespace meshproof-echo-ab12 takes its place)']);
  });

  it('every other object moved into the test namespace, the Deployments after the Services, the Istio baseline last', () => {
    expect(plan.objects.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      'ServiceAccount/meshproof-echo-ab12/frontend',
      'Service/meshproof-echo-ab12/frontend',
      'ServiceAccount/meshproof-echo-ab12/backend',
      'Service/meshproof-echo-ab12/backend',
      'Deployment/meshproof-echo-ab12/frontend-v1',
      'Deployment/meshproof-echo-ab12/backend-v1',
      'Deployment/meshproof-echo-ab12/backend-v2',
      'Gateway/meshproof-echo-ab12/shop-gateway',
      'VirtualService/meshproof-echo-ab12/shop',
      'DestinationRule/meshproof-echo-ab12/backend',
    ]);
    for (const o of plan.objects) expect(o.metadata.labels?.['meshproof.dev/echo-run']).toBe('mp-20261206-041200-ab12');
  });

  it("a Deployment runs the echo image with its labels, ports and annotation, and the echo's identity in env", () => {
    const backend = find('Deployment', 'backend-v2');
    const template = field(backend?.spec, 'template') as {
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
      spec: Record<string, unknown>;
    };
    expect(template.metadata.labels).toEqual({ app: 'backend', version: 'v2' });
    expect(template.metadata.annotations['meshproof.dev/echo']).toContain('/flaky: { errors: { share: 0.5, status: 503 } }');
    expect(template.spec).toEqual({
      serviceAccountName: 'backend',
      containers: [
        {
          name: 'backend',
          image: 'meshproof/echo:dev',
          imagePullPolicy: 'IfNotPresent',
          ports: [{ containerPort: 9000 }],
          env: [
            { name: 'MESHPROOF_ECHO_POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'MESHPROOF_ECHO_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'MESHPROOF_ECHO_BEHAVIOUR', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['meshproof.dev/echo']" } } },
            { name: 'MESHPROOF_ECHO_SERVICES', value: 'backend' },
            { name: 'MESHPROOF_ECHO_APP', value: 'backend' },
            { name: 'MESHPROOF_ECHO_VERSION', value: 'v2' },
            { name: 'MESHPROOF_ECHO_PORT', value: '9000' },
          ],
        },
      ],
    });
    expect(plan.deployments.map((d) => d.metadata.name)).toEqual(['frontend-v1', 'backend-v1', 'backend-v2']);
  });
});

describe('--deploy-echo: names that move with the namespace', () => {
  const mapping = new NamespaceMapping('shop', 'meshproof-echo-ab12', ['backend', 'frontend']);
  const object = (spec: unknown, namespace?: string): K8sObject => ({
    apiVersion: 'x/v1',
    kind: 'X',
    metadata: { name: 'x', ...(namespace ? { namespace } : {}) },
    spec,
  });

  it('the namespace itself: the folder namespace and none move, istio-system and others stay', () => {
    expect(mapping.object(object({}, 'shop')).metadata.namespace).toBe('meshproof-echo-ab12');
    expect(mapping.object(object({})).metadata.namespace).toBe('meshproof-echo-ab12');
    expect(mapping.object(object({}, 'istio-system')).metadata.namespace).toBe('istio-system');
  });

  it('host names, principals, namespace/name references and policy namespaces; other strings stay as written', () => {
    const spec = {
      hosts: ['backend.shop.svc.cluster.local', 'shop/*', 'frontend.shop', 'shopping.example.com'],
      gateways: ['shop/shop-gateway', 'mesh'],
      url: 'http://backend.shop:9000/items and http://other.shop:80/',
      rules: [{ from: [{ source: { principals: ['cluster.local/ns/shop/sa/frontend'], namespaces: ['shop', 'default'] } }] }],
      note: 'shop',
    };
    expect(mapping.object(object(spec, 'shop')).spec).toEqual({
      hosts: ['backend.meshproof-echo-ab12.svc.cluster.local', 'meshproof-echo-ab12/*', 'frontend.meshproof-echo-ab12', 'shopping.example.com'],
      gateways: ['meshproof-echo-ab12/shop-gateway', 'mesh'],
      url: 'http://backend.meshproof-echo-ab12:9000/items and http://other.shop:80/',
      rules: [{ from: [{ source: { principals: ['cluster.local/ns/meshproof-echo-ab12/sa/frontend'], namespaces: ['meshproof-echo-ab12', 'default'] } }] }],
      note: 'shop',
    });
  });

  it("the echo annotation's call URLs too", () => {
    const deployment: K8sObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd', namespace: 'shop', annotations: { 'meshproof.dev/echo': 'calls: [ "http://backend.shop:9000/x" ]' } },
    };
    expect(mapping.object(deployment).metadata.annotations).toEqual({ 'meshproof.dev/echo': 'calls: [ "http://backend.meshproof-echo-ab12:9000/x" ]' });
  });
});

describe('--deploy-echo: what it refuses (bad input, exit 2)', () => {
  const refusal = (f: () => unknown) => {
    try {
      f();
    } catch (error) {
      expect(error).toBeInstanceOf(SpecError);
      return (error as SpecError).format();
    }
    throw new Error('no refusal');
  };

  it('a built-in scenario (Bookinfo runs its own apps)', () => {
    expect(refusal(() => planEchoDeployment(options('bookinfo')))).toContain('deploys a scenario folder of your own Deployments and Services');
  });

  it('a folder over several namespaces, naming each with an object of it', () => {
    const dir = folder('two-namespaces', {
      'a.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: a, namespace: one }\nspec: { template: { metadata: { labels: { app: a } }, spec: { containers: [ { name: a, image: x } ] } } }\n',
      'b.yaml': 'apiVersion: v1\nkind: Service\nmetadata: { name: b, namespace: two }\nspec: { selector: { app: b }, ports: [ { port: 80 } ] }\n',
    });
    const message = refusal(() => planEchoDeployment(options(dir)));
    expect(message).toContain('spans 2: one (e.g. Deployment a at');
    expect(message).toContain('two (e.g. Service b at');
  });

  it('an object in istio-system that would change the whole mesh (examples/kubestock)', () => {
    expect(refusal(() => planEchoDeployment(options(join(examples, 'kubestock/scenario'))))).toContain(
      'PeerAuthentication istio-system/default would change the whole mesh',
    );
  });

  it("meshproof's own kinds, which no API server takes (examples/threat-modeling)", () => {
    expect(refusal(() => planEchoDeployment(options(join(examples, 'threat-modeling/scenario'))))).toContain("is meshproof's own kind");
  });

  it('a namespace name that is not a DNS label, or one that is not its own', () => {
    expect(refusal(() => planEchoDeployment(options(twoServices, { namespace: 'Shop_Test' })))).toContain('is not a namespace name');
    expect(refusal(() => planEchoDeployment(options(twoServices, { namespace: 'default' })))).toContain('give one of its own, not default');
  });

  it('the CLI: --deploy-echo on the local target or with a built-in scenario, its options without it', () => {
    expect(refusal(() => checkEchoOptions({ target: 'local', deployEcho: true }, twoServices))).toContain('--deploy-echo is for --target kube');
    expect(refusal(() => checkEchoOptions({ target: 'kube', deployEcho: true }, 'bookinfo'))).toContain('the built-in scenario bookinfo');
    expect(refusal(() => checkEchoOptions({ target: 'kube', echoImage: 'x' }, twoServices))).toContain('--echo-image is an option of --deploy-echo');
    expect(() => checkEchoOptions({ target: 'kube', deployEcho: true }, twoServices)).not.toThrow();
  });

  it("the default namespace: meshproof-echo- and the run id's last 4 characters", () => {
    expect(echoNamespaceFor('mp-20261206-041200-ab12')).toBe('meshproof-echo-ab12');
  });
});

describe('--deploy-echo: readiness of the echo workloads', () => {
  const plan = planEchoDeployment(options(twoServices));
  const pod = (name: string, labels: Record<string, string>, state: { ready?: boolean; sidecar?: boolean; waiting?: string }): Pod =>
    ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'meshproof-echo-ab12', labels, ...(state.sidecar ? { annotations: { 'sidecar.istio.io/status': '{}' } } : {}) },
      spec: { containers: [{ name: 'app' }, ...(state.sidecar ? [{ name: 'istio-proxy' }] : [])] },
      status: {
        phase: state.ready ? 'Running' : 'Pending',
        conditions: [{ type: 'Ready', status: state.ready ? 'True' : 'False' }],
        ...(state.waiting ? { containerStatuses: [{ name: 'app', state: { waiting: { reason: state.waiting, message: 'image not present' } } }] } : {}),
      },
    }) as unknown as Pod;

  it('ready when every Deployment has its replicas ready with a sidecar; each line says how far it is and why not', () => {
    const waiting = readiness(
      plan.deployments,
      [
        pod('frontend-v1-a', { app: 'frontend', version: 'v1' }, { ready: true, sidecar: true }),
        pod('backend-v1-a', { app: 'backend', version: 'v1' }, { ready: true, sidecar: false }),
        pod('backend-v2-a', { app: 'backend', version: 'v2' }, { waiting: 'ImagePullBackOff' }),
      ],
      'meshproof/echo:dev',
    );
    expect(waiting.ready).toBe(false);
    expect(waiting.hopeless).toBeUndefined();
    expect(waiting.lines).toEqual([
      'frontend-v1 1/1',
      'backend-v1 0/1 (ready without an istio-proxy sidecar: is the injector running for namespaces labelled istio-injection=enabled?)',
      'backend-v2 0/1 (app: ImagePullBackOff (image not present))',
    ]);
    const all = readiness(
      plan.deployments,
      ['frontend-v1', 'backend-v1', 'backend-v2'].map((d) =>
        pod(`${d}-a`, { app: d.split('-')[0] ?? '', version: d.split('-')[1] ?? '' }, { ready: true, sidecar: true }),
      ),
      'meshproof/echo:dev',
    );
    expect(all).toEqual({ ready: true, lines: ['frontend-v1 1/1', 'backend-v1 1/1', 'backend-v2 1/1'] });
  });

  it('an image the nodes do not have and may not pull is hopeless at once, saying how to load it', () => {
    const state = readiness(plan.deployments, [pod('backend-v2-a', { app: 'backend', version: 'v2' }, { waiting: 'ErrImageNeverPull' })], 'meshproof/echo:dev');
    expect(state.hopeless).toContain('backend-v2: pod backend-v2-a: ErrImageNeverPull');
    expect(state.hopeless).toContain('kind load docker-image meshproof/echo:dev');
  });

  // The wait against an API that lists these pods (only `list` is called while waiting).
  const waiting = (pods: Pod[]) => new EchoNamespace({ list: () => Promise.resolve(pods) } as never, plan, 'meshproof/echo:dev', () => {});

  it('the wait times out naming each Deployment that is not ready and why (exit 3)', async () => {
    const error = await waiting([pod('frontend-v1-a', { app: 'frontend', version: 'v1' }, { ready: true, sidecar: true })])
      .waitReady(0, undefined, 1)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TargetError);
    expect((error as Error).message).toBe(
      'the echo workloads in meshproof-echo-ab12 were not ready with sidecars within 0 s: backend-v1 0/1 (no pod yet), backend-v2 0/1 (no pod yet)',
    );
  });

  it('Ctrl-C ends the wait as an interruption (exit 130)', async () => {
    const interrupt = new AbortController();
    interrupt.abort(new InterruptedError('interrupted by SIGINT', 'SIGINT'));
    await expect(waiting([]).waitReady(60_000, interrupt.signal, 1)).rejects.toBeInstanceOf(InterruptedError);
  });

  it('removing deletes nothing when this run did not create the namespace', async () => {
    const api = { get: () => Promise.reject(new Error('must not be called')), delete: () => Promise.reject(new Error('must not be called')) };
    await expect(new EchoNamespace(api as never, plan, 'meshproof/echo:dev', () => {}).remove(1000)).resolves.toBeUndefined();
  });
});
