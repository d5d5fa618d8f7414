// The local mesh's other control plane: istiod's own config generation (pilot-discovery of the pinned istio module,
// run in-process by tools/istio-translate: its Kubernetes registry, validating webhook, and xDS server) translating the
// mesh's objects for each of its proxies. The proxies take their routes (RDS), clusters (CDS) and endpoints (EDS) from it; listeners
// and HTTP filters come from the built-in control plane too, except the sidecars' inbound RBAC filters, which run as
// istiod wrote them (src/envoy/runtime/rbac.ts over the virtualInbound chain's filters).
import { SpecError } from '../../errors.ts';
import { IstiodTranslator, proxyKey } from '../../fidelity/istiod-translator.ts';
import { ISTIOD_VERSION } from '../../fidelity/run.ts';
import type { ProxyDescriptor, TranslationInput } from '../../istio/xds/input.ts';
import type { K8sObject } from '../../spec/types.ts';
import type { Listener } from '../../envoy/model/index.ts';
import type { RouterConfig } from './proxy/router.ts';

export type ControlPlane = 'builtin' | 'istiod';

/** What a proxy takes from istiod: its router's RDS, CDS and EDS, and the listeners whose inbound RBAC filters it runs. */
export type IstiodProxyConfig = RouterConfig & { listeners: Listener[] };

/** The Istio kinds istiod reads from the cluster's configuration. */
const ISTIO_KINDS = new Set([
  'VirtualService',
  'DestinationRule',
  'Gateway',
  'EnvoyFilter',
  'AuthorizationPolicy',
  'PeerAuthentication',
  'RequestAuthentication',
  'ServiceEntry',
  'Telemetry',
]);

export const istiodControlPlaneVersion = ISTIOD_VERSION;

export class IstiodControlPlane {
  private constructor(private readonly translator: IstiodTranslator) {}

  /** Starts istiod's config generation; a missing build says how to make it. */
  static start(): IstiodControlPlane {
    return new IstiodControlPlane(IstiodTranslator.start(undefined, { setsPerProcess: 200 }));
  }

  /** What istiod's validating webhook says of the objects about to be applied: a SpecError naming the refusal. */
  async validate(objects: K8sObject[]): Promise<void> {
    const istio = objects.filter((o) => ISTIO_KINDS.has(o.kind));
    if (istio.length === 0) return;
    const verdict = await this.translator.validate(istio);
    if (verdict.error !== undefined) throw new SpecError(`istiod (the --control-plane) refuses the configuration: ${verdict.error}`);
  }

  /**
   * Each proxy's routes, clusters, endpoints and listeners as istiod generates them for the mesh's registry, Istio
   * objects and mesh config (the istio ConfigMap's `mesh`, e.g. the extension providers of CUSTOM policies).
   */
  async translate(input: TranslationInput, objects: K8sObject[], proxies: ProxyDescriptor[], meshConfig?: string): Promise<Map<string, IstiodProxyConfig>> {
    const answer = await this.translator.translate({
      // ServiceEntry hosts reach istiod as the ServiceEntries themselves (its serviceentry registry converts them).
      registry: { services: input.services.filter((s) => !s.external), instances: input.instances },
      objects: objects.filter((o) => ISTIO_KINDS.has(o.kind)),
      proxies,
      ...(meshConfig !== undefined ? { meshConfig } : {}),
    });
    if (!answer.ok) throw new Error(`istiod refused the mesh's configuration: ${answer.error}`);
    const out = new Map<string, IstiodProxyConfig>();
    for (const proxy of proxies) {
      const key = proxyKey(proxy);
      const refused = answer.refused.get(key);
      if (refused !== undefined) throw new Error(`istiod's configuration for ${key} has a field the local data plane does not execute: ${refused}`);
      const config = answer.proxies.get(key);
      if (!config) throw new Error(`istiod sent no configuration for ${key}`);
      out.set(key, { routes: config.routes, clusters: config.clusters, endpoints: config.endpoints, listeners: config.listeners });
    }
    return out;
  }

  async close(): Promise<void> {
    await this.translator.close();
  }
}
