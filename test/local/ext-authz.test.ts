// CUSTOM authorization on the local target: the mesh config's providers (istio/api mesh/v1alpha1/config.proto,
// istiod's pilot/pkg/security/authz/builder/extauthz.go), the OPA workload's command line, the ext_authz filter's
// answers (envoy source/extensions/filters/http/ext_authz/ext_authz.cc, filters/common/ext_authz/ext_authz_grpc_impl.cc),
// and failure_mode_allow / status_on_error end to end with the real OPA absent.
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpecError } from '../../src/errors.ts';
import { parseMeshConfig } from '../../src/istio/mesh-config.ts';
import { FieldPath } from '../../src/istio/networking/fields.ts';
import type { K8sObject, ResourceRef } from '../../src/spec/types.ts';
import { customProviderWarnings } from '../../src/spec/semantics.ts';
import { relocate } from '../../src/targets/local/opa/process.ts';
import { parseOpaContainer, resolveGrpcPort } from '../../src/targets/local/opa/workload.ts';
import { checkRequestOf, outcomeOf } from '../../src/targets/local/proxy/ext-authz.ts';
import { readResult, repoRoot, runCli } from '../catalogue/cli.ts';
import { tempDir } from '../support/temp-dir.ts';

const meshMap = (mesh: string): K8sObject =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, data: { mesh } }) as unknown as K8sObject;

function specError(f: () => unknown): SpecError {
  try {
    f();
  } catch (e) {
    if (e instanceof SpecError) return e;
    throw e;
  }
  throw new Error('expected a SpecError');
}

describe('mesh config extension providers (extauthz.go processExtensionProvider)', () => {
  it("reads an envoyExtAuthzGrpc provider with istiod's defaults (timeout 600 s, failOpen false, 403 on error)", () => {
    const c = parseMeshConfig(meshMap('extensionProviders:\n  - name: opa\n    envoyExtAuthzGrpc: { service: opa.ns.svc.cluster.local, port: 9191 }\n'));
    expect(c.extensionProviders.get('opa')).toEqual({
      name: 'opa',
      kind: 'envoyExtAuthzGrpc',
      service: 'opa.ns.svc.cluster.local',
      port: 9191,
      timeoutMs: 600_000,
      failOpen: false,
    });
  });

  it('a provider istiod finds errors in is kept with them (CUSTOM policies naming it deny)', () => {
    const c = parseMeshConfig(
      meshMap(
        [
          'extensionProviders:',
          '  - { name: Bad_Name, envoyExtAuthzGrpc: { service: a, port: 1 } }',
          '  - { name: status, envoyExtAuthzGrpc: { service: a, port: 1, statusOnError: "299" } }',
          '  - { name: prom, prometheus: {} }',
        ].join('\n'),
      ),
    );
    expect(c.extensionProviders.get('Bad_Name')).toMatchObject({ invalid: expect.stringMatching(/lowercase/) });
    expect(c.extensionProviders.get('status')).toMatchObject({ invalid: 'unsupported statusOnError 299' });
    expect(c.extensionProviders.has('prom')).toBe(false);
  });

  it('a provider named twice: the later one replaces the earlier (pkg/config/mesh/mesh.go ApplyMeshConfig merges by name; test/fidelity/authz-vs-istiod.test.ts compares it with istiod)', () => {
    const c = parseMeshConfig(
      meshMap(
        [
          'extensionProviders:',
          '  - { name: dup, envoyExtAuthzGrpc: { service: a, port: 1 } }',
          '  - { name: dup, envoyExtAuthzGrpc: { service: b, port: 2 } }',
          '  - { name: gone, envoyExtAuthzGrpc: { service: a, port: 1 } }',
          '  - { name: gone, zipkin: { service: z, port: 9411 } }',
        ].join('\n'),
      ),
    );
    expect(c.extensionProviders.get('dup')).toMatchObject({ service: 'b', port: 2 });
    expect(c.extensionProviders.has('gone')).toBe(false);
  });

  it('refuses what the local target does not run, naming the field', () => {
    expect(specError(() => parseMeshConfig(meshMap('extensionProviders:\n  - name: h\n    envoyExtAuthzHttp: { service: a, port: 1 }\n'))).path).toBe(
      'ConfigMap istio-system/istio: data.mesh.extensionProviders[0].envoyExtAuthzHttp',
    );
    expect(
      specError(() =>
        parseMeshConfig(meshMap('extensionProviders:\n  - name: g\n    envoyExtAuthzGrpc: { service: a, port: 1, includeRequestBodyInCheck: {} }\n')),
      ).path,
    ).toBe('ConfigMap istio-system/istio: data.mesh.extensionProviders[0].envoyExtAuthzGrpc.includeRequestBodyInCheck');
    expect(specError(() => parseMeshConfig(meshMap('outboundTrafficPolicy: { mode: ALLOW_ANY_DYNAMIC_DNS }\n'))).path).toBe(
      'ConfigMap istio-system/istio: data.mesh.outboundTrafficPolicy.mode',
    );
    expect(specError(() => parseMeshConfig(meshMap('outboundTrafficPolicy: { egressProxy: { host: egress } }\n'))).path).toBe(
      'ConfigMap istio-system/istio: data.mesh.outboundTrafficPolicy.egressProxy',
    );
  });
});

