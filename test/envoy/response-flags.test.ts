// Envoy prints response flags in the order of its CoreResponseFlag enum (stream_info/utility.cc toShortString).
import { describe, expect, it } from 'vitest';
import { responseFlagsText } from '../../src/envoy/response-flags.ts';

describe('response flags text', () => {
  it('none is "-", one is itself', () => {
    expect(responseFlagsText([])).toBe('-');
    expect(responseFlagsText(['UO'])).toBe('UO');
  });

  it('several follow the enum order, whatever order the proxy noted them in: DI before FI, UF before URX', () => {
    expect(responseFlagsText(['FI', 'DI'])).toBe('DI,FI');
    expect(responseFlagsText(['URX', 'UF'])).toBe('UF,URX');
    expect(responseFlagsText(['URX', 'UO', 'UH'])).toBe('UH,UO,URX');
  });

  it('refuses a name Envoy does not have', () => {
    expect(() => responseFlagsText(['UF', 'XX'])).toThrow(/not an Envoy response flag: XX/);
  });
});
