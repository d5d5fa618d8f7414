// The echo workload: what the local mesh runs for a Deployment whose image is not a Bookinfo image, in the manner of
// Istio's own integration-test app (istio/istio pkg/test/echo/server/endpoint/http.go echo, addResponsePayload). It
// answers with its identity, in Istio's `Field=value` lines and in headers:
//
//   ServiceVersion=v2                  the pod's `version` label
//   ServicePort=8080                   the port it listens on
//   Host=backend:8080                  the request's Host
//   URL=/items?x=1                     the request URI
//   Namespace=shop
//   Method=GET
//   Proto=HTTP/1.1
//   RequestHeader=X-Request-Id:...     every request header, sorted, names in Go's canonical form
//   Hostname=backend-v2-…-…            the pod
//   Service=backend                    (meshproof) the Kubernetes Service it answered as
//   StatusCode=200                     (meshproof) the status it answers with
//   [0] Url=http://db:8080/q           for each configured call, as Istio's echo forwarder writes a forwarded request
//   [0] StatusCode=200                 (pkg/test/echo/server/forwarder/http.go): its URL, status, and its body's
//   [0 body] ServiceVersion=v1         lines, so a chain of echoes shows every hop
//
// Per request, as Istio's echo: `?delay=<Go duration>` waits, `?codes=<code>[:<slices>],…` answers one of the codes
// (a seeded pick, not Go's math/rand), `?headers=<name>:<value>,…` sets response headers. Per workload (the
// `meshproof.dev/echo` annotation, echo-config.ts): a latency distribution, an error share and status, calls to other
// services, each per path. Every random choice is seeded per request attempt (decide.ts), so a replay is identical.
import { uniform } from '../decide.ts';
import { AppConnectionReset } from './crash.ts';
import { behaviourFor, type EchoBehaviour, type EchoCall, type EchoLatency } from './echo-config.ts';
import { httpsCall } from './echo-https.ts';
import { CallScope, header, type AppContext, type AppHandler, type AppRequest, type AppResponse, type OutboundResult } from './types.ts';
import { must } from '../../../must.ts';

export interface EchoIdentity {
  /** Names of the Services that select the pod under the current configuration (sorted); the first answers when the Host names none of them. */
  services(): string[];
  /** The pod's `app` label (or its Deployment's name): the service name when no Service selects it. */
  app: string;
  version: string;
  namespace: string;
  port: number;
}

/** Headers a call passes on from the request it serves, so a trace and the request id follow the chain. */
const propagated = ['x-request-id', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'x-b3-flags', 'b3', 'traceparent', 'tracestate'];

/** Go's time.ParseDuration for the forms tests use (`10ms`, `1.5s`, `1m30s`); undefined when malformed. */
export function parseGoDuration(text: string): number | undefined {
  const units = new Map([
    ['ns', 1e-6],
    ['us', 1e-3],
    ['µs', 1e-3],
    ['ms', 1],
    ['s', 1000],
    ['m', 60_000],
    ['h', 3_600_000],
  ]);
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const [, amount, unit = ''] = m;
    total += Number(amount) * (units.get(unit) ?? Number.NaN);
    consumed = re.lastIndex;
  }
  return consumed === text.length && consumed > 0 ? total : undefined;
}

/** Go's http.CanonicalHeaderKey: `x-request-id` → `X-Request-Id`. */
function canonicalHeader(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1).toLowerCase())
    .join('-');
}

/** A log-normal draw with the given median and 99th percentile, cut at the 99.99th percentile. */
function sampleLatency(latency: EchoLatency, u1: number, u2: number): number {
  if (latency.p99Ms <= latency.p50Ms) return latency.p50Ms;
  const sigma = Math.log(latency.p99Ms / latency.p50Ms) / 2.3263478740408408; // z of the 99th percentile
  const z = Math.min(Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2), 3.719016485455709); // z of 99.99 %
  return latency.p50Ms * Math.exp(sigma * z);
}

