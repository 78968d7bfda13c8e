import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { parseBuiltinServiceConfig } from '../../src/balancers/service-config.js';
import type { ServiceConfigInput } from '../../src/model/service-config.js';
import { ADS_LOADER_OPTIONS, ADS_PROTO, ADS_SERVICE } from '../../src/xds/ads-service.js';
import { packAny, type AnyMessage } from '../../src/xds/envoy-protos.js';
import { buildCluster, CLUSTER_MESSAGE } from '../../src/xds/resources/cluster-encode.js';
import { ENDPOINT_MESSAGE } from '../../src/xds/resources/endpoints-encode.js';
import { outriggerMetadata } from '../../src/xds/resources/outrigger-metadata.js';
import { Changes } from './wait.js';

/** A DiscoveryRequest as the fake hub receives it. */
export interface FakeHubRequest {
  version_info: string;
  node: { id: string; cluster: string; locality: { region: string; zone: string; sub_zone: string } | null; user_agent_name: string } | null;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail: { code: number; message: string } | null;
}

type Call = grpc.ServerDuplexStream<FakeHubRequest, object>;

/**
 * A scripted ADS server speaking the real wire protocol on loopback: the test reads each
 * request the client sends and decides each response, so it can send what the real hub never
 * would (an invalid resource). Used only where the real hub cannot produce the case.
 */
export class FakeAdsHub {
  private readonly queue: FakeHubRequest[] = [];
  private readonly changes = new Changes();
  private call: Call | undefined;
  private nonces = 0;
  /** Streams opened by clients so far. */
  streams = 0;

  private constructor(
    private readonly server: grpc.Server,
    readonly port: number,
  ) {}

  static async start(): Promise<FakeAdsHub> {
    const pkg = protoLoader.loadSync(ADS_PROTO, ADS_LOADER_OPTIONS);
    const service = pkg[ADS_SERVICE] as protoLoader.ServiceDefinition;
    const server = new grpc.Server();
    let hub: FakeAdsHub | undefined;
    server.addService(service as unknown as grpc.ServiceDefinition, {
      StreamAggregatedResources: (call: Call) => hub!.accept(call),
      DeltaAggregatedResources: (call: Call) => call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'no delta' }),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    hub = new FakeAdsHub(server, port);
    return hub;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The next request (of any type), or a rejection after the bound. */
  nextRequest(timeoutMs = 10_000): Promise<FakeHubRequest> {
    return this.changes.eventually('a request', () => this.queue.shift(), timeoutMs);
  }

  /** Sends a response on the current stream; returns its nonce. */
  send(typeUrl: string, version: string, resources: AnyMessage[]): string {
    if (this.call === undefined) throw new Error('no stream');
    const nonce = `n${++this.nonces}`;
    this.call.write({ version_info: version, resources, type_url: typeUrl, nonce });
    return nonce;
  }

  /** Ends the current stream as a hub in trouble would. */
  dropStream(): void {
    this.call?.emit('error', { code: grpc.status.UNAVAILABLE, details: 'the fake hub dropped the stream' });
    this.call = undefined;
  }

  /** Requests received but not read. */
  get unread(): number {
    return this.queue.length;
  }

  close(): void {
    this.server.forceShutdown();
  }

  private accept(call: Call): void {
    this.streams++;
    this.call = call;
    call.on('data', (req: FakeHubRequest) => {
      this.queue.push(req);
      this.changes.changed();
    });
    call.on('error', () => {});
  }
}

/** A Cluster as the hub builds it, for service `name` of `namespace`. */
export function clusterAny(name: string, namespace: string, config: ServiceConfigInput = {}): AnyMessage {
  return packAny(CLUSTER_MESSAGE, buildCluster({ namespace, name, config: parseBuiltinServiceConfig(config), createdAt: 0, revision: 1 }));
}

export interface FakeEndpoint {
  address: string;
  port: number;
  id?: string;
  weight?: number;
  health?: 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN' | 'DRAINING';
}

/** A ClusterLoadAssignment with all endpoints in one locality, written as given (even if invalid). */
export function assignmentAny(cluster: string, endpoints: FakeEndpoint[]): AnyMessage {
  return packAny(ENDPOINT_MESSAGE, {
    cluster_name: cluster,
    endpoints: [
      {
        locality: { region: 'r1', zone: 'z1' },
        load_balancing_weight: { value: 1 },
        priority: 0,
        lb_endpoints: endpoints.map((e) => ({
          endpoint: { address: { socket_address: { protocol: 'TCP', address: e.address, port_value: e.port } } },
          health_status: e.health ?? 'HEALTHY',
          load_balancing_weight: { value: e.weight ?? 1 },
          ...(e.id !== undefined ? { metadata: outriggerMetadata({ id: e.id }) } : {}),
        })),
      },
    ],
  });
}
