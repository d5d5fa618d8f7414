// EnvoyFilter HTTP_FILTER patches as istiod applies them to a listener's HTTP connection managers
// (pilot/pkg/model/push_context.go EnvoyFilters: which EnvoyFilters a proxy gets and in which order;
// pilot/pkg/networking/core/envoyfilter/listener_patch.go patchHTTPFilters, listenerMatch, filterChainMatch,
// networkFilterMatch, httpFilterMatch; util.go insertBeforeFunc/insertAfterFunc/replaceFunc). The filters are Envoy
// JSON as istiod would write them; the values are the patches' own, so the model's loader reads both alike.
import type { K8sObject } from '../../spec/types.ts';
import { field, isRecord, stringField, type Json } from '../../spec/untyped.ts';
import { ROOT_NAMESPACE, objectNamespace, resourceName, scopeApplies } from '../selector.ts';
import type { ProxyDescriptor, TranslationInput } from './input.ts';

type Operation = 'ADD' | 'INSERT_FIRST' | 'INSERT_BEFORE' | 'INSERT_AFTER' | 'REPLACE' | 'REMOVE' | 'MERGE';
const OPERATIONS: readonly string[] = ['ADD', 'INSERT_FIRST', 'INSERT_BEFORE', 'INSERT_AFTER', 'REPLACE', 'REMOVE', 'MERGE'];

/** One HTTP_FILTER patch of an EnvoyFilter, with the match fields listener_patch.go reads. */
export interface HttpFilterPatch {
  operation: Operation;
  context: string;
  listener?: {
    name?: string;
    portNumber?: number;
    filterChain?: {
      name?: string;
      sni?: string;
      transportProtocol?: string;
      applicationProtocols?: string;
      destinationPort?: number;
      filter?: { name?: string; subFilter?: string };
    };
  };
  value?: Json;
  /** Where the patch was written: `EnvoyFilter ns/name: spec.configPatches[i]`. */
  origin: string;
}

/** An HTTP filter as Envoy JSON (`name`, `typed_config`, …). */
export type RawHttpFilter = Json & { name?: unknown };

/** Where the HTTP connection manager being patched sits. */
export interface PatchSite {
  listenerName: string;
  listenerPort: number;
  /** The filter chain's filter_chain_match (virtual listeners match `portNumber` against its destination_port). */
  chain: { name?: string; destination_port?: number; server_names?: string[]; transport_protocol?: string; application_protocols?: string[] };
  networkFilterName: string;
}

interface Wrapper {
  object: K8sObject;
  index: number;
  priority: number;
}

/**
 * The HTTP_FILTER patches of the EnvoyFilters that select this proxy, for one patch context, in istiod's order:
 * EnvoyFilters of the root namespace and of the proxy's namespace whose workloadSelector matches, sorted by priority,
 * root namespace first, then creation (the input's order), then `name.namespace`; each one's patches in order.
 * Patches with `match.proxy` (proxy version or metadata) are applied as if they matched.
 */
export function httpFilterPatches(
  input: TranslationInput,
  proxy: ProxyDescriptor,
  context: 'SIDECAR_INBOUND' | 'SIDECAR_OUTBOUND' | 'GATEWAY',
): HttpFilterPatch[] {
  const matched: Wrapper[] = [];
  input.envoyFilters.forEach((object, index) => {
    if (object.kind !== 'EnvoyFilter') return;
    const labels = field(object.spec, 'workloadSelector', 'labels');
    const selector = isRecord(labels) && Object.keys(labels).length > 0 ? (labels as Record<string, string>) : undefined;
    if (!scopeApplies({ namespace: objectNamespace(object), selector }, { namespace: proxy.namespace, labels: proxy.labels })) return;
    const priority = field(object.spec, 'priority');
    matched.push({ object, index, priority: typeof priority === 'number' ? priority : 0 });
  });
  const root = (w: Wrapper) => (objectNamespace(w.object) === ROOT_NAMESPACE ? 0 : 1);
  const key = (w: Wrapper) => `${w.object.metadata.name}.${objectNamespace(w.object)}`;
  matched.sort((a, b) => a.priority - b.priority || root(a) - root(b) || a.index - b.index || key(a).localeCompare(key(b)));
  const patches: HttpFilterPatch[] = [];
  for (const { object } of matched) {
    const configPatches = field(object.spec, 'configPatches');
    const list: unknown[] = Array.isArray(configPatches) ? configPatches : [];
    for (const [i, raw] of list.entries()) {
      if (field(raw, 'applyTo') !== 'HTTP_FILTER') continue;
      const patch = readPatch(raw, `${resourceName(object)}: spec.configPatches[${i}]`);
      if (patch && (patch.context === 'ANY' || patch.context === context)) patches.push(patch);
    }
  }
  return patches;
}

