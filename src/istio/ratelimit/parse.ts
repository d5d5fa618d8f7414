// Reads the local-rate-limit EnvoyFilter in the two forms seen in real configs and refuses everything else by path.
//
// Sources: istio/api networking/v1alpha3/envoy_filter.proto (applyTo, match, patch operations);
// envoyproxy/envoy api/envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto and
// source/extensions/filters/http/local_ratelimit/local_ratelimit.cc (defaults: no filter_enabled/filter_enforced →
// disabled/not enforced, tokens_per_fill 1, status codes below 400 become 429, stat_prefix required);
// Istio task policy-enforcement/rate-limit (TypedStruct form with type_url).
import { HTTP_STATUS_CODES } from '../../envoy/load/http-status.ts';
import type { K8sObject, SourcePos } from '../../spec/types.ts';
import { FieldReader, envoyKeys, protoDurationMs, type Json } from '../fields.ts';
import { objectNamespace, readSelector, resourceName } from '../selector.ts';
import type { EnvoyFilterContext, FilterPosition, LocalRateLimit, ResponseHeader } from './types.ts';
import { field, valueText } from '../../spec/untyped.ts';

const LOCAL_RATELIMIT_FILTER = 'envoy.filters.http.local_ratelimit';
const LOCAL_RATELIMIT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const TYPED_STRUCTS = ['type.googleapis.com/udpa.type.v1.TypedStruct', 'type.googleapis.com/xds.type.v3.TypedStruct'];
const HCM = 'envoy.filters.network.http_connection_manager';
const ROUTER = 'envoy.filters.http.router';
const CONTEXTS: EnvoyFilterContext[] = ['SIDECAR_INBOUND', 'SIDECAR_OUTBOUND', 'GATEWAY'];

const DENOMINATORS: Record<string, number> = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000, '0': 100, '1': 10_000, '2': 1_000_000 };

/** True when the EnvoyFilter has at least one patch inserting envoy.filters.http.local_ratelimit (quick check, no validation). */
export function isLocalRateLimitFilter(obj: K8sObject): boolean {
  const patches = field(obj.spec, 'configPatches');
  if (!Array.isArray(patches)) return false;
  return patches.some((p) => field(p, 'patch', 'value', 'name') === LOCAL_RATELIMIT_FILTER);
}

