// What scripts/kind-up.ts creates: a kind cluster whose ingress gateway NodePort is mapped to a loopback host port,
// Istio installed by istioctl with the counters meshproof reads, and the Bookinfo scenario. Pure builders, so the
// dry run prints exactly what the real run executes and tests can check it.
import { stringify } from 'yaml';
import { hostUrlAnnotation } from './constants.ts';
import { neededStats } from './stats-matcher.ts';

/** The Istio release kind-up installs (images docker.io/istio/*:<release>); the nightly workflow downloads this istioctl. */
export const istioRelease = '1.28.3';
export const istioHub = 'docker.io/istio';
/** kind release the nightly workflow installs (its default node image runs Kubernetes 1.33, which Istio 1.28 supports). */
export const kindRelease = 'v0.29.0';

export interface KindSetup {
  /** kind cluster name; the kubeconfig context is `kind-<name>`. */
  name: string;
  /** Loopback port on this host that reaches the ingress gateway's HTTP port. */
  hostPort: number;
  /** NodePort of the gateway's http2 port (80 → 8080), mapped by kind to hostPort. */
  nodePort: number;
  istioTag: string;
  /** Scenario folder applied with `kubectl apply -k`. */
  scenarioDir: string;
  namespace: string;
}

export const defaultKindSetup: Omit<KindSetup, 'scenarioDir'> = {
  name: 'meshproof',
  hostPort: 8080,
  nodePort: 30080,
  istioTag: istioRelease,
  namespace: 'default',
};

export const contextOf = (setup: Pick<KindSetup, 'name'>) => `kind-${setup.name}`;
export const hostUrl = (setup: Pick<KindSetup, 'hostPort'>) => `http://127.0.0.1:${setup.hostPort}`;

/** kind's cluster config: one node; the gateway NodePort published on 127.0.0.1 only (kind docs, extraPortMappings). */
export function kindConfig(setup: KindSetup): string {
  return stringify({
    kind: 'Cluster',
    apiVersion: 'kind.x-k8s.io/v1alpha4',
    name: setup.name,
    nodes: [
      {
        role: 'control-plane',
        extraPortMappings: [{ containerPort: setup.nodePort, hostPort: setup.hostPort, listenAddress: '127.0.0.1', protocol: 'TCP' }],
      },
    ],
  });
}

/** The proxyStatsMatcher inclusions meshproof needs (stats-matcher.ts), as mesh-wide ProxyConfig defaults. */
export function statsInclusions(): { inclusionPrefixes: string[]; inclusionRegexps: string[] } {
  return {
    inclusionPrefixes: [...new Set(neededStats.flatMap((s) => s.suggest.inclusionPrefixes ?? []))],
    inclusionRegexps: [...new Set(neededStats.flatMap((s) => s.suggest.inclusionRegexps ?? []))],
  };
}

/**
 * IstioOperator for `istioctl install`: the default profile (istiod + istio-ingressgateway), pinned hub and tag, the
 * counters meshproof reads exported by every proxy (the gateway's too: it has no workload annotation), and the gateway
 * Service as a NodePort on the mapped port, annotated with the URL that reaches it from this host (the kube target's
 * entrypoint reads the annotation). A Service's ports list replaces the chart's, so all three default ports are kept
 * (manifests/charts/gateways/istio-ingress/values.yaml: status-port 15021, http2 80→8080, https 443→8443).
 */
