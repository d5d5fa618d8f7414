// The load drivers by name.
import { SpecError } from '../errors.ts';
import { AutocannonDriver } from './autocannon.ts';
import type { LoadDriver } from './driver.ts';
import { K6Driver } from './k6.ts';

export const DRIVER_NAMES = ['autocannon', 'k6'] as const;
export type DriverName = (typeof DRIVER_NAMES)[number];

export function createDriver(name: DriverName): LoadDriver {
  switch (name) {
    case 'autocannon':
      return new AutocannonDriver();
    case 'k6':
      return new K6Driver();
    default:
      throw new SpecError(`unknown load driver "${String(name)}"; known drivers: ${DRIVER_NAMES.join(', ')}`, undefined, 'spec.load.driver');
  }
}
