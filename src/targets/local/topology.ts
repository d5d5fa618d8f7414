// Kubernetes objects of a scenario as the local mesh runs them: Deployments become workload instances (one per
// replica, each with its own loopback address, labels, service account and sidecar), Services select them.
import { parse as parseYaml } from 'yaml';
import type { K8sObject } from '../../spec/types.ts';
import { FieldPath, isObj, readArray, readNumber, readObject, readString, readStringMap } from '../../istio/networking/fields.ts';
import { floodFactorOf, maxFloodFactor } from './apps/productpage.ts';
import { statsMatcherFrom, type StatsMatcher } from './proxy/stats.ts';
import { portProtocol } from '../../istio/protocol.ts';
import { must } from '../../must.ts';

export { portProtocol };
import { defaultEchoBehaviour, echoAnnotation, parseEchoBehaviour, type EchoBehaviour } from './apps/echo-config.ts';
import { opaImagePattern, parseOpaContainer, type OpaSpec } from './opa/workload.ts';
import { inertSidecarAnnotations, interceptionAnnotations, readPortList, type Interception } from './sidecar-injection.ts';
import { valueText } from '../../spec/untyped.ts';

export type AppKind = 'productpage' | 'details' | 'reviews' | 'ratings' | 'echo' | 'opa';

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
  /** The port the app listens on (an echo without a containerPort takes its Service's port, see config-store.ts). */
  port: number;
  /** Whether the container declares its port (containerPort). */
  portDeclared: boolean;
  /** The name of that container port, which a Service's targetPort may use. */
  portName?: string;
  /** An echo workload's behaviour (the meshproof.dev/echo annotation). */
  echo?: EchoBehaviour;
  /** An OPA workload's command line and mounts (opa/workload.ts). */
  opa?: OpaSpec;
  /** The pod asks for a sidecar (true), refuses one (false), or leaves it to its namespace (undefined). */
  inject?: boolean;
  /** Ports the sidecar's iptables rules leave alone or take (traffic.sidecar.istio.io/* annotations). */
  interception: Interception;
  statsMatcher: StatsMatcher;
  /** Identity of the pod template: a change restarts the pods (new names, like a new ReplicaSet). */
  templateHash: string;
}

export interface ServiceSpec {
  name: string;
  namespace: string;
  ports: number[];
  /** Each port's targetPort as written: a number, or the name of a container port (default: the port). */
  targetPorts: (number | string)[];
  /** Each port's name ('' when unnamed). */
  portNames: string[];
  selector: Record<string, string>;
  /** gRPC ports (by name or appProtocol), which only an OPA pod's ext_authz service may serve here. */
  grpcPorts?: { port: number; targetPort: number | string; at: string }[];
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
    throw at.error(
      'details with ENABLE_EXTERNAL_BOOK_SERVICE=true calls an external book service (googleapis.com); the local target has no network beyond loopback',
    );
  }
  if (kind === 'productpage' && name === 'FLOOD_FACTOR') {
    const flood = floodFactorOf({ FLOOD_FACTOR: value });
    if (flood === undefined)
      throw at.error(`FLOOD_FACTOR=${JSON.stringify(value)} is not an integer: productpage.py's int() fails and the container exits at start`);
    if (flood > maxFloodFactor) throw at.error(`FLOOD_FACTOR ${flood} is above the ${maxFloodFactor} extra reviews calls per page the local target makes`);
  }
}

/** Fields of a Deployment that change nothing the local mesh can observe. */
const inertPodFields = [
  'volumes',
  'securityContext',
  'terminationGracePeriodSeconds',
  'restartPolicy',
  'dnsPolicy',
  'schedulerName',
  'automountServiceAccountToken',
];
const inertContainerFields = [
  'name',
  'imagePullPolicy',
  'ports',
  'volumeMounts',
  'resources',
  'securityContext',
  'readinessProbe',
  'livenessProbe',
  'startupProbe',
  'terminationMessagePath',
  'terminationMessagePolicy',
];
/** An echo stands in for the user's own image: how that image is started and configured changes nothing it does. */
const echoContainerFields = ['image', 'env', 'envFrom', 'command', 'args', 'workingDir', 'lifecycle', 'stdin', 'tty', ...inertContainerFields];
const echoPodFields = [
  'imagePullSecrets',
  'nodeSelector',
  'affinity',
  'tolerations',
  'priorityClassName',
  'initContainers',
  'topologySpreadConstraints',
  'hostname',
  'enableServiceLinks',
];

