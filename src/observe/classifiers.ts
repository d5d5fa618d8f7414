// Response classifiers: small pure functions from one response to labels. An experiment picks them by name.
import { SpecError } from '../errors.ts';
import type { Classifier, Labels, ResponseRecord } from './types.ts';

/** `status`: "503" and class "5xx"; transport failures get status "error" and the error code. */
export const statusClassifier: Classifier = (r): Labels => {
  if (r.status > 0) return { status: String(r.status), class: `${Math.floor(r.status / 100)}xx` };
  return { status: 'error', class: 'error', error: r.error ?? 'unknown' };
};

/**
 * Envoy's local replies, recognised by their bodies (Envoy writes these strings itself; see
 * /work/shared/reference/bookinfo-and-mesh-facts.md): the response flag Envoy would log for them.
 */
const LOCAL_REPLIES: { body: string; flag: string }[] = [
  { body: 'fault filter abort', flag: 'FI' },
  { body: 'local_rate_limited', flag: 'RL' },
  { body: 'no healthy upstream', flag: 'UH' },
  { body: 'upstream request timeout', flag: 'UT' },
];

/** `upstream connect error or disconnect/reset before headers. [retried and the latest ]reset reason: <reason>` */
const RESET_REASON_FLAGS: Record<string, string> = {
  overflow: 'UO',
  'connection failure': 'UF',
  'remote connection failure': 'UF',
  'local connection failure': 'UF',
  'connection termination': 'UC',
  'remote reset': 'UR',
  'local reset': 'LR',
  'protocol error': 'UPE',
};
const RESET_PREFIX = 'upstream connect error or disconnect/reset before headers.';
const RESET_REASON = /reset reason: ([a-z ]+?)(?:,|$)/;

/** Envoy's local reply bodies are short plain text; a long page that merely quotes one is not a local reply. */
const LOCAL_REPLY_MAX_CHARS = 512;

/**
 * `envoy`: response flag from Envoy's local-reply body, "-" otherwise. An RBAC denial (`RBAC: access denied`) sets no
 * response flag in Envoy (only response_code_details `rbac_access_denied_matched_policy[...]`), so it is labelled
 * `denied: rbac` with flag "-".
 */
export const envoyClassifier: Classifier = (r): Labels => {
  if (r.status === 0) return {};
  const body = r.body.length <= LOCAL_REPLY_MAX_CHARS ? r.body.trim() : '';
  if (body === 'RBAC: access denied') return { flag: '-', denied: 'rbac' };
  for (const reply of LOCAL_REPLIES) if (body === reply.body) return { flag: reply.flag };
  if (body.startsWith(RESET_PREFIX)) {
    const reason = RESET_REASON.exec(body)?.[1]?.trim() ?? 'unknown';
    return { flag: RESET_REASON_FLAGS[reason] ?? '-', reset: reason };
  }
  // Envoy marks local-rate-limit rejections with this header (when enabled), even with a custom body.
  if (r.status === 429 && r.headers['x-envoy-ratelimited'] !== undefined) return { flag: 'RL' };
  return { flag: '-' };
};

const POD_AFTER_SERVED_BY = /Reviews served by:(?:\s|<[^>]*>)*reviews-(v\d+)/;
/** Tailwind: `<div class="flex gap-x-1 text-black-500">`; the error `<p class="text-red-500">` is not a star block. */
const TAILWIND_STARS = /<div[^>]*\bclass="[^"]*\btext-(black|red)-500\b/;
/** Bootstrap (images ≤ 1.19.1): `<font color="black|red">` around glyphicon stars. */
const BOOTSTRAP_STARS = /<font color="(black|red)">/;
const COLOR_VERSION: Record<string, string> = { black: 'v2', red: 'v3' };

/**
 * The product page always has its reviews section: "Book Reviews" or the reviews error (templates/productpage.html).
 * The title "Simple Bookstore App" is no marker: the index page `/` (templates/index.html) has it too.
 */
function isProductPage(body: string): boolean {
  return body.includes('Book Reviews') || body.includes('Error fetching product reviews') || body.includes('Reviews served by:');
}

