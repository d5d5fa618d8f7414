// Loading experiments: files and folders → validated, typed, expanded Experiments.
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SpecError, SpecErrors } from '../errors.ts';
import { substitute, matrixPoints, pointLabel, type MatrixPoint } from './matrix.ts';
import { headerOperationErrors } from './header-operations.ts';
import { DEFAULT_ECHO_CLASSIFIERS, Normaliser, normaliseExpectation, normaliseLoad, type RawExpectationItem, type RawLoad } from './normalise.ts';
import { withUniqueTitles } from './titles.ts';
import { pitfallWarnings } from './pitfalls.ts';
import { displayPath, inlineResource, loadResourceFile, resourceId } from './resources.ts';
import { experimentDir, loadScenario, resolveScenarioRef } from './scenario.ts';
import { schemaErrors } from './schema-check.ts';
import {
  customProviderWarnings,
  telemetryWarnings,
  driverErrors,
  observabilityErrors,
  requestTargetErrors,
  subsetErrors,
  subsetNameErrors,
  weightErrors,
  weightWarnings,
  deprecatedFieldWarnings,
} from './semantics.ts';
import type { Scenario } from './scenario.ts';
import type { Experiment, K8sObject, ResourceRef } from './types.ts';
import { formatBytes, LIMITS, parseYamlDocuments, positionOf, readSourceFile, type YamlDoc } from './yaml-source.ts';
import { field, isRecord, record } from './untyped.ts';
import { must } from '../must.ts';

function collect<T>(errors: SpecError[], work: () => T): T | undefined {
  try {
    return work();
  } catch (error) {
    if (error instanceof SpecError) errors.push(error);
    else if (error instanceof SpecErrors) errors.push(...error.errors);
    else throw error;
    return undefined;
  }
}

/**
 * What a target refuses among an experiment's resources (the local mesh's own parse, for instance): every problem it
 * finds, each with its position.
 */
export type ResourceCheck = (scenario: string, resources: K8sObject[]) => SpecError[];

/** How experiments are loaded. */
export interface LoadOptions {
  /** The command line's override of every experiment's load driver. */
  driver?: 'autocannon' | 'k6';
  /**
   * The chosen target's check of the resources, run with the loader's own checks so that every problem of a file is
   * reported together (a typo the target refuses next to an undefined subset the loader finds).
   */
  checkResources?: ResourceCheck;
}

/** A `spec.apply` entry as the schema admits it: a file reference or an inline object. */
interface RawApplyEntry {
  file?: string;
  inline?: unknown;
}

/** The parts of `spec` resourcePart reads; resourcesReadable vouches for them even when the rest of the file is invalid. */
interface RawResourceSpec {
  scenario?: string;
  apply?: RawApplyEntry[];
}

/** A schema-valid experiment (schema/experiment.schema.json), as buildExperiment reads it. */
interface RawExperiment {
  metadata: { name: string; description?: string; tags?: string[] };
  spec: RawResourceSpec & { load: RawLoad; expect: RawExpectationItem[] };
}

interface ResourcePart {
  apply: ResourceRef[];
  scenario?: Scenario;
  /** The scenario as the experiment carries it: a built-in name, or the folder's absolute path. */
  scenarioRef?: string;
  errors: SpecError[];
}

/** The resources of an experiment and every problem found in them, checked apart from its load and expectations. */
function resourcePart(file: string, source: YamlDoc, spec: RawResourceSpec, options: LoadOptions): ResourcePart {
  const errors: SpecError[] = [];
  const scenarioAt = positionOf(source, ['spec', 'scenario']);
  const scenarioName = collect(errors, () => resolveScenarioRef(spec.scenario ?? 'bookinfo', experimentDir(file), scenarioAt));
  const scenario = scenarioName === undefined ? undefined : collect(errors, () => loadScenario(scenarioName, scenarioAt));
  const apply: ResourceRef[] = [];
  (spec.apply ?? []).forEach((entry, i) => {
    collect(errors, () => {
      if (entry.file !== undefined) {
        apply.push(...loadResourceFile(entry.file, file, positionOf(source, ['spec', 'apply', i, 'file']), `spec.apply[${i}].file`));
      } else {
        apply.push(inlineResource(entry.inline, source, ['spec', 'apply', i, 'inline']));
      }
    });
  });
  const seen = new Map<string, ResourceRef>();
  for (const ref of apply) {
    const id = resourceId(ref.object);
    const first = seen.get(id);
    if (first)
      errors.push(
        new SpecError(
          `${id} is applied twice (first at ${first.source.file}:${first.source.line}); later copies would silently replace earlier ones`,
          ref.source,
          'spec.apply',
        ),
      );
    seen.set(id, ref);
  }
  errors.push(...weightErrors(apply));
  errors.push(...subsetNameErrors(apply));
  errors.push(...headerOperationErrors(apply));
  if (scenario && scenarioName !== undefined) {
    errors.push(...subsetErrors(apply, scenario));
    if (options.checkResources) {
      const check = options.checkResources;
      collect(errors, () =>
        errors.push(
          ...check(
            scenarioName,
            apply.map((r) => r.object),
          ),
        ),
      );
    }
  }
  return { apply, scenario, scenarioRef: scenarioName, errors };
}

