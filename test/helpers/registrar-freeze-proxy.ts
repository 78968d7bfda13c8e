/**
 * A loopback TCP relay to a hub that can freeze: it stops relaying bytes in both directions but
 * keeps every socket open, as a dead node or a dropped network path does. Nothing on the
 * connection fails by itself after that; only keepalive pings can tell.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface FreezeProxy {
  address: string;
  freeze(): void;
  close(): void;
}

export async function startFreezeProxy(target: string): Promise<FreezeProxy> {
  const colon = target.lastIndexOf(':');
  const host = target.slice(0, colon);
  const port = Number(target.slice(colon + 1));
  const sockets = new Set<net.Socket>();
  let frozen = false;
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const relay = (from: net.Socket, to: net.Socket): void => {
    from.on('data', (chunk: Buffer) => {
      if (!frozen) to.write(chunk);
    });
    from.on('end', () => {
      if (!frozen) to.end();
    });
  };
  const server = net.createServer((client) => {
    track(client);
    const upstream = net.connect(port, host);
    track(upstream);
    relay(client, upstream);
    relay(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    freeze: () => {
      frozen = true;
    },
    close: () => {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}
