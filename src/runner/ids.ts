import { randomBytes } from 'node:crypto';

/** Run ids are valid Kubernetes label values: `mp-20261123-091500-3fa2`. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `mp-${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Default seed when --seed is not given: printed and recorded so the run can be repeated. */
export function newSeed(): number {
  return randomBytes(4).readUInt32BE(0) >>> 1;
}
