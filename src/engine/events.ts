/**
 * What the engine reports while it works. The CLI turns these into progress bars, plain lines, `--json`
 * lines and the summary; the engine never prints.
 */

export interface TableCounts {
  read: number;
  written: number;
  cached: number;
  verified: number;
  mismatches: number;
  /** Rows not migrated (rejected values under `invalid: skip`). */
  skipped: number;
  /** MySQL zero dates written as NULL (`zeroDates: null`); the rows are migrated. */
  nulled: number;
  /** Rows migrated but not cached, by reason (bad key, value too large, NULL column, server down). */
  cacheSkipped: Record<string, number>;
}

export function emptyCounts(): TableCounts {
  return {
    read: 0,
    written: 0,
    cached: 0,
    verified: 0,
    mismatches: 0,
    skipped: 0,
    nulled: 0,
    cacheSkipped: {},
  };
}

/** Adds `b` into `a`. */
export function addCounts(a: TableCounts, b: TableCounts): void {
  a.read += b.read;
  a.written += b.written;
  a.cached += b.cached;
  a.verified += b.verified;
  a.mismatches += b.mismatches;
  a.skipped += b.skipped;
  a.nulled += b.nulled;
  for (const [why, n] of Object.entries(b.cacheSkipped)) a.cacheSkipped[why] = (a.cacheSkipped[why] ?? 0) + n;
}

export interface Mismatch {
  table: string;
  key: string;
  /** Where the difference is: the target row (missing or different) or the cache entry. */
  in: 'target' | 'cache';
  problem: 'missing' | 'different' | 'extra';
  columns?: string[];
}

/** `run --dry-run`: what the trial of one table found (nothing was written, no cache touched). */
export interface TrialResult {
  table: string;
  estimatedRows: number;
  key: string[];
  sampled: number;
  converted: number;
  rejected: number;
  wouldWrite: number;
  mismatches: Mismatch[];
  cacheKeys: number;
  cacheSkipped: Record<string, number>;
  sampleKey: string | null;
  maxKeyBytes: number;
  maxValueBytes: number;
  /** Zero dates in the sample that would be written as NULL (`zeroDates: null`). */
  nulled: number;
  /**
   * `createTables`: the target table does not exist; a real run creates it with these statements. The
   * dry run does not (MySQL commits DDL at once), so there is no trial write for the table.
   */
  createSql: string[] | null;
}

export type MigrateEvent =
  | { event: 'run-start'; plan: string; source: string; target: string; tables: string[]; dryRun: boolean }
  | {
      event: 'table-start';
      table: string;
      estimatedRows: number;
      resumedFrom: string | null;
      rowsDone: number;
      alreadyDone: boolean;
    }
  /** `heldBy`: the live runs holding the chunks this run could not take (owner labels), when that is why. */
  | { event: 'table-skip'; table: string; reason: string; heldBy?: string[] }
  /** `createTables`: the target table did not exist and was created with these statements. */
  | { event: 'table-created'; table: string; sql: string[] }
  | { event: 'batch'; table: string; chunk: number; rows: number; lastKey: string; counts: TableCounts }
  | { event: 'warning'; table?: string; message: string }
  | ({ event: 'mismatch' } & Mismatch)
  | { event: 'table-done'; table: string; counts: TableCounts; seconds: number; complete: boolean }
  | ({ event: 'dry-run-table' } & TrialResult)
  | {
      event: 'summary';
      dryRun?: false;
      ok: boolean;
      interrupted: boolean;
      tables: { table: string; counts: TableCounts; seconds: number; complete: boolean }[];
      seconds: number;
      reportFiles: string[];
    }
  /** The end of `run --dry-run`: `ok` when no trial found a row that would arrive changed. */
  | { event: 'summary'; dryRun: true; ok: boolean; tables: number };

export interface EventSink {
  emit(event: MigrateEvent): void;
}
