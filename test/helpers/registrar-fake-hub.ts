/**
 * A fake of the hub's Session wire protocol on loopback: a real grpc-js server whose Session
 * answers only what the test tells it to, so a hub that accepts a request and never answers it
 * can be played. Every other method is left unimplemented.
 */
import * as grpc from '@grpc/grpc-js';
import type { SessionRequest, SessionResponse } from '../../src/wire/messages.js';
import { registryServiceDefinition } from '../../src/wire/registry-proto.js';
import { WAIT_MS } from './grpc-hub.js';
import { Changes } from './wait.js';

/** The answer to send (without the nonce), or undefined to stay silent. */
export type FakeAnswer = (req: SessionRequest) => Omit<SessionResponse, 'nonce'> | undefined;

export interface FakeHub {
  address: string;
  requests: SessionRequest[];
  sessionsOpened: number;
  sessionsEnded: number;
  /** Resolves once `condition` holds; checked on every request and session end. */
  until(what: string, condition: () => boolean, ms?: number): Promise<void>;
  close(): void;
}

export async function startFakeHub(answer: FakeAnswer): Promise<FakeHub> {
  const server = new grpc.Server();
  const changes = new Changes();
  const hub: FakeHub = {
    address: '',
    requests: [],
    sessionsOpened: 0,
    sessionsEnded: 0,
    until: (what, condition, ms = WAIT_MS) => changes.until(what, condition, ms),
    close: () => server.forceShutdown(),
  };
  server.addService(registryServiceDefinition(), {
    Session: (call: grpc.ServerDuplexStream<SessionRequest, SessionResponse>) => {
      hub.sessionsOpened++;
      let ended = false;
      const end = (): void => {
        if (ended) return;
        ended = true;
        hub.sessionsEnded++;
        changes.changed();
      };
      call.on('data', (req: SessionRequest) => {
        hub.requests.push(req);
        const res = answer(req);
        if (res !== undefined) call.write({ ...res, nonce: req.nonce ?? 0 });
        changes.changed();
      });
      call.on('cancelled', end);
      call.on('close', end);
      call.on('end', end);
      call.on('error', end);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  hub.address = `127.0.0.1:${port}`;
  changes.changed();
  return hub;
}
