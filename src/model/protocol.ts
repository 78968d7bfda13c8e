import { z } from 'zod';

/** What an instance speaks; the sidecar picks its forwarder by it. */
export const PROTOCOLS = ['http', 'http2', 'grpc', 'tcp'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const protocolSchema = z.enum(PROTOCOLS, { error: `must be one of ${PROTOCOLS.join(', ')}` });
