import { describe, expect, it } from 'vitest';
import { SpecError } from '../../../src/errors.ts';
import type { K8sObject } from '../../../src/spec/types.ts';
import { checkMtlsEnabled } from '../../../src/istio/networking/destination-rule.ts';
import { effectivePeerAuthMode, peerAuthAccepts, validatePeerAuthentication } from '../../../src/istio/security/index.ts';

function pa(name: string, namespace: string, spec: unknown, creationTimestamp?: string): K8sObject {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'PeerAuthentication',
    metadata: { name, namespace, ...(creationTimestamp ? { creationTimestamp } : {}) },
    spec,
  };
}

const reviews = { app: 'reviews', version: 'v2' };
const mode = (policies: K8sObject[], port = 9080, ns = 'default', labels: Record<string, string> = reviews) =>
  effectivePeerAuthMode(policies, ns, labels, port);

// Precedence rules: istio/istio pilot/pkg/security/authn ComposePeerAuthentication; modes: peer_authentication.proto.
describe('effectivePeerAuthMode', () => {
  const meshStrict = pa('default', 'istio-system', { mtls: { mode: 'STRICT' } });
  const nsPermissive = pa('default', 'default', { mtls: { mode: 'PERMISSIVE' } });

  it('defaults to PERMISSIVE', () => {
    expect(mode([])).toBe('PERMISSIVE');
    expect(mode([pa('unset', 'istio-system', {})])).toBe('PERMISSIVE');
  });

  it('mesh-wide in the root namespace, overridden by namespace, overridden by workload', () => {
    expect(mode([meshStrict])).toBe('STRICT');
    expect(mode([meshStrict], 9080, 'other')).toBe('STRICT');
    expect(mode([meshStrict, nsPermissive])).toBe('PERMISSIVE');
    expect(mode([meshStrict, nsPermissive], 9080, 'other')).toBe('STRICT');
    const wlStrict = pa('reviews', 'default', { selector: { matchLabels: { app: 'reviews' } }, mtls: { mode: 'STRICT' } });
    expect(mode([meshStrict, nsPermissive, wlStrict])).toBe('STRICT');
    expect(mode([nsPermissive, wlStrict], 9080, 'default', { app: 'ratings' })).toBe('PERMISSIVE');
  });

  it('UNSET inherits from the parent level', () => {
    const wlUnset = pa('reviews', 'default', { selector: { matchLabels: { app: 'reviews' } }, mtls: { mode: 'UNSET' } });
    expect(mode([meshStrict, wlUnset])).toBe('STRICT');
  });

  it('port-level mTLS on the workload policy; UNSET at port level inherits the workload result', () => {
    const wl = pa('reviews', 'default', {
      selector: { matchLabels: { app: 'reviews' } },
      mtls: { mode: 'STRICT' },
      portLevelMtls: { 9080: { mode: 'DISABLE' }, 9090: { mode: 'UNSET' } },
    });
    expect(mode([wl], 9080)).toBe('DISABLE');
    expect(mode([wl], 9090)).toBe('STRICT');
    expect(mode([wl], 15000)).toBe('STRICT');
    const inherit = pa('reviews', 'default', { selector: { matchLabels: { app: 'reviews' } }, portLevelMtls: { 9080: { mode: 'PERMISSIVE' } } });
    expect(mode([meshStrict, inherit], 9080)).toBe('PERMISSIVE');
    expect(mode([meshStrict, inherit], 9081)).toBe('STRICT');
  });

  it('ignores a selector in the root namespace', () => {
    const rootSelector = pa('x', 'istio-system', { selector: { matchLabels: { app: 'reviews' } }, mtls: { mode: 'STRICT' } });
    expect(mode([rootSelector])).toBe('PERMISSIVE');
  });

  it('the oldest policy of a level wins', () => {
    const older = pa('a-strict', 'default', { mtls: { mode: 'STRICT' } }, '2024-01-01T00:00:00Z');
    const newer = pa('b-disable', 'default', { mtls: { mode: 'DISABLE' } }, '2025-01-01T00:00:00Z');
    expect(mode([newer, older])).toBe('STRICT');
    expect(mode([older, newer])).toBe('STRICT');
  });
});

describe('validatePeerAuthentication', () => {
  const fails = (obj: K8sObject, path: string, message: RegExp) => {
    let error: unknown;
    try {
      validatePeerAuthentication(obj);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SpecError);
    expect((error as SpecError).path).toBe(
      `PeerAuthentication ${obj.metadata.namespace === 'default' ? '' : `${obj.metadata.namespace}/`}${obj.metadata.name}: ${path}`,
    );
    expect((error as SpecError).message).toMatch(message);
  };
  it('refuses portLevelMtls without a selector, unknown modes and fields', () => {
    fails(pa('p', 'default', { portLevelMtls: { 9080: { mode: 'DISABLE' } } }), 'spec.portLevelMtls', /selector/);
    fails(pa('p', 'default', { mtls: { mode: 'ISTIO_MUTUAL' } }), 'spec.mtls.mode', /STRICT/);
    fails(pa('p', 'istio-system', { portLevelTls: {} }), 'spec.portLevelTls', /unsupported field/);
  });
});

describe('connections', () => {
  it('STRICT refuses plaintext, PERMISSIVE takes both, DISABLE takes plaintext', () => {
    expect(peerAuthAccepts('STRICT', { mtls: false })).toBe(false);
    expect(peerAuthAccepts('STRICT', { mtls: true })).toBe(true);
    expect(peerAuthAccepts('PERMISSIVE', { mtls: false })).toBe(true);
    expect(peerAuthAccepts('DISABLE', { mtls: false })).toBe(true);
    expect(peerAuthAccepts('DISABLE', { mtls: true })).toBe(false);
  });
  it('auto mTLS (EDS tlsMode, mtls_checker.go): sidecar to sidecar unless the server disables it; no sidecar means plaintext; a DestinationRule mode decides alone', () => {
    expect(checkMtlsEnabled(undefined, true, 'STRICT')).toBe(true);
    expect(checkMtlsEnabled(undefined, true, 'DISABLE')).toBe(false);
    expect(checkMtlsEnabled(undefined, false, 'PERMISSIVE')).toBe(false);
    expect(checkMtlsEnabled('ISTIO_MUTUAL', false, 'DISABLE')).toBe(true);
    expect(checkMtlsEnabled('DISABLE', true, 'STRICT')).toBe(false);
  });
});