function classifyProductPage(body: string): Labels {
  const labels: Labels = {};
  const detailsFailed = body.includes('Error fetching product details');
  labels.details = detailsFailed ? 'unavailable' : 'ok';
  if (body.includes('Error fetching product reviews')) {
    labels.reviews = 'unavailable';
    return labels;
  }
  labels.reviews = 'ok';
  const ratingsFailed = body.includes('Ratings service is currently unavailable');
  const podVersion = POD_AFTER_SERVED_BY.exec(body)?.[1];
  const starColor = TAILWIND_STARS.exec(body)?.[1] ?? BOOTSTRAP_STARS.exec(body)?.[1];
  // Without a pod name: stars tell v2/v3 apart, no stars means v1 -- unless ratings failed (then v2 and v3 look alike).
  const version = podVersion ?? (starColor ? COLOR_VERSION[starColor] : ratingsFailed ? undefined : 'v1');
  if (version) labels['reviews.version'] = version;
  if (ratingsFailed) labels.ratings = 'unavailable';
  else if (starColor) labels.ratings = 'ok';
  return labels;
}

interface ReviewsJson {
  podname?: unknown;
  error?: unknown;
  reviews?: { rating?: { stars?: unknown; color?: unknown; error?: unknown } }[];
}

/** `/api/v1/products/<id>/reviews` (and reviews' own `/reviews/<id>`): `{podname, reviews: [{rating: {color}}]}`. */
function classifyReviewsJson(json: ReviewsJson): Labels {
  if (json.error !== undefined || !Array.isArray(json.reviews)) return { reviews: 'unavailable' };
  const labels: Labels = { reviews: 'ok' };
  const ratings = json.reviews.map((review) => review.rating).filter((rating) => rating !== undefined);
  const ratingsFailed = ratings.some((rating) => rating.error !== undefined);
  const color = ratings.find((rating) => typeof rating.color === 'string')?.color as string | undefined;
  const podVersion = typeof json.podname === 'string' ? /^reviews-(v\d+)/.exec(json.podname)?.[1] : undefined;
  const version = podVersion ?? (color ? COLOR_VERSION[color] : ratingsFailed ? undefined : 'v1');
  if (version) labels['reviews.version'] = version;
  if (ratingsFailed) labels.ratings = 'unavailable';
  else if (color) labels.ratings = 'ok';
  return labels;
}

