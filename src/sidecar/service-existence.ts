/**
 * Whether the hub knows a service, asked once when the app first calls a name the sidecar has no
 * config for (the registration API's GetService: NOT_FOUND is a clear "no"; an empty service, which
 * Discover could not tell from a missing one, is a "yes"). It runs beside the on-demand xDS
 * subscription, so a typo is answered `unknown_service` within a round trip to the hub instead of
 * after the ensure bound; any other answer (the hub unreachable, an error) says nothing, and the
 * subscription's own answer or bound decides (so does a refusal: a service the sidecar may not
 * read is none of its business to ask about).
 */
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from '../common/logger.js';
import { splitServiceKey } from '../model/names.js';
import type { HubConnection } from '../wire/hub-credentials.js';
import { callUnary, createRegistryClient, type RegistryClient } from '../wire/registry-client.js';

/** true: it exists; false: the hub says it does not; undefined: no answer. */
export type ServiceExistence = (name: string) => Promise<boolean | undefined>;

/** How long the question may take before it counts as no answer. */
export const EXISTENCE_DEADLINE_MS = 2_000;

export class HubServiceDirectory {
  private client: RegistryClient | undefined;
  private next = 0;

  constructor(
    private readonly hubs: readonly string[],
    private readonly logger: Logger,
    /** The sidecar's credentials towards the hub (TLS, its token): the hub answers only callers it knows. */
    private readonly connection: HubConnection,
  ) {}

  readonly exists: ServiceExistence = async (name) => {
    const parts = splitServiceKey(name);
    if (parts === undefined) return false;
    this.client ??= createRegistryClient(this.hubs[this.next % this.hubs.length]!, this.connection.credentials(), this.connection.clientOptions);
    try {
      await callUnary(this.client, 'GetService', { namespace: parts.namespace, name: parts.service }, { deadline: Date.now() + EXISTENCE_DEADLINE_MS });
      return true;
    } catch (err) {
      const code = (err as Partial<ServiceError>).code;
      if (code === grpcStatus.NOT_FOUND) return false;
      this.logger.debug('could not ask the hub whether a service exists', { cluster: name, error: String(err) });
      if (code === grpcStatus.UNAVAILABLE || code === grpcStatus.DEADLINE_EXCEEDED) this.rotate();
      return undefined;
    }
  };

  close(): void {
    this.client?.close();
    this.client = undefined;
  }

  /** The next hub in the list, on the next question. */
  private rotate(): void {
    this.close();
    this.next++;
  }
}