/** Every local rate limit of an EnvoyFilter; any other patch, field or filter is a SpecError naming its path. */
export function parseLocalRateLimits(filter: K8sObject, source?: SourcePos): LocalRateLimit[] {
  const r = new FieldReader(resourceName(filter), source);
  if (filter.kind !== 'EnvoyFilter') throw r.error('kind', `expected an EnvoyFilter, got ${filter.kind}`);
  if (!/^networking\.istio\.io\//.test(filter.apiVersion)) throw r.error('apiVersion', `expected networking.istio.io/*, got ${filter.apiVersion}`);
  const spec = r.object(filter.spec, 'spec');
  r.onlyKeys(spec, 'spec', ['workloadSelector', 'configPatches', 'priority'], 'meshproof emulates workloadSelector-scoped local rate limits only');
  if (spec.priority !== undefined && (typeof spec.priority !== 'number' || !Number.isInteger(spec.priority))) {
    throw r.error('spec.priority', 'must be an integer');
  }
  const selector = readSelector(filter, 'workloadSelector', source);
  const patches = r.array(spec.configPatches ?? [], 'spec.configPatches');
  if (patches.length === 0) throw r.error('spec.configPatches', 'no patches: this EnvoyFilter does nothing');
  return patches.map((p, i) => parsePatch(r, p, i, filter, selector, source));
}

/** The local rate limit of an EnvoyFilter with exactly one patch (use parseLocalRateLimits for several). */
export function parseLocalRateLimit(filter: K8sObject, source?: SourcePos): LocalRateLimit {
  const all = parseLocalRateLimits(filter, source);
  const [only] = all;
  if (only === undefined || all.length !== 1) {
    throw new FieldReader(resourceName(filter), source).error('spec.configPatches', `expected one patch, found ${all.length} (use parseLocalRateLimits)`);
  }
  return only;
}

function parsePatch(
  r: FieldReader,
  raw: unknown,
  index: number,
  filter: K8sObject,
  selector: Record<string, string> | undefined,
  source?: SourcePos,
): LocalRateLimit {
  const base = `spec.configPatches[${index}]`;
  const patch = r.object(raw, base);
  r.onlyKeys(patch, base, ['applyTo', 'match', 'patch']);
  if (patch.applyTo !== 'HTTP_FILTER') {
    throw r.error(
      `${base}.applyTo`,
      `${JSON.stringify(patch.applyTo)} is not emulated: meshproof supports only HTTP_FILTER patches inserting ${LOCAL_RATELIMIT_FILTER}`,
    );
  }
  const { context, portNumber, subFilter } = parseMatch(r, patch.match, `${base}.match`);
  const { position, value } = parseOperation(r, patch.patch, `${base}.patch`, subFilter);
  const valuePath = `${base}.patch.value`;
  r.onlyKeys(value, valuePath, ['name', 'typed_config', 'typedConfig']);
  if (value.name !== LOCAL_RATELIMIT_FILTER) {
    throw r.error(`${valuePath}.name`, `filter ${JSON.stringify(value.name)} is not emulated (only ${LOCAL_RATELIMIT_FILTER})`);
  }
  const typedKey = value.typed_config !== undefined ? 'typed_config' : 'typedConfig';
  const { config, configPath } = unwrapTypedConfig(r, value[typedKey], `${valuePath}.${typedKey}`);
  const limit = parseConfig(r, config, configPath);
  const priority = field(filter.spec, 'priority');
  return {
    name: filter.metadata.name,
    namespace: objectNamespace(filter),
    selector,
    context,
    portNumber,
    position,
    ...limit,
    patchIndex: index,
    priority: typeof priority === 'number' ? priority : 0,
    source,
  };
}

function parseMatch(r: FieldReader, raw: unknown, path: string): { context: EnvoyFilterContext; portNumber?: number; subFilter?: string } {
  const match = r.object(raw, path);
  r.onlyKeys(match, path, ['context', 'listener']);
  if (!CONTEXTS.includes(match.context as EnvoyFilterContext)) {
    throw r.error(`${path}.context`, `${JSON.stringify(match.context)} is not emulated (use one of ${CONTEXTS.join(', ')})`);
  }
  const context = match.context as EnvoyFilterContext;
  const listener = r.optionalObject(match.listener, `${path}.listener`);
  if (!listener) return { context };
  r.onlyKeys(listener, `${path}.listener`, ['portNumber', 'filterChain']);
  const portNumber = listener.portNumber === undefined ? undefined : r.uint(listener.portNumber, `${path}.listener.portNumber`);
  if (portNumber !== undefined && (portNumber < 1 || portNumber > 65535)) throw r.error(`${path}.listener.portNumber`, 'must be a port number');
  const chain = r.optionalObject(listener.filterChain, `${path}.listener.filterChain`);
  if (!chain) return { context, portNumber };
  r.onlyKeys(chain, `${path}.listener.filterChain`, ['filter']);
  const f = r.optionalObject(chain.filter, `${path}.listener.filterChain.filter`);
  if (!f) return { context, portNumber };
  const fp = `${path}.listener.filterChain.filter`;
  r.onlyKeys(f, fp, ['name', 'subFilter']);
  if (f.name !== undefined && f.name !== HCM) throw r.error(`${fp}.name`, `HTTP filters live in ${HCM}, not ${JSON.stringify(f.name)}`);
  const sub = r.optionalObject(f.subFilter, `${fp}.subFilter`);
  if (!sub) return { context, portNumber };
  r.onlyKeys(sub, `${fp}.subFilter`, ['name']);
  return { context, portNumber, subFilter: r.string(sub.name, `${fp}.subFilter.name`) };
}

function parseOperation(r: FieldReader, raw: unknown, path: string, subFilter: string | undefined): { position: FilterPosition; value: Json } {
  const patch = r.object(raw, path);
  r.onlyKeys(patch, path, ['operation', 'value']);
  const op = patch.operation;
  let position: FilterPosition;
  if (op === 'INSERT_FIRST') {
    position = 'first';
  } else if (op === 'INSERT_BEFORE') {
    if (subFilter === undefined) position = 'first';
    else if (subFilter === ROUTER) position = 'beforeRouter';
    else {
      throw r.error(
        `${path.replace(/\.patch$/, '')}.match.listener.filterChain.filter.subFilter.name`,
        `inserting before ${JSON.stringify(subFilter)} is not emulated (omit subFilter, or use ${ROUTER})`,
      );
    }
  } else {
    throw r.error(
      `${path}.operation`,
      `${JSON.stringify(op)} is not emulated (use INSERT_BEFORE or INSERT_FIRST; ADD/INSERT_AFTER would put the filter after the router, where it never runs)`,
    );
  }
  return { position, value: r.object(patch.value, `${path}.value`) };
}

function unwrapTypedConfig(r: FieldReader, raw: unknown, path: string): { config: Json; configPath: string } {
  const typed = r.object(raw, path);
  const type = typed['@type'];
  if (typeof type === 'string' && TYPED_STRUCTS.includes(type)) {
    r.onlyKeys(typed, path, ['@type', 'type_url', 'typeUrl', 'value']);
    const urlKey = typed.type_url !== undefined ? 'type_url' : 'typeUrl';
    if (typed[urlKey] !== LOCAL_RATELIMIT_TYPE) {
      throw r.error(`${path}.${urlKey}`, `expected ${LOCAL_RATELIMIT_TYPE}, got ${JSON.stringify(typed[urlKey])}`);
    }
    return { config: r.object(typed.value ?? {}, `${path}.value`), configPath: `${path}.value` };
  }
  if (type === LOCAL_RATELIMIT_TYPE) {
    const { ['@type']: _type, ...config } = typed;
    return { config, configPath: path };
  }
  throw r.error(`${path}.@type`, `expected ${LOCAL_RATELIMIT_TYPE} or a TypedStruct wrapping it, got ${JSON.stringify(type)}`);
}

/**
 * The filter's Envoy config as istiod sent it in a listener's HTTP filters (its TypedStruct already unwrapped by the
 * model's loader), read with the same rules as an EnvoyFilter's patch value. `where` names the listener chain.
 */
export function parseLocalRateLimitConfig(config: unknown, where: string): ParsedConfig {
  const r = new FieldReader(where);
  const { '@type': _type, ...fields } = r.object(config, 'typed_config') as Record<string, unknown>;
  return parseConfig(r, fields as Json, 'typed_config');
}

export type ParsedConfig = Pick<
  LocalRateLimit,
  'statPrefix' | 'bucket' | 'enabledPercent' | 'enforcedPercent' | 'status' | 'responseHeaders' | 'perConnection' | 'findings'
>;

function parseConfig(r: FieldReader, raw: Json, path: string): ParsedConfig {
  const c = envoyKeys(raw, r, path);
  r.onlyKeys(c, path, [
    'stat_prefix',
    'token_bucket',
    'filter_enabled',
    'filter_enforced',
    'status',
    'response_headers_to_add',
    'local_rate_limit_per_downstream_connection',
  ]);
  const findings: string[] = [];
  if (c.stat_prefix === undefined || c.stat_prefix === '') throw r.error(`${path}.stat_prefix`, 'required by Envoy (min length 1)');
  const statPrefix = r.string(c.stat_prefix, `${path}.stat_prefix`);
  if (c.token_bucket === undefined) {
    throw r.error(`${path}.token_bucket`, 'missing: without a token bucket the filter only applies per-route limits, which meshproof does not emulate');
  }
  const bucket = parseBucket(r, c.token_bucket, `${path}.token_bucket`);
  const enabledPercent = c.filter_enabled === undefined ? 0 : runtimePercent(r, c.filter_enabled, `${path}.filter_enabled`);
  const enforcedPercent = c.filter_enforced === undefined ? 0 : runtimePercent(r, c.filter_enforced, `${path}.filter_enforced`);
  if (c.filter_enabled === undefined)
    findings.push('filter_enabled is not set: Envoy treats the filter as disabled (0 %), so it never counts or limits a request');
  else if (enabledPercent === 0) findings.push('filter_enabled is 0 %: the filter never engages');
  else if (enabledPercent < 100) findings.push(`filter_enabled is ${enabledPercent} %: only that share of requests is checked against the bucket`);
  if (enabledPercent > 0) {
    if (c.filter_enforced === undefined)
      findings.push('filter_enforced is not set (0 %): requests over the limit are counted in rate_limited but never refused');
    else if (enforcedPercent === 0) findings.push('filter_enforced is 0 %: requests over the limit are counted but never refused');
    else if (enforcedPercent < 100) findings.push(`filter_enforced is ${enforcedPercent} %: only that share of over-limit requests is refused`);
  }
  const status = c.status === undefined ? 429 : parseStatus(r, c.status, `${path}.status`, findings);
  const responseHeaders = c.response_headers_to_add === undefined ? [] : parseHeaders(r, c.response_headers_to_add, `${path}.response_headers_to_add`);
  const perConnection =
    c.local_rate_limit_per_downstream_connection === undefined
      ? false
      : r.bool(c.local_rate_limit_per_downstream_connection, `${path}.local_rate_limit_per_downstream_connection`);
  return { statPrefix, bucket, enabledPercent, enforcedPercent, status, responseHeaders, perConnection, findings };
}

function parseBucket(r: FieldReader, raw: unknown, path: string) {
  const b = envoyKeys(r.object(raw, path), r, path);
  r.onlyKeys(b, path, ['max_tokens', 'tokens_per_fill', 'fill_interval']);
  if (b.max_tokens === undefined) throw r.error(`${path}.max_tokens`, 'required');
  const maxTokens = r.uint(b.max_tokens, `${path}.max_tokens`);
  if (maxTokens === 0) throw r.error(`${path}.max_tokens`, 'must be greater than 0');
  const tokensPerFill = b.tokens_per_fill === undefined ? 1 : r.uint(unwrapValue(b.tokens_per_fill), `${path}.tokens_per_fill`);
  if (tokensPerFill === 0) throw r.error(`${path}.tokens_per_fill`, 'must be greater than 0');
  if (b.fill_interval === undefined) throw r.error(`${path}.fill_interval`, 'required');
  const fillIntervalMs = protoDurationMs(b.fill_interval, r, `${path}.fill_interval`);
  if (!(fillIntervalMs >= 50))
    throw r.error(`${path}.fill_interval`, 'Envoy refuses fill intervals below 50ms ("local rate limit token bucket fill timer must be >= 50ms")');
  return { maxTokens, tokensPerFill, fillIntervalMs };
}

/** google.protobuf.UInt32Value may appear as a bare number or as {value: n}. */
function unwrapValue(v: unknown): unknown {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && 'value' in v ? (v as Json).value : v;
}

function runtimePercent(r: FieldReader, raw: unknown, path: string): number {
  const o = envoyKeys(r.object(raw, path), r, path);
  r.onlyKeys(o, path, ['default_value', 'runtime_key']);
  if (o.runtime_key !== undefined) r.string(o.runtime_key, `${path}.runtime_key`);
  if (o.default_value === undefined) throw r.error(`${path}.default_value`, 'required');
  const d = envoyKeys(r.object(o.default_value, `${path}.default_value`), r, `${path}.default_value`);
  r.onlyKeys(d, `${path}.default_value`, ['numerator', 'denominator']);
  const numerator = d.numerator === undefined ? 0 : r.uint(d.numerator, `${path}.default_value.numerator`);
  const denomKey = d.denominator === undefined ? 'HUNDRED' : valueText(d.denominator);
  const denominator = DENOMINATORS[denomKey];
  if (denominator === undefined)
    throw r.error(`${path}.default_value.denominator`, `must be HUNDRED, TEN_THOUSAND or MILLION, got ${JSON.stringify(d.denominator)}`);
  // Envoy draws random % denominator < numerator, so a numerator above the denominator means always.
  return (Math.min(numerator, denominator) / denominator) * 100;
}

function parseStatus(r: FieldReader, raw: unknown, path: string, findings: string[]): number {
  const o = envoyKeys(r.object(raw, path), r, path);
  r.onlyKeys(o, path, ['code']);
  let code: number | undefined;
  if (typeof o.code === 'number' && Number.isInteger(o.code)) code = o.code;
  else if (typeof o.code === 'string') code = /^\d+$/.test(o.code) ? Number(o.code) : HTTP_STATUS_CODES[o.code];
  // HttpStatus.code is an envoy.type.v3.StatusCode with `defined_only`: Envoy refuses (NACKs) any other number.
  if (code === undefined || !Object.values(HTTP_STATUS_CODES).includes(code))
    throw r.error(`${path}.code`, `not one of Envoy's StatusCode values (api/envoy/type/v3/http_status.proto, defined_only): ${JSON.stringify(o.code)}`);
  if (code < 400) {
    findings.push(`status ${code} is below 400: Envoy answers 429 instead`);
    return 429;
  }
  return code;
}

function parseHeaders(r: FieldReader, raw: unknown, path: string): ResponseHeader[] {
  const list = r.array(raw, path);
  if (list.length > 10) throw r.error(path, 'Envoy allows at most 10 entries');
  return list.map((entry, i) => {
    const p = `${path}[${i}]`;
    const o = envoyKeys(r.object(entry, p), r, p);
    r.onlyKeys(o, p, ['header', 'append', 'append_action']);
    const h = envoyKeys(r.object(o.header, `${p}.header`), r, `${p}.header`);
    r.onlyKeys(h, `${p}.header`, ['key', 'value']);
    const name = r.string(h.key, `${p}.header.key`).toLowerCase();
    const value = h.value === undefined ? '' : r.string(h.value, `${p}.header.value`);
    const nameProblem = envoyHeaderNameProblem(name);
    if (nameProblem) throw r.error(`${p}.header.key`, nameProblem);
    // base.proto HeaderValue.value: HTTP_HEADER_VALUE, not strict (no NUL, CR, LF); beyond that, what Node can send.
    if (/[\0\r\n]/.test(value))
      throw r.error(`${p}.header.value`, `a header value cannot contain NUL, CR or LF (Envoy refuses the filter): ${JSON.stringify(value)}`);
    if (/[^\t\x20-\x7e\x80-\xff]/.test(value))
      throw r.error(`${p}.header.value`, `control characters or characters beyond Latin-1 are not emulated: ${JSON.stringify(value)}`);
    if (/%[A-Z_]+(\(|%)/.test(value)) throw r.error(`${p}.header.value`, 'Envoy header formatters (%...%) are not emulated');
    if (o.append !== undefined && o.append_action !== undefined) throw r.error(p, 'append and append_action are mutually exclusive');
    let append = true; // HeaderValueOption.append defaults to true (deprecated), append_action to APPEND_IF_EXISTS_OR_ADD
    if (o.append !== undefined) append = r.bool(unwrapValue(o.append), `${p}.append`);
    if (o.append_action !== undefined) {
      const action = o.append_action;
      if (action === 'APPEND_IF_EXISTS_OR_ADD') append = true;
      else if (action === 'OVERWRITE_IF_EXISTS_OR_ADD') append = false;
      else throw r.error(`${p}.append_action`, `${JSON.stringify(action)} is not emulated (APPEND_IF_EXISTS_OR_ADD or OVERWRITE_IF_EXISTS_OR_ADD)`);
    }
    return { name, value, append };
  });
}

/**
 * Envoy's checks of a header to add: base.proto HeaderValue.key (non-empty, no NUL, CR or LF) and header_parser.cc
 * HeaderParser::configure (":-prefixed or host headers may not be modified", HeaderUtility::isModifiableHeader); then
 * an RFC 7230 token, the only names the local proxies can send.
 */
function envoyHeaderNameProblem(name: string): string | undefined {
  if (name === '') return 'a header name cannot be empty';
  if (/[\0\r\n]/.test(name)) return `a header name cannot contain NUL, CR or LF (Envoy refuses the filter): ${JSON.stringify(name)}`;
  if (name.startsWith(':') || name === 'host') return `:-prefixed or host headers may not be modified (Envoy header_parser.cc): ${JSON.stringify(name)}`;
  if (!/^[!#$%&'*+\-.^_`|~A-Za-z0-9]+$/.test(name)) return `header name ${JSON.stringify(name)} is not an RFC 7230 token, which the local proxies cannot send`;
  return undefined;
}