describe('the OPA container as the local target runs it', () => {
  const at = FieldPath.of('Deployment', 'opa').key('spec.template.spec.containers').index(0);
  const podAt = FieldPath.of('Deployment', 'opa').key('spec.template.spec');
  const pod = { volumes: [{ name: 'policy', configMap: { name: 'opa-policy' } }] };
  const mounts = [{ name: 'policy', mountPath: '/policy' }];

  it('takes the REST and ext_authz ports from the arguments and leaves the rest as written', () => {
    const spec = parseOpaContainer(
      {
        args: ['run', '--server', '--addr', '0.0.0.0:8282', '--set=plugins.envoy_ext_authz_grpc.addr=:9292', '--log-level=debug', '/policy/p.rego'],
        volumeMounts: mounts,
      },
      pod,
      at,
      podAt,
    );
    expect(spec).toMatchObject({ args: ['run', '--server', '--log-level=debug', '/policy/p.rego'], restPort: 8282, grpcPort: 9292 });
    expect(spec.mounts).toEqual([{ mountPath: '/policy', configMap: 'opa-policy', at: 'Deployment opa: spec.template.spec.volumes[0].configMap.name' }]);
  });

  it("a plugin configured without an address listens on opa-envoy-plugin's default :9191; without the plugin there is no ext_authz port", () => {
    expect(parseOpaContainer({ args: ['run', '--server', '--set=plugins.envoy_ext_authz_grpc.path=a/b'] }, {}, at, podAt).grpcPort).toBe(9191);
    expect(parseOpaContainer({ args: ['run', '--server'] }, {}, at, podAt).grpcPort).toBeUndefined();
    const fromFile = parseOpaContainer({ args: ['run', '--server', '--config-file=/policy/config.yaml'], volumeMounts: mounts }, pod, at, podAt);
    expect(resolveGrpcPort(fromFile, new Map([['/policy/config.yaml', 'plugins:\n  envoy_ext_authz_grpc:\n    addr: :9393\n']]), at)).toBe(9393);
    expect(resolveGrpcPort(fromFile, new Map([['/policy/config.yaml', 'plugins:\n  envoy_ext_authz_grpc: {}\n']]), at)).toBe(9191);
  });

  it('refuses what would not run here, by field', () => {
    expect(specError(() => parseOpaContainer({ command: ['opa'], args: ['run', '--server'] }, {}, at, podAt)).path).toBe(
      'Deployment opa: spec.template.spec.containers[0].command',
    );
    expect(specError(() => parseOpaContainer({ args: ['eval', 'data'] }, {}, at, podAt)).path).toBe('Deployment opa: spec.template.spec.containers[0].args[0]');
    expect(specError(() => parseOpaContainer({ args: ['run'] }, {}, at, podAt)).message).toMatch(/--server/);
    expect(specError(() => parseOpaContainer({ args: ['run', '--server', '--tls-cert-file=/x'] }, {}, at, podAt)).path).toBe(
      'Deployment opa: spec.template.spec.containers[0].args[2]',
    );
    expect(specError(() => parseOpaContainer({ args: ['run', '--server'], volumeMounts: [{ name: 'nope', mountPath: '/p' }] }, pod, at, podAt)).path).toBe(
      'Deployment opa: spec.template.spec.containers[0].volumeMounts[0].name',
    );
  });

  it('refuses what would make OPA call out of loopback: remote bundles, discovery, status, decision-log services', () => {
    expect(specError(() => parseOpaContainer({ args: ['run', '--server', '--set=services.acme.url=https://example.com'] }, {}, at, podAt)).message).toMatch(
      /^services: OPA would reach a service over the network/,
    );
    expect(specError(() => parseOpaContainer({ args: ['run', '--server', '--set', 'decision_logs.service=acme'] }, {}, at, podAt)).path).toBe(
      'Deployment opa: spec.template.spec.containers[0].args[2]',
    );
    expect(parseOpaContainer({ args: ['run', '--server', '--set=decision_logs.console=true'] }, {}, at, podAt).args).toContain(
      '--set=decision_logs.console=true',
    );
    const withConfig = parseOpaContainer(
      { args: ['run', '--server', '--config-file=/policy/config.yaml', '--set=plugins.envoy_ext_authz_grpc.addr=:9191'], volumeMounts: mounts },
      pod,
      at,
      podAt,
    );
    expect(specError(() => resolveGrpcPort(withConfig, new Map([['/policy/config.yaml', 'bundles:\n  authz:\n    service: acme\n']]), at)).message).toMatch(
      /bundles: OPA would reach a service/,
    );
    expect(specError(() => resolveGrpcPort(withConfig, new Map([['/policy/config.yaml', 'decision_logs:\n  service: acme\n']]), at)).message).toMatch(
      /decision_logs\.service/,
    );
    expect(resolveGrpcPort(withConfig, new Map([['/policy/config.yaml', 'decision_logs:\n  console: true\n']]), at)).toBe(9191);
  });

  it("mounted paths move under the pod's folder, whether an argument or a flag's value; others stay", () => {
    expect(relocate('/policy/p.rego', ['/policy'], '/tmp/r')).toBe('/tmp/r/policy/p.rego');
    expect(relocate('--config-file=/policy/c.yaml', ['/policy'], '/tmp/r')).toBe('--config-file=/tmp/r/policy/c.yaml');
    expect(relocate('/policyx/p.rego', ['/policy'], '/tmp/r')).toBe('/policyx/p.rego');
    expect(relocate('--set=plugins.envoy_ext_authz_grpc.path=envoy/authz/allow', ['/policy'], '/tmp/r')).toBe(
      '--set=plugins.envoy_ext_authz_grpc.path=envoy/authz/allow',
    );
  });
});

