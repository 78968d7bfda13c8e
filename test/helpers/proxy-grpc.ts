/** gRPC backends and a client for the proxy's tests: a JSON-over-gRPC service, no .proto needed. */
import * as grpc from '@grpc/grpc-js';

const json = {
  serialize: (v: unknown): Buffer => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer): unknown => JSON.parse(b.toString()),
};

export const ECHO_SERVICE: grpc.ServiceDefinition = {
  unary: {
    path: '/test.Echo/Unary',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
  stream: {
    path: '/test.Echo/Stream',
    requestStream: false,
    responseStream: true,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};

export interface GrpcBackend {
  readonly name: string;
  readonly port: number;
  hits: number;
  cancelled: number;
  /** When set, unary calls fail with this status. */
  failWith: grpc.status | undefined;
  /** When true, unary calls never answer (until cancelled). */
  hang: boolean;
  close(): Promise<void>;
}

export async function startGrpcBackend(name: string): Promise<GrpcBackend> {
  const server = new grpc.Server();
  const backend: GrpcBackend = {
    name,
    port: 0,
    hits: 0,
    cancelled: 0,
    failWith: undefined,
    hang: false,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())).then(() => server.forceShutdown()),
  };
  server.addService(ECHO_SERVICE, {
    unary: (call: grpc.ServerUnaryCall<{ msg: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      backend.hits++;
      call.on('cancelled', () => backend.cancelled++);
      if (backend.hang) return;
      if (backend.failWith !== undefined) return cb({ code: backend.failWith, details: `${name} says no` });
      const trailer = new grpc.Metadata();
      trailer.set('x-served-by', name);
      cb(null, { msg: call.request.msg, from: name }, trailer);
    },
    stream: (call: grpc.ServerWritableStream<{ count: number }, unknown>) => {
      backend.hits++;
      for (let i = 0; i < call.request.count; i++) call.write({ i, from: name });
      call.end();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  (backend as { port: number }).port = port;
  return backend;
}

export const EchoClient = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Echo');
