import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { renderJson } from '../../src/report/json.ts';
import { buildRunResult } from './fixtures.ts';
import { must } from '../../src/must.ts';

const schema = JSON.parse(readFileSync(new URL('../../schema/result.schema.json', import.meta.url), 'utf8'));

function validator() {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  return ajv.compile(schema);
}

describe('schema/result.schema.json', () => {
  const validate = validator();

  it('accepts the JSON form of a realistic run (every outcome, sweep, rate limit, hostile strings)', () => {
    const json = JSON.parse(renderJson(buildRunResult()));
    const ok = validate(json);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('accepts non-finite statistics as null (what JSON.stringify makes of Infinity and NaN)', () => {
    const run = buildRunResult();
    const verdict = must(run.experiments[0]?.verdicts[1], 'the second verdict');
    verdict.interval = [0.98, Infinity];
    verdict.pValue = NaN;
    expect(validate(JSON.parse(renderJson(run)))).toBe(true);
  });

  /** The parts of result.json the mutations below change. */
  interface ResultJson {
    schemaVersion: number;
    experiments: { outcome: string; error?: unknown; verdicts: Record<string, unknown>[]; expectations: Record<string, unknown>[] }[];
  }
  const firstVerdict = (r: ResultJson) => must(r.experiments[0]?.verdicts[0], 'the first verdict');
  it.each([
    ['an unknown outcome', (r: ResultJson) => (must(r.experiments[0], 'the first experiment').outcome = 'maybe')],
    ['an unknown field on a verdict', (r: ResultJson) => (firstVerdict(r).colour = 'red')],
    ['a verdict without explanation', (r: ResultJson) => delete firstVerdict(r).explanation],
    ['an errored experiment without its error', (r: ResultJson) => delete r.experiments.find((e) => e.outcome === 'error')!.error],
    ['an expectation with a field of another kind', (r: ResultJson) => (must(r.experiments[0]?.expectations[0], 'the first expectation').service = 'ratings')],
    ['a wrong schemaVersion (1 has its own schema)', (r: ResultJson) => (r.schemaVersion = 1)],
    ['a verdict without its evidence', (r: ResultJson) => delete firstVerdict(r).evidence],
    ['a verdict that names no expectation', (r: ResultJson) => delete firstVerdict(r).expectationIndex],
    ['evidence in an unknown unit', (r: ResultJson) => ((firstVerdict(r).evidence as { unit: string }).unit = 'percent')],
  ])('rejects %s', (_name, mutate) => {
    const json = JSON.parse(renderJson(buildRunResult()));
    mutate(json);
    expect(validate(json)).toBe(false);
  });

  // The schema must follow the TypeScript contracts: every property of these interfaces, and nothing else.
  it('lists exactly the properties of the TypeScript interfaces it describes', () => {
    const files = [
      'src/runner/result.ts',
      'src/spec/types.ts',
      'src/assertions/verdict.ts',
      'src/observe/types.ts',
      'src/load/driver.ts',
      'src/targets/target.ts',
    ];
    const interfaces = new Map<string, ts.InterfaceDeclaration>();
    for (const file of files) {
      const source = ts.createSourceFile(file, readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8'), ts.ScriptTarget.ES2022, true);
      source.forEachChild((node) => {
        if (ts.isInterfaceDeclaration(node)) interfaces.set(node.name.text, node);
      });
    }
    const propertiesOf = (name: string): string[] => {
      const node = interfaces.get(name);
      if (!node) throw new Error(`interface ${name} not found`);
      const inherited = (node.heritageClauses ?? []).flatMap((h) => h.types.flatMap((t) => propertiesOf(t.expression.getText())));
      const own = node.members.filter(ts.isPropertySignature).map((m) => m.name.getText());
      return [...new Set([...inherited, ...own])].sort();
    };
    const described = Object.keys(schema.$defs).filter((name) => interfaces.has(name));
    expect(described.length).toBeGreaterThanOrEqual(20);
    for (const name of described) {
      expect({ name, properties: Object.keys(schema.$defs[name].properties).sort() }).toEqual({ name, properties: propertiesOf(name) });
    }
    expect(Object.keys(schema.properties).sort()).toEqual(propertiesOf('RunResult'));

    // String unions the schema enumerates.
    const aliases = new Map<string, ts.TypeNode>();
    const interfaceMembers = new Map<string, ts.TypeNode>();
    for (const file of files) {
      const source = ts.createSourceFile(file, readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8'), ts.ScriptTarget.ES2022, true);
      source.forEachChild((node) => {
        if (ts.isTypeAliasDeclaration(node)) aliases.set(node.name.text, node.type);
        if (ts.isInterfaceDeclaration(node))
          for (const m of node.members) if (ts.isPropertySignature(m) && m.type) interfaceMembers.set(`${node.name.text}.${m.name.getText()}`, m.type);
      });
    }
    const literals = (type: ts.TypeNode): string[] => {
      if (ts.isUnionTypeNode(type)) return type.types.flatMap(literals);
      if (ts.isLiteralTypeNode(type) && ts.isStringLiteral(type.literal)) return [type.literal.text];
      if (ts.isTypeReferenceNode(type)) {
        const alias = aliases.get(type.typeName.getText());
        if (alias) return literals(alias);
      }
      return [];
    };
    const sorted = (xs: string[]) => [...xs].sort();
    expect(sorted(schema.$defs.PhaseTiming.properties.phase.enum)).toEqual(sorted(literals(aliases.get('PhaseName')!)));
    expect(sorted(schema.$defs.ExperimentResult.properties.error.properties.phase.enum)).toEqual(sorted(literals(aliases.get('PhaseName')!)));
    expect(sorted(schema.$defs.RunEvent.properties.what.enum)).toEqual(sorted(literals(interfaceMembers.get('RunEvent.what')!)));
    expect(sorted(schema.properties.outcome.enum)).toEqual(sorted([...literals(aliases.get('Outcome')!), 'error', 'interrupted', 'skipped']));
    expect(sorted(schema.$defs.ExperimentResult.properties.outcome.enum)).toEqual(sorted(schema.properties.outcome.enum));
    expect(sorted(schema.$defs.LoadSpec.properties.driver.enum)).toEqual(sorted(literals(interfaceMembers.get('LoadSpec.driver')!)));

    // Every expectation kind of the union, each with its own definition (a new kind must be described here too).
    const union = aliases.get('Expectation')!;
    const members = ts.isUnionTypeNode(union) ? union.types.map((t) => t.getText()) : [];
    const kinds = members.flatMap((member) => literals(interfaceMembers.get(`${member}.kind`)!));
    expect(kinds.length).toBe(members.length);
    expect(sorted(schema.$defs.Expectation.properties.kind.enum)).toEqual(sorted(kinds));
    expect(sorted(schema.$defs.JudgedVerdict.properties.kind.enum)).toEqual(sorted(kinds));
    expect(sorted(schema.$defs.Evidence.properties.unit.enum)).toEqual(sorted(literals(aliases.get('ValueUnit')!)));
    for (const member of members) expect(schema.$defs[member], member).toBeDefined();
  });
});
