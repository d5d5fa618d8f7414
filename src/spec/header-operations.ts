// Header operations and header matches Istio (or Envoy) refuses, for every target: checked when an experiment is
// loaded, so `validate` finds them instead of a run whose every request breaks.
import { SpecError } from '../errors.ts';
import { virtualServiceHeaderProblems } from '../istio/networking/header-validation.ts';
import { locateField } from './resources.ts';
import type { ResourceRef } from './types.ts';
import { formatPath } from './yaml-source.ts';

export function headerOperationErrors(resources: ResourceRef[]): SpecError[] {
  return resources
    .filter((ref) => ref.object.kind === 'VirtualService')
    .flatMap((ref) =>
      virtualServiceHeaderProblems(ref.object.spec).map(({ path, message }) => {
        const o = ref.object;
        return new SpecError(message, locateField(o, path) ?? ref.source, `${o.kind} ${o.metadata.name}: ${formatPath(path)}`);
      }),
    );
}
