// loadEnvoyConfig: an istiod/Envoy config_dump, a bundle {listeners, routes, clusters, endpoints}, one resource or a
// list of resources (each with "@type") → the typed model, or every refused or invalid field with its path.
import { SpecError, SpecErrors } from '../../errors.ts';
import type { EnvoyConfig } from '../model/index.ts';
import { ResourceType } from '../model/type-urls.ts';
import { resolveExtension } from './extensions.ts';
import { DROPPED, isObject, protoJsonName, walk, type Ignored, type Issue, type Rule, type WalkContext } from './rules.ts';
import * as schema from './schema.ts';
import { valueText } from '../../spec/untyped.ts';

export type { Ignored, Issue } from './rules.ts';

export interface LoadedEnvoyConfig {
  config: EnvoyConfig;
  /** Every no-op that was present and left out, with why (see src/envoy/no-ops.ts). */
  ignored: Ignored[];
}

/** Refused or invalid fields; `format()` gives one `file: path: message` line each. */
export class EnvoyConfigError extends SpecErrors {
  constructor(
    readonly issues: Issue[],
    file?: string,
  ) {
    super(issues.map((i) => new SpecError(i.message, undefined, file ? `${file}: ${i.path}` : i.path)));
  }
}

const RESOURCES = {
  [ResourceType.listener]: { key: 'listeners', rule: schema.listener },
  [ResourceType.routeConfiguration]: { key: 'routes', rule: schema.routeConfiguration },
  [ResourceType.cluster]: { key: 'clusters', rule: schema.cluster },
  [ResourceType.clusterLoadAssignment]: { key: 'endpoints', rule: schema.clusterLoadAssignment },
} as const satisfies Record<string, { key: keyof EnvoyConfig; rule: Rule }>;

export type ResourceTypeUrl = keyof typeof RESOURCES;

export function isModelledResourceType(typeUrl: string): typeUrl is ResourceTypeUrl {
  return Object.hasOwn(RESOURCES, typeUrl);
}

/** One xDS resource (canonical JSON, with or without "@type"): its model form, or the problems found. */
export function loadEnvoyResource(typeUrl: ResourceTypeUrl, resource: unknown, path = ''): { resource?: unknown; issues: Issue[]; ignored: Ignored[] } {
  const ctx = context();
  const value = walkResource(typeUrl, resource, path, ctx);
  return { resource: value === DROPPED ? undefined : value, issues: ctx.issues, ignored: ctx.ignored };
}

/** `input`: the dump's JSON text, or the value it parses to. */
export function loadEnvoyConfig(input: unknown, file?: string): LoadedEnvoyConfig {
  const json = typeof input === 'string' ? parseJson(input, file) : input;
  const ctx = context();
  const config: EnvoyConfig = { listeners: [], routes: [], clusters: [], endpoints: [] };
  const add = (typeUrl: ResourceTypeUrl, resource: unknown, path: string) => {
    const value = walkResource(typeUrl, resource, path, ctx);
    if (value !== DROPPED) (config[RESOURCES[typeUrl].key] as unknown[]).push(value);
  };
  if (isObject(json) && Array.isArray(json.configs)) {
    loadConfigDump(json.configs, add, ctx);
  } else if (isObject(json) && typeof json['@type'] === 'string') {
    addTyped(json, '', add, ctx);
  } else if (Array.isArray(json)) {
    json.forEach((r, i) => (isObject(r) ? addTyped(r, `[${i}]`, add, ctx) : ctx.issues.push({ path: `[${i}]`, message: 'expected a resource with "@type"' })));
  } else if (isObject(json)) {
    loadBundle(json, add, ctx);
  } else {
    ctx.issues.push({ path: '', message: 'expected a config_dump, a {listeners, routes, clusters, endpoints} bundle or resources with "@type"' });
  }
  if (ctx.issues.length > 0) throw new EnvoyConfigError(ctx.issues, file);
  return { config, ignored: ctx.ignored };
}

function context(): WalkContext {
  return { issues: [], ignored: [], jsonNames: true, resolveExtension };
}

function walkResource(typeUrl: ResourceTypeUrl, resource: unknown, path: string, ctx: WalkContext): unknown {
  if (!isObject(resource)) {
    ctx.issues.push({ path, message: `expected a ${typeUrl.split('.').pop()} object` });
    return DROPPED;
  }
  const { '@type': type, ...body } = resource;
  if (type !== undefined && type !== typeUrl) {
    ctx.issues.push({ path: join(path, '@type'), message: `expected ${typeUrl}, got ${valueText(type)}` });
    return DROPPED;
  }
  return walk(RESOURCES[typeUrl].rule, body, path, ctx);
}

type Add = (typeUrl: ResourceTypeUrl, resource: unknown, path: string) => void;

function addTyped(resource: Record<string, unknown>, path: string, add: Add, ctx: WalkContext) {
  const type = String(resource['@type']);
  if (isModelledResourceType(type)) add(type, resource, path);
  else ctx.issues.push({ path: join(path, '@type'), message: `${type} is not a resource the local data plane loads` });
}

