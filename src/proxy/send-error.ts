/** Writes a proxy-produced failure as an HTTP/1.1 response (the error contract of proxy-errors.ts). */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ProxyError } from './proxy-errors.js';

export function sendHttpError(res: ServerResponse, error: ProxyError): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = error.body();
  res.writeHead(error.httpStatus, error.headers(body));
  res.end(body);
}

/** The same error written on a raw socket (CONNECT, upgrade), then the socket is closed. */
export function sendRawHttpError(socket: Duplex, error: ProxyError): void {
  if (socket.destroyed) return;
  const body = error.body();
  let head = `HTTP/1.1 ${error.httpStatus} ${STATUS_CODES[error.httpStatus] ?? ''}\r\n`;
  for (const [name, value] of Object.entries(error.headers(body))) head += `${name}: ${value}\r\n`;
  socket.end(`${head}connection: close\r\n\r\n${body}`);
}
