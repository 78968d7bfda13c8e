import type { HubMetrics } from '../metrics/hub-metrics.js';
import { reply, type HttpReply } from '../http/response.js';
import type { RestRoute } from './rest-context.js';

/**
 * Probes and metrics. /health answers while the process can serve HTTP (liveness); /ready
 * answers 200 only when the hub is ready for traffic, 503 otherwise. AI-CORE's readiness probe,
 * `/health?ready=true`, is the same as /ready.
 */
export function systemRoutes(metrics: HubMetrics, isReady: () => boolean, detail: () => Record<string, unknown> = () => ({})): RestRoute[] {
  const readiness = (): HttpReply => (isReady() ? reply(200, { status: 'ready', ...detail() }) : reply(503, { status: 'not ready', ...detail() }));
  return [
    {
      method: 'GET',
      pattern: '/health',
      query: { names: ['ready'] },
      public: true,
      handle(ctx) {
        return ctx.query.boolean('ready') === true ? readiness() : reply(200, { status: 'ok' });
      },
    },
    { method: 'GET', pattern: '/ready', public: true, handle: readiness },
    {
      method: 'GET',
      pattern: '/metrics',
      // Its labels name every namespace and service: a read of the whole registry.
      async handle(ctx) {
        ctx.caller.require('metrics:read', {});
        const body = await metrics.register.metrics();
        return { status: 200, text: { body, contentType: metrics.register.contentType } };
      },
    },
  ];
}
