/**
 * One port for every protocol, as Envoy's listeners do: the first bytes of a connection tell
 * HTTP/2 with prior knowledge (h2c: the client preface `PRI * HTTP/2.0...`) from HTTP/1.1. Only
 * a connection's first bytes are looked at; nothing is copied after that.
 */
import type net from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * Calls `h2` or `http1` once with the socket and the bytes read so far (the socket is paused for
 * h2). A client that closes before saying anything is closed too (the listener allows half-open
 * connections for HTTP/1.1's sake).
 */
export function sniffH2c(socket: net.Socket, h2: (socket: net.Socket, read: Buffer) => void, http1: (socket: net.Socket, read: Buffer) => void): void {
  let held: Buffer | undefined;
  const onEnd = (): void => {
    socket.off('data', onData);
    socket.end();
  };
  const onData = (chunk: Buffer): void => {
    const data = held === undefined ? chunk : Buffer.concat([held, chunk]);
    const n = Math.min(data.length, PREFACE.length);
    const preface = data.compare(PREFACE, 0, n, 0, n) === 0;
    if (preface && data.length < PREFACE.length) {
      held = data;
      return;
    }
    socket.off('data', onData);
    socket.off('end', onEnd);
    if (preface) {
      socket.pause();
      h2(socket, data);
    } else http1(socket, data);
  };
  socket.on('data', onData);
  socket.once('end', onEnd);
}

/** Puts bytes already read back in front of the socket's stream, for a server that reads it itself. */
export function handBack(socket: net.Socket, read: Buffer): void {
  socket.pause();
  socket.unshift(read);
}
