/**
 * `dig` (BIND's, from Debian's bind9-dnsutils) run against a loopback DNS server, its output read
 * back into status, flags and sections: a real client no one here wrote.
 */
import { execFile } from 'node:child_process';

export interface DigRecord {
  name: string;
  ttl: number;
  type: string;
  /** The record's data as dig prints it, split on spaces (`1 100 8080 10-0-0-1.api.shop.local.` for SRV). */
  data: string[];
}

export interface DigAnswer {
  status: string;
  flags: string[];
  answer: DigRecord[];
  authority: DigRecord[];
  additional: DigRecord[];
  /** `;; MSG SIZE  rcvd: N` */
  size: number;
  /** dig said it retried over TCP after a truncated answer. */
  retriedTcp: boolean;
  raw: string;
}

/** Runs `dig @127.0.0.1 -p <port> <name> <type> <options>`; rejects when dig gets no answer. */
export function dig(port: number, name: string, type: string, options: string[] = []): Promise<DigAnswer> {
  const args = ['@127.0.0.1', '-p', String(port), name, type, '+tries=1', '+time=5', '+nocookie', ...options];
  return new Promise((resolve, reject) => {
    execFile('dig', args, { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err !== null) {
        reject(new Error(`dig ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
        return;
      }
      // dig says on stderr that it retried over TCP.
      resolve(parseDig(`${stdout}\n${stderr}`));
    });
  });
}

function parseDig(raw: string): DigAnswer {
  const status = /status: ([A-Z]+)/.exec(raw)?.[1] ?? '';
  const flags = (/;; flags: ([a-z ]+);/.exec(raw)?.[1] ?? '').trim().split(/\s+/).filter((f) => f !== '');
  const sections: Record<string, DigRecord[]> = { ANSWER: [], AUTHORITY: [], ADDITIONAL: [] };
  let current: DigRecord[] | undefined;
  for (const line of raw.split('\n')) {
    const header = /^;; ([A-Z]+) SECTION:/.exec(line);
    if (header !== null) {
      current = sections[header[1]!];
      continue;
    }
    if (line.trim() === '' || line.startsWith(';')) {
      if (line.trim() === '') current = undefined;
      continue;
    }
    if (current === undefined) continue;
    const [name, ttl, , type, ...data] = line.trim().split(/\s+/);
    current.push({ name: name!, ttl: Number(ttl), type: type!, data });
  }
  return {
    status,
    flags,
    answer: sections.ANSWER!,
    authority: sections.AUTHORITY!,
    additional: sections.ADDITIONAL!,
    size: Number(/MSG SIZE\s+rcvd: (\d+)/.exec(raw)?.[1] ?? 0),
    retriedTcp: /Truncated, retrying in TCP mode/.test(raw),
    raw,
  };
}
