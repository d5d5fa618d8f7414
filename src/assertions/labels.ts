// The response labels assertions read (set by the classifiers in src/observe/classifiers) and how a status
// class or a response flag matches them.
import type { ObservationView, Labels } from '../observe/types.ts';

/** HTTP status as text ("503"); "error" when no response arrived (src/observe/classifiers.ts statusClassifier). */
export const STATUS_LABEL = 'status';
export const TRANSPORT_ERROR_STATUS = 'error';
/** Envoy response flag(s) recognised from a local reply, e.g. "UO", "-" for none; several are comma-separated. */
export const FLAG_LABEL = 'flag';
/** A 403 `RBAC: access denied` reply is labelled `denied: rbac` (Envoy sets no response flag for RBAC). */
export const DENIED_LABEL = 'denied';
export const RBAC_DENIED = 'rbac';

/** `503` matches exactly; `5xx` matches any status of that class. */
export function statusMatches(pattern: string, status: string): boolean {
  const m = /^([1-5])xx$/i.exec(pattern);
  return m ? status.length === 3 && status[0] === m[1] : status === pattern;
}

/** A flags value ("UO", "URX,UF", "-") contains `flag`. */
export function hasFlag(flags: string | undefined, flag: string): boolean {
  return flags !== undefined && flags.split(',').some((f) => f.trim() === flag);
}

/** Requests matching `where` whose `label` value satisfies `test`. */
export function countWhere(observation: ObservationView, label: string, test: (value: string) => boolean, where?: Labels): number {
  let total = 0;
  for (const [value, count] of observation.countBy(label, where)) if (test(value)) total += count;
  return total;
}
