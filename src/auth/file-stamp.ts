import { statSync } from 'node:fs';

/**
 * What tells a watched file's versions apart: size, mtime and inode (a change in any means the
 * file was rewritten, in place or by rename). Undefined while the file does not exist.
 */
export function fileStamp(path: string): string | undefined {
  try {
    const s = statSync(path);
    return `${s.size}:${s.mtimeMs}:${s.ino}`;
  } catch {
    return undefined;
  }
}
