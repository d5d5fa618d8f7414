// The Istio configuration of the sandbox's API server as the local mesh playing its pods needs it: istiod sends the
// proxies their routes, clusters, endpoints and inbound RBAC, and the filters the local data plane still builds from
// Istio objects (mTLS modes, JWT, local rate limits) read them from the mesh's store, kept equal to the API server's by
// one informer (list, then watch) per kind.
import { CustomObjectsApi, makeInformer, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { resourceId } from '../spec/resources.ts';
import type { K8sObject } from '../spec/types.ts';
import { must } from '../must.ts';
import { asError } from '../errors.ts';

export interface WatchedKind {
  kind: string;
  group: string;
  version: string;
  plural: string;
}

/** The kinds istiod reads (and the local store holds), each at a version the pinned CRDs serve. */
export const WATCHED_KINDS: readonly WatchedKind[] = [
  { kind: 'VirtualService', group: 'networking.istio.io', version: 'v1', plural: 'virtualservices' },
  { kind: 'DestinationRule', group: 'networking.istio.io', version: 'v1', plural: 'destinationrules' },
  { kind: 'Gateway', group: 'networking.istio.io', version: 'v1', plural: 'gateways' },
  { kind: 'EnvoyFilter', group: 'networking.istio.io', version: 'v1alpha3', plural: 'envoyfilters' },
  { kind: 'AuthorizationPolicy', group: 'security.istio.io', version: 'v1', plural: 'authorizationpolicies' },
  { kind: 'PeerAuthentication', group: 'security.istio.io', version: 'v1', plural: 'peerauthentications' },
  { kind: 'RequestAuthentication', group: 'security.istio.io', version: 'v1', plural: 'requestauthentications' },
];

const WATCHED = new Set(WATCHED_KINDS.map((k) => k.kind));
export const isWatchedKind = (kind: string) => WATCHED.has(kind);

/** An object as the local store takes it: what a user writes, not what the server adds (uid, managedFields, status…). */
export function asWritten(object: KubernetesObject & { spec?: unknown }): K8sObject {
  const { name, namespace, labels, annotations } = object.metadata ?? {};
  const kept = Object.fromEntries(Object.entries(annotations ?? {}).filter(([k]) => k !== 'kubectl.kubernetes.io/last-applied-configuration'));
  return {
    apiVersion: must(object.apiVersion, "a watched object's apiVersion"),
    kind: must(object.kind, "a watched object's kind"),
    metadata: {
      name: must(name, "a watched object's name"),
      ...(namespace ? { namespace } : {}),
      ...(labels && Object.keys(labels).length > 0 ? { labels } : {}),
      ...(Object.keys(kept).length > 0 ? { annotations: kept } : {}),
    },
    spec: (object.spec ?? {}) as K8sObject['spec'],
  };
}

export interface IstioWatch {
  /** Every watched object the API server has now (the informers' caches). */
  objects(): K8sObject[];
  stop(): Promise<void>;
}

/**
 * Lists and watches every kind; each add, update or delete becomes `onChange` (called one at a time, in order).
 * Resolves when every kind has been listed once. A watch that fails is restarted after a second.
 */
export async function watchIstioConfig(
  kc: KubeConfig,
  onChange: (upserts: K8sObject[], deletes: string[]) => Promise<void>,
  log: (line: string) => void,
): Promise<IstioWatch> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  let queue = Promise.resolve();
  let stopped = false;
  const enqueue = (upserts: K8sObject[], deletes: string[]) => {
    queue = queue.then(() => onChange(upserts, deletes)).catch((error: unknown) => log(`config change not taken: ${asError(error).message}`));
  };
  const informers = WATCHED_KINDS.map((k) => {
    const informer = makeInformer<KubernetesObject & { spec?: unknown }>(kc, `/apis/${k.group}/${k.version}/${k.plural}`, () =>
      custom.listClusterCustomObject({ group: k.group, version: k.version, plural: k.plural }),
    );
    informer.on('add', (o) => enqueue([asWritten(o)], []));
    informer.on('update', (o) => enqueue([asWritten(o)], []));
    informer.on('delete', (o) => enqueue([], [resourceId(asWritten(o))]));
    informer.on('error', (error?: unknown) => {
      if (stopped) return;
      log(`watch of ${k.plural} failed (${(error as Error | undefined)?.message ?? 'closed'}); again in 1 s`);
      setTimeout(() => {
        if (!stopped) informer.start().catch((e: unknown) => log(`watch of ${k.plural} not restarted: ${asError(e).message}`));
      }, 1000).unref();
    });
    return informer;
  });
  await Promise.all(informers.map((i) => i.start()));
  await queue;
  return {
    objects: () => informers.flatMap((i) => i.list().map(asWritten)),
    stop: async () => {
      stopped = true;
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}
