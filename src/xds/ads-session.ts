// One proxy's ADS conversation in state-of-the-world xDS, independent of the transport: what to request, when to
// ACK (version_info + response_nonce) and when to NACK (the previous version, the nonce, error_detail with the
// loader's refusal). Subscriptions follow a sidecar: CDS and LDS are wildcards; EDS asks for the EDS clusters CDS
// named, RDS for the route configurations LDS named; CDS, then EDS, then LDS, then RDS (istiod's PushOrder).
import { loadEnvoyResource, type Ignored, type ResourceTypeUrl } from '../envoy/load/index.ts';
import type { Cluster, ClusterLoadAssignment, EnvoyConfig, Listener, RouteConfiguration } from '../envoy/model/index.ts';
import { PUSH_ORDER, SHORT_NAME, TypeUrl, type DiscoveryRequest, type DiscoveryResponse, type XdsTypeUrl } from './discovery.ts';
import type { XdsNode } from './node.ts';
import { must } from '../must.ts';

/** google.rpc.Code INVALID_ARGUMENT, which Envoy puts in a NACK's error_detail. */
const INVALID_ARGUMENT = 3;

interface TypeState {
  /** Requested at least once on this session. */
  subscribed: boolean;
  /** Resource names requested (empty = wildcard, for CDS and LDS). */
  names: string[];
  /** The last version ACKed, sent back in every later request of the type (and after a reconnect). */
  acceptedVersion: string;
  /** The nonce of the last response on the current stream; empty on a new stream. */
  nonce: string;
  /** Accepted resources by name. */
  resources: Map<string, unknown>;
}

export interface SessionUpdate {
  /** The requests to send, in order. */
  requests: DiscoveryRequest[];
  /** Set when the response was accepted: the whole config as now known. */
  accepted?: { typeUrl: XdsTypeUrl; version: string; config: EnvoyConfig; ignored: Ignored[] };
  /** Set when the response was refused: the text sent in error_detail. */
  rejected?: { typeUrl: string; nonce: string; message: string };
}

export class AdsSession {
  private readonly state = new Map<XdsTypeUrl, TypeState>();
  private nodeSent = false;

  constructor(private readonly node: XdsNode) {
    for (const type of PUSH_ORDER) {
      this.state.set(type, { subscribed: false, names: [], acceptedVersion: '', nonce: '', resources: new Map() });
    }
  }

  /** A new stream (first connection or reconnect): nonces are per stream; versions and names are re-sent so istiod
   * knows what the proxy already has. */
  openStream(): DiscoveryRequest[] {
    this.nodeSent = false;
    for (const s of this.state.values()) s.nonce = '';
    const resubscribe = PUSH_ORDER.filter((t) => this.wanted(t));
    if (resubscribe.length === 0) {
      this.typeState(TypeUrl.cluster).subscribed = true;
      return [this.request(TypeUrl.cluster)];
    }
    return resubscribe.map((t) => this.request(t));
  }

  onResponse(response: DiscoveryResponse): SessionUpdate {
    const type = response.type_url as XdsTypeUrl;
    const s = this.state.get(type);
    const nonce = response.nonce ?? '';
    if (!s) {
      // A type this client never asked for: refuse it so istiod's sync status shows it.
      const message = `${response.type_url} is not a resource type the local data plane subscribes to`;
      return {
        requests: [{ type_url: response.type_url, response_nonce: nonce, error_detail: { code: INVALID_ARGUMENT, message } }],
        rejected: { typeUrl: response.type_url, nonce, message },
      };
    }
    s.nonce = nonce;
    const version = response.version_info ?? '';
    const loaded = this.load(type, response.resources ?? []);
    if ('problems' in loaded) {
      const message = loaded.problems.join('\n');
      return {
        requests: [this.request(type, { code: INVALID_ARGUMENT, message })],
        rejected: { typeUrl: type, nonce, message },
      };
    }
    // CDS and LDS are state of the world: what is absent is gone. EDS and RDS responses carry what was asked for.
    if (type === TypeUrl.cluster || type === TypeUrl.listener) s.resources.clear();
    // A named subscription takes only what it asked for: a response in flight when the names changed (a cluster CDS
    // just removed) may still carry a resource no longer watched, and Envoy's watch map delivers it to nobody.
    const watched = isWildcard(type) ? undefined : new Set(s.names);
    for (const [name, resource] of loaded.resources) if (!watched || watched.has(name)) s.resources.set(name, resource);
    s.acceptedVersion = version;
    const requests = [this.request(type), ...this.followUps(type)];
    return { requests, accepted: { typeUrl: type, version, config: this.config(), ignored: loaded.ignored } };
  }

  /** The config as accepted so far, in the model's form. */
  config(): EnvoyConfig {
    const values = <T>(t: XdsTypeUrl) => [...this.typeState(t).resources.values()] as T[];
    return {
      clusters: values<Cluster>(TypeUrl.cluster),
      endpoints: values<ClusterLoadAssignment>(TypeUrl.endpoint),
      listeners: values<Listener>(TypeUrl.listener),
      routes: values<RouteConfiguration>(TypeUrl.route),
    };
  }

