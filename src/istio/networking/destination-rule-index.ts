// Which DestinationRule a proxy uses for a service, as istiod decides it: rules for one host are merged
// (pilot/pkg/model/destination_rule.go mergeDestinationRule), indexed by namespace and visibility
// (push_context.go setDestinationRules), looked up from the proxy's namespace, then the service's, then the root
// namespace (push_context.go destinationRule), with the most specific host winning among exact and wildcard hosts
// (config.go MostSpecificHostMatch). The local target refuses workloadSelector, so every rule is a catch-all.
import type { DestinationRuleModel } from './model.ts';

/** istiod's meshConfig.rootNamespace default. */
export const rootNamespace = 'istio-system';
const clusterDomain = 'cluster.local';

/** The rule a proxy in `proxyNamespace` uses for the service `fqdn` (of `serviceNamespace`), if any. */
export interface DestinationRuleLookup {
  get(fqdn: string, proxyNamespace: string, serviceNamespace?: string): DestinationRuleModel | undefined;
}

interface Consolidated {
  rule: DestinationRuleModel;
  exportTo: Set<string>;
}

interface ConsolidatedRules {
  specific: Map<string, Consolidated[]>;
  wildcard: Map<string, Consolidated[]>;
}

const newRules = (): ConsolidatedRules => ({ specific: new Map(), wildcard: new Map() });

/**
 * model/config.go ResolveShortnameToFQDN: a name without a dot gets `.<namespace>.svc.cluster.local`; anything with
 * a dot (`reviews.default`, `*.local`) is taken as written.
 */
export function resolveRuleHost(host: string, namespace: string): string {
  if (host === '*' || host.includes('.')) return host;
  return `${host}.${namespace}.svc.${clusterDomain}`;
}

/** pkg/config/host/names.go MoreSpecific: exact before wildcard, then longer, then alphabetical. */
function moreSpecific(a: string, b: string): boolean {
  const aw = a.startsWith('*');
  const bw = b.startsWith('*');
  if (aw !== bw) return !aw;
  if (a.length === b.length) return a < b;
  return a.length > b.length;
}

/** model/config.go MostSpecificHostMatch for a service hostname (never a wildcard). */
function mostSpecificHostMatch(needle: string, rules: ConsolidatedRules): Consolidated[] | undefined {
  const exact = rules.specific.get(needle);
  if (exact) return exact;
  let found: string | undefined;
  for (const h of rules.wildcard.keys()) {
    if (!needle.endsWith(h.slice(1))) continue;
    if (found === undefined || moreSpecific(h, found)) found = h;
  }
  return found === undefined ? undefined : rules.wildcard.get(found);
}

const sameSet = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((x) => b.has(x));
const supersetOf = (a: Set<string>, b: Set<string>) => [...b].every((x) => a.has(x));

/**
 * destination_rule.go mergeDestinationRule, with ENABLE_ENHANCED_DESTINATIONRULE_MERGE on (the default) and no
 * workload selectors: a rule joins an earlier one for the same host with the same exportTo (or whose exportTo is a
 * superset of a non-empty earlier one), appending the subsets it does not already have and giving its top-level
 * traffic policy only when the earlier rule has none; otherwise it stays a separate entry.
 */
function mergeDestinationRule(p: ConsolidatedRules, rule: DestinationRuleModel, exportTo: Set<string>): void {
  const rules = rule.host.startsWith('*') ? p.wildcard : p.specific;
  const list = rules.get(rule.host);
  if (!list) {
    rules.set(rule.host, [{ rule, exportTo }]);
    return;
  }
  let appendSeparately = true;
  for (const mdr of list) {
    if (sameSet(exportTo, mdr.exportTo)) appendSeparately = false;
    else if (mdr.exportTo.size > 0 && supersetOf(exportTo, mdr.exportTo)) appendSeparately = true;
    else {
      appendSeparately = true;
      continue;
    }
    // bothWithoutSelector: merged, so not appended separately (whatever the exportTo branch said).
    appendSeparately = false;
    const existing = new Set(mdr.rule.subsets.map((s) => s.name));
    mdr.rule = {
      ...mdr.rule,
      subsets: [...mdr.rule.subsets, ...rule.subsets.filter((s) => !existing.has(s.name))],
      trafficPolicy: mdr.rule.trafficPolicy ?? rule.trafficPolicy,
      mergedFrom: [...(mdr.rule.mergedFrom ?? [`${mdr.rule.namespace}/${mdr.rule.name}`]), `${rule.namespace}/${rule.name}`],
    };
  }
  if (appendSeparately) list.push({ rule, exportTo });
}

