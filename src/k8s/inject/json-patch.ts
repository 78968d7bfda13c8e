/**
 * RFC 6902 JSON Patch, the one patch type Kubernetes admission webhooks may return. The
 * injector only adds, so `add` is the only operation it produces.
 */
export interface AddOperation {
  op: 'add';
  path: string;
  value: unknown;
}

export type JsonPatch = AddOperation[];

/** RFC 6901 escaping of one reference token: `~` → `~0`, `/` → `~1` (`outrigger.io/status` → `outrigger.io~1status`). */
export function escapeToken(token: string | number): string {
  return String(token).replaceAll('~', '~0').replaceAll('/', '~1');
}

export function unescapeToken(token: string): string {
  return token.replaceAll('~1', '/').replaceAll('~0', '~');
}

/** A JSON Pointer from its unescaped tokens: pointer('metadata', 'annotations', 'a/b') → `/metadata/annotations/a~1b`. */
export function pointer(...tokens: Array<string | number>): string {
  return tokens.map((t) => `/${escapeToken(t)}`).join('');
}

/** The unescaped tokens of a JSON Pointer. */
export function tokensOf(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new Error(`JSON Pointer must start with "/": ${path}`);
  return path.slice(1).split('/').map(unescapeToken);
}
