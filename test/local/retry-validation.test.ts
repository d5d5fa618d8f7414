// Istio refuses a retry policy that is disabled yet configured (istio/istio pkg/config/validation validateHTTPRetry:
// "http retry policy configured when attempts are set to 0 (disabled)"); the local target refuses it the same way.
import { describe, expect, it } from 'vitest';
import { parseVirtualService } from '../../src/istio/networking/virtual-service.ts';
import { yamlObject } from './helpers.ts';

const withRetries = (retries: string) =>
  yamlObject(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ratings }
spec:
  hosts: [ratings]
  http:
  - route: [{ destination: { host: ratings } }]
    retries: ${retries}
`);

describe('retries validation (istio/istio pkg/config/validation validateHTTPRetry)', () => {
  it.each([
    ['attempts 0 with retryOn', '{ attempts: 0, retryOn: 5xx }'],
    ['attempts 0 with perTryTimeout', '{ attempts: 0, perTryTimeout: 1s }'],
    ['attempts 0 with retryRemoteLocalities', '{ attempts: 0, retryRemoteLocalities: true }'],
    ['no attempts with retryOn', '{ retryOn: 5xx }'],
  ])('refuses %s', (_name, retries) => {
    expect(() => parseVirtualService(withRetries(retries))).toThrow(/http retry policy configured when attempts are set to 0 \(disabled\)/);
  });

  it.each([
    ['attempts 0 alone', '{ attempts: 0 }'],
    ['attempts 0 with an empty retryOn', '{ attempts: 0, retryOn: "" }'],
    ['attempts 2 with retryOn and perTryTimeout', '{ attempts: 2, retryOn: 5xx, perTryTimeout: 1s }'],
  ])('accepts %s', (_name, retries) => {
    expect(() => parseVirtualService(withRetries(retries))).not.toThrow();
  });
});

describe('retryOn status codes as istiod validates them', () => {
  it("refuses a number Go's net/http does not name (599, 509), as validateHTTPRetry does; accepts 425 and 503", async () => {
    const { parseRetryOn } = await import('../../src/istio/networking/retry.ts');
    const { FieldPath } = await import('../../src/istio/networking/fields.ts');
    const at = FieldPath.of('VirtualService', 'r').key('spec.http[0].retries.retryOn');
    expect(() => parseRetryOn('5xx,599', at)).toThrow(/"599" is not a valid retryOn policy/);
    expect(() => parseRetryOn('509', at)).toThrow(/"509" is not a valid retryOn policy/);
    expect(parseRetryOn('gateway-error,425,503', at)).toEqual({ conditions: ['gateway-error'], codes: [425, 503] });
  });
});
