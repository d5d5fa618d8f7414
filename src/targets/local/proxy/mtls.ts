// Istio mutual TLS, emulated at the connection level: a client sidecar opens each connection with a one-line
// handshake naming its SPIFFE identity and the mesh instance's secret; the server side reads it before HTTP (as
// Envoy's TLS inspector reads a ClientHello), so PERMISSIVE accepts both kinds of clients and STRICT resets
// plaintext ones, while a client outside the mesh cannot forge an identity. No encryption: what is observable
// (who may connect, which principal a policy sees) is what the emulation keeps.
import net from 'node:net';
import { peerAuthAccepts } from '../../../istio/security/peer-authentication.ts';
import type http from 'node:http';

const magic = 'MESHPROOF-MTLS ';
const peerKey = Symbol('meshproof.peer');

export type PeerAuthMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

export interface Peer {
  /** SPIFFE principal without the scheme, e.g. `cluster.local/ns/default/sa/bookinfo-productpage`. */
  principal: string;
  namespace: string;
}

/** The first bytes a mesh client writes on a new connection. */
export function handshakeLine(secret: string, principal: string): string {
  return `${magic}${secret} ${principal}\n`;
}

/** The peer of a socket accepted by an inbound listener: undefined for plaintext. */
export function peerOf(socket: net.Socket): Peer | undefined {
  return (socket as unknown as Record<symbol, Peer | undefined>)[peerKey];
}

function namespaceOf(principal: string): string {
  return /\/ns\/([^/]+)\//.exec(principal)?.[1] ?? '';
}

/**
 * A TCP listener that reads the handshake (if any), applies the peer-authentication mode and hands the socket to
 * `server`. `mode()` is read for every connection, so a new PeerAuthentication takes effect on new connections.
 */
export function inboundListener(server: http.Server, secret: string, mode: () => PeerAuthMode): net.Server {
  const expected = `${magic}${secret} `;
  return net.createServer({ noDelay: true }, (socket) => {
    let buffered: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const text = buffered.toString('latin1', 0, Math.min(buffered.length, 512));
      const isHandshake = text.startsWith(magic) || magic.startsWith(text);
      if (isHandshake) {
        const newline = text.indexOf('\n');
        if (newline < 0) {
          if (buffered.length > 512) socket.destroy();
          return; // wait for the rest of the line
        }
        socket.off('data', onData);
        const line = text.slice(0, newline);
        const rest = buffered.subarray(Buffer.byteLength(line, 'latin1') + 1);
        if (!line.startsWith(expected) || !peerAuthAccepts(mode(), { mtls: true })) {
          socket.destroy(); // wrong mesh, or a TLS client talking to a plaintext server: the handshake fails
          return;
        }
        const principal = line.slice(expected.length);
        (socket as unknown as Record<symbol, Peer>)[peerKey] = { principal, namespace: namespaceOf(principal) };
        hand(rest);
      } else {
        socket.off('data', onData);
        if (!peerAuthAccepts(mode(), { mtls: false })) {
          socket.destroy(); // plaintext to a STRICT workload: Envoy resets the connection
          return;
        }
        hand(buffered);
      }
    };
    const hand = (rest: Buffer) => {
      socket.pause();
      if (rest.length > 0) socket.unshift(rest);
      server.emit('connection', socket);
      socket.resume();
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
  });
}
