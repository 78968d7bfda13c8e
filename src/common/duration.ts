import { z } from 'zod';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/** Parses "250ms", "5s", "1.5m", "2h" into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const m = PATTERN.exec(text.trim());
  if (m === null) return undefined;
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
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
 */
export function durationSchema(opts: { min?: number; max?: number } = {}): z.ZodType<number, string | number> {
  const min = opts.min ?? 0;
  const max = opts.max ?? 7 * 24 * 3_600_000;
  const allowed = `a duration such as "500ms", "5s" or "1m" (or a number of seconds) from ${formatDuration(min)} to ${formatDuration(max)}`;
  return z
    .union([z.number(), z.string()], { error: `must be ${allowed}` })
    .transform((value, ctx) => {
      const ms = typeof value === 'number' ? Math.round(value * 1000) : parseDuration(value);
      if (ms === undefined || !Number.isFinite(ms) || ms < min || ms > max) {
        ctx.addIssue({ code: 'custom', message: `must be ${allowed}` });
        return z.NEVER;
      }
      return ms;
    }) as unknown as z.ZodType<number, string | number>;
}
