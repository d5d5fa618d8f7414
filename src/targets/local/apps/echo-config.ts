// The behaviour of an echo workload, chosen in the scenario by the annotation `meshproof.dev/echo` on a Deployment's
// pod template (YAML or JSON in the annotation's value): its latency, its own errors, and the calls it makes to other
// services, for every request or per path. Read strictly: every field is understood or refused with its path.
import { parse as parseYaml } from 'yaml';
import { FieldPath, isObj, readArray, readDuration, readNumber, readObject, readString, type Obj } from '../../../istio/networking/fields.ts';

export const echoAnnotation = 'meshproof.dev/echo';

/** A log-normal latency with this median and 99th percentile (equal: a fixed latency). */
export interface EchoLatency {
  p50Ms: number;
  p99Ms: number;
}

/** The share of requests the app itself fails, and how: a status, or `reset` (it closes the connection unanswered). */
export interface EchoErrors {
  share: number;
  status: number | 'reset';
}

/** A call the echo makes to another service through its sidecar (Istio's echo "forward"), before it answers. */
export interface EchoCall {
  url: string;
  /** `backend:8080`, as the app writes it; an https URL's always names its port (`api.openai.com:443`). */
  authority: string;
  /** An https URL: the app originates TLS itself (to an external host), through its sidecar's TCP proxying. */
  tls?: true;
  /** Path with query. */
  path: string;
  method: string;
  /** The app's own client timeout: without an answer by then it gives up (the sidecar sees it hang up). */
  timeoutMs: number;
  headers: Record<string, string>;
}

export interface EchoPathBehaviour {
  latency?: EchoLatency;
  errors?: EchoErrors;
  calls: EchoCall[];
}

export interface EchoBehaviour extends EchoPathBehaviour {
  /** Overrides by path prefix, longest prefix first. */
  paths: { prefix: string; behaviour: EchoPathBehaviour }[];
}

export const defaultEchoBehaviour: EchoBehaviour = { calls: [], paths: [] };

const maxLatencyMs = 60_000;
const defaultCallTimeoutMs = 15_000;

function readLatency(value: unknown, at: FieldPath): EchoLatency {
  const o = readObject(value, at, ['p50', 'p99']);
  if (o.p50 === undefined) throw at.key('p50').error('the median latency is required (e.g. p50: 20ms; add p99: 80ms for a spread)');
  const p50Ms = readDuration(o.p50, at.key('p50'));
  const p99Ms = o.p99 === undefined ? p50Ms : readDuration(o.p99, at.key('p99'));
  if (p99Ms < p50Ms) throw at.key('p99').error(`the 99th percentile (${p99Ms}ms) cannot be below the median (${p50Ms}ms)`);
  if (p99Ms > maxLatencyMs) throw at.key('p99').error(`at most ${maxLatencyMs / 1000}s`);
  if (p50Ms === 0 && p99Ms > 0) throw at.key('p50').error('a spread needs a median above 0 (the latency is log-normal)');
  return { p50Ms, p99Ms };
}

function readErrors(value: unknown, at: FieldPath): EchoErrors {
  const o = readObject(value, at, ['share', 'status']);
  if (o.share === undefined) throw at.key('share').error('the share of failed requests is required (0 to 1, e.g. 0.05)');
  const share = readNumber(o.share, at.key('share'), { min: 0, max: 1 });
  const status = o.status === undefined ? 503 : o.status === 'reset' ? 'reset' : readNumber(o.status, at.key('status'), { integer: true, min: 200, max: 599 });
  return { share, status };
}