export class DestinationRuleIndex implements DestinationRuleLookup {
  private readonly namespaceLocal = new Map<string, ConsolidatedRules>();
  private readonly exportedByNamespace = new Map<string, ConsolidatedRules>();
  private readonly rootNamespaceLocal = newRules();
  private readonly cache = new Map<string, DestinationRuleModel | undefined>();

  /** push_context.go setDestinationRules; `rules` in creation order (sortConfigBySelectorAndCreationTime). */
  constructor(rules: readonly DestinationRuleModel[]) {
    const sorted = [...rules].sort((a, b) => a.createdAt - b.createdAt || cmp(a.name, b.name) || cmp(a.namespace, b.namespace));
    for (const parsed of sorted) {
      const rule = { ...parsed, host: resolveRuleHost(parsed.host, parsed.namespace) };
      const ns = rule.namespace;
      const exportTo = new Set(rule.exportTo ?? []);
      if (exportTo.size === 0 || exportTo.has('*') || exportTo.has('.') || exportTo.has(ns)) {
        mergeDestinationRule(getOrAdd(this.namespaceLocal, ns), rule, exportTo);
      }
      // meshConfig.defaultDestinationRuleExportTo is unset, so a rule without exportTo is public.
      const privateOnly = exportTo.size === 1 && (exportTo.has('.') || exportTo.has(ns));
      if (!privateOnly) mergeDestinationRule(getOrAdd(this.exportedByNamespace, ns), rule, exportTo);
      else if (ns === rootNamespace) mergeDestinationRule(this.rootNamespaceLocal, rule, exportTo);
    }
  }

  get(fqdn: string, proxyNamespace: string, serviceNamespace = namespaceOfFqdn(fqdn)): DestinationRuleModel | undefined {
    const key = `${proxyNamespace} ${fqdn} ${serviceNamespace}`;
    if (this.cache.has(key)) return this.cache.get(key);
    // sidecar.go SidecarScope.DestinationRule: the last rule without a workload selector in the list.
    const list = this.lookup(fqdn, proxyNamespace, serviceNamespace);
    const rule = list?.at(-1)?.rule;
    this.cache.set(key, rule);
    return rule;
  }

  /** push_context.go PushContext.destinationRule. */
  private lookup(fqdn: string, proxyNamespace: string, serviceNamespace: string): Consolidated[] | undefined {
    const own = proxyNamespace !== rootNamespace ? this.namespaceLocal.get(proxyNamespace) : this.rootNamespaceLocal;
    const local = own && mostSpecificHostMatch(fqdn, own);
    if (local) return local;
    for (const owner of [serviceNamespace, rootNamespace]) {
      const exported = this.exportedByNamespace.get(owner);
      const found = exported && mostSpecificHostMatch(fqdn, exported);
      if (!found) continue;
      const visible = found.filter((c) => c.exportTo.size === 0 || c.exportTo.has('*') || c.exportTo.has(proxyNamespace));
      if (visible.length > 0) return visible;
    }
    return undefined;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function getOrAdd(map: Map<string, ConsolidatedRules>, ns: string): ConsolidatedRules {
  let rules = map.get(ns);
  if (!rules) {
    rules = newRules();
    map.set(ns, rules);
  }
  return rules;
}

function namespaceOfFqdn(fqdn: string): string {
  return /^[^.]+\.([^.]+)\.svc\./.exec(fqdn)?.[1] ?? '';
}