describe("the ext_authz filter's reading of a CheckResponse (ext_authz_grpc_impl.cc onSuccess)", () => {
  it('OK allows, with the ok_response headers to set and remove', () => {
    expect(outcomeOf({ status: { code: 0 }, ok_response: { headers: [{ header: { key: 'X-User', value: 'ann' } }], headers_to_remove: ['Cookie'] } })).toEqual({
      kind: 'ok',
      set: { 'x-user': 'ann' },
      remove: ['cookie'],
    });
    expect(outcomeOf({})).toEqual({ kind: 'ok', set: {}, remove: [] });
  });

  it("any other status denies: the denied response's status (403 when unset), body and headers", () => {
    expect(outcomeOf({ status: { code: 7 } })).toEqual({ kind: 'denied', status: 403, body: '', headers: {} });
    expect(
      outcomeOf({
        status: { code: 16 },
        denied_response: { status: { code: 401 }, body: 'who?', headers: [{ header: { key: 'WWW-Authenticate', value: 'Bearer' } }] },
      }),
    ).toEqual({ kind: 'denied', status: 401, body: 'who?', headers: { 'www-authenticate': 'Bearer' } });
  });

  it("the check request carries the pseudo-headers and the peers' SPIFFE identities (attribute_context.proto)", () => {
    const req = checkRequestOf({
      method: 'POST',
      path: '/api/jobs?x=1',
      host: 'orchestrator:8000',
      headers: { 'x-role': 'a' },
      requestId: 'r',
      source: { address: '127.0.0.9', port: 0, principal: 'cluster.local/ns/a/sa/b' },
      destination: { address: '127.0.0.8', port: 8000, principal: 'cluster.local/ns/a/sa/c' },
    }) as {
      attributes: { source: { principal: string }; request: { http: { headers: Record<string, string>; path: string } } };
    };
    expect(req.attributes.source.principal).toBe('spiffe://cluster.local/ns/a/sa/b');
    expect(req.attributes.request.http.headers).toMatchObject({
      ':method': 'POST',
      ':path': '/api/jobs?x=1',
      ':authority': 'orchestrator:8000',
      'x-role': 'a',
    });
  });
});

