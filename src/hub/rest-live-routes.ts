/**
 * `GET /api/v1/instances/live`: the live instance view, once (JSON) or, with `watch=true`, as
 * Server-Sent Events: the whole view again after every change the registry reports (changes in
 * one tick are sent once), so a web page needs no polling. A stream counts against the
 * identity's open streams like a Watch, sends a comment every heartbeat on the hub's Clock so
 * proxies keep it open, and is ended, not buffered further, when its reader falls behind.
 */
import type http from 'node:http';
import type { Caller } from '../auth/caller.js';
import type { Clock } from '../common/clock.js';
import { reply, type HttpReply } from '../http/response.js';
import type { Registry } from '../registry/registry.js';
import type { OpenStream, OpenStreams } from './open-streams.js';
import type { RestRoute } from './rest-context.js';
import { LiveTransitions, liveInstances, liveView, type LiveFilter } from './rest-live-view.js';
import { serviceFilter } from './rest-service-filter.js';

export interface LiveRouteOptions {
  clock: Clock;
  openStreams?: OpenStreams;
  heartbeatMs: number;
  /** Bytes a slow reader may leave unread before its stream is ended. */
  bufferBytes: number;
}

export function liveRoutes(registry: Registry, options: LiveRouteOptions): RestRoute[] {
  const transitions = new LiveTransitions(registry);
  const view = (filter: LiveFilter, caller: Caller) => liveView(liveInstances(registry, filter, caller.reads), transitions, registry.version);
  return [
    {
      method: 'GET',
      pattern: '/api/v1/instances/live',
      query: { names: ['namespace', 'service_name', 'watch'] },
      handle(ctx) {
        // A namespace or service the caller may not read shows as empty, as one that does not exist.
        const filter = serviceFilter(ctx.query);
        if (ctx.query.boolean('watch') !== true) return reply(200, { data: view(filter, ctx.caller) });
        // Counted now, so a caller over its limit gets a 429 rather than an empty stream.
        const held = options.openStreams?.acquire(ctx.caller.identity, ctx.caller.site.peer);
        return { status: 200, stream: (res) => stream(res, filter, ctx.caller, held) } satisfies HttpReply;
      },
    },
  ];

  function stream(res: http.ServerResponse, filter: LiveFilter, caller: Caller, held: OpenStream | undefined): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    let pending = false;
    let closed = false;
    const send = (text: string): void => {
      if (closed) return;
      // What the reader left unread is still queued here: past the bound it is not keeping up,
      // so the stream ends rather than hold more for it (a single large view is always sent).
      if (res.writableLength > options.bufferBytes) {
        end();
        res.destroy();
        return;
      }
      res.write(text);
    };
    const snapshot = (): void => {
      pending = false;
      send(`id: ${registry.version}\nevent: instances\ndata: ${JSON.stringify(view(filter, caller))}\n\n`);
    };
    const unsubscribe = registry.subscribe((c) => {
      if (c.kind !== 'instance' || pending || closed) return;
      if (filter.namespace !== undefined && c.instance.namespace !== filter.namespace) return;
      if (filter.service !== undefined && c.instance.service !== filter.service) return;
      pending = true;
      queueMicrotask(snapshot);
    });
    const heartbeat = options.clock.setInterval(() => {
      if (res.writableLength === 0) send(': heartbeat\n\n');
    }, options.heartbeatMs);
    function end(): void {
      if (closed) return;
      closed = true;
      unsubscribe();
      options.clock.clearInterval(heartbeat);
      held?.release();
    }
    if (held !== undefined) {
      // A revoked or expired credential ends its streams.
      held.end = (e) => {
        send(`event: error\ndata: ${JSON.stringify({ error: { code: 'unauthenticated', message: e.message } })}\n\n`);
        end();
        res.end();
      };
    }
    res.on('close', end);
    snapshot();
  }
}
