// Nothing accepted is silently ignored (issue 15 item 7): every field of the pinned Istio CRDs' schemas
// (manifests/charts/base/files/crd-all.gen.yaml of the istio module istioctl and istiod are built from) is, for the
// traffic kinds the local target parses into models, either READ (setting it changes the parsed model) or REFUSED with
// an error naming that field or one of its ancestors — or it is in the short list of fields that decide nothing a
// proxy does, each with the reason. A new CRD field in a later pin fails this test until it is handled.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { SpecError, SpecErrors } from '../../src/errors.ts';
import { parseDestinationRule } from '../../src/istio/networking/destination-rule.ts';
import { parseGateway } from '../../src/istio/networking/gateway.ts';
import { parseVirtualService } from '../../src/istio/networking/virtual-service.ts';
import { parseServiceEntry } from '../../src/istio/networking/service-entry.ts';
import { istioCrdsPath } from '../../src/sandbox/binaries.ts';
import type { K8sObject } from '../../src/spec/types.ts';
import { must } from '../../src/must.ts';

type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  enum?: string[];
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-validations'?: { rule: string }[];
};
type Path = (string | number)[];

const crds = parseAllDocuments(readFileSync(istioCrdsPath(), 'utf8'))
  .map((d) => d.toJS())
  .filter(Boolean) as {
  spec: { names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: { properties: { spec: Schema } } } }[] };
}[];

function specSchema(kind: string): Schema {
  const crd = crds.find((c) => c.spec.names.kind === kind);
  if (!crd) throw new Error(`the pinned CRDs have no ${kind}`);
  return crd.spec.versions.find((v) => v.name === 'v1')!.schema.openAPIV3Schema.properties.spec;
}

/** Every leaf field path of a schema; list items are item 0, map values the key `x-key`. */
function leaves(schema: Schema, path: Path = [], out: { path: Path; schema: Schema }[] = []): { path: Path; schema: Schema }[] {
  if (schema.properties) {
    for (const [name, child] of Object.entries(schema.properties)) leaves(child, [...path, name], out);
  } else if (schema.type === 'array' && schema.items?.properties) {
    leaves(schema.items, [...path, 0], out);
  } else if (typeof schema.additionalProperties === 'object' && schema.additionalProperties.properties) {
    leaves(schema.additionalProperties, [...path, 'x-key'], out);
  } else {
    out.push({ path, schema });
  }
  return out;
}

const isDuration = (s: Schema) => (s['x-kubernetes-validations'] ?? []).some((v) => v.rule.includes('duration('));

/** A valid-looking value for a leaf (durations, enums, numbers, strings, string maps). */
function sample(s: Schema): unknown {
  if (s.enum) return s.enum.find((e) => !/^(UNSET|UNSPECIFIED|DEFAULT)$/.test(e)) ?? s.enum[0];
  if (isDuration(s)) return '7s';
  if (s['x-kubernetes-int-or-string']) return 7;
  switch (s.type) {
    case 'integer':
    case 'number':
      return 7;
    case 'boolean':
      return true;
    case 'array':
      return [s.items?.type === 'integer' ? 7 : 'x-sample'];
    case 'object':
      return { 'x-key': 'x-sample' };
    default:
      return 'x-sample';
  }
}

function setPath(target: Record<string, unknown>, path: Path, value: unknown): void {
  // Objects and lists alike are indexed by the path's keys (a list by its numbers).
  let node = target as Record<string | number, unknown>;
  const last = must(path.at(-1), 'the last key of the path');
  for (const [i, key] of path.slice(0, -1).entries()) {
    const listNext = typeof path[i + 1] === 'number';
    node[key] ??= listNext ? [] : {};
    const next = node[key];
    if (listNext && Array.isArray(next) && next.length === 0) next.push({});
    node = next as Record<string | number, unknown>;
  }
  node[last] = value;
}

