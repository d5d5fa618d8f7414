// A Kubernetes object literal for tests: kind, apiVersion, name, namespace and spec.
import type { K8sObject } from '../../src/spec/types.ts';

export function k8sObject(apiVersion: string, kind: string, name: string, namespace: string, spec: Record<string, unknown>): K8sObject {
  return { apiVersion, kind, metadata: { name, namespace }, spec };
}
