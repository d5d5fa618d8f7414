// Every listener the built-in control plane writes for a proxy (istiod's BuildListeners): a sidecar's virtualInbound
// and outbound listeners, a gateway's server listeners.
import type { Listener } from '../../envoy/model/index.ts';
import { buildGatewayListeners } from './gateway-listeners.ts';
import { buildInboundListener } from './inbound-listener.ts';
import type { ProxyDescriptor, TranslationInput } from './input.ts';
import { buildSidecarOutboundListeners } from './outbound-listeners.ts';

export function buildListeners(input: TranslationInput, proxy: ProxyDescriptor): Listener[] {
  if (proxy.type === 'router') return buildGatewayListeners(input, proxy);
  return [...buildInboundListener(input, proxy), ...buildSidecarOutboundListeners(input, proxy)];
}
