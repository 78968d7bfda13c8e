/**
 * A clock time (epoch milliseconds) as the admin and REST APIs show it: an ISO-8601 string, as
 * the hub's `registered_at`. Unset (null or undefined) stays as it is.
 */
export function isoTime<T extends null | undefined = never>(ms: number | T): string | T {
  return typeof ms === 'number' ? new Date(ms).toISOString() : ms;
}
