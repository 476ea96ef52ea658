/**
 * How rows get into a target table: a writer commits each batch together with its checkpoint, so a crash
 * never leaves rows without the checkpoint that says they are done (or the reverse).
 */
import type { Column, Row } from '../convert/value.js';
import { RuntimeError } from '../errors.js';
import type { Batch } from './batch.js';
import type { FollowCheckpoint } from './follow-state.js';
import type { TableRef } from './table.js';

/** The checkpoint written in the same transaction as a batch. */
export interface CheckpointUpdate {
  plan: string;
  table: string;
  chunk: number;
  owner: string;
  lastKey: string | null;
  /** Cache warmed up to and including this key (JSON text of its values); null: unchanged. */
  warmedKey?: string | null;
  rowsRead: number;
  rowsWritten: number;
  mismatches: number;
  skipped: number;
  done: boolean;
  /** The lease is extended by this much with every checkpoint. */
  leaseMs: number;
}

export interface WriteSpec {
  ref: TableRef;
  columns: Column[];
  /** Indexes into `columns` of the conflict key. */
  key: number[];
  onConflict: 'upsert' | 'skip' | 'error';
  stateTable: string;
  /** Label for errors. */
  label: string;
}

export interface BatchResult {
  /** Rows the target reports as inserted or updated. */
  written: number;
  /** The target's rows for the batch's keys, read inside the transaction (when asked), in `columns` order. */
  readBack: Row[] | null;
  /**
   * Instead of `readBack`: the target, read inside the transaction, printed exactly the text the batch was
   * sent as (PostgreSQL: COPY text in its own output form) — every row is stored as sent.
   */
  identical?: boolean;
}

export interface Writer {
  /** Writes the rows and the checkpoint in ONE transaction: both commit or neither does. */
  writeBatch(rows: Row[] | Batch, checkpoint: CheckpointUpdate, readBack: boolean): Promise<BatchResult>;
  /**
   * A table without a key: every batch goes into one transaction that only `finish` commits, so a crash
   * leaves nothing behind and a re-run starts clean. `begin` fails when the target table is not empty.
   */
  beginWhole(): Promise<void>;
  appendWhole(rows: Row[]): Promise<number>;
  finishWhole(checkpoint: CheckpointUpdate): Promise<void>;
  /**
   * `--dry-run`: writes the rows exactly as `writeBatch` would, reads them back, then ROLLS BACK: the
   * target is left as it was and no checkpoint is touched. Optional: without it `--dry-run` cannot try
   * writes into this database.
   */
  trialBatch?(rows: Row[]): Promise<BatchResult>;
  /**
   * Following (issue 22): applies the changes IN ORDER and writes the follow checkpoint, in ONE transaction:
   * all commit or none does. Upserts replace the whole row whatever the plan's `onConflict`. Fails with
   * follow-state.ts followLeaseLost when another owner holds the follow record's lease. Every target implements it.
   */
  applyChanges(changes: TargetChange[], checkpoint: FollowCheckpoint): Promise<ApplyResult>;
  close(): Promise<void>;
}

/**
 * A change to the writer's table in target form: the full new row (in WriteSpec.columns order), the key of
 * a row to delete (in WriteSpec.key order), or every row removed. An update that changes the key comes as a
 * delete of the old key followed by an upsert of the new row.
 */
export type TargetChange = { op: 'upsert'; row: Row } | { op: 'delete'; key: Row } | { op: 'truncate' };

export interface ApplyResult {
  /** Rows upserted. */
  upserted: number;
  /** Rows the deletes and truncates removed (a delete of a key the target lacks removes none). */
  deleted: number;
}

/** The error of a checkpoint update that matched no row: another run took this worker's lease over. */
export function leaseTakenOver(checkpoint: CheckpointUpdate): RuntimeError {
  return new RuntimeError(
    `table ${checkpoint.table}: this worker's lease on chunk ${checkpoint.chunk} was taken over by another run`,
    { hint: 'another run of this plan is working on it; let it finish or run again later' },
  );
}
