// Checks before a run touches a cluster: the context is allowed, Istio is installed, the scenario's workloads run with
// sidecars that export the stats meshproof reads. Each failure says exactly what is missing.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { TargetError } from '../../errors.ts';
import type { K8sObject } from '../../spec/types.ts';
import type { KubeApi } from './api.ts';
import type { ProxyPod } from './affected.ts';
import type { ScenarioWorkload } from './scenario.ts';
import { effectiveMatcher, missingStats } from './stats-matcher.ts';
import { SANDBOX_CONTEXT, sandboxFiles } from '../../sandbox/layout.ts';
import { hasSidecar, isReady, type Pod } from './pods.ts';

/** Where a kubeconfig would be read from, or undefined when there is none (and no in-cluster service account). */
export function kubeconfigSource(env: NodeJS.ProcessEnv = process.env, home = homedir()): string | undefined {
  if (env.KUBECONFIG) return `KUBECONFIG=${env.KUBECONFIG}`;
  const file = join(home, '.kube', 'config');
  if (existsSync(file)) return file;
  if (existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')) return 'the in-cluster service account';
  return undefined;
}

/** What to do when there is no kubeconfig at all: the ways to get a cluster meshproof can use. */
export const noKubeconfigHelp =
  'there is no kubeconfig: KUBECONFIG is not set and ~/.kube/config does not exist. Create a kind cluster with Istio and ' +
  'Bookinfo (`npx tsx scripts/kind-up.ts`), or pass --kubeconfig FILE; without a cluster, run on the local target (the default).';

/** Load the kubeconfig (KUBECONFIG or ~/.kube/config, as kubectl does) and switch to `context` when given. */
export function loadKubeConfig(context?: string, kubeconfig?: string): KubeConfig {
  // The sandbox keeps its own kubeconfig (scripts/sandbox-up.ts does not write into the user's): its context is found
  // there when the kubeconfig in use does not have it.
  const sandbox = sandboxFiles().kubeconfig;
  if (!kubeconfig && context === SANDBOX_CONTEXT && existsSync(sandbox) && !defaultHasContext(context)) kubeconfig = sandbox;
  // With no kubeconfig at all, client-node falls back to a context "loaded-context" on http://localhost:8080: naming
  // that context (or suggesting --context loaded-context) would only lead to a second, stranger failure.
  if (!kubeconfig && kubeconfigSource() === undefined) throw new TargetError(noKubeconfigHelp);
  const config = new KubeConfig();
  try {
    if (kubeconfig) config.loadFromFile(kubeconfig);
    else config.loadFromDefault();
  } catch (error) {
    throw new TargetError(`cannot read the kubeconfig: ${(error as Error).message}`);
  }
  if (context) {
    if (!config.getContextObject(context)) {
      const known = config.getContexts().map((c) => c.name);
      throw new TargetError(`kubeconfig has no context "${context}"; it has: ${known.join(', ') || 'none'}`);
    }
    config.setCurrentContext(context);
  }
  if (!config.getCurrentContext()) throw new TargetError('the kubeconfig names no current context; pass --context');
  return config;
}

function defaultHasContext(context: string): boolean {
  if (kubeconfigSource() === undefined) return false;
  try {
    const config = new KubeConfig();
    config.loadFromDefault();
    return config.getContextObject(context) !== null;
  } catch {
    return false;
  }
}

/** The API server's host is this machine (kind publishes its API server on 127.0.0.1; the sandbox runs there). */
export function isLoopbackServer(server: string | undefined): boolean {
  if (!server) return false;
  try {
    const host = new URL(server).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}

/**
 * Local clusters are allowed: a kind context (`kind-*`) or the sandbox's (`meshproof-sandbox`) whose API server is on
 * this machine. Anything else — another name, or a kind-* name pointing at a remote server — needs an explicit
 * --context X --allow-context: the name alone proves nothing (issue 14 D7).
 */
export function checkContext(context: string, options: { requested?: string; allowContext?: boolean; server?: string }): void {
  if (options.allowContext && options.requested === context) return;
  const localName = context.startsWith('kind-') || context === SANDBOX_CONTEXT;
  if (localName && isLoopbackServer(options.server)) return;
  const why = localName
    ? `its name says it is a local cluster, but its API server ${options.server ?? '(none)'} is not on this machine`
    : 'meshproof applies and removes Istio resources';
  throw new TargetError(
    `refusing to change cluster context "${context}": ${why}. kind-* and meshproof-sandbox contexts on this machine are ` +
      `allowed by default; for this one pass --context ${context} --allow-context`,
  );
}

/** Istio kinds meshproof may apply, by the API version it reads them with. */
export const istioKinds: { apiVersion: string; kind: string }[] = [
  { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService' },
  { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule' },
  { apiVersion: 'networking.istio.io/v1', kind: 'Gateway' },
  { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry' },
  { apiVersion: 'networking.istio.io/v1', kind: 'Sidecar' },
  { apiVersion: 'networking.istio.io/v1alpha3', kind: 'EnvoyFilter' },
  { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy' },
  { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication' },
  { apiVersion: 'security.istio.io/v1', kind: 'RequestAuthentication' },
];

export async function missingIstioKinds(api: KubeApi): Promise<string[]> {
  const missing: string[] = [];
  for (const { apiVersion, kind } of istioKinds) {
    const served = await api.resources(apiVersion);
    if (!served?.some((r) => r.kind === kind)) missing.push(`${kind} (${apiVersion})`);
  }
  return missing;
}

/** Istio version of an istiod pod from its image tag (`.../pilot:1.28.0`, `...:1.28.0-distroless`). */
export function istioVersionFromImage(image: string | undefined): string | undefined {
  if (!image) return undefined;
  const [withoutDigest = ''] = image.split('@');
  const colon = withoutDigest.lastIndexOf(':');
  if (colon < 0 || withoutDigest.slice(colon).includes('/')) return undefined;
  const tag = withoutDigest.slice(colon + 1).replace(/-distroless$|-debug$/, '');
  return /^\d+\.\d+/.test(tag) ? tag : undefined;
}

function matchesLabels(pod: Pod, labels: Record<string, string>): boolean {
  return Object.entries(labels).every(([k, v]) => pod.metadata.labels?.[k] === v);
}

export interface WorkloadCheck {
  proxies: ProxyPod[];
  /** pod name → workload name (`reviews-v2`, `istio-ingressgateway`) */
  workloadOf: Map<string, string>;
  problems: string[];
}

/**
 * Every scenario workload has a ready pod with a sidecar, and every such pod (and the ingress gateway's) exports the
 * stats meshproof reads.
 */
export function checkWorkloads(
  pods: Pod[],
  gatewayPods: Pod[],
  workloads: ScenarioWorkload[],
  namespace: string,
  meshDefaultConfig: string | undefined,
): WorkloadCheck {
  const problems: string[] = [];
  const proxies: ProxyPod[] = [];
  const workloadOf = new Map<string, string>();
  const statsProblems = (pod: Pod, workload: string) => {
    const missing = missingStats(effectiveMatcher(pod.metadata.annotations ?? {}, meshDefaultConfig));
    if (missing.length === 0) return;
    const prefixes = missing.flatMap((m) => m.suggest.inclusionPrefixes ?? []);
    const regexps = missing.flatMap((m) => m.suggest.inclusionRegexps ?? []);
    const suggestion = JSON.stringify({
      proxyStatsMatcher: { ...(prefixes.length ? { inclusionPrefixes: prefixes } : {}), ...(regexps.length ? { inclusionRegexps: regexps } : {}) },
    });
    problems.push(
      `${workload} (pod ${pod.metadata.namespace}/${pod.metadata.name}) does not export ${missing.map((m) => `${m.what} (e.g. ${m.example})`).join(', ')}; ` +
        `add to its proxy.istio.io/config annotation (or the mesh's defaultConfig): ${suggestion}`,
    );
  };
  for (const workload of workloads) {
    const ns = workload.namespace ?? namespace;
    const mine = pods.filter((p) => p.metadata.namespace === ns && matchesLabels(p, workload.labels));
    if (mine.length === 0) {
      problems.push(`${workload.name}: no pod in namespace ${ns} with labels ${JSON.stringify(workload.labels)} (is the scenario deployed?)`);
      continue;
    }
    const ready = mine.filter(isReady);
    if (ready.length === 0) problems.push(`${workload.name}: none of its ${mine.length} pod(s) is ready`);
    const injected = ready.filter(hasSidecar);
    if (ready.length > 0 && injected.length === 0) {
      problems.push(`${workload.name}: its pods have no istio-proxy sidecar (label the namespace istio-injection=enabled and restart the deployment)`);
    }
    for (const pod of injected) {
      workloadOf.set(pod.metadata.name, workload.name);
      proxies.push({ id: `${pod.metadata.name}.${ns}`, namespace: ns, labels: pod.metadata.labels ?? {}, gateway: false });
      statsProblems(pod, workload.name);
    }
  }
  const readyGateways = gatewayPods.filter(isReady);
  if (readyGateways.length === 0) problems.push('no ready ingress gateway pod (label istio=ingressgateway) in istio-system');
  for (const pod of readyGateways) {
    const name = pod.metadata.labels?.app ?? 'istio-ingressgateway';
    workloadOf.set(pod.metadata.name, name);
    proxies.push({
      id: `${pod.metadata.name}.${pod.metadata.namespace}`,
      namespace: pod.metadata.namespace ?? 'istio-system',
      labels: pod.metadata.labels ?? {},
      gateway: true,
    });
    statsProblems(pod, name);
  }
  return { proxies, workloadOf, problems };
}

/** meshConfig.defaultConfig from the `istio` ConfigMap, as YAML (undefined when absent). */
export function meshDefaultConfig(istioConfigMap: (K8sObject & { data?: Record<string, string> }) | undefined): string | undefined {
  const mesh = istioConfigMap?.data?.mesh;
  if (!mesh) return undefined;
  const parsed = parse(mesh) as { defaultConfig?: unknown } | null;
  return parsed?.defaultConfig ? stringify(parsed.defaultConfig) : undefined;
}
