// The runner's in-memory test target (test/support/memory-target.ts) runs the shared Target contract too (issue 17
// item 5), so the lifecycle tests that use it rely on a target that behaves as the real ones do: it journals what it
// changes, restore() deletes what the run created and puts back what existed, a second restore() does nothing. It
// carries no traffic and validates nothing, so those checks are off.
import type { K8sObject } from '../../src/spec/types.ts';
import { MemoryTarget } from '../support/memory-target.ts';
import { targetContract } from './contract.ts';

const bookinfoGatewayRoute: K8sObject = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'bookinfo', namespace: 'default' },
  spec: { hosts: ['*'], gateways: ['bookinfo-gateway'], http: [{ route: [{ destination: { host: 'productpage', port: { number: 9080 } } }] }] },
};

targetContract("memory (the runner tests' double)", () => new MemoryTarget({ initial: [bookinfoGatewayRoute] }), { traffic: false, refusesInvalid: false });