  acceptedVersions(): Record<'CDS' | 'EDS' | 'LDS' | 'RDS', string> {
    const out = {} as Record<'CDS' | 'EDS' | 'LDS' | 'RDS', string>;
    for (const t of PUSH_ORDER) out[SHORT_NAME[t]] = this.typeState(t).acceptedVersion;
    return out;
  }

  private load(type: XdsTypeUrl, resources: Record<string, unknown>[]): { problems: string[] } | { resources: Map<string, unknown>; ignored: Ignored[] } {
    const out = new Map<string, unknown>();
    const problems: string[] = [];
    const ignored: Ignored[] = [];
    for (const resource of resources) {
      const name = resourceName(type, resource);
      const label = `${SHORT_NAME[type]} ${name ?? '(unnamed)'}`;
      const result = loadEnvoyResource(type as ResourceTypeUrl, resource);
      for (const issue of result.issues) problems.push(`${label}: ${issue.path ? `${issue.path}: ` : ''}${issue.message}`);
      ignored.push(...result.ignored.map((i) => ({ path: `${label}: ${i.path}`, why: i.why })));
      if (name === undefined) problems.push(`${label}: the resource has no name`);
      else if (result.resource !== undefined) out.set(name, result.resource);
    }
    return problems.length > 0 ? { problems } : { resources: out, ignored };
  }

  /** After CDS: (re)subscribe EDS to the EDS clusters, or go on to LDS when there are none; after EDS: LDS; after
   * LDS: (re)subscribe RDS to the route names its HTTP connection managers use. */
  private followUps(type: XdsTypeUrl): DiscoveryRequest[] {
    const out: DiscoveryRequest[] = [];
    if (type === TypeUrl.cluster) {
      const names = edsClusterNames(this.config().clusters);
      out.push(...this.subscribe(TypeUrl.endpoint, names));
      if (names.length === 0) out.push(...this.subscribe(TypeUrl.listener, []));
    } else if (type === TypeUrl.endpoint) {
      out.push(...this.subscribe(TypeUrl.listener, []));
    } else if (type === TypeUrl.listener) {
      out.push(...this.subscribe(TypeUrl.route, routeNames(this.config().listeners)));
    }
    return out;
  }

  /** A request when the type is new or its names changed; names no longer wanted drop their resources. */
  private subscribe(type: XdsTypeUrl, names: string[]): DiscoveryRequest[] {
    const s = this.typeState(type);
    const sorted = [...new Set(names)].sort();
    if (s.subscribed && sameList(s.names, sorted)) return [];
    s.subscribed = true;
    s.names = sorted;
    for (const name of [...s.resources.keys()]) if (!isWildcard(type) && !sorted.includes(name)) s.resources.delete(name);
    // An empty named subscription would read as a wildcard to istiod: there is nothing to ask for yet.
    return this.wanted(type) ? [this.request(type)] : [];
  }

  /** Subscribed, and asking for something: CDS and LDS are wildcards, EDS and RDS need names. */
  private wanted(type: XdsTypeUrl): boolean {
    const s = this.typeState(type);
    return s.subscribed && (isWildcard(type) || s.names.length > 0);
  }

  private request(type: XdsTypeUrl, error?: { code: number; message: string }): DiscoveryRequest {
    const s = this.typeState(type);
    const req: DiscoveryRequest = { type_url: type, version_info: s.acceptedVersion, resource_names: [...s.names], response_nonce: s.nonce };
    if (error) req.error_detail = error;
    if (!this.nodeSent) {
      req.node = this.node;
      this.nodeSent = true;
    }
    return req;
  }

  private typeState(type: XdsTypeUrl): TypeState {
    return must(this.state.get(type), `the state of ${type} (the constructor makes one per type)`);
  }
}

function isWildcard(type: XdsTypeUrl): boolean {
  return type === TypeUrl.cluster || type === TypeUrl.listener;
}

function resourceName(type: XdsTypeUrl, resource: Record<string, unknown>): string | undefined {
  const name = type === TypeUrl.endpoint ? resource.cluster_name : resource.name;
  return typeof name === 'string' ? name : undefined;
}

/** The names EDS is asked for: service_name, or the cluster's own name (Envoy's EdsClusterImpl). */
function edsClusterNames(clusters: Cluster[]): string[] {
  return clusters.filter((c) => c.type === 'EDS').map((c) => c.eds_cluster_config?.service_name || c.name);
}

function routeNames(listeners: Listener[]): string[] {
  const names: string[] = [];
  for (const l of listeners) {
    for (const chain of [...(l.filter_chains ?? []), ...(l.default_filter_chain ? [l.default_filter_chain] : [])]) {
      for (const f of chain.filters) {
        const config = f.typed_config as { rds?: { route_config_name: string } };
        if (config.rds?.route_config_name) names.push(config.rds.route_config_name);
      }
    }
  }
  return names;
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