function buildExperiment(
  file: string,
  source: YamlDoc,
  value: RawExperiment,
  point: Record<string, string | number> | undefined,
  options: LoadOptions,
): Experiment {
  const n = new Normaliser(source);
  const spec = value.spec;
  const { apply, scenario, scenarioRef, errors } = resourcePart(file, source, spec, options);
  const load = collect(errors, () => normaliseLoad(n, spec.load));
  // The user's own services answer as echo workloads locally: their classifier replaces Bookinfo's by default.
  if (load && spec.load.classifiers === undefined && scenarioRef !== undefined && scenarioRef !== 'bookinfo') load.classifiers = [...DEFAULT_ECHO_CLASSIFIERS];
  if (load) errors.push(...driverErrors(load, (path) => positionOf(source, path), options.driver));
  const expect = spec.expect.map((item, i) => collect(errors, () => normaliseExpectation(n, item, i)));
  if (scenario && load) {
    errors.push(...observabilityErrors(expect, load.classifiers, apply, scenario, (path, at) => positionOf(source, path, at)));
    errors.push(...requestTargetErrors(load, scenario, (path) => positionOf(source, path)));
  }
  if (errors.length > 0) throw new SpecErrors(errors);
  const base = value.metadata.name;
  return {
    file,
    name: point ? `${base}[${pointLabel(point)}]` : base,
    description: value.metadata.description ?? '',
    tags: value.metadata.tags ?? [],
    // collect() recorded an error for each of these it left undefined, and errors were thrown above.
    scenario: must(scenarioRef, 'the scenario'),
    apply,
    load: must(load, 'the load'),
    expect: withUniqueTitles(expect as Experiment['expect']),
    ...(point ? { sweep: { params: point, baseName: base } } : {}),
    warnings: [
      ...weightWarnings(apply),
      ...deprecatedFieldWarnings(apply),
      ...(scenario ? deprecatedFieldWarnings(scenario.resources) : []),
      ...customProviderWarnings([...(scenario?.resources ?? []), ...apply]),
      ...telemetryWarnings([...(scenario?.resources ?? []), ...apply]),
      ...(value.metadata.tags?.includes('pitfall') ? [] : pitfallWarnings(apply, load, expect as Experiment['expect'], spec.scenario ?? 'bookinfo')),
    ],
  };
}

/** Load one experiment file; a matrix expands into several Experiments. Throws SpecErrors listing every problem. */
export function loadExperimentFile(path: string, options: LoadOptions = {}): Experiment[] {
  const file = resolve(path);
  let text: string;
  try {
    text = readSourceFile(file, displayPath(file));
  } catch (error) {
    if (error instanceof SpecError) throw new SpecErrors([error]);
    throw error;
  }
  return loadExperimentText(text, file, options);
}

