// Kubernetes objects of a scenario as the local mesh runs them: Deployments become workload instances (one per
// replica, each with its own loopback address, labels, service account and sidecar), Services select them.
import { parse as parseYaml } from 'yaml';
import type { K8sObject } from '../../spec/types.ts';
import { FieldPath, isObj, readArray, readNumber, readObject, readString, readStringMap } from '../../istio/networking/fields.ts';
import { floodFactorOf, maxFloodFactor } from './apps/productpage.ts';
import { statsMatcherFrom, type StatsMatcher } from './proxy/stats.ts';

export type AppKind = 'productpage' | 'details' | 'reviews' | 'ratings';

export interface WorkloadSpec {
  deployment: string;
  namespace: string;
  labels: Record<string, string>;
  app: string;
  version: string;
  serviceAccount: string;
  image: string;
  appKind: AppKind;
  env: Record<string, string>;
  replicas: number;
  port: number;
  statsMatcher: StatsMatcher;
  /** Identity of the pod template: a change restarts the pods (new names, like a new ReplicaSet). */
  templateHash: string;
}

export interface ServiceSpec {
  name: string;
  namespace: string;
  ports: number[];
  selector: Record<string, string>;
}

const imagePattern = /(?:^|\/)examples-bookinfo-(productpage|details|reviews|ratings)-(v[a-z0-9-]*?)(?::[\w.-]+)?$/;

/** Environment the public Bookinfo images bake in (their Dockerfiles' ENV / build args). */
function imageEnv(kind: AppKind, variant: string, at: FieldPath): Record<string, string> {
  switch (kind) {
    case 'reviews':
      if (variant === 'v1') return { ENABLE_RATINGS: 'false' };
      if (variant === 'v2') return { ENABLE_RATINGS: 'true', STAR_COLOR: 'black' };
      if (variant === 'v3') return { ENABLE_RATINGS: 'true', STAR_COLOR: 'red' };
      break;
    case 'ratings':
      if (['v1', 'v2', 'v-faulty', 'v-delayed', 'v-unavailable', 'v-unhealthy'].includes(variant)) return { SERVICE_VERSION: variant };
      break;
    case 'details':
      if (variant === 'v1') return {};
      if (variant === 'v2') throw at.error('details-v2 calls an external book service (googleapis.com); the local target has no network beyond loopback');
      break;
    case 'productpage':
      if (variant === 'v1') return {};
      // samples/bookinfo/src/docker-bake.hcl: examples-bookinfo-productpage-v-flooding, build arg flood_factor = 100
      if (variant === 'v-flooding') return { FLOOD_FACTOR: '100' };
      break;
  }
  throw at.error(`unknown Bookinfo image variant ${kind}-${variant}`);
}

/** Environment values the Bookinfo apps read that the local target cannot honour. */
function checkEnv(kind: AppKind, name: string, value: string | undefined, at: FieldPath): void {
  if (value === undefined) return;
  // details.rb: ENV['ENABLE_EXTERNAL_BOOK_SERVICE'] === 'true' fetches the book from www.googleapis.com
  if (kind === 'details' && name === 'ENABLE_EXTERNAL_BOOK_SERVICE' && value === 'true') {
    throw at.error('details with ENABLE_EXTERNAL_BOOK_SERVICE=true calls an external book service (googleapis.com); the local target has no network beyond loopback');
  }
  if (kind === 'productpage' && name === 'FLOOD_FACTOR') {
    const flood = floodFactorOf({ FLOOD_FACTOR: value });
    if (flood === undefined) throw at.error(`FLOOD_FACTOR=${JSON.stringify(value)} is not an integer: productpage.py's int() fails and the container exits at start`);
    if (flood > maxFloodFactor) throw at.error(`FLOOD_FACTOR ${flood} is above the ${maxFloodFactor} extra reviews calls per page the local target makes`);
  }
}

/** Fields of a Deployment that change nothing the local mesh can observe. */
const inertPodFields = ['volumes', 'securityContext', 'terminationGracePeriodSeconds', 'restartPolicy', 'dnsPolicy', 'schedulerName', 'automountServiceAccountToken'];
const inertContainerFields = ['name', 'imagePullPolicy', 'ports', 'volumeMounts', 'resources', 'securityContext', 'readinessProbe', 'livenessProbe', 'startupProbe', 'terminationMessagePath', 'terminationMessagePolicy'];

