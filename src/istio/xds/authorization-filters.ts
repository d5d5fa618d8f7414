// The authorization HTTP filters of a proxy's HTTP connection managers, as istiod 1.31 writes them
// (pilot/pkg/networking/core/listener_builder.go buildHTTPConnectionManager: the CUSTOM builder's filters, then the
// authentication filters, then the ALLOW/DENY/AUDIT builder's; pilot/pkg/networking/plugin/authz/authorization.go
// newBuilder; pilot/pkg/security/authz/builder/builder.go build / buildHTTP; builder/extauthz.go). A sidecar's inbound
// chains all carry the same ones, and so do a gateway's HTTP listeners.
import { TypedConfigType, type ExtAuthz, type HttpFilter, type Policy, type Rbac } from '../../envoy/model/index.ts';
import { ROOT_NAMESPACE, labelsMatch } from '../selector.ts';
import { parseAuthorizationPolicy, type AuthorizationAction, type AuthorizationPolicySpec } from './authorization-policy.ts';
import type { ProxyDescriptor, ServiceInput, TranslationInput } from './input.ts';
import { rulePolicy, type RbacAction } from './rbac-rule.ts';
import { outboundCluster, protoDuration } from './routes.ts';

const RBAC_FILTER = 'envoy.filters.http.rbac';
const EXT_AUTHZ_FILTER = 'envoy.filters.http.ext_authz';
/** authz/model/model.go. */
const DRY_RUN_ALLOW_PREFIX = 'istio_dry_run_allow_';
const DRY_RUN_DENY_PREFIX = 'istio_dry_run_deny_';
const EXT_AUTHZ_SHADOW_PREFIX = 'istio_ext_authz_';
/** builder/extauthz.go. */
const EXT_AUTHZ_MATCH_PREFIX = 'istio-ext-authz';
const BAD_CUSTOM_ACTION_SUFFIX = '-deny-due-to-bad-CUSTOM-action';
/** policyattachment.go workloadGatewayName: the label a Gateway API gateway's pods carry. */
const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';

/** The authorization filters in istiod's order: CUSTOM (ext_authz), then AUDIT, DENY and ALLOW (RBAC). The
 * authentication filters (jwt_authn) go between the two parts: see buildCustomAuthzFilters and buildLocalAuthzFilters. */
export function buildInboundAuthzFilters(input: TranslationInput, proxy: ProxyDescriptor): HttpFilter[] {
  return [...buildCustomAuthzFilters(input, proxy), ...buildLocalAuthzFilters(input, proxy)];
}

/** The CUSTOM builder's filters (authz.Custom): per provider, a shadow RBAC filter marking the requests its rules
 * match and the provider's ext_authz filter, enabled by that mark (builder.go buildHTTP with IsCustomBuilder). */
export function buildCustomAuthzFilters(input: TranslationInput, proxy: ProxyDescriptor): HttpFilter[] {
  const custom = policiesFor(input, proxy).filter((p) => p.action === 'CUSTOM');
  if (custom.length === 0) return [];
  // builder.go build: the rules grouped by provider, generated for a DENY action; CUSTOM policies are never dry-run
  // (the webhook refuses the annotation on them).
  const byProvider = new Map<string, Record<string, Policy>>();
  for (const policy of custom) {
    const provider = policy.provider ?? '';
    const policies = byProvider.get(provider) ?? {};
    byProvider.set(provider, policies);
    Object.assign(policies, generatePolicies(policy, 'DENY', `${EXT_AUTHZ_MATCH_PREFIX}-${provider}-`));
  }
  const providers = [...byProvider.keys()].sort();
  const badCustomDeny = (provider: string): HttpFilter => {
    const policies = Object.fromEntries(Object.entries(byProvider.get(provider) ?? {}).map(([name, p]) => [`${name}${BAD_CUSTOM_ACTION_SUFFIX}`, p]));
    return rbacFilter({ rules: rbac('DENY', policies) });
  };
  // PILOT_ENABLE_MULTIPLE_CUSTOM_AUTHZ_PROVIDERS is off: several providers on one workload deny what their rules match.
  if (providers.length > 1) return providers.map(badCustomDeny);
  return providers.flatMap((provider) => {
    const extAuthz = extAuthzFor(input, provider);
    if (!extAuthz) return [badCustomDeny(provider)];
    return [
      rbacFilter({ shadow_rules: rbac('DENY', byProvider.get(provider) ?? {}), shadow_rules_stat_prefix: EXT_AUTHZ_SHADOW_PREFIX }),
      { name: EXT_AUTHZ_FILTER, typed_config: { '@type': TypedConfigType.extAuthz, ...extAuthz } },
    ];
  });
}

/** The ALLOW/DENY/AUDIT builder's filters (authz.Local): one RBAC filter per action present, AUDIT (LOG), DENY, ALLOW;
 * dry-run policies go to its shadow rules (builder.go build, buildHTTP). */