/** Load an experiment from text; `path` names it in errors and anchors relative file references. */
export function loadExperimentText(text: string, path: string, options: LoadOptions = {}): Experiment[] {
  const file = resolve(path);
  const shown = displayPath(file);
  const bytes = Buffer.byteLength(text);
  if (bytes > LIMITS.experimentBytes)
    throw new SpecErrors([
      new SpecError(`${shown} is ${formatBytes(bytes)} (${bytes} bytes); the limit for an experiment file is ${formatBytes(LIMITS.experimentBytes)}`, {
        file: shown,
        line: 1,
        col: 1,
      }),
    ]);
  if (text.trim() === '')
    throw new SpecErrors([new SpecError('the file is empty; expected an Experiment (apiVersion: meshproof.dev/v1alpha1)', { file: shown, line: 1, col: 1 })]);
  let docs: YamlDoc[];
  try {
    docs = parseYamlDocuments(text, shown);
  } catch (error) {
    if (error instanceof SpecError) throw new SpecErrors([error]);
    throw error;
  }
  const [source, second] = docs;
  if (source === undefined) throw new SpecErrors([new SpecError('the file holds no document; expected an Experiment', { file: shown, line: 1, col: 1 })]);
  if (second !== undefined) {
    throw new SpecErrors([new SpecError('one experiment per file; a second YAML document starts here', positionOf(second, []))]);
  }
  const raw = source.value;
  const matrix = field(raw, 'spec', 'matrix');
  const points =
    isRecord(matrix) && Object.keys(matrix).length > 0 && Object.values(matrix).every(Array.isArray) ? matrixPointsOrErrors(matrix, source) : [undefined];

  const experiments: Experiment[] = [];
  const errors: SpecError[] = [];
  const seenMessages = new Set<string>();
  for (const point of points) {
    const problems: SpecError[] = [];
    const value = point ? collect(problems, () => substitutedExperiment(raw, point, source)) : raw;
    if (value !== undefined) problems.push(...schemaErrors(source, value));
    if (problems.length > 0 && resourcesReadable(value, problems)) problems.push(...resourcePart(file, source, value.spec, options).errors);
    if (problems.length === 0) {
      // No schema problem: the value is what the schema describes.
      const experiment = collect(problems, () => buildExperiment(file, source, value as RawExperiment, point, options));
      if (experiment) experiments.push(experiment);
    }
    for (const p of problems) {
      const message = p.format();
      if (!seenMessages.has(message)) {
        seenMessages.add(message);
        errors.push(p);
      }
    }
  }
  if (errors.length > 0) throw new SpecErrors(errors);
  return experiments;
}

/** A matrix point's experiment: the point's values substituted into spec.apply, spec.load and spec.expect. */
function substitutedExperiment(raw: unknown, point: MatrixPoint, source: YamlDoc): Record<string, unknown> {
  const spec = record(field(raw, 'spec'));
  return { ...record(raw), spec: { ...spec, ...(substitute({ apply: spec.apply, load: spec.load, expect: spec.expect }, point, source, ['spec']) as object) } };
}

/**
 * Whether an experiment with schema errors still has resources worth checking: its `spec` is an object and no schema
 * error concerns `spec.apply` or `spec.scenario`, so a typo in a resource is reported next to a typo in the experiment.
 */
function resourcesReadable(value: unknown, schemaProblems: SpecError[]): value is { spec: RawResourceSpec } {
  const spec = field(value, 'spec');
  if (!isRecord(spec)) return false;
  if (spec.apply !== undefined && !Array.isArray(spec.apply)) return false;
  return schemaProblems.every((p) => p.path !== undefined && p.path !== 'spec' && !/^spec\.(apply|scenario)\b/.test(p.path));
}

function listYamlFiles(path: string): string[] {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) throw new SpecError(`no such file or folder: ${path}`);
  if (stat.isFile()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const full = join(path, entry.name);
      if (entry.isDirectory()) return listYamlFiles(full);
      return /\.ya?ml$/.test(entry.name) ? [full] : [];
    });
}

export interface LoadedExperiments {
  experiments: Experiment[];
  files: string[];
}

/** Load every experiment below the given files/folders; all problems of all files are reported together. */
export function loadExperiments(paths: string[], options: LoadOptions = {}): LoadedExperiments {
  const errors: SpecError[] = [];
  const experiments: Experiment[] = [];
  const files = paths.flatMap((p) => collect(errors, () => listYamlFiles(p)) ?? []);
  for (const file of files) {
    const loaded = collect(errors, () => loadExperimentFile(file, options));
    if (loaded) experiments.push(...loaded);
  }
  // A resource file several experiments reference is refused once, not once per experiment.
  const shown = new Set<string>();
  const distinct = errors.filter((e) => {
    const text = e.format();
    if (shown.has(text)) return false;
    shown.add(text);
    return true;
  });
  errors.splice(0, errors.length, ...distinct);
  const byName = new Map<string, Experiment>();
  for (const e of experiments) {
    const other = byName.get(e.name);
    if (other)
      errors.push(
        new SpecError(
          `experiment name "${e.name}" is also used by ${displayPath(other.file)}; names must be unique`,
          { file: displayPath(e.file), line: 1, col: 1 },
          'metadata.name',
        ),
      );
    byName.set(e.name, e);
  }
  if (errors.length > 0) throw new SpecErrors(errors);
  if (files.length === 0) throw new SpecErrors([new SpecError(`no experiment files (*.yaml) found in ${paths.join(', ')}`)]);
  return { experiments, files };
}

/** Matrix points; a matrix that cannot expand is reported like any other bad input. */
function matrixPointsOrErrors(matrix: Record<string, unknown>, source: YamlDoc): MatrixPoint[] {
  try {
    return matrixPoints(matrix, source);
  } catch (error) {
    if (error instanceof SpecError) throw new SpecErrors([error]);
    throw error;
  }
}
