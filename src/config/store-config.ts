/**
 * Where the hub's registry lives: `memory` (one hub, nothing else to run) or `etcd` (several hub
 * replicas sharing one registry through an etcd cluster of the user's own).
 */
import { z } from 'zod';
import { durationSchema } from '../common/duration.js';
import { STORE_KINDS } from '../registry/registry-store.js';

const endpointSchema = z
  .string({ error: 'must be an etcd client URL such as http://127.0.0.1:2379' })
  .regex(/^https?:\/\/[^/\s]+\/?$/, { error: 'must be an etcd client URL such as http://127.0.0.1:2379 (http or https, host and port, no path)' });

const fileSchema = (what: string) => z.string({ error: `must be a path to ${what}, or empty` }).default('');

export const storeConfigSchema = z
  .strictObject({
    kind: z.enum(STORE_KINDS, { error: `must be one of ${STORE_KINDS.join(', ')}` }).default('memory').describe('Where the registry lives: memory (one hub) or etcd (several hub replicas sharing it)'),
    endpoints: z.array(endpointSchema, { error: 'must be a list of etcd client URLs' }).default([]).describe('etcd client URLs (store.kind etcd), e.g. [http://127.0.0.1:2379]'),
    prefix: z
      .string({ error: 'must be a key prefix such as /outrigger' })
      .regex(/^(\/[A-Za-z0-9._-]+)+$/, { error: 'must be a key prefix such as /outrigger: "/"-separated segments of letters, digits, ".", "_" or "-", with no trailing "/"' })
      .default('/outrigger')
      .describe('Every etcd key of the registry is under this prefix; hubs sharing a registry use the same one'),
    lease_ttl: durationSchema({ min: 1000, max: 600_000 })
      .default(10_000)
      .describe("TTL of each hub replica's etcd lease (its Sessions' liveness keys) and of its leader campaign: how soon the others notice a replica is gone (whole seconds)"),
    tls: z
      .strictObject({
        ca: fileSchema('a PEM CA bundle').describe("CA that signed etcd's server certificate; set it to talk TLS to etcd"),
        cert: fileSchema('a PEM certificate').describe('Client certificate for etcd (with store.tls.key), when etcd asks for one'),
        key: fileSchema('a PEM private key').describe('Private key of store.tls.cert'),
      })
      .prefault({}),
    auth: z
      .strictObject({
        username: z.string({ error: 'must be an etcd user name, or empty' }).default('').describe('etcd user (etcd auth enabled); empty: no credentials'),
        password: z.string({ error: 'must be a string' }).default('').describe("That user's password (better in the environment: OUTRIGGER_STORE__AUTH__PASSWORD)"),
      })
      .prefault({}),
  })
  .superRefine((s, ctx) => {
    if (s.kind === 'etcd' && s.endpoints.length === 0) ctx.addIssue({ code: 'custom', path: ['endpoints'], message: 'must list at least one etcd client URL when store.kind is etcd' });
    if ((s.tls.cert === '') !== (s.tls.key === '')) ctx.addIssue({ code: 'custom', path: ['tls', s.tls.cert === '' ? 'cert' : 'key'], message: 'store.tls.cert and store.tls.key go together' });
    if (s.tls.cert !== '' && s.tls.ca === '') ctx.addIssue({ code: 'custom', path: ['tls', 'ca'], message: 'must name the CA of etcd when a client certificate is set' });
    if (s.auth.username === '' && s.auth.password !== '') ctx.addIssue({ code: 'custom', path: ['auth', 'username'], message: 'must be set when store.auth.password is' });
  });

export type StoreConfig = z.output<typeof storeConfigSchema>;
