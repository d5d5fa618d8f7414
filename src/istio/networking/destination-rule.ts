// DestinationRule: subsets and traffic policies (load balancer, connection pool, outlier detection, TLS mode).
import type { K8sObject } from '../../spec/types.ts';
import { readExportTo } from './export-to.ts';
import { FieldPath, readArray, readBoolean, readDuration, readNumber, readObject, readString, readStringMap } from './fields.ts';
import type {
  ConnectionPoolSettings,
  ConsistentHashSpec,
  DestinationRuleModel,
  LoadBalancer,
  OutlierDetectionSettings,
  Subset,
  TlsMode,
  TrafficPolicy,
  TrafficPolicySettings,
} from './model.ts';

const loadBalancers: LoadBalancer[] = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM'];
const tlsModes: TlsMode[] = ['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'];

export function parseDestinationRule(object: K8sObject, createdAt = 0): DestinationRuleModel {
  const at = FieldPath.of('DestinationRule', object.metadata.name);
  const spec = readObject(object.spec, at.key('spec'), ['host', 'trafficPolicy', 'subsets', 'exportTo'], {
    workloadSelector: 'DestinationRules scoped to workloads are not emulated',
  });
  const host = readString(spec.host, at.key('spec.host'));
  const subsets: Subset[] = readArray(spec.subsets ?? [], at.key('spec.subsets')).map((s, i) => {
    const sat = at.key('spec.subsets').index(i);
    const o = readObject(s, sat, ['name', 'labels', 'trafficPolicy']);
    return {
      name: readString(o.name, sat.key('name')),
      labels: o.labels === undefined ? {} : readStringMap(o.labels, sat.key('labels')),
      trafficPolicy: o.trafficPolicy === undefined ? undefined : parseTrafficPolicy(o.trafficPolicy, sat.key('trafficPolicy')),
    };
  });
  const names = new Set<string>();
  subsets.forEach((s, i) => {
    if (names.has(s.name)) throw at.key('spec.subsets').index(i).key('name').error(`duplicate subset ${s.name}`);
    names.add(s.name);
  });
  const namespace = object.metadata.namespace ?? 'default';
  const exportTo = spec.exportTo === undefined ? undefined : readExportTo(spec.exportTo, namespace, at.key('spec.exportTo'));
  return {
    kind: 'DestinationRule',
    name: object.metadata.name,
    namespace,
    host,
    trafficPolicy: spec.trafficPolicy === undefined ? undefined : parseTrafficPolicy(spec.trafficPolicy, at.key('spec.trafficPolicy')),
    subsets,
    ...(exportTo ? { exportTo } : {}),
    createdAt,
  };
}

const unsupportedPolicy: Record<string, string> = {
  tunnel: 'tunnel settings are not emulated',
  proxyProtocol: 'the PROXY protocol is not emulated',
};

function parseTrafficPolicy(value: unknown, at: FieldPath): TrafficPolicy {
  const o = readObject(value, at, ['loadBalancer', 'connectionPool', 'outlierDetection', 'tls', 'portLevelSettings'], unsupportedPolicy);
  const policy: TrafficPolicy = { ...parseSettings(o, at), portLevel: new Map() };
  if (o.portLevelSettings !== undefined) {
    readArray(o.portLevelSettings, at.key('portLevelSettings')).forEach((p, i) => {
      const pat = at.key('portLevelSettings').index(i);
      const po = readObject(p, pat, ['port', 'loadBalancer', 'connectionPool', 'outlierDetection', 'tls']);
      const port = readObject(po.port, pat.key('port'), ['number']);
      policy.portLevel.set(readNumber(port.number, pat.key('port.number'), { integer: true, min: 1, max: 65535 }), parseSettings(po, pat));
    });
  }
  return policy;
}