/** Istio's echo `?codes=500:1,200:1`: one code, each with a chance of slices / total. */
function pickCode(spec: string, u: number): { code: number } | { error: string } {
  const flavours: { code: number; slices: number }[] = [];
  for (const part of spec.split(',')) {
    const [code, slices = '1'] = part.split(':');
    const c = Number(code);
    const s = Number(slices);
    if (!Number.isInteger(c) || c < 100 || c > 599 || !Number.isInteger(s) || s < 1)
      return { error: `invalid code ${JSON.stringify(part)} (want code[:slices])` };
    flavours.push({ code: c, slices: s });
  }
  const total = flavours.reduce((a, f) => a + f.slices, 0);
  let slice = Math.floor(u * total);
  for (const f of flavours) {
    if (slice < f.slices) return { code: f.code };
    slice -= f.slices;
  }
  return { code: must(flavours.at(-1), 'the last response flavour').code };
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

function forwardedLines(index: number, call: EchoCall, result: OutboundResult): string[] {
  const lines = [`[${index}] Url=${call.url}`];
  if (result.status === 0) {
    lines.push(`[${index} error] no response within ${call.timeoutMs}ms or the connection failed`);
    return lines;
  }
  lines.push(`[${index}] StatusCode=${result.status}`);
  for (const line of result.body.split('\n')) if (line !== '') lines.push(`[${index} body] ${line}`);
  return lines;
}

export function createEcho(ctx: AppContext, identity: EchoIdentity, behaviour: EchoBehaviour): AppHandler {
  const serviceFor = (host: string | undefined): string => {
    const name = (host ?? '').split(/[:.]/, 1)[0]?.toLowerCase() ?? '';
    const services = identity.services();
    return services.includes(name) ? name : (services[0] ?? identity.app);
  };

  return async (req: AppRequest): Promise<AppResponse> => {
    const key = `${req.decisionKey}|${ctx.podName}|echo`;
    const query = new URLSearchParams(req.path.includes('?') ? req.path.slice(req.path.indexOf('?') + 1) : '');
    const problems: string[] = [];
    const own = behaviourFor(behaviour, req.path);

    let waitMs = own.latency ? sampleLatency(own.latency, uniform(ctx.seed, `${key}|latency1`), uniform(ctx.seed, `${key}|latency2`)) : 0;
    const delay = query.get('delay');
    if (delay) {
      const ms = parseGoDuration(delay);
      if (ms === undefined) problems.push(`error delaying response error: time: invalid duration ${JSON.stringify(delay)}`);
      else waitMs += ms;
    }
    await sleep(waitMs);

    const responseHeaders: Record<string, string> = {};
    const headerSpec = query.get('headers');
    if (headerSpec) {
      for (const item of headerSpec.split(',')) {
        const [name, value, ...extra] = item.split(':');
        if (name === undefined || value === undefined || extra.length > 0)
          problems.push(`response headers error: invalid ${JSON.stringify(item)} (want name:value)`);
        else responseHeaders[name.toLowerCase()] = value;
      }
    }

    let status = 200;
    const codes = query.get('codes');
    if (codes) {
      const picked = pickCode(codes, uniform(ctx.seed, `${key}|codes`));
      if ('error' in picked) problems.push(`codes error: ${picked.error}`);
      else status = picked.code;
    }
    if (status === 200 && own.errors && uniform(ctx.seed, `${key}|error`) < own.errors.share) {
      // A crash with the request: the sidecar sees the connection reset before any response (503, flag UC).
      if (own.errors.status === 'reset') throw new AppConnectionReset('meshproof.dev/echo errors: reset');
      status = own.errors.status;
    }

    // The calls, concurrently, through the sidecar; a failed one fails the request with its status (502 without one).
    const forwarded: string[] = [];
    if (status === 200 && own.calls.length > 0) {
      const scope = new CallScope(req.decisionKey);
      const passOn: Record<string, string> = {};
      for (const name of propagated) {
        const value = header(req.headers, name);
        if (value !== undefined) passOn[name] = value;
      }
      const results = await Promise.all(
        own.calls.map(async (call) => ({
          call,
          result: await (call.tls
            ? httpsCall(ctx, scope, call, { ...passOn, ...call.headers })
            : ctx.call(scope, {
                authority: call.authority,
                method: call.method,
                path: call.path,
                headers: { ...passOn, ...call.headers },
                timeoutMs: call.timeoutMs,
              })),
        })),
      );
      results.forEach(({ call, result }, i) => forwarded.push(...forwardedLines(i, call, result)));
      const failed = results.map(({ result }) => result).find((r) => r.status === 0 || r.status >= 400);
      if (failed) status = failed.status === 0 ? 502 : failed.status;
    }

    const service = serviceFor(header(req.headers, 'host'));
    const lines = [
      ...problems,
      `ServiceVersion=${identity.version}`,
      `ServicePort=${identity.port}`,
      `Host=${header(req.headers, 'host') ?? ''}`,
      `URL=${req.path}`,
      `Namespace=${identity.namespace}`,
      `Method=${req.method}`,
      'Proto=HTTP/1.1',
      ...Object.keys(req.headers)
        .sort()
        .flatMap((name) => {
          const value = req.headers[name];
          return (Array.isArray(value) ? value : value === undefined ? [] : [value]).map((v) => `RequestHeader=${canonicalHeader(name)}:${v}`);
        }),
      `Hostname=${ctx.podName}`,
      `Service=${service}`,
      `StatusCode=${status}`,
      ...forwarded,
    ];
    return {
      status,
      headers: {
        'content-type': 'application/text',
        'x-echo-service': service,
        'x-echo-version': identity.version,
        'x-echo-pod': ctx.podName,
        'x-echo-namespace': identity.namespace,
        ...responseHeaders,
      },
      body: `${lines.join('\n')}\n`,
    };
  };
}
