import { invalidArgument } from '../common/errors.js';
import { parseWith } from '../model/parse-input.js';
import type { DiscoverQuery, Registry } from '../registry/registry.js';
import { metadataSchema } from '../registry/validation.js';
import { readScopeKey, readableOnly, visibleServices } from './access-rules.js';
import type { RestContext, RestRoute } from './rest-context.js';
import { DiscoverAnswerCache, matchesEtag } from './rest-discover-cache.js';
import { instanceToJson } from './rest-instance-json.js';
import { serviceFilter } from './rest-service-filter.js';

export const MAX_DISCOVER_LIMIT = 10_000;

const METADATA_PREFIX = 'metadata.';
const MAX_PARSED_QUERIES = 4096;

/** A discover query string, validated and normalised; `key` names it in the answer cache (before the caller's visibility). */
interface ParsedDiscoverQuery {
  readonly query: Omit<DiscoverQuery, 'visible'>;
  readonly key: string;
}

function parseDiscoverQuery(ctx: RestContext): ParsedDiscoverQuery {
  const q = ctx.query;
  if (q.has('load_balancing_strategy')) {
    throw invalidArgument(
      'load_balancing_strategy',
      'load_balancing_strategy: balancing is client-side here: the sidecar picks an instance per request using the service config\'s lb_policy (PUT /api/v1/namespaces/{namespace}/services/{service}); leave this parameter out',
    );
  }
  const { service, namespace } = serviceFilter(q);
  const version = q.string('version');
  const zone = q.string('zone');
  const healthyOnly = q.boolean('healthy_only');
  const includeUnhealthy = q.boolean('include_unhealthy');
  if (healthyOnly !== undefined && includeUnhealthy !== undefined) {
    throw invalidArgument('include_unhealthy', 'include_unhealthy: give healthy_only or include_unhealthy, not both');
  }
  const limit = q.int('limit', 1, MAX_DISCOVER_LIMIT);
  const metadata = q.withPrefix(METADATA_PREFIX);
  // Keys and values obey the same rules as registered metadata; errors name `metadata.<key>`.
  for (const [key, value] of Object.entries(metadata)) {
    parseWith(metadataSchema.keyType, key, `${METADATA_PREFIX}${key}`);
    parseWith(metadataSchema.valueType, value, `${METADATA_PREFIX}${key}`);
  }
  const healthy = includeUnhealthy !== undefined ? !includeUnhealthy : (healthyOnly ?? true);
  return {
    query: {
      healthyOnly: healthy,
      ...(service !== undefined ? { service } : {}),
      ...(namespace !== undefined ? { namespace } : {}),
      ...(version !== undefined ? { version } : {}),
      ...(zone !== undefined ? { zone } : {}),
      ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
      ...(limit !== undefined ? { limit } : {}),
    },
    key: JSON.stringify([service, namespace, version, zone, healthy, limit, Object.entries(metadata).sort()]),
  };
}

/**
 * GET /api/v1/discover, AI-CORE's lookup: instances of a service, healthy only unless
 * `healthy_only=false` (AI-CORE's `include_unhealthy=true` means the same), filtered by version,
 * zone and `metadata.<key>=<value>` pairs. The answer is AI-CORE's shape, `data.services`.
 * AI-CORE's `load_balancing_strategy` is refused with a reason: here the caller's sidecar picks.
 * Answers are encoded once per registry revision, query and visibility (DiscoverAnswerCache) and
 * carry an ETag; a request whose If-None-Match names it gets 304 Not Modified.
 */
export function discoverRoute(registry: Registry): RestRoute {
  const cache = new DiscoverAnswerCache(registry);
  // The parse of a query string depends on nothing else, so a repeated query is parsed once.
  const parsedQueries = new Map<string, ParsedDiscoverQuery>();
  return {
    method: 'GET',
    pattern: '/api/v1/discover',
    query: {
      names: ['service_name', 'namespace', 'version', 'zone', 'healthy_only', 'include_unhealthy', 'limit', 'load_balancing_strategy'],
      prefixes: [METADATA_PREFIX],
    },
    handle(ctx) {
      let parsed = parsedQueries.get(ctx.search);
      if (parsed === undefined) {
        parsed = parseDiscoverQuery(ctx);
        // Bounded: a flood of distinct query strings restarts the memo rather than growing it.
        if (parsedQueries.size >= MAX_PARSED_QUERIES) parsedQueries.clear();
        parsedQueries.set(ctx.search, parsed);
      }
      const { service, namespace } = parsed.query;
      const readable = readableOnly(ctx.caller, namespace, service !== undefined && namespace !== undefined ? service : undefined);
      const key = readable === undefined ? parsed.key : `${parsed.key}\u0000${readScopeKey(ctx.caller.identity)}`;
      const answer = cache.get(key, () => {
        const found = registry.discover({ ...parsed.query, ...visibleServices(readable) });
        return { data: { services: found.map(instanceToJson), count: found.length, registry_version: registry.version } };
      });
      const headers = { etag: answer.etag, 'cache-control': 'no-cache' };
      if (matchesEtag(ctx.header('if-none-match'), answer.etag)) return { status: 304, headers };
      return { status: 200, text: { body: answer.body, contentType: 'application/json; charset=utf-8' }, headers };
    },
  };
}