export function istioOperator(setup: KindSetup): string {
  return stringify({
    apiVersion: 'install.istio.io/v1alpha1',
    kind: 'IstioOperator',
    metadata: { name: 'meshproof', namespace: 'istio-system' },
    spec: {
      profile: 'default',
      hub: istioHub,
      tag: setup.istioTag,
      meshConfig: { defaultConfig: { proxyStatsMatcher: statsInclusions() } },
      components: {
        ingressGateways: [
          {
            name: 'istio-ingressgateway',
            enabled: true,
            k8s: {
              serviceAnnotations: { [hostUrlAnnotation]: hostUrl(setup) },
              service: {
                type: 'NodePort',
                ports: [
                  { name: 'status-port', port: 15021, targetPort: 15021, protocol: 'TCP' },
                  { name: 'http2', port: 80, targetPort: 8080, nodePort: setup.nodePort, protocol: 'TCP' },
                  { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' },
                ],
              },
            },
          },
        ],
      },
    },
  });
}

/** The version `istioctl version --remote=false [-o json]` prints: `clientVersion.version` of the JSON, else `client version: X` or a bare `X`. */
export function parseIstioctlVersion(output: string): string | undefined {
  try {
    const version = (JSON.parse(output) as { clientVersion?: { version?: string } }).clientVersion?.version;
    if (version) return version;
  } catch {
    // not JSON: the text form
  }
  return /(?:^|client version:\s*)(\d+\.\d+[^\s"]*)/m.exec(output)?.[1];
}

export interface IstioctlCheck {
  /** The installer may be used without --force: same major.minor as the Istio release kind-up installs. */
  ok: boolean;
  /** One line for the user: the version, and what a mismatch means. */
  note: string;
}

/**
 * `istioctl install` installs the charts built into istioctl, so it must be of the Istio minor it installs: another
 * minor brings other charts and defaults (kind-up pins only the images). A patch difference is only noted.
 */
export function checkIstioctl(path: string, version: string | undefined, istioTag: string, problem?: string): IstioctlCheck {
  const minor = (v: string) => /^(\d+\.\d+)/.exec(v)?.[1];
  const get = `Get istioctl ${istioTag}: \`curl -L https://istio.io/downloadIstio | ISTIO_VERSION=${istioTag} sh -\`, then pass --istioctl istio-${istioTag}/bin/istioctl (or put it first on PATH)`;
  if (!version) {
    return {
      ok: false,
      note: `istioctl ${path}: cannot tell its version${problem ? ` (${problem})` : ''}; kind-up installs Istio ${istioTag} only with istioctl ${minor(istioTag)}.x unless --force. ${get}`,
    };
  }
  if (minor(version) !== minor(istioTag)) {
    return {
      ok: false,
      note:
        `istioctl ${path} is version ${version}, not ${minor(istioTag)}.x: its charts are not Istio ${istioTag}'s (kind-up pins only the images), ` +
        `so kind-up refuses it unless --force. ${get}. (The pinned source build is for \`meshproof validate --istio\`, not for installing.)`,
    };
  }
  if (version !== istioTag)
    return { ok: true, note: `istioctl ${path} is version ${version}; it installs Istio ${istioTag} images with its ${version} charts` };
  return { ok: true, note: `istioctl ${path} is version ${version}` };
}

/**
 * Where an istioctl may be, in the order kind-up looks: on PATH, the folders Istio's downloadIstio script makes
 * (istio-<version>/bin/istioctl) in the current directory and the home directory, newest first by name, then the
 * pinned source build. `dirs` lists the entries of a folder (injectable for tests).
 */
export function istioctlCandidates(options: { onPath?: string; cwd: string; home: string; pinned?: string; dirs: (folder: string) => string[] }): string[] {
  const downloads = [options.cwd, options.home].flatMap((folder) =>
    options
      .dirs(folder)
      .filter((name) => /^istio-\d+\.\d+[\w.-]*$/.test(name))
      .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }))
      .map((name) => `${folder.replace(/\/$/, '')}/${name}/bin/istioctl`),
  );
  return [...new Set([...(options.onPath ? [options.onPath] : []), ...downloads, ...(options.pinned ? [options.pinned] : [])])];
}

/**
 * The istioctl to install Istio `istioTag` with: the first candidate of the same minor; when none is, the first one that
 * runs (the check then refuses it and says how to get the right one). `versions` maps each candidate to its version.
 */
export function pickIstioctl(candidates: string[], versions: Map<string, string | undefined>, istioTag: string): string | undefined {
  const minor = (v: string | undefined) => (v === undefined ? undefined : /^(\d+\.\d+)/.exec(v)?.[1]);
  return candidates.find((c) => minor(versions.get(c)) === minor(istioTag)) ?? candidates.find((c) => versions.get(c) !== undefined);
}

/** Where a missing tool comes from. */
export const toolHints: Record<string, string> = {
  docker: 'kind runs Kubernetes nodes as containers: install Docker Engine (https://docs.docker.com/engine/install/) and start it',
  kind: `install kind ${kindRelease}: \`go install sigs.k8s.io/kind@${kindRelease}\` or https://kind.sigs.k8s.io/docs/user/quick-start/#installation`,
  kubectl: 'install kubectl: https://kubernetes.io/docs/tasks/tools/',
  istioctl: `download Istio ${istioRelease}'s istioctl (\`curl -L https://istio.io/downloadIstio | ISTIO_VERSION=${istioRelease} sh -\`, then put istio-${istioRelease}/bin on PATH), pass --istioctl <path>, or build the pinned one with \`npx tsx scripts/istioctl-build.ts\``,
};
