import { describe, expect, it } from 'vitest';
import { SpecError } from '../../src/errors.ts';
import { DEFAULT_ISTIO_VERSION, istioBehaviour, parseIstioVersion } from '../../src/istio/version.ts';

describe('istioBehaviour', () => {
  it('defaults to a current release', () => {
    expect(DEFAULT_ISTIO_VERSION).toBe('1.28.0');
    expect(istioBehaviour(DEFAULT_ISTIO_VERSION)).toMatchObject({ version: '1.28.0', minor: 28, envoyVersion: '1.36' });
  });

  it('maps Istio to Envoy one to one as istio.io supported-releases documents (1.16→1.24, 1.17→1.25, 1.18→1.26)', () => {
    expect(istioBehaviour('1.16').envoyVersion).toBe('1.24');
    expect(istioBehaviour('1.17.3').envoyVersion).toBe('1.25');
    expect(istioBehaviour('1.18.0').envoyVersion).toBe('1.26');
    expect(istioBehaviour('1.23.0').envoyVersion).toBe('1.31');
  });

  it('retries 503 by default up to 1.23, not from 1.24 (retry.go, EXCLUDE_UNSAFE_503_FROM_DEFAULT_RETRY, istio/istio#50506)', () => {
    expect(istioBehaviour('1.23.6')).toMatchObject({ retry503ByDefault: true, defaultRetry: { attempts: 2, retriableStatusCodes: [503] } });
    expect(istioBehaviour('1.24.0')).toMatchObject({ retry503ByDefault: false, defaultRetry: { retriableStatusCodes: [] } });
    expect(istioBehaviour('1.24.0').defaultRetry.retryOn).toBe('connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes');
  });

  it('refills the local rate limiter in chunks before Envoy 1.31 / Istio 1.23 (envoy changelogs/1.31.0.yaml)', () => {
    expect(istioBehaviour('1.22.5').rateLimitRefill).toBe('chunked');
    expect(istioBehaviour('1.23.0').rateLimitRefill).toBe('continuous');
  });

  it('delimits stat prefixes from 1.23 (ENABLE_DELIMITED_STATS_TAG_REGEX, istio/istio#52271)', () => {
    expect(istioBehaviour('1.22.0').delimitedStatPrefixes).toBe(false);
    expect(istioBehaviour('v1.23.0').delimitedStatPrefixes).toBe(true);
  });

  it('accepts pre-release suffixes and refuses malformed versions with SpecError', () => {
    expect(parseIstioVersion('1.24.0-beta.1')).toEqual({ major: 1, minor: 24, patch: 0 });
    for (const bad of ['', '1', 'latest', '1.x', '2.0.0', '1.9.0', '1.28.0.1']) {
      expect(() => istioBehaviour(bad), bad).toThrow(SpecError);
    }
    try {
      istioBehaviour('banana');
    } catch (e) {
      expect((e as SpecError).path).toBe('--istio-version');
      expect((e as SpecError).message).toMatch(/not an Istio version: "banana"/);
    }
  });
});
