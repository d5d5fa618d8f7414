// A scenario's Open Policy Agent Deployment (image openpolicyagent/opa, any tag): the local target runs the real OPA
// (tools/opa-envoy, with opa-envoy-plugin's Envoy ext_authz gRPC service) with the container's own arguments and the
// ConfigMaps it mounts, behind the pod's sidecar like any app. Only what would make it listen elsewhere is changed:
// the REST address (--addr) and the ext_authz address (plugins.envoy_ext_authz_grpc.addr) move to the pod's loopback
// address, and mounted paths to a folder holding the ConfigMaps' files. Everything else is refused by field.
import { parse as parseYaml } from 'yaml';
import { FieldPath, isObj, readArray, readObject, readString, readNumber } from '../../../istio/networking/fields.ts';
import { must } from '../../../must.ts';

export const opaImagePattern = /(?:^|\/)openpolicyagent\/opa(?::[\w.-]+)?(?:@sha256:[0-9a-f]+)?$/;
const PLUGIN = 'envoy_ext_authz_grpc';

export interface OpaMount {
  mountPath: string;
  /** The ConfigMap of the pod's namespace whose keys become files there (all keys, or `items`). */
  configMap: string;
  items?: { key: string; path: string }[];
  /** Where it is refused if the ConfigMap does not exist. */
  at: string;
}

export interface OpaSpec {
  /** The container's args, without --addr and the plugin's addr (the mesh sets both). */
  args: string[];
  mounts: OpaMount[];
  /** The REST API's port (--addr, 8181 by default): the port the pod serves behind its sidecar. */
  restPort: number;
  /** The ext_authz gRPC port (plugins.envoy_ext_authz_grpc.addr, :9191 by default) when the plugin is configured. */
  grpcPort?: number;
  /** --config-file as written (a mounted path). */
  configFile?: string;
  /** The mounted files by path, once the ConfigMaps are known (config-store.ts). */
  files?: Record<string, string>;
}

function portOf(addr: string, at: FieldPath): number {
  const m = /:(\d+)$/.exec(addr);
  if (!m) throw at.error(`expected an address such as :8181 or 0.0.0.0:8181, found ${JSON.stringify(addr)}`);
  return readNumber(Number(m[1]), at, { integer: true, min: 1, max: 65535 });
}

/** The OPA container of a pod template; `pod` is the pod spec (for its volumes). */
export function parseOpaContainer(container: Record<string, unknown>, pod: Record<string, unknown>, cat: FieldPath, podAt: FieldPath): OpaSpec {
  if (container.command !== undefined) throw cat.key('command').error("the image's own entrypoint (opa) runs; give its arguments in args");
  const args = readArray(container.args ?? [], cat.key('args')).map((a, i) => readString(a, cat.key('args').index(i)));
  if (args[0] !== 'run') throw cat.key('args').index(0).error('the local target runs OPA as `opa run --server ...`; args must start with run');
  if (!args.includes('--server') && !args.includes('-s')) throw cat.key('args').error('OPA must run as a server (--server)');
  const kept: string[] = [];
  let restPort = 8181;
  let grpcPort: number | undefined;
  let pluginConfigured = false;
  let configPath: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = must(args[i], `argument ${i}`);
    const aat = cat.key('args').index(i);
    const value = (flag: string) => {
      if (a.startsWith(`${flag}=`)) return a.slice(flag.length + 1);
      if (a === flag) {
        if (i + 1 >= args.length) throw aat.error(`${flag} needs a value`);
        return args[++i];
      }
      return undefined;
    };
    const addr = value('--addr') ?? value('-a');
    if (addr !== undefined) {
      restPort = portOf(addr, aat);
      continue;
    }
    if (value('--diagnostic-addr') !== undefined) continue; // health probes only; the pod has none here
    const configFile = value('--config-file') ?? value('-c');
    if (configFile !== undefined) {
      kept.push(`--config-file=${configFile}`);
      configPath = configFile;
      continue;
    }
    const set = value('--set') ?? value('--set-file');
    if (set !== undefined) {
      const remote = remoteConfigKey(set.split('=', 1)[0] ?? set);
      if (remote)
        throw aat.error(
          `${remote}: OPA would reach a service over the network; the local target keeps all traffic on loopback (give the policy and data as mounted files)`,
        );
      if (set.includes(PLUGIN)) pluginConfigured = true;
      if (set.startsWith(`plugins.${PLUGIN}.addr=`)) {
        grpcPort = portOf(set.slice(`plugins.${PLUGIN}.addr=`.length), aat);
        continue;
      }
      kept.push(`--set=${set}`);
      continue;
    }
    for (const flag of ['--tls-cert-file', '--tls-private-key-file', '--tls-ca-cert-file', '--unix-socket-file', '--h2c']) {
      if (a === flag || a.startsWith(`${flag}=`)) throw aat.error(`${flag} is not run by the local target (the pod's sidecar and loopback carry its traffic)`);
    }
    kept.push(a);
  }
  const mounts = readMounts(container, pod, cat, podAt);
  if (pluginConfigured && grpcPort === undefined) grpcPort = 9191; // opa-envoy-plugin's default address :9191
  if (grpcPort !== undefined && grpcPort === restPort) throw cat.key('args').error(`the REST API and the ext_authz service both ask for port ${restPort}`);
  return { args: kept, mounts, restPort, ...(grpcPort !== undefined ? { grpcPort } : {}), ...(configPath !== undefined ? { configFile: configPath } : {}) };
}

