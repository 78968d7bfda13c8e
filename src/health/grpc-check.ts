import path from 'node:path';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_DIR } from '../common/paths.js';
import type { GrpcCheckConfig } from './check-config.js';
import { abortReason, fail, pass, type HealthProbe, type ProbeResult } from './probe.js';

export type GrpcProbeOptions = Pick<GrpcCheckConfig, 'service'> & { address: string; port: number };

interface HealthCheckRequest {
  service: string;
}
interface HealthCheckResponse {
  status: 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
}

export const HEALTH_PROTO_FILE = path.join('grpc', 'health', 'v1', 'health.proto');

let checkMethod: protoLoader.MethodDefinition<HealthCheckRequest, HealthCheckResponse> | undefined;

/** grpc.health.v1.Health/Check, loaded once per process from our proto/ folder. */
function healthCheckMethod(): protoLoader.MethodDefinition<HealthCheckRequest, HealthCheckResponse> {
  if (checkMethod === undefined) {
    const def = protoLoader.loadSync(HEALTH_PROTO_FILE, { includeDirs: [PROTO_DIR], keepCase: true, enums: String, defaults: true });
    const service = def['grpc.health.v1.Health'] as protoLoader.ServiceDefinition;
    checkMethod = service.Check as protoLoader.MethodDefinition<HealthCheckRequest, HealthCheckResponse>;
  }
  return checkMethod;
}

/**
 * gRPC check: grpc.health.v1.Health/Check on a channel kept open between probes (the cheap
 * path while healthy). A call that fails for a transport reason drops the channel, so the next
 * probe connects afresh instead of waiting out grpc-js's reconnect backoff, which can grow far
 * beyond the probe interval while the app is down.
 */
export class GrpcProbe implements HealthProbe {
  private client: grpc.Client | undefined;
  private closed = false;
  private readonly target: string;
  private readonly label: string;

  constructor(private readonly options: GrpcProbeOptions) {
    this.target = `${net.isIPv6(options.address) ? `[${options.address}]` : options.address}:${options.port}`;
    this.label = `gRPC health ${this.target}${options.service === '' ? '' : ` service "${options.service}"`}`;
  }

  probe(signal: AbortSignal): Promise<ProbeResult> {
    const label = this.label;
    if (signal.aborted) return Promise.resolve(fail(`${label}: ${abortReason(signal)}`));
    if (this.closed) return Promise.resolve(fail(`${label}: check closed`));
    const method = healthCheckMethod();
    this.client ??= new grpc.Client(this.target, grpc.credentials.createInsecure());
    const client = this.client;

    return new Promise((resolve) => {
      let settled = false;
      const finish = (result: ProbeResult): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const call = client.makeUnaryRequest<HealthCheckRequest, HealthCheckResponse>(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        { service: this.options.service },
        new grpc.Metadata(),
        {},
        (err, res) => {
          if (err) {
            if (err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.CANCELLED) this.dropClient(client);
            const why = err.code === grpc.status.CANCELLED && signal.aborted ? abortReason(signal) : `${grpc.status[err.code]}: ${err.details}`;
            finish(fail(`${label}: ${why}`));
          } else if (res?.status === 'SERVING') {
            finish(pass(`${label}: SERVING`));
          } else {
            finish(fail(`${label}: ${res?.status ?? 'no status'}`));
          }
        },
      );
      // Cancelling makes the callback run with CANCELLED, which settles the probe.
      const onAbort = (): void => call.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): void {
    this.closed = true;
    if (this.client !== undefined) this.dropClient(this.client);
  }

  private dropClient(client: grpc.Client): void {
    client.close();
    if (this.client === client) this.client = undefined;
  }
}
