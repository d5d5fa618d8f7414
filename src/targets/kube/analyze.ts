// `meshproof validate --istio`: Istio's own analyzers (the real istioctl, offline) over what each experiment would
// leave in the cluster — the scenario baseline with the experiment's resources applied on top — and every finding
// traced back to the file and line the user wrote.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, stringify, type Node } from 'yaml';
import { locateField } from '../../spec/resources.ts';
import { loadScenario } from '../../spec/scenario.ts';
import type { Experiment, K8sObject, ResourceRef, SourcePos } from '../../spec/types.ts';
import type { PathSegment } from '../../spec/yaml-source.ts';
import { analyzeOffline, type Finding } from './istioctl.ts';

export interface SourcedFinding {
  code: string;
  level: Finding['level'];
  message: string;
  /** The resource istioctl names, e.g. `VirtualService default/reviews`. */
  origin?: string;
  /** Where the user wrote it: the experiment file (inline resources), a file it references, or a scenario file. */
  where?: SourcePos;
  /** Experiments whose resources (with the scenario) produced it; empty when the scenario alone does. */
  experiments: string[];
  documentationUrl?: string;
}

export interface AnalyzeOptions {
  /** Namespace of resources that name none (the kube target's default). */
  namespace?: string;
  binary?: string;
  /** istioctl processes at once (default 2: the analysis is CPU-bound). */
  concurrency?: number;
}

interface Composed {
  text: string;
  /** Per document of `text`: its first line and the resource it came from. */
  docs: { startLine: number; ref: ResourceRef; object: K8sObject; lineToPath: Map<number, PathSegment[]> }[];
}

const objectKey = (o: K8sObject) => `${o.apiVersion.split('/')[0]}|${o.kind}|${o.metadata.namespace}|${o.metadata.name}`;

/** The scenario's objects (minus those the experiment replaces) followed by the experiment's, namespaced as applied. */
function compose(scenario: ResourceRef[], applied: ResourceRef[], namespace: string): Composed {
  const withNamespace = (ref: ResourceRef): K8sObject =>
    ref.object.metadata.namespace === undefined ? { ...ref.object, metadata: { ...ref.object.metadata, namespace } } : ref.object;
  const appliedKeys = new Set(applied.map((r) => objectKey(withNamespace(r))));
  const refs = [...scenario.filter((r) => !appliedKeys.has(objectKey(withNamespace(r)))), ...applied];
  const texts = refs.map((ref) => stringify(withNamespace(ref), { lineWidth: 0 }));
  const text = texts.join('---\n');
  const lines = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter: lines });
  const documents = Array.isArray(parsed) ? parsed : [];
  const docs = refs.map((ref, i) => {
    const doc = documents[i];
    const start = doc?.contents?.range[0] ?? 0;
    const lineToPath = new Map<number, PathSegment[]>();
    if (doc?.contents) mapLines(doc.contents as Node, [], lines, lineToPath);
    return { startLine: lines.linePos(start).line, ref, object: ref.object, lineToPath };
  });
  return { text, docs };
}

/** For each line, the deepest field whose key (or list item) starts on it. */
function mapLines(node: Node, path: PathSegment[], lines: LineCounter, out: Map<number, PathSegment[]>): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isScalar(pair.key)) continue;
      const childPath = [...path, String(pair.key.value)];
      if (pair.key.range) out.set(lines.linePos(pair.key.range[0]).line, childPath);
      if (pair.value) mapLines(pair.value as Node, childPath, lines, out);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const childPath = [...path, i];
      const range = (item as Node | null)?.range;
      if (range && !out.has(lines.linePos(range[0]).line)) out.set(lines.linePos(range[0]).line, childPath);
      if (item) mapLines(item as Node, childPath, lines, out);
    });
  }
}

/** Where the user wrote what istioctl points at: by line when it gives one, else by the resource it names. */
function locate(finding: Finding, composed: Composed, namespace: string): SourcePos | undefined {
  const line = finding.line;
  if (line !== undefined) {
    const doc = [...composed.docs].reverse().find((d) => d.startLine <= line);
    if (doc) {
      const path = doc.lineToPath.get(line);
      return (path && locateField(doc.object, path)) ?? doc.ref.source;
    }
  }
  const named = composed.docs.find((d) => finding.origin === `${d.object.kind} ${d.object.metadata.namespace ?? namespace}/${d.object.metadata.name}`);
  return named?.ref.source;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  const queue = items.entries(); // shared by the workers: each takes the next item
  const worker = async () => {
    for (const [i, item] of queue) results[i] = await fn(item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Run `istioctl analyze --use-kube=false` once per distinct (scenario, resources) pair of the experiments and return
 * the findings, each once, with the experiments that produce it. Throws TargetError when istioctl is missing or fails.
 */
export async function analyzeExperiments(experiments: Experiment[], options: AnalyzeOptions = {}): Promise<SourcedFinding[]> {
  const namespace = options.namespace ?? 'default';
  // Sweeps and matrices repeat the same resources: analyse each distinct set once.
  const groups = new Map<string, { scenario: string; apply: ResourceRef[]; names: string[] }>();
  const scenarios = new Set<string>();
  for (const e of experiments) {
    scenarios.add(e.scenario);
    const key = JSON.stringify([e.scenario, e.apply.map((r) => r.object)]);
    const group = groups.get(key);
    if (group) group.names.push(e.name);
    else groups.set(key, { scenario: e.scenario, apply: e.apply, names: [e.name] });
  }
  const jobs = [...[...scenarios].map((s) => ({ scenario: s, apply: [] as ResourceRef[], names: [] as string[] })), ...groups.values()];
  const dir = await mkdtemp(join(tmpdir(), 'meshproof-analyze-'));
  try {
    const perJob = await mapLimit(jobs, options.concurrency ?? 2, async (job) => {
      const composed = compose(loadScenario(job.scenario).resources, job.apply, namespace);
      const file = join(dir, `${jobs.indexOf(job)}.yaml`);
      await writeFile(file, composed.text);
      const findings = await analyzeOffline([file], options.binary ? { binary: options.binary } : {});
      return findings.map((f) => ({ finding: f, where: locate(f, composed, namespace), names: job.names }));
    });
    const merged = new Map<string, SourcedFinding>();
    for (const { finding, where, names } of perJob.flat()) {
      const key = JSON.stringify([finding.code, finding.message, finding.origin, where?.file, where?.line]);
      const seen = merged.get(key);
      if (seen) {
        // A finding the scenario alone produces belongs to the scenario, whichever experiment also shows it.
        if (seen.experiments.length > 0 && names.length > 0) seen.experiments.push(...names.filter((n) => !seen.experiments.includes(n)));
        if (names.length === 0) seen.experiments = [];
        continue;
      }
      merged.set(key, {
        code: finding.code,
        level: finding.level,
        message: finding.message,
        ...(finding.origin ? { origin: finding.origin } : {}),
        ...(where ? { where } : {}),
        experiments: [...names],
        ...(finding.documentationUrl ? { documentationUrl: finding.documentationUrl } : {}),
      });
    }
    return [...merged.values()];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
