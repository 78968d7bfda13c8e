/**
 * The hub's Consul HTTP API (`/v1/...` on the HTTP port): which Outrigger namespace a Consul
 * registration without a namespace or partition lands in, the names it answers with, and the
 * bound on blocking queries held open at once.
 */
import { z } from 'zod';
import { namespaceNameSchema } from '../model/names.js';

const label = z
  .string({ error: 'must be a name of letters, digits and - (at most 63)' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/, { error: 'must be a name of letters, digits and - (at most 63)' });

const count = (max: number) =>
  z.number({ error: `must be an integer from 1 to ${max}` }).int({ error: `must be an integer from 1 to ${max}` }).min(1, { error: `must be an integer from 1 to ${max}` }).max(max, { error: `must be an integer from 1 to ${max}` });

export const consulConfigSchema = z.strictObject({
  enabled: z.boolean({ error: 'must be true or false' }).default(true).describe('Serve the Consul HTTP API under /v1/ on the HTTP port'),
  default_namespace: z.union([z.literal(''), namespaceNameSchema]).default('').describe("Namespace of a Consul call that names no namespace or partition (or `default`); empty: the hub's `default_namespace`"),
  datacenter: label.default('dc1').describe('Datacenter the API answers as; a call naming another (`?dc=`) is refused'),
  node_name: label.default('outrigger-hub').describe('Node name of the hub in `/v1/agent/self`'),
  max_blocking_queries: count(100_000).default(4096).describe('Blocking queries (`?index=`) held open at once, over all callers; more are answered 429'),
  max_blocking_queries_per_identity: count(100_000).default(256).describe('Blocking queries held open at once by one identity; more are answered 429'),
});

export type ConsulConfig = z.output<typeof consulConfigSchema>;
