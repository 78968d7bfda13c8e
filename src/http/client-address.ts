import type http from 'node:http';

/** The client's address, IPv4-mapped IPv6 written as plain IPv4 so one client has one bucket. */
export function clientAddress(req: http.IncomingMessage): string {
  const address = req.socket.remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
