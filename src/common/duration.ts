import { z } from 'zod';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/** Parses "250ms", "5s", "1.5m", "2h" into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const m = PATTERN.exec(text.trim());
  if (m === null) return undefined;
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

/** 0, "0s", "0.0ms": exactly zero, not a small duration rounded down to it. */
function isZero(value: number | string): boolean {
  if (typeof value === 'number') return value === 0;
  const m = PATTERN.exec(value.trim());
  return m !== null && Number(m[1]) === 0;
}

/** Formats milliseconds the short way people write them: 30000 → "30s", 250 → "250ms". */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * A duration as users write it in YAML or JSON: a string with a unit ("500ms", "5s", "1m"),
 * or a bare number of seconds (the AI-CORE and Consul APIs' convention). Yields milliseconds.
 * `zero` names what a zero duration means where it is allowed below `min` (a ttl of 0 is "no
 * lease"): 0, "0s", "0ms" and the like are then accepted as 0.
 */
export function durationSchema(opts: { min?: number; max?: number; zero?: string } = {}): z.ZodType<number, string | number> {
  const min = opts.min ?? 0;
  const max = opts.max ?? 7 * 24 * 3_600_000;
  const zero = opts.zero;
  const allowed =
    zero === undefined
      ? `a duration such as "500ms", "5s" or "1m" (or a number of seconds) from ${formatDuration(min)} to ${formatDuration(max)}`
      : `0 or "0s" (${zero}), or a duration from ${formatDuration(min)} to ${formatDuration(max)}, as a number of seconds or a string such as "30s"`;
  return z
    .union([z.number(), z.string()], { error: `must be ${allowed}` })
    .transform((value, ctx) => {
      const ms = typeof value === 'number' ? Math.round(value * 1000) : parseDuration(value);
      if (zero !== undefined && isZero(value)) return 0;
      if (ms === undefined || !Number.isFinite(ms) || ms < min || ms > max) {
        ctx.addIssue({ code: 'custom', message: `must be ${allowed}` });
        return z.NEVER;
      }
      return ms;
    }) as unknown as z.ZodType<number, string | number>;
}
