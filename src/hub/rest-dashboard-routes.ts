/**
 * The hub dashboard's data: `GET /api/v1/dashboard` (the view once, or with `watch=true` as
 * Server-Sent Events) and `GET /api/v1/xds/subscribers`. The stream sends a `view` event after
 * the registry's changes (at most one per `viewIntervalMs`, so a burst of changes to a large
 * registry is sent as one view) and a `stats` event every `statsIntervalMs`: rates, push
 * latency and, for a caller with `metrics:read`, the xDS subscribers. The page never polls.
 */
import { allows } from '../auth/access-check.js';
import type { Caller } from '../auth/caller.js';
import type { Clock, TimerHandle } from '../common/clock.js';
import { EventStream } from '../http/event-stream.js';
import { reply, type HttpReply } from '../http/response.js';
import type { HubMetrics } from '../metrics/hub-metrics.js';
import type { Registry } from '../registry/registry.js';
import type { AdsStreamInfo } from '../xds/server/sotw-stream.js';
import type { OpenStreams } from './open-streams.js';
import { DashboardStatsSampler } from './rest-dashboard-stats.js';
import { dashboardView } from './rest-dashboard-view.js';
import type { RestRoute } from './rest-context.js';
import { LiveTransitions } from './rest-live-view.js';
import { subscriberToJson, type SubscriberJson } from './xds-subscribers.js';

export interface DashboardRouteOptions {
  clock: Clock;
  metrics: HubMetrics;
  /** The xDS server's streams; none when the hub runs without one (tests of REST alone). */
  subscribers?: () => AdsStreamInfo[];
  openStreams?: OpenStreams;
  /** Bytes a slow reader may leave unread before its stream is ended. */
  bufferBytes: number;
  viewIntervalMs?: number;
  statsIntervalMs?: number;
}

export function dashboardRoutes(registry: Registry, options: DashboardRouteOptions): RestRoute[] {
  const transitions = new LiveTransitions(registry);
  const viewIntervalMs = options.viewIntervalMs ?? 200;
  const statsIntervalMs = options.statsIntervalMs ?? 2000;
  const sampler = new DashboardStatsSampler(options.metrics, options.clock, statsIntervalMs / 2);
  const subscribers = (): SubscriberJson[] => {
    const now = options.clock.now();
    return (options.subscribers?.() ?? []).map((s) => subscriberToJson(s, now)).sort((a, b) => a.node.localeCompare(b.node) || a.stream - b.stream);
  };
  const stats = async (caller: Caller) => ({
    ...(await sampler.read()),
    self_preservation: registry.selfPreservationActive,
    // The subscribers name nodes and services across the mesh: a read of the whole registry, as /metrics is.
    subscribers: allows(caller.identity, 'metrics:read', {}) ? subscribers() : null,
  });
  return [
    {
      method: 'GET',
      pattern: '/api/v1/dashboard',
      query: { names: ['watch'] },
      async handle(ctx) {
        if (ctx.query.boolean('watch') !== true) return reply(200, { data: { view: dashboardView(registry, transitions, ctx.caller), stats: await stats(ctx.caller) } });
        const held = options.openStreams?.acquire(ctx.caller.identity, ctx.caller.site.peer);
        return {
          status: 200,
          stream: (res) => {
            let viewTimer: TimerHandle | undefined;
            let lastView = -Infinity;
            const out = new EventStream(res, options.bufferBytes, () => {
              unsubscribe();
              if (viewTimer !== undefined) options.clock.clearTimeout(viewTimer);
              options.clock.clearInterval(statsTimer);
              held?.release();
            });
            const sendView = (): void => {
              viewTimer = undefined;
              lastView = options.clock.monotonic();
              out.event('view', dashboardView(registry, transitions, ctx.caller), registry.version);
            };
            const sendStats = (): void => {
              void stats(ctx.caller).then((s) => out.event('stats', s));
            };
            const unsubscribe = registry.subscribe(() => {
              if (viewTimer !== undefined || out.closed) return;
              viewTimer = options.clock.setTimeout(sendView, Math.max(0, lastView + viewIntervalMs - options.clock.monotonic()));
            });
            const statsTimer = options.clock.setInterval(sendStats, statsIntervalMs);
            if (held !== undefined) {
              // A revoked or expired credential ends its streams.
              held.end = (e) => {
                out.event('error', { error: { code: 'unauthenticated', message: e.message } });
                out.end();
              };
            }
            sendView();
            sendStats();
          },
        } satisfies HttpReply;
      },
    },
    {
      method: 'GET',
      pattern: '/api/v1/xds/subscribers',
      handle(ctx) {
        ctx.caller.require('metrics:read', {});
        const list = subscribers();
        return reply(200, { data: { subscribers: list, count: list.length, stale: list.filter((s) => s.stale).length } });
      },
    },
  ];
}