describe('without OPA: failOpen and statusOnError decide (ext_authz failure_mode_allow, status_on_error)', () => {
  const work = tempDir('meshproof-extauthz-');

  async function runDown(providerExtra: string, name: string) {
    const copy = join(work, name);
    cpSync(join(repoRoot, 'examples', 'researchflow'), copy, { recursive: true });
    const meshFile = join(copy, 'scenario', 'mesh-config.yaml');
    writeFileSync(meshFile, readFileSync(meshFile, 'utf8').replace('          timeout: 2s', `          timeout: 2s\n${providerExtra}`));
    const reportDir = join(work, `${name}-report`);
    const r = await runCli(['run', join(copy, 'experiments', '02-opa-down-fails-closed.yaml'), '--seed', '3', '--report-dir', reportDir, '--quiet'], {
      timeoutMs: 120_000,
    });
    return { code: r.code, verdicts: readResult(reportDir).experiments[0]!.verdicts };
  }

  it('failOpen: true lets every request through when OPA is down, so the fail-closed checks fail', async () => {
    const { code, verdicts } = await runDown('          failOpen: true', 'open');
    expect(code).toBe(1);
    expect(verdicts.map((v) => [v.kind, v.outcome])).toEqual([
      ['status', 'fail'],
      ['status', 'fail'],
      ['status', 'pass'],
      ['flags', 'fail'],
    ]);
  }, 120_000);

  it('statusOnError: "503" answers 503 instead of 403', async () => {
    const { code, verdicts } = await runDown('          statusOnError: "503"', 'status');
    expect(code).toBe(1);
    expect(verdicts.map((v) => [v.kind, v.outcome])).toEqual([
      ['status', 'fail'],
      ['status', 'fail'],
      ['status', 'pass'],
      ['flags', 'pass'],
    ]);
  }, 120_000);

  it('a CUSTOM policy naming a provider the mesh config lacks denies what it matches by RBAC (403, no UAEX), OPA or not', async () => {
    const copy = join(work, 'undefined-provider');
    cpSync(join(repoRoot, 'examples', 'researchflow'), copy, { recursive: true });
    const policyFile = join(copy, 'scenario', 'authorization-policy.yaml');
    writeFileSync(policyFile, readFileSync(policyFile, 'utf8').replace('name: opa-ext-authz', 'name: opa-typo'));
    const reportDir = join(work, 'undefined-provider-report');
    const r = await runCli(['run', join(copy, 'experiments', '01-opa-decides-the-api.yaml'), '--seed', '3', '--report-dir', reportDir, '--quiet'], {
      timeoutMs: 120_000,
    });
    expect(r.code).toBe(1);
    const verdicts = readResult(reportDir).experiments[0]!.verdicts;
    // researcher-read and health are denied too; the two denials pass; no UAEX: RBAC denied them, not ext_authz.
    expect(verdicts.map((v) => [v.kind, v.outcome])).toEqual([
      ['status', 'fail'],
      ['status', 'pass'],
      ['status', 'pass'],
      ['status', 'fail'],
      ['flags', 'fail'],
    ]);
  }, 120_000);
});

