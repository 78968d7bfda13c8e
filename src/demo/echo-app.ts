import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EchoApp {
  name: string;
  port: number;
  close(): Promise<void>;
}

/** A sample HTTP app that answers every request with who it is, so balancing is visible. */
export async function startEchoApp(name: string, zone: string, host = '127.0.0.1'): Promise<EchoApp> {
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    const body = JSON.stringify({ instance: name, zone, method: req.method, path: req.url }) + '\n';
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    name,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