/** LoadBalancerSettings.ConsistentHashLB: one hash key, and the ring's size (MAGLEV is refused: not run here). */
function parseConsistentHash(value: unknown, at: FieldPath): ConsistentHashSpec {
  const c = readObject(value, at, ['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName', 'ringHash', 'minimumRingSize'], {
    maglev: 'Maglev hashing is not run by the local data plane (use ringHash)',
  });
  const keys = ['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'].filter((k) => c[k] !== undefined);
  const [, second] = keys;
  if (second !== undefined) throw at.key(second).error(`only one hash key may be set (found ${keys.join(', ')})`);
  const out: ConsistentHashSpec = { ringHash: c.ringHash !== undefined };
  if (c.httpHeaderName !== undefined) out.key = { kind: 'header', name: readString(c.httpHeaderName, at.key('httpHeaderName')).toLowerCase() };
  if (c.httpQueryParameterName !== undefined) out.key = { kind: 'query', name: readString(c.httpQueryParameterName, at.key('httpQueryParameterName')) };
  if (c.useSourceIp !== undefined && readBoolean(c.useSourceIp, at.key('useSourceIp'))) out.key = { kind: 'sourceIp' };
  if (c.httpCookie !== undefined) {
    const k = readObject(c.httpCookie, at.key('httpCookie'), ['name', 'path', 'ttl'], { attributes: 'cookie attributes are not run by the local data plane' });
    const name = readString(k.name, at.key('httpCookie.name'));
    if (name === '') throw at.key('httpCookie.name').error('a cookie name is required');
    out.key = {
      kind: 'cookie',
      name,
      ...(k.path !== undefined ? { path: readString(k.path, at.key('httpCookie.path')) } : {}),
      ...(k.ttl !== undefined ? { ttlSeconds: Math.floor(readDuration(k.ttl, at.key('httpCookie.ttl')) / 1000) } : {}),
    };
  }
  if (c.ringHash !== undefined) {
    const r = readObject(c.ringHash, at.key('ringHash'), ['minimumRingSize']);
    if (r.minimumRingSize !== undefined) out.minimumRingSize = readNumber(r.minimumRingSize, at.key('ringHash.minimumRingSize'), { integer: true, min: 0 });
  } else if (c.minimumRingSize !== undefined) {
    out.minimumRingSize = readNumber(c.minimumRingSize, at.key('minimumRingSize'), { integer: true, min: 0 });
  }
  return out;
}

function parseSettings(o: Record<string, unknown>, at: FieldPath): TrafficPolicySettings {
  const out: TrafficPolicySettings = {};
  if (o.loadBalancer !== undefined) {
    const lb = readObject(o.loadBalancer, at.key('loadBalancer'), ['simple', 'consistentHash'], {
      localityLbSetting: 'locality load balancing is not emulated (one locality)',
      warmupDurationSecs: 'slow-start warm-up is not emulated',
      warmup: 'slow-start warm-up is not emulated',
    });
    if (lb.simple !== undefined) {
      const simple = readString(lb.simple, at.key('loadBalancer.simple'));
      const name =
        simple === 'ROUND_ROBIN' || simple === 'LEAST_REQUEST' || simple === 'RANDOM' ? simple : simple === 'LEAST_CONN' ? 'LEAST_REQUEST' : undefined;
      if (!name) throw at.key('loadBalancer.simple').error(`unsupported load balancer ${simple} (supported: ${loadBalancers.join(', ')}, LEAST_CONN)`);
      out.loadBalancer = { simple: name };
    }
    if (lb.consistentHash !== undefined) {
      if (lb.simple !== undefined)
        throw at.key('loadBalancer.consistentHash').error('only one of simple and consistentHash may be set (LoadBalancerSettings.lb_policy is a oneof)');
      out.loadBalancer = { consistentHash: parseConsistentHash(lb.consistentHash, at.key('loadBalancer.consistentHash')) };
    }
  }
  if (o.connectionPool !== undefined) out.connectionPool = parseConnectionPool(o.connectionPool, at.key('connectionPool'));
  if (o.outlierDetection !== undefined) out.outlierDetection = parseOutlierDetection(o.outlierDetection, at.key('outlierDetection'));
  if (o.tls !== undefined) {
    const tls = readObject(o.tls, at.key('tls'), ['mode', 'subjectAltNames'], {
      clientCertificate: 'TLS origination with files is not emulated',
      privateKey: 'TLS origination with files is not emulated',
      caCertificates: 'TLS origination with files is not emulated',
      credentialName: 'TLS origination with secrets is not emulated',
      sni: 'SNI is not emulated',
      insecureSkipVerify: 'certificate checks are not emulated',
    });
    const mode = readString(tls.mode ?? 'DISABLE', at.key('tls.mode')) as TlsMode;
    if (!tlsModes.includes(mode)) throw at.key('tls.mode').error(`unknown TLS mode ${mode} (known: ${tlsModes.join(', ')})`);
    if (mode === 'SIMPLE' || mode === 'MUTUAL') throw at.key('tls.mode').error(`${mode} TLS origination is not emulated (use ISTIO_MUTUAL or DISABLE)`);
    out.tls = mode;
    if (tls.subjectAltNames !== undefined) {
      const sans = readArray(tls.subjectAltNames, at.key('tls.subjectAltNames')).map((v, i) => readString(v, at.key('tls.subjectAltNames').index(i)));
      // cluster_tls.go: only ISTIO_MUTUAL (the only origination mode run here) uses them; an empty list is none.
      if (sans.length > 0) out.subjectAltNames = sans;
    }
  }
  return out;
}

