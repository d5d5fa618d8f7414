// `exportTo` of VirtualServices and DestinationRules, checked as istio/istio pkg/config/validation/validation.go
// validateExportTo does: `.`, `*` or namespace names, no duplicates (`.` counts as the resource's own namespace),
// and `*` alone.
import { FieldPath, readArray, readString } from './fields.ts';

const namespaceName = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function readExportTo(value: unknown, namespace: string, at: FieldPath): string[] {
  const list = readArray(value, at).map((e, i) => readString(e, at.index(i)));
  const seen = new Set<string>();
  list.forEach((e, i) => {
    const key = e === '.' ? namespace : e;
    if (seen.has(key))
      throw at
        .index(i)
        .error(e === key ? `duplicate entries in exportTo for entry ${e}` : `duplicate entries in exportTo: . and current namespace ${namespace}`);
    if (e !== '*' && e !== '.' && (e.length > 63 || !namespaceName.test(e)))
      throw at.index(i).error(`${JSON.stringify(e)} is not ".", "*" or a namespace name`);
    seen.add(key);
  });
  if (seen.has('*') && list.length > 1) throw at.error('cannot have both public (*) and non-public exportTo values for a resource');
  return list;
}
