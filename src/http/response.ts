import type http from 'node:http';
import type { OutriggerError } from '../common/errors.js';

/** What a handler answers; the REST front writes it, so handlers never touch the response. */
export interface HttpReply {
  status: number;
  /** Serialized as JSON unless `text` is given. */
  json?: unknown;
  /** A body already encoded (bytes are written as they are). */
  text?: { body: string | Buffer; contentType: string };
  headers?: Readonly<Record<string, string>>;
  /** A long-lived answer (a stream of events) that writes the response itself. */
  stream?: (res: http.ServerResponse) => void;
}

export const reply = (status: number, json: unknown, headers?: Record<string, string>): HttpReply =>
  headers === undefined ? { status, json } : { status, json, headers };

export function errorReply(err: OutriggerError, headers?: Record<string, string>): HttpReply {
  return reply(err.httpStatus, err.toJSON(), headers);
}

/** Writes a reply with an exact Content-Length; JSON ends in a newline so curl output reads well. */
export function writeReply(res: http.ServerResponse, r: HttpReply): void {
  if (r.stream !== undefined) {
    r.stream(res);
    return;
  }
  if (r.status === 304) {
    // Not Modified has no body, so no Content-Length of one.
    res.writeHead(304, { ...r.headers });
    res.end();
    return;
  }
  const body = r.text !== undefined ? r.text.body : r.json === undefined ? '' : `${JSON.stringify(r.json)}\n`;
  const headers: Record<string, string | number> = {
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...(r.text !== undefined
      ? { 'content-type': r.text.contentType }
      : r.json !== undefined
        ? { 'content-type': 'application/json; charset=utf-8' }
        : {}),
    ...r.headers,
  };
  res.writeHead(r.status, headers);
  res.end(body);
}
