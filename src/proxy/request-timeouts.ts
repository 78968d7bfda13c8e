/**
 * Timeouts of a proxied request: the cluster's overall timeout (or the upstream entry's), a gRPC
 * caller's deadline (`grpc-timeout`) when it is shorter, and the per-try timeout of each attempt.
 */

const GRPC_UNITS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** A `grpc-timeout` value (`100m`, `5S`...) in ms, or undefined when absent or malformed. */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || value.length < 2 || value.length > 9) return undefined;
  const unit = GRPC_UNITS[value[value.length - 1]!];
  const amount = Number(value.slice(0, -1));
  if (unit === undefined || !Number.isInteger(amount) || amount < 0) return undefined;
  return Math.max(1, Math.ceil(amount * unit));
}

/** The shorter of two timeouts where 0 / undefined means "none". */
export function shorterTimeout(a: number, b: number | undefined): number {
  if (b === undefined || b <= 0) return a;
  if (a <= 0) return b;
  return Math.min(a, b);
}
