/**
 * The hub dashboard's static files under `/ui/`. They are public, as a login page is: they hold
 * only the page's code, and every datum the page shows comes from the API, identified and
 * checked with the token the page sends (`/api/v1/dashboard`, the instance and service routes).
 */
import { notFound } from '../common/errors.js';
import { dashboardFiles } from '../http/dashboard-files.js';
import type { HttpReply } from '../http/response.js';
import type { RestRoute } from './rest-context.js';

export function uiRoutes(): RestRoute[] {
  const files = dashboardFiles('hub');
  const serve = (name: string): HttpReply => {
    const r = files.reply(name);
    if (r === undefined) throw notFound(`no dashboard file ${JSON.stringify(name.slice(0, 100))}; the dashboard is at /ui/`);
    return r;
  };
  return [
    { method: 'GET', pattern: '/ui', public: true, handle: () => serve('') },
    { method: 'GET', pattern: '/ui/{file}', public: true, handle: (ctx) => serve(ctx.params.file ?? '') },
    { method: 'GET', pattern: '/ui/vendor/{file}', public: true, handle: (ctx) => serve(`vendor/${ctx.params.file ?? ''}`) },
  ];
}
