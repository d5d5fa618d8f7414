// The scenario a sandbox installs: Bookinfo (scenarios/bookinfo, the default) or a folder of the user's manifests
// (docs/scenarios.md), read as the local target reads it (src/spec/scenario.ts: `kubectl apply -k` semantics, else
// every YAML file), so the pods the sandbox writes are the workloads the local mesh plays.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadScenario, scenariosDir } from '../spec/scenario.ts';
import type { KubeObject } from './objects.ts';

export interface SandboxScenario {
  /** As the pods process and experiments name it: `bookinfo`, or the folder's absolute path. */
  ref: string;
  dir: string;
  /** Whether the folder is a kustomization (applied with `kubectl apply -k`, else `-f`). */
  kustomization: boolean;
  /** Its objects, each with its namespace (`default` when it names none). */
  objects: KubeObject[];
  /** Its Namespace objects (applied before the rest). */
  namespaces: KubeObject[];
  /** The namespaces its Deployments run in: labelled istio-injection=enabled. */
  injected: string[];
}

/**
 * `folder` relative to the working folder; undefined or `bookinfo` is Bookinfo. An example's folder (examples/<name>,
 * holding experiments/ and scenario/) means its scenario/.
 */
export function sandboxScenario(folder: string | undefined): SandboxScenario {
  const example = folder === undefined ? undefined : join(resolve(folder), 'scenario');
  const ref = folder === undefined || folder === 'bookinfo' ? 'bookinfo' : example && existsSync(example) ? example : resolve(folder);
  const dir = ref === 'bookinfo' ? join(scenariosDir, 'bookinfo') : ref;
  const objects = loadScenario(ref).resources.map((r) => {
    const object = structuredClone(r.object) as KubeObject;
    if (object.kind !== 'Namespace') object.metadata.namespace ??= 'default';
    return object;
  });
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  if (deployments.length === 0) throw new Error(`scenario ${ref} has no Deployment: the sandbox would have no workload to play`);
  // Seen with examples/threat-modeling: meshproof's own kinds (ExternalHost stand-ins) are not Kubernetes objects, and
  // the API server refuses the whole folder.
  const own = objects.filter((o) => o.apiVersion.startsWith('meshproof.dev/')).map((o) => `${o.kind}/${o.metadata.name}`);
  if (own.length > 0) {
    throw new Error(
      `scenario ${ref} holds meshproof's own objects (${own.join(', ')}), which no API server takes: the sandbox cannot install it yet; run its experiments on the local target`,
    );
  }
  return {
    ref,
    dir,
    kustomization: ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].some((f) => existsSync(join(dir, f))),
    objects,
    namespaces: objects.filter((o) => o.kind === 'Namespace'),
    injected: [...new Set(deployments.map((d) => d.metadata.namespace ?? 'default'))].sort(),
  };
}
