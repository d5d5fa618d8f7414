// Readers of unchecked values (src/spec/untyped.ts) and the helpers for values that must exist (src/must.ts).
import { describe, expect, it } from 'vitest';
import { field, jsonText, stringField, valueText } from '../../src/spec/untyped.ts';
import { elementAt, must } from '../../src/must.ts';

describe('valueText', () => {
  it('writes a scalar as String() does and a list or an object as JSON', () => {
    expect([valueText('v1'), valueText(5), valueText(true), valueText(undefined), valueText(null)]).toEqual(['v1', '5', 'true', 'undefined', 'null']);
    expect(valueText(['v1', 'v2'])).toBe('["v1","v2"]');
    expect(valueText({ exact: 'jason' })).toBe('{"exact":"jason"}');
  });

  it('survives a cycle (YAML aliases can make one)', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(valueText(cyclic)).toBe('[object]');
  });
});

describe('field, stringField, jsonText', () => {
  it('read through objects only', () => {
    expect(field({ a: { b: 1 } }, 'a', 'b')).toBe(1);
    expect(field({ a: ['x'] }, 'a', '0')).toBeUndefined();
    expect(stringField({ kind: 'Status' }, 'kind')).toBe('Status');
    expect(stringField({ kind: 7 }, 'kind')).toBeUndefined();
    expect(jsonText(undefined)).toBeUndefined();
    expect(jsonText({ a: 1 })).toBe('{"a":1}');
  });
});

describe('must and elementAt', () => {
  it('return the value, and name what is missing when it is not there', () => {
    expect(must(0, 'a count')).toBe(0);
    expect(() => must(undefined, 'the first route')).toThrow('internal error: the first route is missing');
    expect(() => must(null, 'a pipe')).toThrow('a pipe is missing');
    expect(elementAt(Float64Array.of(1, 2), 1)).toBe(2);
    expect(() => elementAt(Float64Array.of(1, 2), 2)).toThrow(RangeError);
  });
});
