/** The state table's row, as every dialect reads it, turned into the engine's ChunkState. */
import { utcTime } from './follow-state.js';
import type { ChunkState } from './state-store.js';

/** Column values as drivers return them: counts may arrive as strings, numbers or bigints. */
export interface StateRow {
  plan: string;
  table_name: string;
  chunk: string | number | bigint;
  status: string;
  last_key: string | null;
  warmed_key: string | null;
  rows_read: string | number | bigint;
  rows_written: string | number | bigint;
  mismatches: string | number | bigint;
  skipped: string | number | bigint;
  mapping_hash: string;
  range_start?: string | null;
  range_end?: string | null;
  lease_owner: string | null;
  /** UTC, `YYYY-MM-DD HH:MM:SS[.f]` with an optional `+00`. */
  updated_at: string | null;
}

export function chunkStateFrom(r: StateRow, leaseLive: boolean): ChunkState {
  return {
    plan: r.plan,
    table: r.table_name,
    chunk: Number(r.chunk),
    status: r.status as ChunkState['status'],
    lastKey: r.last_key,
    warmedKey: r.warmed_key,
    rowsRead: Number(r.rows_read),
    rowsWritten: Number(r.rows_written),
    mismatches: Number(r.mismatches),
    skipped: Number(r.skipped),
    mappingHash: r.mapping_hash,
    rangeStart: r.range_start ?? null,
    rangeEnd: r.range_end ?? null,
    leaseOwner: r.lease_owner,
    leaseLive,
    updatedAt: utcTime(r.updated_at),
  };
}
