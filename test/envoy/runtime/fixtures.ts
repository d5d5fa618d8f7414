// The istiod 1.31 Bookinfo dumps (test/fixtures/envoy/istiod/README.md) loaded once for the runtime tests.
import { readFileSync } from 'node:fs';
import { loadEnvoyConfig } from '../../../src/envoy/load/index.ts';

export const loadIstiodDump = (name: 'productpage' | 'ratings') =>
  loadEnvoyConfig(readFileSync(new URL(`../../fixtures/envoy/istiod/${name}-config-dump.json`, import.meta.url), 'utf8'), `${name}-config-dump.json`).config;

/** A fixed sequence of draws, for tests that pin one decision. */
export const draws = (...values: number[]) => {
  let i = 0;
  return () => {
    const value = values[i++];
    if (value === undefined) throw new Error('ran out of draws');
    return value;
  };
};