const text = (path: Path) =>
  path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`))
    .join('')
    .slice(1);

/**
 * Siblings a field needs to be valid at all (so that a refusal is about the field, not about what is missing):
 * path pattern → values set first.
 */
interface Kind {
  base: Record<string, unknown>;
  parse: (o: K8sObject) => unknown;
  companions: [RegExp, [string, unknown][]][];
  /** Fields that decide nothing a proxy does, with why. */
  inert: Record<string, string>;
}

const route = [
  { destination: { host: 'reviews', subset: 'v1' }, weight: 50 },
  { destination: { host: 'reviews', subset: 'v2' }, weight: 50 },
];
const kinds: Record<string, Kind> = {
  VirtualService: {
    base: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }] }] },
    parse: (o) => parseVirtualService(o, 1),
    companions: [
      [/^http\.0\.route\.0\.weight$/, [['http.0.route', route]]],
      [/^http\.0\.fault\.abort\./, [['http.0.fault.abort.httpStatus', 503]]],
      [/^http\.0\.fault\.delay\./, [['http.0.fault.delay.fixedDelay', '1s']]],
      [/^http\.0\.retries\./, [['http.0.retries.attempts', 2]]],
    ],
    inert: {
      // route/retry/retry.go ConvertPolicy: retry_priority envoy.retry_priorities.previous_priorities, which steers a
      // retry away from the priorities already tried. The local mesh has one locality: every endpoint is priority 0.
      'http[0].retries.retryRemoteLocalities': 'one locality: previous_priorities leaves the choice of host unchanged',
    },
  },
  DestinationRule: {
    base: { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }] },
    parse: (o) => parseDestinationRule(o, 1),
    companions: [[/portLevelSettings\.0\./, []]],
    inert: {},
  },
  Gateway: {
    base: { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] },
    parse: (o) => parseGateway(o),
    companions: [],
    inert: {
      // networking/v1/gateway.proto Server.name: "used for variety of purposes like prefixing stats generated with
      // this name" — stats naming only.
      'servers[0].name': 'a server name prefixes its stats; it routes nothing',
      // Port.name is a label; the gateway reads the protocol field (pilot/pkg/model ParseProtocol on Port.Protocol).
      'servers[0].port.name': 'a port name is a label; the protocol field decides how the port is served',
      // Port.target_port: "Applicable only when used with ServiceEntries" (gateway.proto); a Gateway ignores it.
      'servers[0].port.targetPort': 'applies to ServiceEntries only; a Gateway listens on port.number',
    },
  },
  ServiceEntry: {
    base: { hosts: ['api.example.com'], ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }], resolution: 'DNS' },
    parse: (o) => parseServiceEntry(o),
    companions: [],
    inert: {
      // The audit's sample is the enum's first value, MESH_EXTERNAL: the default (ServiceEntry.Location zero value) and
      // the only location accepted; MESH_INTERNAL is refused at spec.location (test/istio/xds/service-entry.test.ts).
      location: 'MESH_EXTERNAL is the default and the only location accepted; MESH_INTERNAL is refused',
    },
  },
};

const portLevelCompanion = (path: Path): [string, unknown][] => {
  const i = path.indexOf('portLevelSettings');
  return [[[...path.slice(0, i + 2), 'port'].join('.'), { number: 9080 }]];
};

/** Deterministic text of a parsed model (RegExps by source, Maps and Sets as lists). */
const modelText = (model: unknown) =>
  JSON.stringify(model, (_k, v) => (v instanceof RegExp ? v.source : v instanceof Map ? [...v] : v instanceof Set ? [...v] : v));

function errorPaths(error: unknown): string[] {
  const errors = error instanceof SpecErrors ? error.errors : [error];
  return errors.map((e) => (e instanceof SpecError ? String(e.path ?? '') : '')).map((w) => w.replace(/^[^:]*: spec\./, ''));
}

type Finding = { field: string; outcome: 'read' | 'refused' | 'inert' | 'ignored' | 'refused elsewhere'; detail?: string };

function audit(kindName: string, kind: Kind): Finding[] {
  const object = (spec: Record<string, unknown>) =>
    ({ apiVersion: 'networking.istio.io/v1', kind: kindName, metadata: { name: 'audit', namespace: 'default' }, spec }) as K8sObject;
  const findings: Finding[] = [];
  for (const leaf of leaves(specSchema(kindName))) {
    const field = text(leaf.path);
    if (kind.inert[field]) {
      findings.push({ field, outcome: 'inert' });
      continue;
    }
    const dotted = leaf.path.join('.');
    const companions = kind.companions.filter(([pattern]) => pattern.test(dotted)).flatMap(([, sets]) => sets);
    if (dotted.includes('portLevelSettings.0.')) companions.push(...portLevelCompanion(leaf.path));
    // A hash cookie needs its name (validation.go: "name required for HttpCookie").
    if (/consistentHash\.httpCookie\.(path|ttl)$/.test(dotted)) companions.push([dotted.replace(/(path|ttl)$/, 'name'), 'session']);
    const spec = structuredClone(kind.base);
    for (const [path, value] of companions)
      setPath(
        spec,
        path.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p)),
        structuredClone(value),
      );
    let baseline: string;
    try {
      baseline = modelText(kind.parse(object(structuredClone(spec))));
    } catch (error) {
      throw new Error(`${kindName} ${field}: the companions alone are refused (${errorPaths(error).join(', ')}): ${(error as Error).message}`);
    }
    setPath(spec, leaf.path, sample(leaf.schema));
    try {
      const changed = modelText(kind.parse(object(spec))) !== baseline;
      findings.push({ field, outcome: changed ? 'read' : 'ignored' });
    } catch (error) {
      const paths = errorPaths(error);
      const names = paths.some((p) => field === p || field.startsWith(`${p}.`) || field.startsWith(`${p}[`));
      findings.push({ field, outcome: names ? 'refused' : 'refused elsewhere', detail: `${paths.join(', ')}: ${(error as Error).message.split('\n')[0]}` });
    }
  }
  return findings;
}

describe('every field of the pinned Istio CRDs is read or refused by the local target', () => {
  for (const [kindName, kind] of Object.entries(kinds)) {
    it(`${kindName}: no field accepted and ignored, every refusal names the field`, () => {
      const findings = audit(kindName, kind);
      expect(findings.length).toBeGreaterThan(10);
      expect(findings.filter((f) => f.outcome === 'ignored').map((f) => f.field)).toEqual([]);
      expect(findings.filter((f) => f.outcome === 'refused elsewhere').map((f) => `${f.field} → ${f.detail}`)).toEqual([]);
      for (const field of Object.keys(kind.inert))
        expect(
          findings.map((f) => f.field),
          `inert field ${field} is in the schema`,
        ).toContain(field);
    });
  }

  it('reads the fields the catalogue relies on (a sanity check of the audit itself)', () => {
    const read = audit('VirtualService', must(kinds.VirtualService, 'the VirtualService kind'))
      .filter((f) => f.outcome === 'read')
      .map((f) => f.field);
    expect(read).toEqual(
      expect.arrayContaining(['http[0].route[0].weight', 'http[0].timeout', 'http[0].retries.perTryTimeout', 'http[0].fault.abort.percentage.value']),
    );
  });
});