function readMounts(container: Record<string, unknown>, pod: Record<string, unknown>, cat: FieldPath, podAt: FieldPath): OpaMount[] {
  const volumes = new Map<string, { value: Record<string, unknown>; at: FieldPath }>();
  readArray(pod.volumes ?? [], podAt.key('volumes')).forEach((v, i) => {
    const vat = podAt.key('volumes').index(i);
    const o = readObject(v, vat, ['name', 'configMap'], {
      secret: 'only ConfigMap volumes are mounted for OPA here',
      emptyDir: 'only ConfigMap volumes are mounted for OPA here',
      persistentVolumeClaim: 'only ConfigMap volumes are mounted for OPA here',
    });
    volumes.set(readString(o.name, vat.key('name')), { value: o, at: vat });
  });
  return readArray(container.volumeMounts ?? [], cat.key('volumeMounts')).map((m, i) => {
    const mat = cat.key('volumeMounts').index(i);
    const o = readObject(m, mat, ['name', 'mountPath', 'readOnly'], { subPath: 'subPath mounts are not run for OPA here' });
    const name = readString(o.name, mat.key('name'));
    const mountPath = readString(o.mountPath, mat.key('mountPath'));
    if (!mountPath.startsWith('/')) throw mat.key('mountPath').error('must be an absolute path');
    const volume = volumes.get(name);
    if (!volume) throw mat.key('name').error(`no volume named ${name} in the pod`);
    if (volume.value.configMap === undefined) throw volume.at.error('only ConfigMap volumes are mounted for OPA here');
    const cm = readObject(volume.value.configMap, volume.at.key('configMap'), ['name', 'items', 'defaultMode', 'optional']);
    const items =
      cm.items === undefined
        ? undefined
        : readArray(cm.items, volume.at.key('configMap.items')).map((it, j) => {
            const iat = volume.at.key('configMap.items').index(j);
            const io = readObject(it, iat, ['key', 'path', 'mode']);
            return { key: readString(io.key, iat.key('key')), path: readString(io.path, iat.key('path')) };
          });
    return {
      mountPath,
      configMap: readString(cm.name, volume.at.key('configMap.name')),
      ...(items ? { items } : {}),
      at: volume.at.key('configMap.name').toString(),
    };
  });
}

/** A mount's `at` (`<resource>: <field path>`) as the FieldPath its errors name. */
function mountField(at: string): FieldPath {
  const [resource = '', ...path] = at.split(': ');
  return new FieldPath(resource, path.join(': '));
}

/** The files of the mounts, as kubelet writes them: `<mountPath>/<key or item path>` → content. */
export function mountedFiles(spec: OpaSpec, configMaps: (name: string) => Record<string, string> | undefined): Map<string, string> {
  const files = new Map<string, string>();
  for (const m of spec.mounts) {
    const data = configMaps(m.configMap);
    if (!data) throw mountField(m.at).error(`ConfigMap ${m.configMap} does not exist in the pod's namespace (the pod would not start)`);
    const entries = m.items ? m.items.map((it) => [it.path, data[it.key]] as const) : Object.entries(data);
    for (const [file, content] of entries) {
      if (content === undefined) throw mountField(m.at).error(`ConfigMap ${m.configMap} has no key for ${file}`);
      files.set(`${m.mountPath.replace(/\/$/, '')}/${file}`, content);
    }
  }
  return files;
}

/** OPA configuration keys that make it call out (bundle, discovery, status and decision-log services). */
function remoteConfigKey(key: string): string | undefined {
  const top = key.split('.', 1)[0] ?? key;
  if (['services', 'bundles', 'bundle', 'discovery', 'status', 'keys'].includes(top)) return top;
  if (key.startsWith('decision_logs.service') || key.startsWith('decision_logs.resource')) return 'decision_logs.service';
  return undefined;
}

/**
 * The ext_authz port once the mounted files are known: a config file (--config-file) that configures the plugin
 * without --set gives its `plugins.envoy_ext_authz_grpc.addr`, or the plugin's default :9191. A config file that
 * points OPA at a remote service (bundles, discovery, status, decision logs) is refused: nothing leaves loopback.
 */
export function resolveGrpcPort(spec: OpaSpec, files: Map<string, string>, at: FieldPath): number | undefined {
  if (spec.configFile === undefined) return spec.grpcPort;
  const text = files.get(spec.configFile);
  if (text === undefined) throw at.error(`--config-file ${spec.configFile} is not a file of a mounted ConfigMap`);
  let config: unknown;
  try {
    config = parseYaml(text);
  } catch (error) {
    throw at.error(`--config-file ${spec.configFile}: not valid YAML: ${(error as Error).message}`);
  }
  if (isObj(config)) {
    for (const key of Object.keys(config)) {
      const remote = remoteConfigKey(
        key === 'decision_logs' && isObj(config.decision_logs) && config.decision_logs.service !== undefined ? 'decision_logs.service' : key,
      );
      if (remote)
        throw at.error(
          `--config-file ${spec.configFile}: ${remote}: OPA would reach a service over the network; the local target keeps all traffic on loopback (give the policy and data as mounted files)`,
        );
    }
  }
  if (spec.grpcPort !== undefined) return spec.grpcPort;
  const plugin = isObj(config) && isObj(config.plugins) ? config.plugins[PLUGIN] : undefined;
  if (plugin === undefined) return undefined;
  const addr = isObj(plugin) ? plugin.addr : undefined;
  return typeof addr === 'string' ? portOf(addr, at) : 9191;
}

/** `isObj` for callers that read ConfigMap data. */
export function configMapData(o: unknown): Record<string, string> {
  const data = isObj(o) && isObj(o.data) ? o.data : {};
  return Object.fromEntries(Object.entries(data).filter((e): e is [string, string] => typeof e[1] === 'string'));
}
