import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { freePort } from './cli-ports.js';
import { eventually } from './wait.js';

/** Every etcd this process started, killed if the test process exits without closing its cluster. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

interface Member {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  child: ChildProcess | undefined;
  out: string;
}

/**
 * Starts one etcd member with these arguments. The tests spawn it directly; the benchmarks pass
 * their own launcher, so that etcd is pinned to a core and in the run's process cleanup.
 */
export type EtcdLauncher = (args: string[]) => ChildProcess;

const spawnEtcd: EtcdLauncher = (args) => spawn('etcd', args, { stdio: ['ignore', 'pipe', 'pipe'] });

/**
 * A real etcd (Debian's etcd-server) on loopback ports, each member with a data dir of its own
 * under a temp dir of this cluster. `stop`/`start` a member to take it away and bring it back
 * on the same ports and data; `close` kills every member and removes the data.
 */
export class EtcdCluster {
  private constructor(
    private readonly root: string,
    private readonly members: Member[],
    private readonly launch: EtcdLauncher,
  ) {}

  static async start(size = 1, launch: EtcdLauncher = spawnEtcd): Promise<EtcdCluster> {
    const root = mkdtempSync(path.join(tmpdir(), 'outrigger-etcd-'));
    const members: Member[] = [];
    for (let i = 0; i < size; i++) {
      members.push({ name: `m${i}`, clientPort: await freePort(), peerPort: await freePort(), dataDir: path.join(root, `m${i}`), child: undefined, out: '' });
    }
    const cluster = new EtcdCluster(root, members, launch);
    try {
      for (let i = 0; i < size; i++) cluster.spawn(i);
      await cluster.healthy();
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  /** Client URLs of every member, as a hub's `store.endpoints`. */
  get endpoints(): string[] {
    return this.members.map((m) => `http://127.0.0.1:${m.clientPort}`);
  }

  /** The index of the member that leads etcd's raft: the one whose status names itself leader. */
  async leader(): Promise<number> {
    return eventually('an etcd member to name the leader', async () => {
      for (const [i, m] of this.members.entries()) {
        if (m.child === undefined) continue;
        const client = new Etcd3({ hosts: this.endpoints[i]! });
        try {
          const status = await client.maintenance.status();
          if (status.leader === status.header.member_id) return i;
        } catch {
          // This member does not answer: ask the next.
        } finally {
          client.close();
        }
      }
      return undefined;
    });
  }

  /** SIGKILLs member `i` (its data stays). */
  async stop(i: number): Promise<void> {
    const m = this.members[i]!;
    const child = m.child;
    if (child === undefined) return;
    m.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** Starts member `i` again on its ports and data. */
  restart(i: number): void {
    this.spawn(i);
  }

  /** Resolves once every running member answers a read through the cluster. */
  async healthy(ms = 20_000): Promise<void> {
    const client = new Etcd3({ hosts: this.endpoints });
    try {
      await eventually(() => `etcd to answer (${this.members.map((m) => `${m.name}: ${m.out.slice(-400)}`).join(' | ')})`, async () => {
        try {
          await client.get('outrigger-health-probe').string();
          return true;
        } catch {
          return undefined;
        }
      }, ms, 100);
    } finally {
      client.close();
    }
  }

  async close(): Promise<void> {
    for (let i = 0; i < this.members.length; i++) await this.stop(i);
    rmSync(this.root, { recursive: true, force: true });
  }

  private spawn(i: number): void {
    const m = this.members[i]!;
    const initial = this.members.map((p) => `${p.name}=http://127.0.0.1:${p.peerPort}`).join(',');
    const child = this.launch([
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', `http://127.0.0.1:${m.clientPort}`,
      '--advertise-client-urls', `http://127.0.0.1:${m.clientPort}`,
      '--listen-peer-urls', `http://127.0.0.1:${m.peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${m.peerPort}`,
      '--initial-cluster', initial,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', path.basename(this.root),
      // Short elections so fault tests see a new etcd leader in well under a second.
      '--heartbeat-interval', '50',
      '--election-timeout', '500',
      '--log-level', 'warn',
    ]);
    m.out = '';
    child.stdout?.on('data', (d: Buffer) => (m.out = (m.out + d.toString()).slice(-4000)));
    child.stderr?.on('data', (d: Buffer) => (m.out = (m.out + d.toString()).slice(-4000)));
    m.child = child;
    running.add(child);
    child.once('exit', () => running.delete(child));
  }
}