const BUNDLE: Record<string, ResourceTypeUrl> = {
  listeners: ResourceType.listener,
  routes: ResourceType.routeConfiguration,
  clusters: ResourceType.cluster,
  endpoints: ResourceType.clusterLoadAssignment,
};

function loadBundle(json: Record<string, unknown>, add: Add, ctx: WalkContext) {
  for (const [key, value] of Object.entries(json)) {
    const type = BUNDLE[key];
    if (!type) {
      ctx.issues.push({ path: key, message: `unknown section (expected ${Object.keys(BUNDLE).join(', ')})` });
    } else if (!Array.isArray(value)) {
      ctx.issues.push({ path: key, message: 'expected a list' });
    } else {
      value.forEach((r, i) => add(type, r, `${key}[${i}]`));
    }
  }
}

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';

/** envoy.admin.v3.ConfigDump as istiod's /debug/config_dump (pilot/pkg/xds/debug.go connectionConfigDump; json
 * names) and Envoy's /config_dump (proto names) write it. Warming, draining and errored resources are not active and
 * are skipped. */
function loadConfigDump(configs: unknown[], add: Add, ctx: WalkContext) {
  configs.forEach((dump, i) => {
    const at = `configs[${i}]`;
    if (!isObject(dump)) return ctx.issues.push({ path: at, message: 'expected an object' });
    const each = (section: string, inner: (entry: Record<string, unknown>) => [string, unknown], type: ResourceTypeUrl) => {
      const entries = get(dump, section);
      if (entries === undefined) return;
      if (!Array.isArray(entries)) return ctx.issues.push({ path: `${at}.${section}`, message: 'expected a list' });
      entries.forEach((entry, j) => {
        const path = `${at}.${section}[${j}]`;
        if (!isObject(entry)) return ctx.issues.push({ path, message: 'expected an object' });
        const [name, resource] = inner(entry);
        if (resource !== undefined) add(type, resource, `${path}.${name}`);
      });
    };
    const child =
      (name: string) =>
      (e: Record<string, unknown>): [string, unknown] => [name, get(e, name)];
    const activeListener = (e: Record<string, unknown>): [string, unknown] => {
      const state = get(e, 'active_state');
      return ['active_state.listener', isObject(state) ? get(state, 'listener') : undefined];
    };
    const refuseNonEmpty = (sections: string[], what: string) => {
      for (const section of sections) {
        const entries = get(dump, section);
        if (Array.isArray(entries) && entries.length > 0) {
          ctx.issues.push({ path: `${at}.${section}`, message: `${what} are not executed by the local data plane` });
        }
      }
    };
    switch (dump['@type']) {
      case `${ADMIN}ClustersConfigDump`:
        each('static_clusters', child('cluster'), ResourceType.cluster);
        each('dynamic_active_clusters', child('cluster'), ResourceType.cluster);
        return;
      case `${ADMIN}ListenersConfigDump`:
        each('static_listeners', child('listener'), ResourceType.listener);
        each('dynamic_listeners', activeListener, ResourceType.listener);
        return;
      case `${ADMIN}RoutesConfigDump`:
        each('static_route_configs', child('route_config'), ResourceType.routeConfiguration);
        each('dynamic_route_configs', child('route_config'), ResourceType.routeConfiguration);
        return;
      case `${ADMIN}EndpointsConfigDump`:
        each('static_endpoint_configs', child('endpoint_config'), ResourceType.clusterLoadAssignment);
        each('dynamic_endpoint_configs', child('endpoint_config'), ResourceType.clusterLoadAssignment);
        return;
      case `${ADMIN}SecretsConfigDump`:
        ctx.ignored.push({ path: at, why: "secrets (SDS) are not modelled: a local peer's identity is its workload's SPIFFE id" });
        return;
      case `${ADMIN}BootstrapConfigDump`:
        ctx.ignored.push({ path: at, why: 'the bootstrap only connects the proxy to its agent and istiod (xds-grpc, sds-grpc, stats)' });
        return;
      case `${ADMIN}EcdsConfigDump`:
        refuseNonEmpty(['ecds_filters'], 'filters discovered over ECDS (WasmPlugin, …)');
        return;
      case `${ADMIN}ScopedRoutesConfigDump`:
        refuseNonEmpty(['inline_scoped_route_configs', 'dynamic_scoped_route_configs'], 'scoped route configurations');
        return;
      default:
        ctx.issues.push({ path: `${at}.@type`, message: `${String(dump['@type'])} is not a config dump section the local data plane loads` });
    }
  });
}

/** A field by its proto name or its json name (istiod's dumps use json names). */
function get(object: Record<string, unknown>, protoName: string): unknown {
  return object[protoName] ?? object[protoJsonName(protoName)];
}

function join(path: string, field: string): string {
  return path ? `${path}.${field}` : field;
}

function parseJson(text: string, file?: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const pos = /position (\d+)/.exec(message);
    const offset = pos ? Number(pos[1]) : 0;
    const before = text.slice(0, offset).split('\n');
    throw new SpecError(`not valid JSON: ${message}`, {
      file: file ?? '<input>',
      line: before.length,
      col: (before.at(-1) ?? '').length + 1,
    });
  }
}
