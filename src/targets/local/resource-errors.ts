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
  const [, kind, namespace, name, fieldPath] = /^([A-Z][A-Za-z]*) (?:([a-z0-9-]+)\/)?([^\s:/]+): (.+)$/.exec(path ?? '') ?? [];
  if (kind === undefined || name === undefined || fieldPath === undefined) return undefined;
  return { kind, ...(namespace !== undefined ? { namespace } : {}), name, fieldPath };
}

/**
 * The same error with the position of its field in the experiment's files, when it names one of `resources` (the
 * experiment's own objects, which remember where they were written). Other errors come back unchanged.
 */
export function locateResourceError(error: unknown, resources: readonly K8sObject[]): unknown {
  if (!(error instanceof SpecError) || error.source) return error;
  const named = parseResourcePath(error.path);
  if (!named) return error;
  const object = resources.find(
    (r) =>
      r.kind === named.kind && r.metadata.name === named.name && (named.namespace === undefined || (r.metadata.namespace ?? 'default') === named.namespace),
  );
  if (!object) return error;
  return new ResourceError(error.message, object, named.fieldPath, locateField(object, named.fieldPath));
}

const scenarios = new Map<string, K8sObject[]>();

function baselineOf(scenario: string): K8sObject[] {
  let baseline = scenarios.get(scenario);
  if (!baseline) {
    baseline = loadScenario(scenario);
    scenarios.set(scenario, baseline);
  }
  return baseline;
}

/** The first refusal of the local configuration store for `resources` over the scenario's baseline, located. */
function firstRefusal(baseline: K8sObject[], resources: K8sObject[], locateAmong: readonly K8sObject[]): SpecError | undefined {
  const store = new ConfigStore();
  try {
    store.init(baseline);
  } catch (error) {
    // The scenario's own files are refused: the error names their file and line (they remember where they were read).
    const located = locateResourceError(error, baseline);
    if (located instanceof SpecError) return located;
    throw error;
  }
  try {
    store.change(resources, []);
    return undefined;
  } catch (error) {
    const located = locateResourceError(error, locateAmong);
    if (located instanceof SpecError) return located;
    throw error;
  }
}

/**
 * What `apply` on the local target would refuse: the scenario's baseline and the experiment's resources parsed by the
 * same configuration store the mesh uses, without starting it. Undefined when the local target accepts them.
 */
export function checkLocalResources(experiment: Pick<Experiment, 'scenario' | 'apply'>): SpecError | undefined {
  return firstRefusal(
    baselineOf(experiment.scenario),
    experiment.apply.map((r) => r.object),
    experiment.apply.map((r) => r.object),
  );
}

/**
 * Every resource the local target refuses, one refusal per resource (the store stops at a resource's first bad
 * field): each resource is parsed on its own over the baseline once the whole set is refused, so a typo in one is
 * reported next to a problem in another. A refusal that only the whole set shows (between resources) is reported as is.
 */
export function localResourceErrors(scenario: string, resources: K8sObject[]): SpecError[] {
  const baseline = baselineOf(scenario);
  const whole = firstRefusal(baseline, resources, resources);
  if (!whole) return [];
  const each = resources.map((r) => firstRefusal(baseline, [r], resources)).filter((e): e is SpecError => e !== undefined);
  return each.length > 0 ? each : [whole];
}
