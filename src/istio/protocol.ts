// Which protocol istiod serves a Service port with.

/**
 * The protocol istiod gives a Service port (pkg/config/kube/conversion.go ConvertProtocol, protocol.Parse): the
 * appProtocol, else the port name's prefix before `-`; `auto` (detected: HTTP for Bookinfo) when neither names a known
 * protocol, except on well-known non-HTTP ports, which are TCP.
 */
export function portProtocol(port: number, name: string, appProtocol?: string): string {
  let text = appProtocol ?? name;
  if (appProtocol === 'kubernetes.io/h2c') return 'HTTP2';
  if (appProtocol === 'kubernetes.io/ws') return 'HTTP';
  if (appProtocol === 'kubernetes.io/wss') return 'HTTPS';
  if (text.toLowerCase().startsWith('grpc-web')) return 'GRPC-Web';
  const dash = text.indexOf('-');
  if (dash >= 0) text = text.slice(0, dash);
  const known: Record<string, string> = {
    tcp: 'TCP',
    udp: 'UDP',
    grpc: 'GRPC',
    http: 'HTTP',
    http_proxy: 'HTTP_PROXY',
    http2: 'HTTP2',
    https: 'HTTPS',
    tls: 'TLS',
    mongo: 'Mongo',
    redis: 'Redis',
    mysql: 'MySQL',
  };
  const protocol = known[text.toLowerCase()];
  if (protocol) return protocol;
  return [25, 53, 3306, 27017].includes(port) ? 'TCP' : 'auto';
}

/** Protocols istiod builds HTTP routes for (protocol.Instance IsHTTP, plus `auto`: sniffed ports get an HTTP chain). */
export function servedAsHttp(protocol: string): boolean {
  return ['HTTP', 'HTTP2', 'GRPC', 'GRPC-Web', 'auto'].includes(protocol);
}
