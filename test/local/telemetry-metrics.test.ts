// A Telemetry's metrics overrides reach istio_requests_total through the listeners' istio.stats filters
// (model/telemetry.go generateStatsConfig → istio_stats.cc), whichever control plane wrote them: istiod under
// `--control-plane istiod`, the built-in translator otherwise (issue #19). CLIENT mode is the sidecars' outbound
// listeners and the gateway, SERVER mode the sidecars' inbound chains (telemetry.go MetricsForClass).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CounterSample } from '../../src/observe/types.ts';
import { applyAndWait, counters, mesh, page, yamlObject, type MeshHandle } from './helpers.ts';

const telemetry = yamlObject(`
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: mesh-default, namespace: istio-system }
spec:
  metrics:
  - providers: [{ name: prometheus }]
    overrides:
    - match: { metric: REQUEST_COUNT, mode: CLIENT }
      tagOverrides:
        request_method: { value: request.method }
        request_protocol: { operation: REMOVE }
        destination_version: { value: "'pinned'" }
    - match: { metric: REQUEST_COUNT, mode: SERVER }
      disabled: true
`);

const requests = (samples: CounterSample[], reporter: string) =>
  samples.filter((s) => s.name === 'istio_requests_total' && s.labels.reporter === reporter && s.value > 0);

describe.each(['builtin', 'istiod'] as const)('Telemetry metrics overrides under the %s control plane', (controlPlane) => {
  let m: MeshHandle;
  beforeAll(async () => {
    m = await mesh({ seed: 19, controlPlane });
    await applyAndWait(m, [telemetry]);
    for (let i = 0; i < 3; i++) expect((await page(m)).status).toBe(200);
  }, 120_000);
  afterAll(async () => m?.close());

  it('CLIENT side: request_method added after the standard labels, request_protocol removed, destination_version replaced in place', async () => {
    const source = requests(await counters(m), 'source');
    expect(source.length).toBeGreaterThan(0);
    for (const s of source) {
      expect(s.labels.request_method).toBe('GET');
      expect(s.labels).not.toHaveProperty('request_protocol');
      expect(s.labels.destination_version).toBe('pinned');
      const names = Object.keys(s.labels);
      expect(names.at(-1)).toBe('request_method');
      expect(names.indexOf('destination_version')).toBeLessThan(names.indexOf('destination_service'));
    }
    // The gateway reports with its listener's CLIENT config too.
    expect(source.some((s) => s.proxy.startsWith('istio-ingressgateway'))).toBe(true);
  });

  it('SERVER side: REQUEST_COUNT disabled, so no destination-reported istio_requests_total at all', async () => {
    expect(requests(await counters(m), 'destination')).toEqual([]);
  });
});