function parseConnectionPool(value: unknown, at: FieldPath): ConnectionPoolSettings {
  const o = readObject(value, at, ['tcp', 'http']);
  const pool: ConnectionPoolSettings = {};
  if (o.tcp !== undefined) {
    const tcp = readObject(o.tcp, at.key('tcp'), ['maxConnections', 'connectTimeout', 'tcpKeepalive', 'maxConnectionDuration', 'idleTimeout']);
    if (tcp.maxConnections !== undefined) pool.maxConnections = readNumber(tcp.maxConnections, at.key('tcp.maxConnections'), { integer: true, min: 1 });
    if (tcp.connectTimeout !== undefined) pool.connectTimeoutMs = readDuration(tcp.connectTimeout, at.key('tcp.connectTimeout'), { min: 1 });
    if (tcp.tcpKeepalive !== undefined) readObject(tcp.tcpKeepalive, at.key('tcp.tcpKeepalive'), ['probes', 'time', 'interval']); // loopback never drops idle connections
    if (tcp.maxConnectionDuration !== undefined)
      throw at.key('tcp.maxConnectionDuration').error('not supported by the local target: connection lifetimes are not emulated');
    // Istio sets the upstream HTTP idle timeout from http.idleTimeout, or else tcp.idleTimeout
    // (pilot/pkg/networking/core/cluster_traffic_policy.go applyConnectionPool).
    if (tcp.idleTimeout !== undefined) pool.idleTimeoutMs = readDuration(tcp.idleTimeout, at.key('tcp.idleTimeout'), { min: 1 });
  }
  if (o.http !== undefined) {
    const http = readObject(o.http, at.key('http'), [
      'http1MaxPendingRequests',
      'http2MaxRequests',
      'maxRequestsPerConnection',
      'maxRetries',
      'idleTimeout',
      'h2UpgradePolicy',
      'useClientProtocol',
      'maxConcurrentStreams',
    ]);
    const int = (k: string) => readNumber(http[k], at.key(`http.${k}`), { integer: true, min: 0 });
    if (http.http1MaxPendingRequests !== undefined) pool.http1MaxPendingRequests = int('http1MaxPendingRequests');
    if (http.http2MaxRequests !== undefined) pool.http2MaxRequests = int('http2MaxRequests');
    if (http.maxRequestsPerConnection !== undefined) pool.maxRequestsPerConnection = int('maxRequestsPerConnection');
    if (http.maxRetries !== undefined) pool.maxRetries = int('maxRetries');
    if (http.idleTimeout !== undefined) pool.idleTimeoutMs = readDuration(http.idleTimeout, at.key('http.idleTimeout'), { min: 1 });
    if (http.h2UpgradePolicy !== undefined) {
      const policy = readString(http.h2UpgradePolicy, at.key('http.h2UpgradePolicy'));
      if (policy === 'UPGRADE') throw at.key('http.h2UpgradePolicy').error('not supported by the local target: connections stay HTTP/1.1');
      if (policy !== 'DEFAULT' && policy !== 'DO_NOT_UPGRADE') throw at.key('http.h2UpgradePolicy').error(`unknown policy ${policy}`);
    }
    if (http.useClientProtocol !== undefined) readBoolean(http.useClientProtocol, at.key('http.useClientProtocol')); // clients speak HTTP/1.1 already
    if (http.maxConcurrentStreams !== undefined) int('maxConcurrentStreams'); // HTTP/2 only; connections here are HTTP/1.1
  }
  return pool;
}

function parseOutlierDetection(value: unknown, at: FieldPath): OutlierDetectionSettings {
  const o = readObject(
    value,
    at,
    ['consecutive5xxErrors', 'consecutiveGatewayErrors', 'consecutiveErrors', 'interval', 'baseEjectionTime', 'maxEjectionPercent', 'minHealthPercent'],
    {
      splitExternalLocalOriginErrors: 'split local-origin error accounting is not emulated',
      consecutiveLocalOriginFailures: 'split local-origin error accounting is not emulated',
    },
  );
  const int = (k: string, max?: number) => readNumber(o[k], at.key(k), { integer: true, min: 0, max });
  const settings: OutlierDetectionSettings = {};
  // Deprecated and ignored: istiod's applyOutlierDetection (cluster_traffic_policy.go) reads only
  // consecutive5xxErrors and consecutiveGatewayErrors, so Envoy's default of 5 consecutive 5xx applies; validation
  // (validation.go validateOutlierDetection) only warns. `meshproof validate` warns too (spec/semantics.ts).
  if (o.consecutiveErrors !== undefined) int('consecutiveErrors');
  if (o.consecutive5xxErrors !== undefined) settings.consecutive5xxErrors = int('consecutive5xxErrors');
  if (o.consecutiveGatewayErrors !== undefined) settings.consecutiveGatewayErrors = int('consecutiveGatewayErrors');
  if (o.interval !== undefined) settings.intervalMs = readDuration(o.interval, at.key('interval'), { min: 1 });
  if (o.baseEjectionTime !== undefined) settings.baseEjectionTimeMs = readDuration(o.baseEjectionTime, at.key('baseEjectionTime'), { min: 1 });
  if (o.maxEjectionPercent !== undefined) settings.maxEjectionPercent = int('maxEjectionPercent', 100);
  if (o.minHealthPercent !== undefined) settings.minHealthPercent = int('minHealthPercent', 100);
  return settings;
}