export function buildLocalAuthzFilters(input: TranslationInput, proxy: ProxyDescriptor): HttpFilter[] {
  const policies = policiesFor(input, proxy);
  const order: [AuthorizationAction, RbacAction][] = [
    ['AUDIT', 'LOG'],
    ['DENY', 'DENY'],
    ['ALLOW', 'ALLOW'],
  ];
  return order.flatMap(([action, rbacAction]) => {
    const ofAction = policies.filter((p) => p.action === action);
    if (ofAction.length === 0) return [];
    const enforced = ofAction.filter((p) => !p.dryRun);
    const dryRun = ofAction.filter((p) => p.dryRun);
    const generated = (of: AuthorizationPolicySpec[]) =>
      rbac(rbacAction, Object.fromEntries(of.flatMap((p) => Object.entries(generatePolicies(p, rbacAction, '')))));
    const rules = enforced.length > 0 ? generated(enforced) : undefined;
    const shadow = dryRun.length > 0 ? generated(dryRun) : undefined;
    return [rbacFilter({ ...(rules ? { rules } : {}), ...(shadow ? { shadow_rules: shadow } : {}), shadow_rules_stat_prefix: shadowRuleStatPrefix(shadow) })];
  });
}

/**
 * The policies bound to the proxy, in creation order, root namespace first (model/authorization.go
 * ListAuthorizationPolicies, policyattachment.go ShouldAttachPolicy): a workload's by selector, a policy with targetRefs
 * only by a Gateway API gateway it names.
 */
function policiesFor(input: TranslationInput, proxy: ProxyDescriptor): AuthorizationPolicySpec[] {
  const all = input.authorizationPolicies.map((o) => parseAuthorizationPolicy(o));
  const gatewayName = proxy.labels[GATEWAY_NAME_LABEL];
  const attaches = (p: AuthorizationPolicySpec) => {
    if (p.targetRefs.length === 0) return labelsMatch(p.selector, proxy.labels);
    if (gatewayName === undefined || p.namespace !== proxy.namespace) return false;
    return p.targetRefs.some(
      (t) =>
        (t.namespace === '' || t.namespace === proxy.namespace) && t.group === 'gateway.networking.k8s.io' && t.kind === 'Gateway' && t.name === gatewayName,
    );
  };
  return [...new Set([ROOT_NAMESPACE, proxy.namespace])].flatMap((ns) => all.filter((p) => p.namespace === ns && attaches(p)));
}

/** builder.go build: `<prefix>ns[<ns>]-policy[<name>]-rule[<i>]` per rule; a policy without rules matches never. */
function generatePolicies(policy: AuthorizationPolicySpec, action: RbacAction, prefix: string): Record<string, Policy> {
  const name = (i: number) => `${prefix}ns[${policy.namespace}]-policy[${policy.name}]-rule[${i}]`;
  if (policy.rules.length === 0) {
    return { [name(0)]: { permissions: [{ not_rule: { any: true } }], principals: [{ not_id: { any: true } }] } };
  }
  const out: Record<string, Policy> = {};
  policy.rules.forEach((rule, i) => {
    const generated = rulePolicy(rule, policy.namespace, action);
    if (generated) out[name(i)] = generated;
  });
  return out;
}

/** envoy.config.rbac.v3.RBAC as proto3 JSON writes it: ALLOW (the enum's zero) and an empty map left out. */
function rbac(action: RbacAction, policies: Record<string, Policy>): Rbac {
  return { ...(action !== 'ALLOW' ? { action } : {}), ...(Object.keys(policies).length > 0 ? { policies } : {}) };
}

function rbacFilter(config: { rules?: Rbac; shadow_rules?: Rbac; shadow_rules_stat_prefix?: string }): HttpFilter {
  return { name: RBAC_FILTER, typed_config: { '@type': TypedConfigType.rbac, ...config } };
}

/** builder.go shadowRuleStatPrefix: without shadow rules their action reads as ALLOW, so the ALLOW prefix is written. */
function shadowRuleStatPrefix(shadow: Rbac | undefined): string {
  return (shadow?.action ?? 'ALLOW') === 'DENY' ? DRY_RUN_DENY_PREFIX : DRY_RUN_ALLOW_PREFIX;
}

/**
 * The provider's ext_authz filter (extauthz.go processExtensionProvider, getExtAuthz, buildExtAuthzGRPC,
 * generateGRPCConfig with generateFilterMatcherForProvider), or undefined when istiod finds errors in it or no such
 * provider: then it writes the provider's rules as a DENY RBAC filter.
 */
function extAuthzFor(input: TranslationInput, name: string): ExtAuthz | undefined {
  const provider = input.extensionProviders?.get(name);
  if (!provider || 'invalid' in provider) return undefined;
  const service = lookupService(input.services, provider.service);
  if (!service) return undefined;
  return {
    grpc_service: {
      envoy_grpc: { cluster_name: outboundCluster(provider.port, undefined, service.fqdn), authority: service.fqdn },
      timeout: protoDuration(provider.timeoutMs),
    },
    ...(provider.failOpen ? { failure_mode_allow: true } : {}),
    ...(provider.statusOnError !== undefined ? { status_on_error: { code: provider.statusOnError } } : {}),
    filter_enabled_metadata: {
      filter: RBAC_FILTER,
      path: [{ key: `${EXT_AUTHZ_SHADOW_PREFIX}shadow_effective_policy_id` }],
      value: { string_match: { prefix: `${EXT_AUTHZ_MATCH_PREFIX}-${name}` } },
    },
    transport_api_version: 'V3',
  };
}

/** model/telemetry_logging.go LookupCluster: `<namespace>/<host>`, or a host only one namespace has, in the whole registry. */
function lookupService(services: readonly ServiceInput[], service: string): ServiceInput | undefined {
  const parts = service.split('/');
  if (parts.length === 2) return services.find((s) => s.fqdn === parts[1] && s.namespace === parts[0]);
  const matches = services.filter((s) => s.fqdn === service);
  return new Set(matches.map((s) => s.namespace)).size === 1 ? matches[0] : undefined;
}
