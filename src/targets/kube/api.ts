// A small REST client over @kubernetes/client-node's KubeConfig: the exact calls meshproof makes to an API server.
// Requests are built from the kubeconfig's TLS and auth options (client-node's applyToHTTPSOptions), so the JSON we
// send and read is byte-for-byte ours (no model round trip that could drop fields of an object we must restore), and
// pod-proxy paths are not URL-encoded (client-node's connectGetNamespacedPodProxyWithPath encodes `/` as %2F).
import { ResourceError } from '../../errors.ts';
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { K8sObject } from '../../spec/types.ts';
import { field } from '../../spec/untyped.ts';

export const fieldManager = 'meshproof';

/** An API server answered with an error status. `status` carries the Kubernetes Status object when there is one. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly code: number,
    readonly method: string,
    readonly path: string,
    readonly status: { reason?: string; message?: string; details?: unknown } | undefined,
    body: string,
  ) {
    super(`${method} ${path}: ${code} ${status?.reason ?? ''} ${status?.message ?? body.slice(0, 300)}`.replace(/\s+/g, ' ').trim());
  }
}

export interface ResourceInfo {
  /** Plural resource name, e.g. `virtualservices`. */
  name: string;
  namespaced: boolean;
  kind: string;
}

/** Where an object lives: enough to address it on the API server. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface KubeList<T = K8sObject> {
  items: T[];
  metadata?: { continue?: string; resourceVersion?: string };
}

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  body?: string;
  contentType?: string;
  accept?: string;
  timeoutMs?: number;
}

export class KubeApi {
  private readonly discovery = new Map<string, Promise<ResourceInfo[] | undefined>>();

  constructor(
    readonly config: KubeConfig,
    /** Told each Warning header the API server sends (RFC 7234 `299 - "text"`), e.g. a deprecated API. */
    private readonly onWarning?: (text: string) => void,
  ) {}

  /** Base URL of the current cluster's API server. */
  get server(): string {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new Error(`kubeconfig context ${this.config.getCurrentContext()} names no cluster`);
    return cluster.server.replace(/\/+$/, '');
  }

  /** One HTTP request to the API server; resolves with status, headers and body text (never throws on status). */
  async raw(method: string, path: string, options: RequestOptions = {}): Promise<{ code: number; body: string; contentType: string }> {
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, value);
    }
    const requestOptions: https.RequestOptions = { method, headers: { Accept: options.accept ?? 'application/json' } };
    await this.config.applyToHTTPSOptions(requestOptions);
    const headers = requestOptions.headers as Record<string, string>;
    if (options.body !== undefined) {
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(options.body));
    }
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(url, requestOptions, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const warning = res.headers.warning;
          for (const w of warning ? [warning] : []) this.onWarning?.(warningText(w));
          resolve({ code: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), contentType: res.headers['content-type'] ?? '' });
        });
        res.on('error', reject);
      });
      req.setTimeout(options.timeoutMs ?? 30_000, () => req.destroy(new Error(`${method} ${path}: no answer in ${options.timeoutMs ?? 30_000} ms`)));
      req.on('error', reject);
      if (options.body !== undefined) req.write(options.body);
      req.end();
    });
  }

  /**
   * An unsent request to the API server with the kubeconfig's TLS and auth applied, for callers that stream the body
   * and the answer themselves (the service-proxy relay). `pathAndQuery` is sent as given (no encoding).
   */
  async openRequest(method: string, pathAndQuery: string, headers: Record<string, string | string[]>): Promise<http.ClientRequest> {
    const url = new URL(this.server + pathAndQuery);
    const requestOptions: https.RequestOptions = { method, headers: { ...headers } };
    await this.config.applyToHTTPSOptions(requestOptions);
    return (url.protocol === 'https:' ? https : http).request(url, requestOptions);
  }

  /** A request whose 2xx JSON answer is parsed; other statuses throw KubeApiError. */
  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.raw(method, path, options);
    if (res.code < 200 || res.code > 299) throw apiError(res.code, method, path, res.body);
    return (res.body === '' ? undefined : JSON.parse(res.body)) as T;
  }

  /** The resources one group/version serves (discovery, cached); undefined when the API server does not serve it. */
  resources(apiVersion: string): Promise<ResourceInfo[] | undefined> {
    let cached = this.discovery.get(apiVersion);
    if (!cached) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      cached = this.raw('GET', path).then((res) => {
        if (res.code === 404) return undefined;
        if (res.code !== 200) throw apiError(res.code, 'GET', path, res.body);
        const list = JSON.parse(res.body) as { resources: ResourceInfo[] };
        return list.resources.filter((r) => !r.name.includes('/'));
      });
      cached.catch(() => this.discovery.delete(apiVersion));
      this.discovery.set(apiVersion, cached);
    }
    return cached;
  }

  async resourceFor(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const resources = await this.resources(apiVersion);
    const found = resources?.find((r) => r.kind === kind);
    if (!found) throw new UnknownKindError(apiVersion, kind, resources !== undefined);
    return found;
  }

  /** Collection path of a kind (namespace omitted: all namespaces). */
  async collectionPath(apiVersion: string, kind: string, namespace?: string): Promise<string> {
    const resource = await this.resourceFor(apiVersion, kind);
    const root = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const ns = resource.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    return `${root}${ns}/${resource.name}`;
  }

  async objectPath(ref: ObjectRef): Promise<string> {
    return `${await this.collectionPath(ref.apiVersion, ref.kind, ref.namespace)}/${encodeURIComponent(ref.name)}`;
  }

  /** The object, or undefined when it does not exist. */
  async get<T = K8sObject>(ref: ObjectRef): Promise<T | undefined> {
    const path = await this.objectPath(ref);
    const res = await this.raw('GET', path);
    if (res.code === 404) return undefined;
    if (res.code !== 200) throw apiError(res.code, 'GET', path, res.body);
    return JSON.parse(res.body) as T;
  }

  /** Every object of a kind matching a label selector, following `continue` tokens. */
  async list<T = K8sObject>(
    apiVersion: string,
    kind: string,
    options: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {},
  ): Promise<T[]> {
    const path = await this.collectionPath(apiVersion, kind, options.namespace);
    const items: T[] = [];
    let token: string | undefined;
    do {
      const page = await this.json<KubeList<T>>('GET', path, {
        query: { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector, limit: '500', continue: token },
      });
      items.push(...page.items);
      token = page.metadata?.continue || undefined;
    } while (token);
    return items;
  }

  /** Server-side apply (PATCH application/apply-patch+yaml; JSON is YAML) with field manager `meshproof` unless told. */
  async apply<T = K8sObject>(object: K8sObject, options: { force?: boolean; fieldManager?: string } = {}): Promise<T> {
    const path = await this.objectPath(refOf(object));
    return this.json<T>('PATCH', path, {
      query: { fieldManager: options.fieldManager ?? fieldManager, force: options.force ? 'true' : undefined },
      body: JSON.stringify(object),
      contentType: 'application/apply-patch+yaml',
    });
  }

  /**
   * Replace (PUT) an object; `metadata.resourceVersion` makes it conditional on the current version. Strict field
   * validation: an unknown field is a 400, not silently pruned (the real server prunes it with only a Warning).
   */
  async replace<T = K8sObject>(object: K8sObject): Promise<T> {
    const path = await this.objectPath(refOf(object));
    return this.json<T>('PUT', path, { query: { fieldManager, fieldValidation: 'Strict' }, body: JSON.stringify(object) });
  }

  async create<T = K8sObject>(object: K8sObject): Promise<T> {
    const path = await this.collectionPath(object.apiVersion, object.kind, object.metadata.namespace);
    return this.json<T>('POST', path, { query: { fieldManager, fieldValidation: 'Strict' }, body: JSON.stringify(object) });
  }

  /** Delete; resolves false when the object was already gone. `uid` makes it conditional on that very object. */
  async delete(ref: ObjectRef, preconditions?: { uid?: string; resourceVersion?: string }): Promise<boolean> {
    const path = await this.objectPath(ref);
    const body = preconditions ? JSON.stringify({ apiVersion: 'v1', kind: 'DeleteOptions', preconditions }) : undefined;
    const res = await this.raw('DELETE', path, { body });
    if (res.code === 404) return false;
    if (res.code < 200 || res.code > 299) throw apiError(res.code, 'DELETE', path, res.body);
    return true;
  }
}

