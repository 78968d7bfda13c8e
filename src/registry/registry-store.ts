/**
 * Where the registry's records live. The Registry is always the in-memory snapshot that serves
 * reads, Watch and xDS; a store decides how a write reaches it. `memory` applies a write to the
 * snapshot at once (one hub, the embedded default). `etcd` turns it into a transaction and the
 * snapshot follows etcd's watch, so every replica sees the same records at the same versions.
 */
import type { Instance, Namespace, Service } from './model.js';

export const STORE_KINDS = ['memory', 'etcd'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

export type RecordKind = 'namespace' | 'service' | 'instance';
export type AnyRecord = Namespace | Service | Instance;

/** One record a write changes: what the snapshot held before and what the write leaves (undefined: none). */
export interface RecordChange {
  readonly kind: RecordKind;
  /** The namespace's name, the service's key (`name.namespace`) or the instance's id. */
  readonly id: string;
  readonly before: AnyRecord | undefined;
  readonly after: AnyRecord | undefined;
  /** Lease bookkeeping only: applied but not broadcast to subscribers. */
  readonly quiet: boolean;
}

/** A record as the store holds it, at the store revision that last changed it. */
export interface CommittedRecord {
  readonly kind: RecordKind;
  readonly id: string;
  /** Undefined: the record was deleted. */
  readonly record: AnyRecord | undefined;
  readonly quiet: boolean;
  readonly revision: number;
}

/** What a store drives in the Registry: its snapshot. */
export interface RegistrySnapshot {
  /** Runs a write against the snapshot and takes it back at once: what it would change, and its result. */
  capture<T>(write: () => T): { result: T; changes: RecordChange[] };
  /** Applies records committed to the store and broadcasts them; the registry's version becomes `revision`. */
  applyCommitted(records: readonly CommittedRecord[], revision: number): void;
  /** Replaces the whole snapshot with the store's records (a relist), broadcasting the differences. */
  replaceAll(records: readonly CommittedRecord[], revision: number): void;
  /** The current record of a kind and id, after a write is applied. */
  recordOf(kind: RecordKind, id: string): AnyRecord | undefined;
  /** Ids of the instances whose lease a Session holds, on any replica. */
  heldIds(): string[];
  /** The replica holding this lease is gone: its TTL starts (written through the store). */
  releaseHeld(id: string): void;
  /** This replica's Sessions still hold the lease: take it again (after the replica's etcd lease was lost). */
  holdAgain(id: string): void;
}

export interface RegistryStore {
  readonly kind: StoreKind;
  /** Loads the snapshot from the store and keeps it following; resolves once it is current. */
  start(snapshot: RegistrySnapshot): Promise<void>;
  /**
   * Runs a registry write (a call of the Registry's synchronous methods) through the store and
   * resolves with its result once the snapshot holds it.
   */
  write<T>(write: () => T): Promise<T>;
  /** True while the store cannot be reached: the snapshot may be behind and writes are refused. */
  readonly stale: boolean;
  /** True on the one replica that runs the lease sweep and self-preservation (always, for memory). */
  readonly leader: boolean;
  /**
   * Calls `fn` with whether this replica has won the election, now and on every change, for work
   * that only one replica may do (the Kubernetes source). Unlike `leader`, a stale snapshot does
   * not end it: the replica still holds the election until etcd says otherwise.
   */
  watchElection(fn: (elected: boolean) => void): void;
  close(): Promise<void>;
}

/** The embedded default: the snapshot is the store, and a write applies to it at once. */
export class MemoryStore implements RegistryStore {
  readonly kind = 'memory';
  readonly stale = false;
  readonly leader = true;

  async start(): Promise<void> {}

  async write<T>(write: () => T): Promise<T> {
    return write();
  }

  watchElection(fn: (elected: boolean) => void): void {
    fn(true);
  }

  async close(): Promise<void> {}
}
