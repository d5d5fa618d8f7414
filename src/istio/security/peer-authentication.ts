// PeerAuthentication: which mTLS mode a workload port runs, and what that means for a connection.
//
// istio/api security/v1beta1/peer_authentication.proto (modes UNSET/DISABLE/PERMISSIVE/STRICT; UNSET "inherit from
// parent, if has one. Otherwise treated as PERMISSIVE"; port_level_mtls "only apply when a workload selector is
// specified") and istio/istio pilot/pkg/security/authn ComposePeerAuthentication: one mesh-level (root namespace, no
// selector), one namespace-level (no selector) and one workload-level (selector, not in the root namespace) policy,
// the oldest (creationTimestamp) winning within a level; workload > namespace > mesh; UNSET inherits; port-level
// UNSET inherits the workload's result; a selector in the root namespace is ignored; default PERMISSIVE.
import type { K8sObject, SourcePos } from '../../spec/types.ts';
import { FieldReader } from '../fields.ts';
import { ROOT_NAMESPACE, labelsMatch, objectNamespace, readSelector, resourceName } from '../selector.ts';

export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';
type ModeOrUnset = MtlsMode | 'UNSET';

interface ParsedPeerAuthentication {
  namespace: string;
  selector?: Record<string, string>;
  mode: ModeOrUnset;
  ports: Map<number, ModeOrUnset>;
  created: number;
}

const MODES: ModeOrUnset[] = ['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT'];
const parsed = new WeakMap<K8sObject, ParsedPeerAuthentication>();

export function validatePeerAuthentication(obj: K8sObject, source?: SourcePos): void {
  parse(obj, source);
}

function parse(obj: K8sObject, source?: SourcePos): ParsedPeerAuthentication {
  const cached = parsed.get(obj);
  if (cached) return cached;
  const r = new FieldReader(resourceName(obj), source);
  if (obj.kind !== 'PeerAuthentication') throw r.error('kind', `expected a PeerAuthentication, got ${obj.kind}`);
  if (!/^security\.istio\.io\//.test(obj.apiVersion)) throw r.error('apiVersion', `expected security.istio.io/*, got ${obj.apiVersion}`);
  const spec = r.object(obj.spec ?? {}, 'spec');
  r.onlyKeys(spec, 'spec', ['selector', 'mtls', 'portLevelMtls']);
  const selector = readSelector(obj, 'selector', source);
  const mode = readMode(r, spec.mtls, 'spec.mtls');
  const ports = new Map<number, ModeOrUnset>();
  if (spec.portLevelMtls !== undefined) {
    const pl = r.object(spec.portLevelMtls, 'spec.portLevelMtls');
    if (!selector && Object.keys(pl).length > 0) {
      throw r.error('spec.portLevelMtls', 'port level mTLS applies only with a workload selector (Istio rejects it without one)');
    }
    for (const [port, value] of Object.entries(pl)) {
      if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw r.error(`spec.portLevelMtls.${port}`, 'not a port number');
      ports.set(Number(port), readMode(r, value, `spec.portLevelMtls.${port}`));
    }
  }
  const ts = obj.metadata.creationTimestamp;
  const created = typeof ts === 'string' ? Date.parse(ts) : Number.NaN;
  const result: ParsedPeerAuthentication = {
    namespace: objectNamespace(obj),
    selector,
    mode,
    ports,
    created: Number.isNaN(created) ? Number.POSITIVE_INFINITY : created,
  };
  parsed.set(obj, result);
  return result;
}

function readMode(r: FieldReader, raw: unknown, path: string): ModeOrUnset {
  if (raw === undefined || raw === null) return 'UNSET';
  const o = r.object(raw, path);
  r.onlyKeys(o, path, ['mode']);
  const mode = o.mode ?? 'UNSET';
  if (!MODES.includes(mode as ModeOrUnset)) throw r.error(`${path}.mode`, `must be one of ${MODES.join(', ')}, got ${JSON.stringify(mode)}`);
  return mode as ModeOrUnset;
}

/** The workload's merged policy (authn/policy_applier.go MergedPeerAuthentication): its mode and the port-level ones. */
export interface MergedPeerAuthentication {
  mode: MtlsMode;
  /** The workload-level policy's portLevelMtls, UNSET resolved to `mode`. */
  ports: Map<number, MtlsMode>;
}

/**
 * ComposePeerAuthentication for one workload. Objects of other kinds are ignored. Policies without creationTimestamp
 * count as newest; among equals the first in the list wins.
 */
export function composePeerAuthentication(
  policies: K8sObject[],
  namespace: string,
  workloadLabels: Record<string, string>,
  rootNamespace = ROOT_NAMESPACE,
): MergedPeerAuthentication {
  let mesh: ParsedPeerAuthentication | undefined;
  let ns: ParsedPeerAuthentication | undefined;
  let workload: ParsedPeerAuthentication | undefined;
  const older = (a: ParsedPeerAuthentication, b: ParsedPeerAuthentication | undefined) => b === undefined || a.created < b.created;
  for (const obj of policies) {
    if (obj.kind !== 'PeerAuthentication') continue;
    const p = parse(obj);
    if (!p.selector) {
      if (p.namespace === rootNamespace) {
        if (older(p, mesh)) mesh = p;
      } else if (p.namespace === namespace) {
        if (older(p, ns)) ns = p;
      }
    } else if (p.namespace !== rootNamespace && p.namespace === namespace && labelsMatch(p.selector, workloadLabels)) {
      if (older(p, workload)) workload = p;
    }
  }
  let mode: MtlsMode = 'PERMISSIVE';
  for (const level of [mesh, ns, workload]) if (level && level.mode !== 'UNSET') mode = level.mode;
  const ports = new Map<number, MtlsMode>();
  for (const [port, portMode] of workload?.ports ?? []) ports.set(port, portMode === 'UNSET' ? mode : portMode);
  return { mode, ports };
}

/** The mode the workload's sidecar enforces on `port` (its target port): GetMutualTLSModeForPort. */
export function effectivePeerAuthMode(
  policies: K8sObject[],
  namespace: string,
  workloadLabels: Record<string, string>,
  port: number,
  rootNamespace = ROOT_NAMESPACE,
): MtlsMode {
  const merged = composePeerAuthentication(policies, namespace, workloadLabels, rootNamespace);
  return merged.ports.get(port) ?? merged.mode;
}

/**
 * Whether the sidecar's inbound listener takes a connection. STRICT accepts only mTLS from a mesh peer; a plaintext
 * client (e.g. outside the mesh) gets its connection reset (no filter chain matches, so the client sees a reset, not
 * an HTTP status). PERMISSIVE accepts both. DISABLE accepts plaintext only.
 */
export function peerAuthAccepts(mode: MtlsMode, connection: { mtls: boolean }): boolean {
  if (mode === 'STRICT') return connection.mtls;
  if (mode === 'DISABLE') return !connection.mtls;
  return true;
}
