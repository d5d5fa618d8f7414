// Where the sandbox cluster keeps its state and which loopback ports its processes listen on.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The kubeconfig context sandbox-up writes (and the kube target is pointed at). */
export const SANDBOX_CONTEXT = 'meshproof-sandbox';

/**
 * Pod IPs come from TEST-NET-1 (RFC 5737), Service cluster IPs from TEST-NET-2: addresses that are never routed. They
 * are not loopback because the API server refuses loopback addresses in EndpointSlices and Endpoints
 * (k8s.io/kubernetes pkg/apis/core/validation ValidateEndpointIP: "may not be in the loopback range"), and istiod's
 * registry needs a slice address equal to the pod IP. Nothing in the sandbox sends traffic to them; they are data.
 */
export const POD_CIDR_PREFIX = '192.0.2.';
export const SERVICE_CIDR = '198.51.100.0/24';

export interface SandboxPorts {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  istiodGrpc: number;
  istiodSecureGrpc: number;
  istiodHttp: number;
  istiodMonitoring: number;
  istiodCtrlz: number;
  /** kwok's kubelet server (port-forward), the node's kubeletEndpoint. */
  kwok: number;
  /** The process that plays the pods (the local mesh) and carries the API server's egress: its /ready and /status. */
  pods: number;
  /** kube-controller-manager's /healthz (HTTPS). */
  controllerManager: number;
  /**
   * The ingress gateway's HTTP port on this host, as kind-up's cluster maps its gateway NodePort to one: the gateway
   * Service's meshproof.dev/host-url names it, so the kube target's load goes straight to the gateway.
   */
  gateway: number;
}

/** How many consecutive ports from the base the sandbox takes. */
export const SANDBOX_PORT_COUNT = 12;

/** The one node; kwok plays its kubelet. */
export const SANDBOX_NODE = 'meshproof-sandbox-node';

export const DEFAULT_PORT_BASE = 16400;

/** Ports from a base (MESHPROOF_SANDBOX_PORT_BASE or --port-base): consecutive ports on 127.0.0.1. */
export function portsFrom(base: number): SandboxPorts {
  const last = 65535 - SANDBOX_PORT_COUNT;
  if (!Number.isInteger(base) || base < 1024 || base > last) throw new Error(`port base must be an integer from 1024 to ${last}, got ${base}`);
  return {
    etcdClient: base,
    etcdPeer: base + 1,
    apiserver: base + 2,
    istiodGrpc: base + 3,
    istiodSecureGrpc: base + 4,
    istiodHttp: base + 5,
    istiodMonitoring: base + 6,
    istiodCtrlz: base + 7,
    kwok: base + 8,
    pods: base + 9,
    controllerManager: base + 10,
    gateway: base + 11,
  };
}

/** Where this host reaches the sandbox's ingress gateway (ports.gateway): the gateway Service's host-url annotation. */
export function gatewayHostUrl(ports: SandboxPorts): string {
  return `http://127.0.0.1:${ports.gateway}`;
}

export function sandboxDir(): string {
  return process.env.MESHPROOF_SANDBOX || join(homedir(), '.cache', 'meshproof', 'sandbox');
}

/** Files in the state dir. */
export function sandboxFiles(dir: string = sandboxDir()) {
  return {
    dir,
    state: join(dir, 'sandbox.json'),
    kubeconfig: join(dir, 'kubeconfig'),
    pki: join(dir, 'pki'),
    etcdData: join(dir, 'etcd'),
    logs: join(dir, 'logs'),
    pids: join(dir, 'pids'),
    meshConfigMissing: join(dir, 'no-mesh-config-file'),
    kwokConfig: join(dir, 'kwok.yaml'),
    /** kube-controller-manager's kubeconfig: the user system:kube-controller-manager (a token of its own). */
    controllerManagerKubeconfig: join(dir, 'controller-manager.kubeconfig'),
    /** The API server's egress selector configuration, and the unix socket of the CONNECT proxy it names. */
    egressConfig: join(dir, 'egress-selector.yaml'),
    egressSocket: join(dir, 'egress.sock'),
  };
}

/** What sandbox-up records for sandbox-down and for tests. */
export interface SandboxState {
  ports: SandboxPorts;
  kubeconfig: string;
  context: string;
  server: string;
}
