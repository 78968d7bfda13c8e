/**
 * The hub's Eureka REST API (on the HTTP port, under a path prefix): where it lives, which
 * namespace Eureka's namespace-less apps live in, and how long `GET /apps/delta` remembers.
 */
import { z } from 'zod';
import { durationSchema } from '../common/duration.js';
import { namespaceNameSchema } from '../model/names.js';

export const eurekaConfigSchema = z.strictObject({
  enabled: z.boolean({ error: 'must be true or false' }).default(true).describe('Serve the Eureka REST API on the HTTP port, under `eureka.prefix`'),
  prefix: z
    .string({ error: 'must be a path such as /eureka/v2' })
    .regex(/^(\/[A-Za-z0-9._-]+)+$/, { error: 'must be a path such as /eureka/v2: "/"-separated segments of letters, digits, ".", "_" or "-", with no trailing "/"' })
    .refine((p) => p !== '/api' && !p.startsWith('/api/'), { error: 'must not be under /api, which the REST API owns' })
    .default('/eureka/v2')
    .describe('Path prefix of the Eureka API (clients use `http://<hub>:15080<prefix>/` as their service URL)'),
  namespace: namespaceNameSchema.default('default').describe('Namespace that Eureka apps are registered in and listed from'),
  delta_retention: durationSchema({ min: 1000, max: 3_600_000 }).default(180_000).describe('How long a change is listed by `GET /apps/delta` (Eureka keeps 3 minutes)'),
  delta_max_changes: z
    .number({ error: 'must be an integer from 1 to 1000000' })
    .int({ error: 'must be an integer from 1 to 1000000' })
    .min(1, { error: 'must be an integer from 1 to 1000000' })
    .max(1_000_000, { error: 'must be an integer from 1 to 1000000' })
    .default(10_000)
    .describe('Most changes `GET /apps/delta` remembers; older ones are dropped first'),
});

export type EurekaConfig = z.output<typeof eurekaConfigSchema>;
