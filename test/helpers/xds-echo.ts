import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PACKAGE_ROOT } from '../../src/common/paths.js';

interface EchoRequest {
  message: string;
}
interface EchoReply {
  message: string;
  server: string;
}

const PROTO = path.join(PACKAGE_ROOT, 'test', 'xds', 'fixtures', 'echo.proto');
let echo: protoLoader.ServiceDefinition | undefined;

function definition(): protoLoader.ServiceDefinition {
  echo ??= protoLoader.loadSync(PROTO, { keepCase: true })['outrigger.test.Echo'] as protoLoader.ServiceDefinition;
  return echo;
}

export interface EchoServer {
  name: string;
  port: number;
  /** Calls this server answered. */
  calls: number;
  close(): Promise<void>;
}

/** A real gRPC Echo server on a loopback port; its replies carry its name. */
export async function startEchoServer(name: string): Promise<EchoServer> {
  const server = new grpc.Server();
  const state: EchoServer = {
    name,
    port: 0,
    calls: 0,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
  server.addService(definition(), {
    Echo: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) => {
      state.calls++;
      cb(null, { message: call.request.message, server: name });
    },
  });
  state.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return state;
}

/** A client of the Echo service for any target (e.g. `xds:///echo.demo.local`). */
export class EchoClient {
  private readonly client: grpc.Client;

  constructor(target: string) {
    this.client = new grpc.Client(target, grpc.credentials.createInsecure());
  }

  /** Calls Echo once; resolves with the name of the server that answered. */
  call(deadlineMs = 10_000): Promise<string> {
    const m = definition()['Echo']!;
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest<EchoRequest, EchoReply>(
        m.path,
        m.requestSerialize as (r: EchoRequest) => Buffer,
        m.responseDeserialize as (b: Buffer) => EchoReply,
        { message: 'hi' },
        { deadline: Date.now() + deadlineMs },
        (err, reply) => (err || reply === undefined ? reject(err ?? new Error('no reply')) : resolve(reply.server)),
      );
    });
  }

  close(): void {
    this.client.close();
  }
}