function readPatch(raw: unknown, origin: string): HttpFilterPatch | undefined {
  const operation = stringField(raw, 'patch', 'operation') ?? 'INVALID';
  if (!OPERATIONS.includes(operation)) return undefined;
  const listener = field(raw, 'match', 'listener');
  const chain = field(listener, 'filterChain');
  const filter = field(chain, 'filter');
  const num = (v: unknown) => (typeof v === 'number' && v > 0 ? v : undefined);
  const value = field(raw, 'patch', 'value');
  return {
    operation: operation as Operation,
    context: stringField(raw, 'match', 'context') ?? 'ANY',
    ...(isRecord(listener)
      ? {
          listener: {
            name: stringField(listener, 'name') || undefined,
            portNumber: num(field(listener, 'portNumber')),
            ...(isRecord(chain)
              ? {
                  filterChain: {
                    name: stringField(chain, 'name') || undefined,
                    sni: stringField(chain, 'sni') || undefined,
                    transportProtocol: stringField(chain, 'transportProtocol') || undefined,
                    applicationProtocols: stringField(chain, 'applicationProtocols') || undefined,
                    destinationPort: num(field(chain, 'destinationPort')),
                    ...(isRecord(filter) ? { filter: { name: stringField(filter, 'name'), subFilter: stringField(filter, 'subFilter', 'name') } } : {}),
                  },
                }
              : {}),
          },
        }
      : {}),
    ...(isRecord(value) ? { value } : {}),
    origin,
  };
}

const VIRTUAL_LISTENERS = new Set(['virtualInbound', 'virtualOutbound']);

/** listenerMatch and filterChainMatch (the listener's port check is skipped for the virtual listeners). */
function siteMatches(patch: HttpFilterPatch, site: PatchSite): boolean {
  const l = patch.listener;
  if (!l) return true;
  if (l.name !== undefined && l.name !== site.listenerName) return false;
  // A virtual listener moves the port into its chains' destination_port.
  const port = VIRTUAL_LISTENERS.has(site.listenerName) ? (site.chain.destination_port ?? 0) : site.listenerPort;
  if (l.portNumber !== undefined && port !== l.portNumber) return false;
  const m = l.filterChain;
  if (!m) return true;
  if (m.name !== undefined && m.name !== site.chain.name) return false;
  if (m.sni !== undefined && !(site.chain.server_names ?? []).includes(m.sni)) return false;
  if (m.transportProtocol !== undefined && site.chain.transport_protocol !== m.transportProtocol) return false;
  if (m.applicationProtocols !== undefined && !m.applicationProtocols.split(',').every((p) => (site.chain.application_protocols ?? []).includes(p)))
    return false;
  if (m.destinationPort !== undefined && site.chain.destination_port !== m.destinationPort) return false;
  if (m.filter?.name !== undefined && m.filter.name !== site.networkFilterName) return false;
  return true;
}

/** The sub-filter a patch names (hasHTTPFilterMatch), if any. */
const subFilterOf = (patch: HttpFilterPatch) => patch.listener?.filterChain?.filter?.subFilter;

/**
 * patchHTTPFilters: every matching patch in turn; INSERT_BEFORE/INSERT_AFTER/REPLACE act on the first filter named by
 * the sub-filter (nothing when none is), REMOVE removes every such filter. MERGE is not mirrored (istiod merges the
 * patch's Any into the filter's: util.MergeAnyWithAny); such patches are returned in `unmirrored`.
 */
export function patchHttpFilters(
  filters: readonly RawHttpFilter[],
  patches: readonly HttpFilterPatch[],
  site: PatchSite,
): { filters: RawHttpFilter[]; unmirrored: HttpFilterPatch[] } {
  let out = [...filters];
  const unmirrored: HttpFilterPatch[] = [];
  for (const patch of patches) {
    if (!siteMatches(patch, site)) continue;
    const sub = subFilterOf(patch);
    const value = () => structuredClone(patch.value ?? {});
    const at = () => out.findIndex((f) => f.name === sub);
    switch (patch.operation) {
      case 'ADD':
        out.push(value());
        break;
      case 'INSERT_FIRST':
        out.unshift(value());
        break;
      case 'INSERT_AFTER': {
        if (sub === undefined) out.push(value());
        else if (at() >= 0) out.splice(at() + 1, 0, value());
        break;
      }
      case 'INSERT_BEFORE': {
        if (sub === undefined) out.unshift(value());
        else if (at() >= 0) out.splice(at(), 0, value());
        break;
      }
      case 'REPLACE': {
        if (sub !== undefined && at() >= 0) out[at()] = value();
        break;
      }
      case 'REMOVE': {
        if (sub !== undefined) out = out.filter((f) => f.name !== sub);
        break;
      }
      case 'MERGE':
        unmirrored.push(patch);
        break;
    }
  }
  return { filters: out, unmirrored };
}