export class UnknownKindError extends Error {
  override readonly name = 'UnknownKindError';
  constructor(
    readonly apiVersion: string,
    readonly kind: string,
    readonly groupServed: boolean,
  ) {
    super(
      groupServed
        ? `the API server serves ${apiVersion} but no kind ${kind} in it`
        : `the API server does not serve ${apiVersion} (needed for ${kind}); are its CRDs installed?`,
    );
  }
}

export function refOf(object: K8sObject): ObjectRef {
  return { apiVersion: object.apiVersion, kind: object.kind, namespace: object.metadata.namespace, name: object.metadata.name };
}

export function describeRef(ref: ObjectRef): string {
  return `${ref.kind}/${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

function apiError(code: number, method: string, path: string, body: string): KubeApiError {
  let status: KubeApiError['status'];
  try {
    const parsed: unknown = JSON.parse(body);
    if (field(parsed, 'kind') === 'Status') status = parsed as KubeApiError['status'];
  } catch {
    status = undefined;
  }
  return new KubeApiError(code, method, path, status, body);
}

/** The text of an RFC 7234 Warning header as the API server sends it: `299 - "unknown field \"x\""` → `unknown field "x"`. */
export function warningText(header: string): string {
  const quoted = /^\d{3}\s+\S+\s+"((?:[^"\\]|\\.)*)"/.exec(header.trim())?.[1];
  return quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : header.trim();
}

/**
 * The field a schema refusal names, as a path inside the object: server-side apply's 500 "…: .spec.http[0].x: field not
 * declared in schema", or a strict decoding error's 400 "unknown field \"spec.http[0].x\"".
 */
export function unknownFieldOf(message: string): string | undefined {
  const apply = /\.([^\s:]+): field not declared in schema/.exec(message);
  if (apply) return apply[1];
  return /strict decoding error: unknown field "([^"]+)"/.exec(message)?.[1];
}

/**
 * An unknown field or a value of the wrong type as bad input at its path (exit 2, file:line:col through the runner):
 * server-side apply answers 500 "field not declared in schema" or "failed to create typed patch object", a strict
 * PUT/POST 400 "strict decoding error: unknown field" (the real kube-apiserver; without Strict a PUT prunes the field
 * and only warns).
 */
export function unknownFieldError(object: K8sObject, error: unknown): ResourceError | undefined {
  if (!(error instanceof KubeApiError) || (error.code !== 500 && error.code !== 400)) return undefined;
  const message = error.status?.message ?? error.message;
  const field = unknownFieldOf(message);
  if (field !== undefined)
    return new ResourceError(`unknown field: the API server's schema of ${object.kind} has no "${field.split('.').pop()}" here`, object, field);
  const typed = typeErrorOf(message);
  if (typed) return new ResourceError(`the API server's schema of ${object.kind} refuses it: ${typed.message}`, object, typed.field);
  return undefined;
}

/**
 * A value of the wrong type in server-side apply: the real kube-apiserver answers 500 "failed to create typed patch
 * object (<ns>/<name>; <gvk>): .spec.http[0].route[0].weight: expected numeric (int or float), got string" (seen on
 * the sandbox; structured-merge-diff's typed conversion runs before validation).
 */
export function typeErrorOf(message: string): { field: string; message: string } | undefined {
  const [, field, detail] = /failed to create typed patch object \([^)]*\): \.([^\s:]+): (.+)$/s.exec(message) ?? [];
  return field !== undefined && detail !== undefined ? { field, message: detail.trim() } : undefined;
}