/** The four groups a policy carries (TrafficPolicy without its port-level list). */
function groupsOf(p: TrafficPolicySettings): TrafficPolicySettings {
  const out: TrafficPolicySettings = {};
  if (p.loadBalancer !== undefined) out.loadBalancer = p.loadBalancer;
  if (p.connectionPool !== undefined) out.connectionPool = p.connectionPool;
  if (p.outlierDetection !== undefined) out.outlierDetection = p.outlierDetection;
  if (p.tls !== undefined) out.tls = p.tls;
  if (p.subjectAltNames !== undefined) out.subjectAltNames = p.subjectAltNames;
  return out;
}

/**
 * istio/istio pilot/pkg/networking/util/util.go GetPortLevelTrafficPolicy: settings for the port replace the policy
 * whole; a group they leave out falls back to its default, not to the top-level value.
 */
function portLevelPolicy(policy: TrafficPolicy, port: number): { settings: TrafficPolicySettings; hasPortLevel: boolean } {
  const portLevel = policy.portLevel.get(port);
  return portLevel ? { settings: groupsOf(portLevel), hasPortLevel: true } : { settings: groupsOf(policy), hasPortLevel: false };
}

/**
 * The policy of the cluster for a subset (or none) and port, as istiod builds it (cluster_builder.go): the rule's
 * policy for the port (GetPortLevelTrafficPolicy), then for a subset util.go MergeSubsetTrafficPolicy — the subset's
 * groups override the rule's one at a time, unless the subset has settings for the port, which replace every group
 * (model/destination_rule.go MergeTrafficPolicy with hasPortLevel).
 */
export function effectiveTrafficPolicy(rule: DestinationRuleModel | undefined, subset: string | undefined, port: number): TrafficPolicySettings {
  if (!rule) return {};
  const original = rule.trafficPolicy ? portLevelPolicy(rule.trafficPolicy, port).settings : undefined;
  const subsetPolicy = subset === undefined ? undefined : rule.subsets.find((s) => s.name === subset)?.trafficPolicy;
  if (!subsetPolicy) return original ?? {};
  const { settings, hasPortLevel } = portLevelPolicy(subsetPolicy, port);
  if (!original) return settings;
  if (hasPortLevel) return settings;
  const merged = { ...original, ...settings };
  // tls is one group: a subset that sets it replaces the rule's subjectAltNames too.
  if (settings.tls !== undefined && settings.subjectAltNames === undefined) delete merged.subjectAltNames;
  return merged;
}

/**
 * The TLS mode the DestinationRule sets for a cluster's endpoints, as istiod's EDS reads it (pilot/pkg/xds/endpoints/
 * mtls_checker.go tlsModeForDestinationRule): the subset's mode for the port, else the rule's; within one policy a
 * port-level `tls` overrides the policy's own (here a port-level setting without `tls` keeps the policy's mode).
 * Undefined: the rule leaves it to auto mTLS.
 */
export function endpointTlsMode(rule: DestinationRuleModel | undefined, subset: string | undefined, port: number): TlsMode | undefined {
  if (!rule) return undefined;
  const forPort = (p: TrafficPolicy | undefined) => (p ? (p.portLevel.get(port)?.tls ?? p.tls) : undefined);
  if (subset === undefined) return forPort(rule.trafficPolicy);
  const s = rule.subsets.find((x) => x.name === subset);
  if (!s) return undefined;
  return forPort(s.trafficPolicy) ?? forPort(rule.trafficPolicy);
}

/**
 * Whether an endpoint gets mTLS from a client sidecar (mtls_checker.go checkMtlsEnabled): the DestinationRule's mode
 * decides when it sets one (only ISTIO_MUTUAL means mTLS); otherwise auto mTLS sends mTLS to a sidecar unless the
 * server's PeerAuthentication for that port is DISABLE.
 */
export function checkMtlsEnabled(drMode: TlsMode | undefined, hasSidecar: boolean, serverPeerAuthMode: string): boolean {
  if (drMode !== undefined) return drMode === 'ISTIO_MUTUAL';
  if (!hasSidecar) return false;
  return serverPeerAuthMode !== 'DISABLE';
}