export function parseDeployment(object: K8sObject): WorkloadSpec {
  const at = FieldPath.of('Deployment', object.metadata.name);
  if (object.apiVersion !== 'apps/v1') throw at.key('apiVersion').error(`expected apps/v1, found ${object.apiVersion}`);
  const spec = readObject(object.spec, at.key('spec'), [
    'replicas',
    'selector',
    'template',
    'strategy',
    'revisionHistoryLimit',
    'progressDeadlineSeconds',
    'minReadySeconds',
  ]);
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
  let inject: boolean | undefined;
  let echoText: string | undefined;
  const interception: Interception = {};
  const injectLabel = labels['sidecar.istio.io/inject'];
  if (injectLabel !== undefined) {
    if (injectLabel !== 'true' && injectLabel !== 'false')
      throw at
        .key('spec.template.metadata.labels')
        .entry('sidecar.istio.io/inject')
        .error(`expected "true" or "false", found ${JSON.stringify(injectLabel)}`);
    inject = injectLabel === 'true';
  }
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
        if (m !== undefined)
          readObject(m, at.key(`spec.template.metadata.annotations.${name}.proxyStatsMatcher`), ['inclusionPrefixes', 'inclusionSuffixes', 'inclusionRegexps']);
      }
    } else if (name === 'sidecar.istio.io/inject') {
      if (value !== 'true' && value !== 'false')
        throw at
          .key('spec.template.metadata.annotations')
          .entry(name)
          .error(`expected "true" or "false", found ${JSON.stringify(value)}`);
      // The label wins over the deprecated annotation (Istio's injection webhook, inject.go injectRequired).
      inject ??= value === 'true';
    } else if (name === echoAnnotation) {
      echoText = value;
    } else if (name.startsWith('meshproof.dev/')) {
      throw at.key('spec.template.metadata.annotations').entry(name).error(`unknown meshproof annotation (known: ${echoAnnotation})`);
    } else if (inertSidecarAnnotations.includes(name)) {
      // The sidecar container's resources: nothing the local mesh observes.
    } else if (name in interceptionAnnotations) {
      interception[must(interceptionAnnotations[name], `the interception field of ${name}`)] = readPortList(
        value,
        at.key('spec.template.metadata.annotations').entry(name),
      );
    } else if (name.startsWith('sidecar.istio.io/') || name.startsWith('proxy.istio.io/') || name.startsWith('traffic.sidecar.istio.io/')) {
      throw at.key('spec.template.metadata.annotations').entry(name).error('this sidecar annotation is not emulated');
    }
  }
  const pod = readObject(template.spec, at.key('spec.template.spec'), [
    'serviceAccountName',
    'serviceAccount',
    'containers',
    ...inertPodFields,
    ...echoPodFields,
  ]);
  const containers = readArray(pod.containers, at.key('spec.template.spec.containers'));
  const [container, ...moreContainers] = containers;
  if (container === undefined || moreContainers.length > 0)
    throw at.key('spec.template.spec.containers').error(`the local target runs one container per pod (its app behind the sidecar), found ${containers.length}`);
  const cat = at.key('spec.template.spec.containers').index(0);
  const image = readString(isObj(container) ? container.image : undefined, cat.key('image'));
  const [, bookinfoApp, bookinfoVersion = ''] = imagePattern.exec(image) ?? [];
  if (bookinfoApp === undefined && opaImagePattern.test(image))
    return opaWorkload(object, at, { labels, annotations, pod, container, cat, replicas, image, inject, echoText, interception, proxyConfig });
  if (bookinfoApp === undefined)
    return echoWorkload(object, at, { labels, annotations, pod, container, cat, replicas, image, inject, echoText, interception, proxyConfig });
  for (const field of echoPodFields) if (pod[field] !== undefined) throw at.key(`spec.template.spec.${field}`).error('not emulated for Bookinfo workloads');
  if (echoText !== undefined)
    throw at
      .key('spec.template.metadata.annotations')
      .entry(echoAnnotation)
      .error(`only echo workloads (an image that is not a Bookinfo image) read it; ${image} runs Bookinfo's own ${bookinfoApp}`);
  const c = readObject(container, cat, ['image', 'env', ...inertContainerFields]);
  const appKind = bookinfoApp as AppKind;
  const env = imageEnv(appKind, bookinfoVersion, cat.key('image'));
  if (c.env !== undefined) {
    readArray(c.env, cat.key('env')).forEach((e, i) => {
      const eat = cat.key('env').index(i);
      const o = readObject(e, eat, ['name', 'value'], { valueFrom: 'values from secrets or fields are not emulated' });
      const name = readString(o.name, eat.key('name'));
      const value = o.value === undefined ? '' : valueText(o.value);
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
    portDeclared: true,
    interception,
    ...(inject !== undefined ? { inject } : {}),
    statsMatcher: statsMatcherFrom(proxyConfig),
    templateHash: JSON.stringify([labels, annotations, serviceAccount, image, env]),
  };
}

interface PodTemplateParts {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  pod: Record<string, unknown>;
  container: unknown;
  cat: FieldPath;
  replicas: number;
  image: string;
  inject: boolean | undefined;
  echoText: string | undefined;
  interception: Interception;
  proxyConfig: unknown;
}

/** A Deployment of the user's own image: an echo workload (apps/echo.ts) behind the sidecar, as the annotation says. */
function echoWorkload(object: K8sObject, at: FieldPath, parts: PodTemplateParts): WorkloadSpec {
  const { labels, annotations, cat, image } = parts;
  const c = readObject(parts.container, cat, echoContainerFields);
  let port = 8080;
  let portDeclared = false;
  let portName: string | undefined;
  if (c.ports !== undefined) {
    const ports = readArray(c.ports, cat.key('ports'));
    // The port the app serves: the first one named http…, else the first one.
    const index = Math.max(
      0,
      ports.findIndex((p) => isObj(p) && typeof p.name === 'string' && p.name.startsWith('http')),
    );
    if (ports.length > 0) {
      const pat = cat.key('ports').index(index);
      const p = readObject(ports[index], pat, ['containerPort', 'name', 'protocol', 'hostPort', 'hostIP']);
      port = readNumber(p.containerPort, pat.key('containerPort'), { integer: true, min: 1, max: 65535 });
      if (p.name !== undefined) portName = readString(p.name, pat.key('name'));
      if ([15000, 15001, 15006, 15020, 15021, 15090].includes(port)) throw pat.key('containerPort').error(`port ${port} is the sidecar's own`);
      portDeclared = true;
    }
  }
  const annotationAt = at.key('spec.template.metadata.annotations').entry(echoAnnotation);
  const echo = parts.echoText === undefined ? defaultEchoBehaviour : parseEchoBehaviour(parts.echoText, annotationAt);
  const base = ownImageWorkload(object, at, parts);
  return {
    ...base,
    appKind: 'echo',
    port,
    portDeclared,
    ...(portName !== undefined ? { portName } : {}),
    echo,
    templateHash: JSON.stringify([labels, annotations, base.serviceAccount, image, port]),
  };
}

/** What a workload of the user's own image (an echo, OPA) takes from its Deployment, whatever runs it. */
function ownImageWorkload(object: K8sObject, at: FieldPath, parts: PodTemplateParts) {
  const { labels, pod, image } = parts;
  return {
    deployment: object.metadata.name,
    namespace: object.metadata.namespace ?? 'default',
    labels,
    app: labels.app ?? labels['app.kubernetes.io/name'] ?? object.metadata.name,
    version: labels.version ?? labels['app.kubernetes.io/version'] ?? 'unknown',
    serviceAccount: readString(pod.serviceAccountName ?? pod.serviceAccount ?? 'default', at.key('spec.template.spec.serviceAccountName')),
    image,
    env: {},
    replicas: parts.replicas,
    interception: parts.interception,
    ...(parts.inject !== undefined ? { inject: parts.inject } : {}),
    statsMatcher: statsMatcherFrom(parts.proxyConfig),
  };
}

/** A Deployment of Open Policy Agent: the real OPA (opa/workload.ts) behind the sidecar, serving its REST API. */
function opaWorkload(object: K8sObject, at: FieldPath, parts: PodTemplateParts): WorkloadSpec {
  const { labels, annotations, pod, cat, image } = parts;
  if (parts.echoText !== undefined)
    throw at.key('spec.template.metadata.annotations').entry(echoAnnotation).error(`only echo workloads read it; ${image} runs Open Policy Agent`);
  const c = readObject(parts.container, cat, ['image', 'args', 'command', 'env', ...inertContainerFields]);
  if (c.env !== undefined) throw cat.key('env').error('not run for OPA here (its configuration comes from args and mounted files)');
  const opa = parseOpaContainer(c, pod, cat, at.key('spec.template.spec'));
  const base = ownImageWorkload(object, at, parts);
  return {
    ...base,
    appKind: 'opa',
    port: opa.restPort,
    portDeclared: true,
    opa,
    templateHash: JSON.stringify([labels, annotations, base.serviceAccount, image, opa]),
  };
}

export function parseService(object: K8sObject): ServiceSpec {
  const at = FieldPath.of('Service', object.metadata.name);
  if (object.apiVersion !== 'v1') throw at.key('apiVersion').error(`expected v1, found ${object.apiVersion}`);
  const spec = readObject(object.spec, at.key('spec'), [
    'ports',
    'selector',
    'type',
    'sessionAffinity',
    'ipFamilyPolicy',
    'ipFamilies',
    'clusterIP',
    'clusterIPs',
    'internalTrafficPolicy',
  ]);
  if (spec.type !== undefined && spec.type !== 'ClusterIP')
    throw at.key('spec.type').error(`only ClusterIP services are emulated (found ${valueText(spec.type)})`);
  const targetPorts: (number | string)[] = [];
  const portNames: string[] = [];
  const grpcPorts: NonNullable<ServiceSpec['grpcPorts']> = [];
  const ports = readArray(spec.ports ?? [], at.key('spec.ports')).flatMap((p, i) => {
    const pat = at.key('spec.ports').index(i);
    const o = readObject(p, pat, ['port', 'name', 'targetPort', 'protocol', 'appProtocol']);
    const port = readNumber(o.port, pat.key('port'), { integer: true, min: 1, max: 65535 });
    let target: number | string = port;
    if (o.targetPort !== undefined) {
      if (typeof o.targetPort === 'number') target = readNumber(o.targetPort, pat.key('targetPort'), { integer: true, min: 1, max: 65535 });
      else if (typeof o.targetPort === 'string' && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(o.targetPort) && o.targetPort.length <= 15) target = o.targetPort;
      else throw pat.key('targetPort').error(`expected a port number or a container port's name, found ${JSON.stringify(o.targetPort)}`);
    }
    if (o.protocol !== undefined && o.protocol !== 'TCP') throw pat.key('protocol').error('only TCP ports are emulated');
    const name = o.name === undefined ? '' : readString(o.name, pat.key('name'));
    const appProtocol = o.appProtocol === undefined ? undefined : readString(o.appProtocol, pat.key('appProtocol'));
    const protocol = portProtocol(port, name, appProtocol);
    if (protocol === 'GRPC') {
      // Checked once the workloads are known (config-store.ts): only an OPA pod's ext_authz service may serve it.
      grpcPorts.push({ port, targetPort: target, at: pat.key(appProtocol !== undefined ? 'appProtocol' : 'name').toString() });
      return [];
    }
    targetPorts.push(target);
    portNames.push(name);
    if (protocol !== 'HTTP' && protocol !== 'auto') {
      const field = appProtocol !== undefined ? 'appProtocol' : 'name';
      throw pat
        .key(field)
        .error(
          `Istio serves this port as ${protocol} (from its ${field}), which the local target does not emulate: it routes plain HTTP/1.1 (name the port http or http-<suffix>, or leave the protocol to detection)`,
        );
    }
    return [port];
  });
  if (ports.length === 0 && grpcPorts.length === 0) throw at.key('spec.ports').error('a service needs at least one port');
  return {
    name: object.metadata.name,
    namespace: object.metadata.namespace ?? 'default',
    ports,
    targetPorts,
    portNames,
    selector: spec.selector === undefined ? {} : readStringMap(spec.selector, at.key('spec.selector')),
    ...(grpcPorts.length > 0 ? { grpcPorts } : {}),
  };
}

/**
 * A Service's gRPC ports, which the local target serves only as an OPA pod's ext_authz service (its proxies speak
 * HTTP/1.1): each must reach the ext_authz port of every pod it selects, and those pods must all be OPA's.
 */
export function checkGrpcPorts(s: ServiceSpec, workloads: WorkloadSpec[]): void {
  for (const g of s.grpcPorts ?? []) {
    const [resource = '', ...path] = g.at.split(': ');
    const at = new FieldPath(resource, path.join(': '));
    const selected = workloads.filter((w) => selects(s, w));
    for (const w of selected) {
      if (w.appKind !== 'opa' || w.opa?.grpcPort === undefined) {
        throw at.error(
          `Istio serves port ${g.port} as GRPC, which the local target runs only as the ext_authz service of an Open Policy Agent pod (${w.deployment} is not one): it routes plain HTTP/1.1 (name the port http or http-<suffix>, or leave the protocol to detection)`,
        );
      }
      if (typeof g.targetPort === 'number' ? g.targetPort !== w.opa.grpcPort : g.targetPort !== 'grpc') {
        throw at.error(`reaches the pods of ${w.deployment} on ${g.targetPort}, but their ext_authz service listens on ${w.opa.grpcPort}`);
      }
    }
  }
}

export function checkServiceAccount(object: K8sObject): void {
  const at = FieldPath.of('ServiceAccount', object.metadata.name);
  if (object.apiVersion !== 'v1') throw at.key('apiVersion').error(`expected v1, found ${object.apiVersion}`);
  for (const key of Object.keys(object)) {
    if (!['apiVersion', 'kind', 'metadata'].includes(key)) throw at.key(key).error('not supported by the local target');
  }
}

/** A Service selects a pod when they share a namespace and the pod carries every label of its (non-empty) selector. */
export function selectsPod(
  service: { namespace: string; selector: Record<string, string> },
  pod: { namespace: string; labels: Record<string, string> },
): boolean {
  return (
    service.namespace === pod.namespace && Object.keys(service.selector).length > 0 && Object.entries(service.selector).every(([k, v]) => pod.labels[k] === v)
  );
}

function selects(service: ServiceSpec, w: WorkloadSpec): boolean {
  return selectsPod(service, w);
}

/** An echo without a containerPort listens on the first (numeric) targetPort of the first Service that selects it. */
export function resolveEchoPorts(workloads: WorkloadSpec[], services: ServiceSpec[]): void {
  for (const w of workloads) {
    if (w.appKind !== 'echo' || w.portDeclared) continue;
    const service = services.find((s) => selects(s, w));
    const target = service?.targetPorts[0];
    const servicePort = service?.ports[0]; // targetPorts run parallel to ports
    if (target !== undefined && servicePort !== undefined) w.port = typeof target === 'number' ? target : servicePort;
  }
}

/**
 * The pod port each Service port reaches (Kubernetes' targetPort: a number, or a container port's name looked up in
 * each selected pod), checked against the one port each pod listens on behind its sidecar: a Service port that
 * reaches no listener would only give connection failures, so it is refused. Returns the ports that differ from
 * their Service port, by Service port.
 */
export function resolveTargetPorts(s: ServiceSpec, workloads: WorkloadSpec[]): Record<number, number> | undefined {
  const out: Record<number, number> = {};
  const selected = workloads.filter((w) => selects(s, w));
  s.ports.forEach((port, i) => {
    const at = FieldPath.of('Service', s.name).key('spec.ports').index(i);
    const written = s.targetPorts[i];
    let target: number | undefined = typeof written === 'number' ? written : undefined;
    for (const w of selected) {
      const reached = typeof written === 'number' ? written : w.portName === written ? w.port : undefined;
      if (reached === undefined) {
        throw at
          .key('targetPort')
          .error(`the pods of ${w.deployment} have no container port named ${written}${w.portName ? ` (theirs is ${w.portName})` : ''}`);
      }
      if (reached !== w.port) {
        throw at
          .key(written !== port ? 'targetPort' : 'port')
          .error(
            `reaches the pods of ${w.deployment} on ${reached}, but they listen on ${w.port} only (${w.portDeclared ? 'their containerPort' : 'the port of the first Service selecting them'}); the local target runs one port per pod`,
          );
      }
      if (target !== undefined && target !== reached)
        throw at
          .key('targetPort')
          .error(`${written} is ${target} in some selected pods and ${reached} in ${w.deployment}; the local target needs one port number per Service port`);
      target = reached;
    }
    if (target !== undefined && target !== port) out[port] = target;
  });
  return Object.keys(out).length > 0 ? out : undefined;
}
