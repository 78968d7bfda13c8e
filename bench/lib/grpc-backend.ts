/**
 * gRPC benchmark backends: N servers in this one process, each answering the unary method of a
 * JSON-coded echo service with its own id.
 *   node dist/bench/lib/grpc-backend.js <count>   → prints "ports p1,p2,..."
 */
import * as grpc from '@grpc/grpc-js';
import { ECHO_SERVICE } from './grpc-echo.js';

const count = Number(process.argv[2] ?? 3);
const ports: number[] = [];
for (let i = 0; i < count; i++) {
  const id = `g${i + 1}`;
  const server = new grpc.Server();
  server.addService(ECHO_SERVICE, {
    unary: (call: grpc.ServerUnaryCall<{ n: number }, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { n: call.request.n, from: id }),
  });
  ports.push(
    await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    ),
  );
}
process.stdout.write(`ports ${ports.join(',')}\n`);
