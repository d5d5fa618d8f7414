// Resources of an experiment (file references and inline objects), remembering where each came from.
import { dirname, relative, resolve } from 'node:path';
import { SpecError } from '../errors.ts';
import type { K8sObject, ResourceRef, SourcePos } from './types.ts';
import { formatPath, LIMITS, parsePath, parseYamlDocuments, positionOf, readSourceFile, type PathSegment, type YamlDoc } from './yaml-source.ts';
import { field, isRecord } from './untyped.ts';

interface Origin {
  source: YamlDoc;
  /** Path of the object inside its YAML document. */
  base: PathSegment[];
}

const origins = new WeakMap<object, Origin>();

export function rememberOrigin(object: object, source: YamlDoc, base: PathSegment[]): void {
  origins.set(object, { source, base });
}

/**
 * Where a field of a resource is written, e.g. locateField(vs, 'spec.http[0].route[1].weight').
 * Targets report unsupported fields by path; this turns that into file:line:col.
 */
export function locateField(object: object, fieldPath: string | PathSegment[]): SourcePos | undefined {
  const origin = origins.get(object);
  if (!origin) return undefined;
  const path = typeof fieldPath === 'string' ? parsePath(fieldPath) : fieldPath;
  return positionOf(origin.source, [...origin.base, ...path], { key: true });
}

export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') || rel === '' ? file : rel;
}

function checkObject(value: unknown, source: YamlDoc, base: PathSegment[]): K8sObject {
  const where = (path: PathSegment[]) => positionOf(source, [...base, ...path], { key: false });
  if (!isRecord(value)) {
    throw new SpecError('expected a Kubernetes object (apiVersion, kind, metadata.name)', where([]), formatPath(base) || '(document)');
  }
  const object = value;
  for (const name of ['apiVersion', 'kind'] as const) {
    if (typeof object[name] !== 'string' || object[name] === '') {
      throw new SpecError(`missing required field "${name}"`, where([]), formatPath([...base, name]));
    }
  }
  const metadataName = field(object, 'metadata', 'name');
  if (typeof metadataName !== 'string' || !metadataName) {
    throw new SpecError('missing required field "metadata.name"', where(['metadata']), formatPath([...base, 'metadata', 'name']));
  }
  return object as K8sObject; // apiVersion, kind and metadata.name checked above
}

/** Objects of a YAML file referenced from an experiment (several documents allowed). */
export function loadResourceFile(fileRef: string, experimentFile: string, refPos: SourcePos, refPath: string): ResourceRef[] {
  const file = resolve(dirname(experimentFile), fileRef);
  let text: string;
  try {
    text = readSourceFile(file, displayPath(file), LIMITS.resourceFileBytes, 'a referenced resource file');
  } catch (error) {
    if (error instanceof SpecError && !error.message.startsWith('cannot read '))
      throw new SpecError(`referenced file ${fileRef} is refused: ${error.message}`, refPos, refPath);
    if (error instanceof SpecError)
      throw new SpecError(
        `referenced file ${fileRef} cannot be read (${displayPath(file)}: ${error.message.replace(/^cannot read [^:]+: /, '')})`,
        refPos,
        refPath,
      );
    throw error;
  }
  const docs = parseYamlDocuments(text, displayPath(file));
  if (docs.length === 0) throw new SpecError(`referenced file ${fileRef} contains no resources`, refPos, refPath);
  return docs.flatMap((doc) => {
    const items = field(doc.value, 'items');
    const list = field(doc.value, 'kind') === 'List' && Array.isArray(items) ? (items as unknown[]) : undefined;
    const entries = list ? list.map((item, i) => ({ item, base: ['items', i] as PathSegment[] })) : [{ item: doc.value, base: [] as PathSegment[] }];
    return entries.map(({ item, base }) => {
      const object = checkObject(item, doc, base);
      rememberOrigin(object, doc, base);
      return { object, source: positionOf(doc, base), origin: fileRef };
    });
  });
}

export function inlineResource(value: unknown, source: YamlDoc, path: PathSegment[]): ResourceRef {
  const object = checkObject(value, source, path);
  rememberOrigin(object, source, path);
  return { object, source: positionOf(source, path), origin: 'inline' };
}

/** The one identity key of an object: `<kind>/<namespace, default when unset>/<name>`. */
export function resourceId(object: { kind: string; metadata: { name: string; namespace?: string } }): string {
  return `${object.kind}/${object.metadata.namespace ?? 'default'}/${object.metadata.name}`;
}
