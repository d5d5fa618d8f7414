// A proxy's admin side: `:15090/stats/prometheus` (Envoy's Prometheus stats) and `:15000` with the same stats plus
// `/config_version`, the config version this proxy runs (what waitConverged polls, like istioctl proxy-status).
import http from 'node:http';

export interface AdminSource {
  name: string;
  stats(): string;
  configVersion(): string;
}

export function adminHandler(source: AdminSource): http.RequestListener {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/stats/prometheus' || path === '/metrics') {
      const body = source.stats();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    } else if (path === '/config_version' || path === '/server_info') {
      const body = JSON.stringify({ proxy: source.name, configVersion: source.configVersion(), state: 'LIVE' });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    } else if (path === '/ready' || path === '/healthz/ready') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('LIVE');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  };
}

export function listen(server: http.Server | import('node:net').Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

export function closeServer(server: http.Server | import('node:net').Server): Promise<void> {
  return new Promise((resolve) => {
    if ('closeAllConnections' in server) server.closeAllConnections();
    server.close(() => resolve());
  });
}
