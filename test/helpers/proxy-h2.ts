/** An HTTP/2 cleartext backend that answers its name; `/reset` answers part of a body, then RST_STREAM. */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';

export const { NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

export interface H2Backend {
  port: number;
  /** Streams received so far. */
  streams: number;
  close(): Promise<void>;
}

export async function startH2Backend(name: string): Promise<H2Backend> {
  const server = http2.createServer();
  let streams = 0;
  server.on('stream', (stream, headers) => {
    streams++;
    stream.on('error', () => undefined);
    if (headers[':path'] === '/reset') {
      // Headers and part of the body, then RST_STREAM with a distinctive code.
      stream.respond({ ':status': 200 });
      stream.write('partial', () => stream.close(NGHTTP2_ENHANCE_YOUR_CALM));
      return;
    }
    stream.respond({ ':status': 200, 'x-backend': name });
    stream.end(name);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get streams() {
      return streams;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** `open`: the request side stays open (Node reports a peer's reset code only on a stream it has not ended). */
export function h2Request(session: http2.ClientHttp2Session, path: string, open = false): Promise<{ status: number; body: string; rstCode: number }> {
  return new Promise((resolve) => {
    const req = session.request({ ':path': path }, { endStream: false });
    let status = 0;
    let body = '';
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('error', () => undefined);
    req.on('close', () => resolve({ status, body, rstCode: req.rstCode ?? 0 }));
    if (!open) req.end();
  });
}
