// Errors of the local configuration parsers name a resource and a field as text (`VirtualService reviews:
// spec.http[0].retries.retryOn`, `EnvoyFilter istio-system/ratelimit: spec.configPatches[0]...`); this finds that
// resource among an experiment's and the field's file:line:col, and checks an experiment's resources without a mesh.
import { ResourceError, SpecError } from '../../errors.ts';
import { locateField } from '../../spec/resources.ts';
import type { Experiment, K8sObject } from '../../spec/types.ts';
import { ConfigStore } from './config-store.ts';
import { loadScenario } from './scenario.ts';

interface NamedField {
  kind: string;
  namespace?: string;
  name: string;
  fieldPath: string;
}

/** `Kind [namespace/]name: field.path` → its parts; undefined for any other path. */
export function parseResourcePath(path: string | undefined): NamedField | undefined {
  const m = /^([A-Z][A-Za-z]*) (?:([a-z0-9-]+)\/)?([^\s:/]+): (.+)$/.exec(path ?? '');
  if (!m) return undefined;
  return { kind: m[1], ...(m[2] !== undefined ? { namespace: m[2] } : {}), name: m[3], fieldPath: m[4] };
}

/**
 * The same error with the position of its field in the experiment's files, when it names one of `resources` (the
 * experiment's own objects, which remember where they were written). Other errors come back unchanged.
 */
export function locateResourceError(error: unknown, resources: readonly K8sObject[]): unknown {
  if (!(error instanceof SpecError) || error.source) return error;
  const named = parseResourcePath(error.path);
  if (!named) return error;
  const object = resources.find((r) =>
    r.kind === named.kind && r.metadata.name === named.name && (named.namespace === undefined || (r.metadata.namespace ?? 'default') === named.namespace));
  if (!object) return error;
  return new ResourceError(error.message, object, named.fieldPath, locateField(object, named.fieldPath));
}

const scenarios = new Map<string, K8sObject[]>();

/**
 * What `apply` on the local target would refuse: the scenario's baseline and the experiment's resources parsed by the
 * same configuration store the mesh uses, without starting it. Undefined when the local target accepts them.
 */
export function checkLocalResources(experiment: Experiment): SpecError | undefined {
  let baseline = scenarios.get(experiment.scenario);
  if (!baseline) {
    baseline = loadScenario(experiment.scenario);
    scenarios.set(experiment.scenario, baseline);
  }
  const store = new ConfigStore();
  store.init(baseline);
  const resources = experiment.apply.map((r) => r.object);
  try {
    store.change(resources, []);
    return undefined;
  } catch (error) {
    const located = locateResourceError(error, resources);
    if (located instanceof SpecError) return located;
    throw error;
  }
}