function readCall(value: unknown, at: FieldPath): EchoCall {
  const o: Obj = typeof value === 'string' ? { url: value } : readObject(value, at, ['url', 'method', 'timeout', 'headers']);
  const urlAt = typeof value === 'string' ? at : at.key('url');
  const url = readString(o.url, urlAt);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw urlAt.error(`not a URL: ${JSON.stringify(url)} (write http://<service>:<port>/<path>)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw urlAt.error(`only http:// calls (the sidecar originates mTLS) and https:// calls to external hosts are made, found ${parsed.protocol}//`);
  }
  const tls = parsed.protocol === 'https:';
  if (parsed.username || parsed.password) throw urlAt.error('credentials in the URL are not sent');
  if (parsed.hash) throw urlAt.error('a URL fragment is never sent');
  const method = o.method === undefined ? 'GET' : readString(o.method, at.key('method'));
  if (!/^[A-Z]+$/.test(method)) throw at.key('method').error(`expected an HTTP method such as GET or POST, found ${JSON.stringify(method)}`);
  const timeoutMs = o.timeout === undefined ? defaultCallTimeoutMs : readDuration(o.timeout, at.key('timeout'), { min: 1 });
  const headers: Record<string, string> = {};
  if (o.headers !== undefined) {
    if (!isObj(o.headers)) throw at.key('headers').error('expected a map of header names to values');
    for (const [name, v] of Object.entries(o.headers)) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw at.key('headers').entry(name).error('not a valid header name');
      headers[name.toLowerCase()] = readString(v, at.key('headers').entry(name));
    }
  }
  const authority = tls ? `${parsed.hostname}:${parsed.port || 443}` : parsed.port ? `${parsed.hostname}:${parsed.port}` : parsed.hostname;
  return { url, authority, path: `${parsed.pathname}${parsed.search}`, method, timeoutMs, headers, ...(tls ? { tls: true as const } : {}) };
}

function readPathBehaviour(o: Obj, at: FieldPath): EchoPathBehaviour {
  return {
    ...(o.latency !== undefined ? { latency: readLatency(o.latency, at.key('latency')) } : {}),
    ...(o.errors !== undefined ? { errors: readErrors(o.errors, at.key('errors')) } : {}),
    calls: o.calls === undefined ? [] : readArray(o.calls, at.key('calls')).map((c, i) => readCall(c, at.key('calls').index(i))),
  };
}

/** The behaviour an annotation value describes; `at` is the annotation's own path (errors name fields below it). */
export function parseEchoBehaviour(text: string, at: FieldPath): EchoBehaviour {
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    throw at.error(`not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (value === null || value === undefined) return defaultEchoBehaviour;
  const o = readObject(value, at, ['latency', 'errors', 'calls', 'paths']);
  const base = readPathBehaviour(o, at);
  const paths: EchoBehaviour['paths'] = [];
  if (o.paths !== undefined) {
    if (!isObj(o.paths)) throw at.key('paths').error('expected a map of path prefixes (/checkout) to behaviours');
    for (const [prefix, entry] of Object.entries(o.paths)) {
      const pat = at.key('paths').entry(prefix);
      if (!prefix.startsWith('/')) throw pat.error(`a path prefix starts with "/", found ${JSON.stringify(prefix)}`);
      const own = readPathBehaviour(readObject(entry ?? {}, pat, ['latency', 'errors', 'calls']), pat);
      // A path inherits what it does not set; `calls: []` clears the workload's calls for it.
      const calls = isObj(entry) && entry.calls !== undefined ? own.calls : base.calls;
      const latency = own.latency ?? base.latency;
      const errors = own.errors ?? base.errors;
      paths.push({ prefix, behaviour: { ...(latency ? { latency } : {}), ...(errors ? { errors } : {}), calls } });
    }
  }
  paths.sort((a, b) => b.prefix.length - a.prefix.length);
  return { ...base, paths };
}

/** What the echo does for a path: the longest matching prefix's behaviour, else the workload's. */
export function behaviourFor(behaviour: EchoBehaviour, path: string): EchoPathBehaviour {
  const [bare = ''] = path.split('?');
  return behaviour.paths.find((p) => bare.startsWith(p.prefix))?.behaviour ?? behaviour;
}
