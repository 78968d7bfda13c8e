/** A JSON-coded unary echo service: no .proto needed on either side. */
import * as grpc from '@grpc/grpc-js';

const json = {
  serialize: (v: unknown): Buffer => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer): unknown => JSON.parse(b.toString()),
};

export const ECHO_SERVICE: grpc.ServiceDefinition = {
  unary: {
    path: '/bench.Echo/Unary',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};

export interface EchoReply {
  n: number;
  from: string;
}

export interface EchoClient extends grpc.Client {
  unary(req: { n: number }, cb: (err: grpc.ServiceError | null, res?: EchoReply) => void): grpc.ClientUnaryCall;
}

export const EchoClientCtor = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Echo') as unknown as new (
  address: string,
  creds: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => EchoClient;