function parseJsonObject(body: string): Record<string, unknown> | undefined {
  const trimmed = body.trimStart();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `bookinfo`: what the productpage (or the reviews JSON) shows: `reviews.version` (v1/v2/v3), and `details`, `reviews`,
 * `ratings` as ok/unavailable. Markers from istio/istio samples/bookinfo/src/productpage/templates/productpage.html
 * (Tailwind) and the older Bootstrap template.
 */
export const bookinfoClassifier: Classifier = (r): Labels => {
  if (r.status === 0 || r.body.length === 0) return {};
  if (isProductPage(r.body)) return classifyProductPage(r.body);
  const json = parseJsonObject(r.body);
  if (json && ('podname' in json || Array.isArray(json.reviews))) return classifyReviewsJson(json as ReviewsJson);
  return {};
};

/**
 * The service a call's host names: a Kubernetes name (`backend`, `backend.shop`, `backend.shop.svc[.cluster.local]`)
 * gives its first label; any other host (an external one, `api.openai.com`) is kept whole, as its stand-in answers.
 */
function callService(host: string): string {
  const h = host.toLowerCase();
  const parts = h.split('.');
  const kubernetes = parts.length <= 2 || parts[2] === 'svc';
  return kubernetes ? (parts[0] ?? h) : h;
}

/** `[0 body] [1 body] ` before a line of a forwarded response (istio/istio pkg/test/echo fields.go WriteBodyLine). */
const ECHO_LINE = /^((?:\[\d+ body\] )*)(?:\[(\d+)\] )?(ServiceVersion|Service|Hostname|StatusCode|Url)=(.*)$/;

/**
 * `echo`: what an echo workload answers (src/targets/local/apps/echo.ts, in the line format of Istio's echo app):
 * `service`, `version` and `pod` of the workload that answered, `<service>.version` of every echo along the chain
 * of calls (the outermost wins when a service answers twice), and `<service>.status`: the status each call in the
 * chain got (`none` without an answer), the answering service's own status for the first hop.
 */
export const echoClassifier: Classifier = (r): Labels => {
  if (r.status === 0 || !r.body.includes('ServiceVersion=')) return {};
  const labels: Labels = {};
  const set = (key: string, value: string) => {
    if (labels[key] === undefined) labels[key] = value;
  };
  // Per nesting prefix: the identity its echo wrote; per prefix and call index: the service the call went to.
  const levels = new Map<string, { service?: string; version?: string; pod?: string; status?: string }>();
  const calls = new Map<string, { service: string; status?: string }>();
  for (const line of r.body.split('\n')) {
    const m = ECHO_LINE.exec(line);
    if (!m) continue;
    // Groups 1, 3 and 4 always take part in a match.
    const [, prefix = '', call, field, value = ''] = m;
    if (call !== undefined) {
      const key = `${prefix}[${call}]`;
      if (field === 'Url') {
        const host = /^[a-z]+:\/\/([^/:?#]+)/i.exec(value)?.[1];
        if (host) calls.set(key, { service: callService(host) });
      } else if (field === 'StatusCode') {
        const c = calls.get(key);
        if (c) c.status = value;
      }
      continue;
    }
    let level = levels.get(prefix);
    if (!level) levels.set(prefix, (level = {}));
    if (field === 'ServiceVersion') level.version ??= value;
    else if (field === 'Service') level.service ??= value;
    else if (field === 'Hostname') level.pod ??= value;
    else if (field === 'StatusCode') level.status ??= value;
  }
  const top = levels.get('');
  if (top?.service !== undefined) labels.service = top.service;
  if (top?.version !== undefined) labels.version = top.version;
  if (top?.pod !== undefined) labels.pod = top.pod;
  if (top?.service !== undefined && top.status !== undefined) set(`${top.service}.status`, top.status);
  // Outermost first: a prefix with fewer `[i body] ` parts is closer to the client.
  const depth = (prefix: string) => prefix.split('body]').length;
  for (const [, level] of [...levels].sort((a, b) => depth(a[0]) - depth(b[0]))) {
    if (level.service !== undefined && level.version !== undefined) set(`${level.service}.version`, level.version);
  }
  for (const [, c] of [...calls].sort((a, b) => depth(a[0]) - depth(b[0]))) set(`${c.service}.status`, c.status ?? 'none');
  return labels;
};

/** Every classifier an experiment can name. Add one here and it is available everywhere. */
export const classifiers: Record<string, Classifier> = {
  status: statusClassifier,
  envoy: envoyClassifier,
  bookinfo: bookinfoClassifier,
  echo: echoClassifier,
};

export const DEFAULT_CLASSIFIERS = ['status', 'envoy', 'bookinfo'];

/**
 * Classifiers that read what the user's own services send (no echo workload needed, so they work on a real cluster):
 * `header:<name>` labels each response with that response header's value, `json:<path>` with the string or number at
 * that dot path of a JSON body; `=<label>` names the label (default `version`), e.g. `header:x-app-version=backend.version`.
 */
const PARAMETERISED = /^(header|json):([A-Za-z0-9_.-]+)(?:=([A-Za-z0-9_.-]+))?$/;

/** The label a parameterised classifier name gives, or undefined when the name is not one. */
export function parameterisedLabel(name: string): string | undefined {
  const m = PARAMETERISED.exec(name);
  return m ? (m[3] ?? 'version') : undefined;
}

function parameterised(name: string): Classifier | undefined {
  const m = PARAMETERISED.exec(name);
  if (!m) return undefined;
  const [, source, key, label = 'version'] = m as unknown as [string, 'header' | 'json', string, string | undefined];
  if (source === 'header') {
    const header = key.toLowerCase();
    return (r): Labels => {
      const value = r.headers[header];
      return value !== undefined ? { [label]: value } : {};
    };
  }
  const path = key.split('.');
  return (r): Labels => {
    let value: unknown = parseJsonObject(r.body);
    for (const k of path) value = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>)[k] : undefined;
    return typeof value === 'string' || typeof value === 'number' ? { [label]: String(value) } : {};
  };
}

/** Classifiers by name, in order; an empty list means the default set. */
export function resolveClassifiers(names: string[]): Classifier[] {
  const chosen = names.length > 0 ? names : DEFAULT_CLASSIFIERS;
  return chosen.map((name) => {
    const classifier = classifiers[name] ?? parameterised(name);
    if (!classifier) {
      throw new SpecError(
        `unknown classifier "${name}"; known classifiers: ${Object.keys(classifiers).join(', ')}, header:<name>[=<label>], json:<path>[=<label>]`,
        undefined,
        'spec.load.classifiers',
      );
    }
    return classifier;
  });
}

/** Labels of one response under the given classifiers (later classifiers win on a shared key). */
export function classify(response: ResponseRecord, chosen: Classifier[]): Labels {
  const labels: Labels = {};
  for (const c of chosen) Object.assign(labels, c(response));
  return labels;
}
