// Whether a pod gets its sidecar (Istio's injection webhooks: namespace label, pod label or annotation) and which of
// its traffic the sidecar takes (istio-iptables, through the traffic.sidecar.istio.io annotations). The local target
// emulates pods whose traffic all passes their sidecar; anything else is refused, naming the field.
import { FieldPath } from '../../istio/networking/fields.ts';
import type { K8sObject } from '../../spec/types.ts';
import type { WorkloadSpec } from './topology.ts';
import { splitAuthority } from './authority.ts';

/** Which ports the sidecar intercepts, from the pod's traffic.sidecar.istio.io annotations (`*` for every port). */
export interface Interception {
  includeInbound?: '*' | number[];
  excludeInbound?: '*' | number[];
  excludeOutbound?: '*' | number[];
}

export const interceptionAnnotations: Record<string, keyof Interception> = {
  'traffic.sidecar.istio.io/includeInboundPorts': 'includeInbound',
  'traffic.sidecar.istio.io/excludeInboundPorts': 'excludeInbound',
  'traffic.sidecar.istio.io/excludeOutboundPorts': 'excludeOutbound',
};

/** Sidecar annotations that size the proxy's container only. */
export const inertSidecarAnnotations = [
  'sidecar.istio.io/proxyCPU',
  'sidecar.istio.io/proxyCPULimit',
  'sidecar.istio.io/proxyMemory',
  'sidecar.istio.io/proxyMemoryLimit',
];

/** `8000,8080` or `*` (istio-iptables' port lists). */
export function readPortList(value: string, at: FieldPath): '*' | number[] {
  if (value.trim() === '*') return '*';
  if (value.trim() === '') return [];
  return value.split(',').map((p) => {
    const port = Number(p.trim());
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw at.error(`expected a comma-separated list of ports or *, found ${JSON.stringify(value)}`);
    return port;
  });
}

const listed = (list: '*' | number[] | undefined, port: number) => list !== undefined && (list === '*' || list.includes(port));

/**
 * The app's port must reach the app through the sidecar (istio-iptables redirects the included inbound ports minus
 * the excluded ones, all by default), and the calls it is configured to make must leave through it: anything else
 * would bypass the proxy, which the local target does not emulate.
 */
export function checkInterception(w: WorkloadSpec): void {
  const annotations = FieldPath.of('Deployment', w.deployment).key('spec.template.metadata.annotations');
  const { includeInbound, excludeInbound, excludeOutbound } = w.interception;
  if (includeInbound !== undefined && !listed(includeInbound, w.port)) {
    throw annotations
      .entry('traffic.sidecar.istio.io/includeInboundPorts')
      .error(`the app's port ${w.port} is not intercepted: requests would reach it without the sidecar, which the local target does not emulate`);
  }
  if (listed(excludeInbound, w.port)) {
    throw annotations
      .entry('traffic.sidecar.istio.io/excludeInboundPorts')
      .error(`the app's port ${w.port} is excluded: requests would reach it without the sidecar, which the local target does not emulate`);
  }
  const calls = w.echo ? [...w.echo.calls, ...w.echo.paths.flatMap((p) => p.behaviour.calls)] : [];
  for (const call of calls) {
    const { port } = splitAuthority(call.authority);
    if (listed(excludeOutbound, port)) {
      throw annotations
        .entry('traffic.sidecar.istio.io/excludeOutboundPorts')
        .error(`the echo's call to ${call.url} would bypass the sidecar (port ${port} is excluded), which the local target does not emulate`);
    }
  }
}

export function checkNamespace(object: K8sObject): void {
  const at = FieldPath.of('Namespace', object.metadata.name);
  for (const key of Object.keys(object)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(key)) throw at.key(key).error('not supported by the local target');
  }
  const labels = object.metadata.labels ?? {};
  const injection = labels['istio-injection'];
  if (injection !== undefined && injection !== 'enabled' && injection !== 'disabled') {
    throw at
      .key('metadata.labels')
      .entry('istio-injection')
      .error(`expected "enabled" or "disabled", found ${JSON.stringify(injection)}`);
  }
}

/**
 * Whether a pod gets a sidecar, as Istio's injection webhooks decide: a namespace labelled istio-injection=disabled
 * never, one labelled enabled (or with a revision label istio.io/rev) unless the pod says sidecar.istio.io/inject:
 * "false", an unlabelled one only when the pod asks with "true". A namespace the scenario does not declare as an
 * object is taken as injection-enabled, as Bookinfo's `default` is in Istio's getting-started steps. The local target
 * emulates pods with a sidecar only, so a pod without one is refused.
 */
export function checkInjected(w: WorkloadSpec, namespace: K8sObject | undefined): void {
  const at = FieldPath.of('Deployment', w.deployment);
  const labels = namespace?.metadata.labels ?? {};
  const namespaceSays =
    labels['istio-injection'] === 'disabled' ? false : labels['istio-injection'] === 'enabled' || labels['istio.io/rev'] !== undefined ? true : undefined;
  if (namespace === undefined && w.inject !== false) return;
  if (namespaceSays === false) {
    throw at
      .key('metadata.namespace')
      .error(`namespace ${w.namespace} is labelled istio-injection=disabled: its pods run without a sidecar, which the local target does not emulate`);
  }
  if (w.inject === false) {
    throw at
      .key('spec.template.metadata')
      .error('the pod refuses a sidecar (sidecar.istio.io/inject: "false"); pods without a sidecar are not emulated by the local target');
  }
  if (namespaceSays === undefined && w.inject !== true) {
    throw at
      .key('metadata.namespace')
      .error(
        `namespace ${w.namespace} is not labelled istio-injection=enabled and the pod does not ask for a sidecar (sidecar.istio.io/inject: "true"): it would run without one, which the local target does not emulate`,
      );
  }
}