export function parseDeployment(object: K8sObject): WorkloadSpec {
  const at = FieldPath.of('Deployment', object.metadata.name);
  if (object.apiVersion !== 'apps/v1') throw at.key('apiVersion').error(`expected apps/v1, found ${object.apiVersion}`);
  const spec = readObject(object.spec, at.key('spec'), ['replicas', 'selector', 'template', 'strategy', 'revisionHistoryLimit', 'progressDeadlineSeconds', 'minReadySeconds']);
  const replicas = spec.replicas === undefined ? 1 : readNumber(spec.replicas, at.key('spec.replicas'), { integer: true, min: 0, max: 20 });
  const template = readObject(spec.template, at.key('spec.template'), ['metadata', 'spec']);
  const meta = readObject(template.metadata ?? {}, at.key('spec.template.metadata'), ['labels', 'annotations']);
  const labels = meta.labels === undefined ? {} : readStringMap(meta.labels, at.key('spec.template.metadata.labels'));
  if (spec.selector !== undefined) {
    const sel = readObject(spec.selector, at.key('spec.selector'), ['matchLabels']);
    const matchLabels = sel.matchLabels === undefined ? {} : readStringMap(sel.matchLabels, at.key('spec.selector.matchLabels'));
    for (const [k, v] of Object.entries(matchLabels)) {
      if (labels[k] !== v) throw at.key(`spec.selector.matchLabels.${k}`).error('the selector does not match the pod template labels');
    }
  }
  const annotations = meta.annotations === undefined ? {} : readStringMap(meta.annotations, at.key('spec.template.metadata.annotations'));
  let proxyConfig: unknown;
  for (const [name, value] of Object.entries(annotations)) {
    if (name === 'proxy.istio.io/config') {
      try {
        proxyConfig = parseYaml(value);
      } catch (error) {
        throw at.key(`spec.template.metadata.annotations.${name}`).error(`not valid YAML: ${(error as Error).message}`);
      }
      if (proxyConfig !== null && proxyConfig !== undefined) {
        readObject(proxyConfig, at.key(`spec.template.metadata.annotations.${name}`), ['proxyStatsMatcher']);
        const m = (proxyConfig as { proxyStatsMatcher?: unknown }).proxyStatsMatcher;
        if (m !== undefined) readObject(m, at.key(`spec.template.metadata.annotations.${name}.proxyStatsMatcher`), ['inclusionPrefixes', 'inclusionSuffixes', 'inclusionRegexps']);
      }
    } else if (name === 'sidecar.istio.io/inject' && value !== 'true') {
      throw at.key(`spec.template.metadata.annotations.${name}`).error('workloads without a sidecar are not emulated');
    } else if (name.startsWith('sidecar.istio.io/') || name.startsWith('proxy.istio.io/')) {
      throw at.key(`spec.template.metadata.annotations.${name}`).error('this sidecar annotation is not emulated');
    }
  }
  const pod = readObject(template.spec, at.key('spec.template.spec'), ['serviceAccountName', 'serviceAccount', 'containers', ...inertPodFields]);
  const containers = readArray(pod.containers, at.key('spec.template.spec.containers'));
  if (containers.length !== 1) throw at.key('spec.template.spec.containers').error('the local target runs one Bookinfo container per pod');
  const cat = at.key('spec.template.spec.containers').index(0);
  const c = readObject(containers[0], cat, ['image', 'env', ...inertContainerFields]);
  const image = readString(c.image, cat.key('image'));
  const m = imagePattern.exec(image);
  if (!m) throw cat.key('image').error(`the local target runs the Bookinfo images only (docker.io/istio/examples-bookinfo-<service>-<version>), found ${image}`);
  const appKind = m[1] as AppKind;
  const env = imageEnv(appKind, m[2], cat.key('image'));
  if (c.env !== undefined) {
    readArray(c.env, cat.key('env')).forEach((e, i) => {
      const eat = cat.key('env').index(i);
      const o = readObject(e, eat, ['name', 'value'], { valueFrom: 'values from secrets or fields are not emulated' });
      const name = readString(o.name, eat.key('name'));
      const value = o.value === undefined ? '' : String(o.value);
      checkEnv(appKind, name, value, eat.key('value'));
      env[name] = value;
    });
  }
  let port = 9080;
  if (Array.isArray(c.ports) && isObj(c.ports[0]) && c.ports[0].containerPort !== undefined) {
    port = readNumber(c.ports[0].containerPort, cat.key('ports').index(0).key('containerPort'), { integer: true });
    if (port !== 9080) throw cat.key('ports').index(0).key('containerPort').error('Bookinfo containers listen on 9080');
  }
  const namespace = object.metadata.namespace ?? 'default';
  const serviceAccount = readString(pod.serviceAccountName ?? pod.serviceAccount ?? 'default', at.key('spec.template.spec.serviceAccountName'));
  return {
    deployment: object.metadata.name,
    namespace,
    labels,
    app: labels.app ?? object.metadata.name,
    version: labels.version ?? 'unknown',
    serviceAccount,
    image,
    appKind,
    env,
    replicas,
    port,
    statsMatcher: statsMatcherFrom(proxyConfig),
    templateHash: JSON.stringify([labels, annotations, serviceAccount, image, env]),
  };
}

