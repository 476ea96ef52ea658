/**
 * Checkpoints and leases, kept in a state table in the target database: which chunks of which table are
 * done, how far each got, and which run holds each (engine/table-run.ts claims, renews and releases them).
 */

import type { FollowStore } from './follow-state.js';

type ChunkStatus = 'pending' | 'running' | 'done';

export interface ChunkState {
  plan: string;
  table: string;
  chunk: number;
  status: ChunkStatus;
  lastKey: string | null;
  warmedKey: string | null;
  rowsRead: number;
  rowsWritten: number;
  mismatches: number;
  skipped: number;
  mappingHash: string;
  /** The chunk's key range: after `rangeStart` (exclusive) up to `rangeEnd` (inclusive); null: open. */
  rangeStart?: string | null;
  rangeEnd?: string | null;
  leaseOwner: string | null;
  leaseLive: boolean;
  updatedAt: Date | null;
}

export interface StateStore {
  /** Creates the state table when missing. */
  ensure(): Promise<void>;
  /** The plan's follow record (`run --follow`), in a table beside the state table (follow-state.ts). */
  readonly follow: FollowStore;
  exists(): Promise<boolean>;
  list(plan: string): Promise<ChunkState[]>;
  /**
   * Takes the chunk's lease (creating its row when new) unless another live owner holds it: null then.
   * Uses row locks with SKIP LOCKED, so concurrent runs never take the same chunk. A live lease is taken
   * over only when `isDead(owner)` says its owner is gone (a crashed process on this host).
   */
  claim(
    plan: string,
    table: string,
    chunk: number,
    owner: string,
    leaseMs: number,
    mappingHash: string,
    isDead?: (owner: string) => boolean,
  ): Promise<ChunkState | null>;
  /**
   * Splits a table into chunks (row i: chunk i with its key range, JSON key texts) — only when the table
   * has no chunk rows yet, atomically, so concurrent first runs agree on one split. Optional: without it a
   * table is one chunk.
   */
  createChunks?(
    plan: string,
    table: string,
    mappingHash: string,
    ranges: { start: string | null; end: string | null }[],
  ): Promise<void>;
  renew(plan: string, table: string, chunk: number, owner: string, leaseMs: number): Promise<void>;
  release(plan: string, table: string, chunk: number, owner: string): Promise<void>;
  setWarmed(plan: string, table: string, chunk: number, warmedKey: string | null): Promise<void>;
  /**
   * Drops the plan's checkpoints (for `--restart`); throws LockedError while another owner's lease is live
   * and `isDead(owner)` does not say that owner is gone (the same rule as `claim`).
   */
  reset(
    plan: string,
    tables: string[] | null,
    owner: string,
    isDead?: (owner: string) => boolean,
  ): Promise<void>;
  /** Ends the store's own connection (where it has one). */
  close?(): Promise<void>;
}
