// An echo workload's https:// call: the app originates TLS itself (Istio's echo forwarder does, for an https URL),
// over a TCP connection its sidecar passes through (proxy/sidecar.ts connect: the outbound listener's chain matched by
// the ClientHello's SNI, tcp_proxy to the host's cluster). The app verifies the server's certificate for the host
// against the certificates the pod trusts; a connection its sidecar closes, or a TLS failure, is no response.
import https from 'node:https';
import tls from 'node:tls';
import type { EchoCall } from './echo-config.ts';
import type { AppContext, CallScope, OutboundResult } from './types.ts';
import { collectResponse, noResponse } from './collect-response.ts';
import { splitAuthority } from '../authority.ts';

export async function httpsCall(ctx: AppContext, scope: CallScope, call: EchoCall, headers: Record<string, string>): Promise<OutboundResult> {
  if (!ctx.connect) return noResponse;
  const { host, port } = splitAuthority(call.authority, 443);
  const deadline = Date.now() + call.timeoutMs;
  const connection = await ctx.connect(scope, { authority: call.authority, serverName: host, tls: true });
  if ('closed' in connection) return noResponse;
  const socket = connection.socket;
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: OutboundResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(
      () => {
        request.destroy();
        socket.destroy();
        done(noResponse);
      },
      Math.max(0, deadline - Date.now()),
    );
    const request = https.request(
      {
        method: call.method,
        path: call.path,
        // Node writes Host with the port only when it is not the scheme's default, as Go's client does.
        headers: { host: port === 443 ? host : call.authority, ...headers },
        // No agent: ClientRequest then takes the connection from createConnection (agent: false would make a new Agent).
        createConnection: () => tls.connect({ socket, servername: host, ca: ctx.trustedCertificates?.() ?? [], ALPNProtocols: ['http/1.1'] }),
      },
      (response) => {
        collectResponse(response, done);
        response.on('end', () => socket.destroy());
      },
    );
    request.on('error', () => {
      socket.destroy();
      done(noResponse);
    });
    request.end();
  });
}