/**
 * The protocol istiod gives a Service port (pkg/config/kube/conversion.go ConvertProtocol, protocol.Parse): the
 * appProtocol, else the port name's prefix before `-`; `auto` (detected: HTTP for Bookinfo) when neither names a known
 * protocol, except on well-known non-HTTP ports, which are TCP.
 */
export function portProtocol(port: number, name: string, appProtocol?: string): string {
  let text = appProtocol ?? name;
  if (appProtocol === 'kubernetes.io/h2c') return 'HTTP2';
  if (appProtocol === 'kubernetes.io/ws') return 'HTTP';
  if (appProtocol === 'kubernetes.io/wss') return 'HTTPS';
  if (text.toLowerCase().startsWith('grpc-web')) return 'GRPC-Web';
  const dash = text.indexOf('-');
  if (dash >= 0) text = text.slice(0, dash);
  const known: Record<string, string> = {
    tcp: 'TCP', udp: 'UDP', grpc: 'GRPC', http: 'HTTP', http_proxy: 'HTTP_PROXY', http2: 'HTTP2', https: 'HTTPS', tls: 'TLS', mongo: 'Mongo', redis: 'Redis', mysql: 'MySQL',
  };
  const protocol = known[text.toLowerCase()];
  if (protocol) return protocol;
  return [25, 53, 3306, 27017].includes(port) ? 'TCP' : 'auto';
}

export function parseService(object: K8sObject): ServiceSpec {
  const at = FieldPath.of('Service', object.metadata.name);
  if (object.apiVersion !== 'v1') throw at.key('apiVersion').error(`expected v1, found ${object.apiVersion}`);
  const spec = readObject(object.spec, at.key('spec'), ['ports', 'selector', 'type', 'sessionAffinity', 'ipFamilyPolicy', 'ipFamilies', 'clusterIP', 'clusterIPs', 'internalTrafficPolicy']);
  if (spec.type !== undefined && spec.type !== 'ClusterIP') throw at.key('spec.type').error(`only ClusterIP services are emulated (found ${String(spec.type)})`);
  const ports = readArray(spec.ports ?? [], at.key('spec.ports')).map((p, i) => {
    const pat = at.key('spec.ports').index(i);
    const o = readObject(p, pat, ['port', 'name', 'targetPort', 'protocol', 'appProtocol']);
    const port = readNumber(o.port, pat.key('port'), { integer: true, min: 1, max: 65535 });
    if (o.targetPort !== undefined && o.targetPort !== port && o.targetPort !== 'http') {
      throw pat.key('targetPort').error('a targetPort different from the port is not emulated');
    }
    if (o.protocol !== undefined && o.protocol !== 'TCP') throw pat.key('protocol').error('only TCP ports are emulated');
    const name = o.name === undefined ? '' : readString(o.name, pat.key('name'));
    const appProtocol = o.appProtocol === undefined ? undefined : readString(o.appProtocol, pat.key('appProtocol'));
    const protocol = portProtocol(port, name, appProtocol);
    if (protocol !== 'HTTP' && protocol !== 'auto') {
      const field = appProtocol !== undefined ? 'appProtocol' : 'name';
      throw pat.key(field).error(`Istio serves this port as ${protocol} (from its ${field}), which the local target does not emulate: it routes plain HTTP/1.1 (name the port http or http-<suffix>, or leave the protocol to detection)`);
    }
    return port;
  });
  if (ports.length === 0) throw at.key('spec.ports').error('a service needs at least one port');
  return {
    name: object.metadata.name,
    namespace: object.metadata.namespace ?? 'default',
    ports,
    selector: spec.selector === undefined ? {} : readStringMap(spec.selector, at.key('spec.selector')),
  };
}

export function checkServiceAccount(object: K8sObject): void {
  const at = FieldPath.of('ServiceAccount', object.metadata.name);
  if (object.apiVersion !== 'v1') throw at.key('apiVersion').error(`expected v1, found ${object.apiVersion}`);
  for (const key of Object.keys(object)) {
    if (!['apiVersion', 'kind', 'metadata'].includes(key)) throw at.key(key).error('not supported by the local target');
  }
}