describe("under --control-plane istiod (istiod given the scenario's mesh config)", () => {
  it("istiod's own CUSTOM translation (shadow-rule RBAC marking requests for its ext_authz filter) gives the same verdicts", async () => {
    const work = tempDir('meshproof-extauthz-istiod-');
    try {
      const r = await runCli(
        ['run', join(repoRoot, 'examples', 'researchflow', 'experiments'), '--control-plane', 'istiod', '--seed', '5', '--report-dir', work, '--quiet'],
        { timeoutMs: 150_000 },
      );
      const result = readResult(work);
      expect(result.experiments.map((e) => [e.name, e.verdicts.map((v) => v.outcome).join(',')])).toEqual([
        ['researchflow-opa-decides-the-api', 'pass,pass,pass,pass,pass'],
        ['researchflow-opa-down-fails-closed', 'pass,pass,pass,pass'],
        ['researchflow-mtls-strict', 'pass,pass'],
        ['researchflow-outlier-ejection', 'pass,pass,pass'],
        ['researchflow-worker-retries', 'pass,pass'],
        ['researchflow-connection-pool', 'pass,pass,pass,pass'],
      ]);
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 150_000);

  it('a provider the mesh config lacks: istiod writes the CUSTOM rules as a DENY, as the built-in control plane does', async () => {
    const work = tempDir('meshproof-extauthz-istiod-');
    try {
      const copy = join(work, 'copy');
      cpSync(join(repoRoot, 'examples', 'researchflow'), copy, { recursive: true });
      const policyFile = join(copy, 'scenario', 'authorization-policy.yaml');
      writeFileSync(policyFile, readFileSync(policyFile, 'utf8').replace('name: opa-ext-authz', 'name: opa-typo'));
      const reportDir = join(work, 'report');
      const r = await runCli(
        ['run', join(copy, 'experiments', '01-opa-decides-the-api.yaml'), '--control-plane', 'istiod', '--seed', '3', '--report-dir', reportDir, '--quiet'],
        { timeoutMs: 120_000 },
      );
      expect(r.code).toBe(1);
      const verdicts = readResult(reportDir).experiments[0]!.verdicts;
      expect(verdicts.map((v) => [v.kind, v.outcome])).toEqual([
        ['status', 'fail'],
        ['status', 'pass'],
        ['status', 'pass'],
        ['status', 'fail'],
        ['flags', 'fail'],
      ]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('validate warns about a CUSTOM provider the mesh config does not define (istiod denies what it matches)', () => {
  const ref = (object: K8sObject): ResourceRef => ({ object, source: { file: 'p.yaml', line: 1, col: 1 }, origin: 'inline' });
  const custom = (provider: string) =>
    ({
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'ext' },
      spec: { action: 'CUSTOM', provider: { name: provider }, rules: [{}] },
    }) as unknown as K8sObject;

  it('names the provider and the ones defined; a defined provider gives no warning', () => {
    const mesh = meshMap('extensionProviders:\n  - { name: opa, envoyExtAuthzGrpc: { service: opa.ns.svc.cluster.local, port: 9191 } }\n');
    expect(customProviderWarnings([ref(mesh), ref(custom('opa'))])).toEqual([]);
    const [w] = customProviderWarnings([ref(mesh), ref(custom('opa-typo'))]);
    expect(w!.path).toBe('AuthorizationPolicy ext: spec.provider.name');
    expect(w!.message).toMatch(/no extension provider "opa-typo" in the scenario's mesh config \(it defines opa\).*DENY of every request its rules match/);
    expect(customProviderWarnings([ref(custom('opa'))])[0]!.message).toMatch(/it defines none/);
  });
});
