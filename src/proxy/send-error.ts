/** Writes a proxy-produced failure as an HTTP/1.1 response (the error contract of proxy-errors.ts). */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
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

/**
 * Refuses a request whose request line had no HTTP version. node's parser takes such a line as
 * HTTP/0.9 and reads the lines after it as headers, so a CR or LF inside a target
 * (`GET http://svc/a\r\nX-Injected: 1`) arrives as an HTTP/0.9 request carrying whatever header
 * the target smuggled. It gets node's own answer to a request it cannot parse, 400 and close, and
 * is never forwarded. True when the request was refused.
 */
export function refuseUnlessHttp1(req: IncomingMessage, socket: Duplex): boolean {
  if (req.httpVersionMajor === 1) return false;
  if (!socket.destroyed) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  return true;
}
