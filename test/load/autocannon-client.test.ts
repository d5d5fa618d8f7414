// autocannon's Client internals are used from one file, and only with the version they were read against.
import { describe, expect, it } from 'vitest';
import { checkAutocannonVersion } from '../../src/load/autocannon-client.ts';

describe('autocannon version guard', () => {
  it('accepts 8.0.x, the version whose lib/httpClient.js the driver follows', () => {
    expect(() => checkAutocannonVersion('8.0.0')).not.toThrow();
    expect(() => checkAutocannonVersion('8.0.7')).not.toThrow();
  });

  it('refuses another minor or major version, naming the file to check', () => {
    expect(() => checkAutocannonVersion('8.1.0')).toThrow(/autocannon 8\.1\.0 is installed.*src\/load\/autocannon-client\.ts/);
    expect(() => checkAutocannonVersion('7.15.0')).toThrow(/pin autocannon ~8\.0\.0/);
  });
});
