/**
 * What the engine needs of a database. One folder per database implements it (postgres/, mysql/, ...); the
 * engine never imports a driver. Rows cross this boundary in the one representation of `convert/value.ts`.
 */
import type { FieldBounds } from '../cache/key-template.js';
import type { Column, Row } from '../convert/value.js';
import { RuntimeError } from '../errors.js';

export type DialectName = 'postgres' | 'mysql' | 'sqlite';

export interface TableRef {
  schema: string | null;
  name: string;
}

export interface TableInfo {
  ref: TableRef;
  columns: Column[];
  primaryKey: string[] | null;
  /** Unique keys whose columns are all NOT NULL, usable for keyset pagination. */
  uniqueKeys: string[][];
  /**
   * Columns an INSERT must give a value: NOT NULL with no default, not generated and not filled by the
   * database (identity, serial, auto_increment, SQLite's rowid).
   */
  requiredColumns: string[];
  estimatedRows: number;
}

/** Where rows come from: a table (with an optional raw SQL filter) or a query. */
export type RowSource = { kind: 'table'; ref: TableRef; where?: string } | { kind: 'query'; sql: string };

export interface ReadSpec {
  from: RowSource;
  /** Columns to read, in this order; rows come back in it. */
  columns: Column[];
  /** Indexes into `columns` of the key, in key order. Empty: no key (read once, in one pass). */
  key: number[];
  batchSize: number;
  /**
   * Bytes a batch may take as read (COPY text, wire bytes, cell lengths): a batch ends after the row that
   * brings it to this many (its first row is always taken). Absent: batches are bounded by rows only.
   */
  maxBatchBytes?: number;
  /** Key values of the last row already done: reading starts after it. */
  after: Row | null;
  /** Key values of the last row to read (inclusive); null: to the end. */
  until?: Row | null;
}

/**
 * A batch of rows that may still be in the form it was read in (PostgreSQL: COPY text). Its rows are decoded
 * by `rows()`, anew on each call, so a batch that goes to the target as it was read is never decoded, and the
 * decoded rows live only as long as the caller keeps them (not for the whole write: see table-run.ts).
 */
export interface Batch {
  readonly count: number;
  /** The first and last rows, decoded (key ranges, checkpoints); undefined when the batch is empty. */
  readonly first: Row | undefined;
  readonly last: Row | undefined;
  rows(): Row[];
  /** The batch as PostgreSQL printed it with COPY … TO STDOUT, for a PostgreSQL writer to send on. */
  readonly copyText?: CopyText;
  /** The batch as MySQL's text protocol sent it (see mysql/wire.ts), for a transcoder (db/bridge/). */
  readonly wire?: WireRows;
}

/** Rows as MySQL's text protocol sent them: each row's fields, length-coded, one row after another. */
export interface WireRows {
  data: Buffer;
  /** Where each row starts in `data`; `starts[count]` is where the last one ends. */
  starts: Int32Array;
  count: number;
}

/** A batch's COPY text as read, with the column types it was read from. */
export interface CopyText {
  text: Buffer;
  /** Column kinds and database types in order (see postgres/read.ts typeSignature). */
  types: string;
}

/**
 * Canonical row JSON (convert/row-json.ts) written straight from COPY text lines, with only the columns a
 * cache key needs decoded: packing a batch's cache values without decoding its rows (PostgreSQL sources).
 */
export interface CopyJson extends FieldBounds {
  /**
   * Calls `visit` with the bounds of each line of `text`. During the call, `keyRow` decodes the line's key
   * columns, and `fieldStart`/`fieldEnd` say where the key columns' fields lie.
   */
  lines(text: Buffer, visit: (start: number, end: number) => void): void;
  /** The line being visited as a row with only the key columns set (the same array from line to line). */
  keyRow(): Row;
  /** Bytes `writeJson` needs at most for a line of `length` bytes whose fields all take the fast path. */
  maxBytes(length: number): number;
  /** Writes the line's row JSON into `out` at `at`; returns where it ends, or -1 when `out` is too small. */
  writeJson(text: Buffer, start: number, end: number, out: Buffer, at: number): number;
}

/** Rows already decoded, as a Batch. */
export function rowsBatch(rows: Row[]): Batch {
  return { count: rows.length, first: rows[0], last: rows[rows.length - 1], rows: () => rows };
}

/** A keyed read as batches: decoded on demand where the source can (readKeyedBatches), else as rows. */
export async function* readKeyed(source: Dialect, spec: ReadSpec): AsyncGenerator<Batch> {
  if (source.readKeyedBatches) yield* source.readKeyedBatches(spec);
  else for await (const rows of source.readBatches(spec)) yield rowsBatch(rows);
}

/** The rows of what a writer was given: rows, or a batch decoded now. */
export function rowsOf(input: Row[] | Batch): Row[] {
  return Array.isArray(input) ? input : input.rows();
}

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
   * target is left as it was and no checkpoint is touched.
   */
  trialBatch?(rows: Row[]): Promise<BatchResult>;
  close(): Promise<void>;
}

export type ChunkStatus = 'pending' | 'running' | 'done';

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

/** Checkpoints and leases, kept in the target database (PLAN.md "Checkpoints, resume and scale-out"). */
export interface StateStore {
  /** Creates the state table when missing. */
  ensure(): Promise<void>;
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

export interface Dialect {
  readonly name: DialectName;
  /** The URL with its password masked, for messages. */
  readonly display: string;
  /** Checks the connection; throws ConnectionError. */
  ping(): Promise<void>;
  describeTable(ref: TableRef): Promise<TableInfo | null>;
  describeQuery(sql: string): Promise<Column[]>;
  /**
   * Runs the source's own SQL (its `where`, or its query) on the server without reading a row (`LIMIT 0`):
   * the server's message when it refuses the statement (syntax, an unknown name, a type, a permission), null
   * when it takes it. Other failures (a lost connection) are thrown.
   */
  checkRead(from: RowSource): Promise<string | null>;
  /** Keyset-paginated reads (or one pass for a key-less source); `break` closes what it opened. */
  readBatches(spec: ReadSpec): AsyncIterable<Row[]>;
  /**
   * Optional: keyset reads (`spec.key` not empty) as batches decoded only when asked for (PostgreSQL: COPY
   * text). Without it the engine reads with readBatches.
   */
  readKeyedBatches?(spec: ReadSpec): AsyncIterable<Batch>;
  /**
   * Optional: the CopyJson of this database's COPY text (the `copyText` of its batches) for `columns`,
   * as JSON objects with `names` as keys; `keyColumns` are decoded for each row.
   */
  copyJson?(columns: Column[], names: string[], keyColumns: number[]): CopyJson;
  /**
   * Optional: rows of `columns` as a Batch in the form this database's writer sends them (PostgreSQL: COPY
   * text in its own output form, see postgres/codec.ts copyEncoderFor), to be written, checked and cached
   * (copyJson) without being encoded or decoded again.
   */
  encodeBatch?(columns: Column[], rows: Row[]): Batch;
  /**
   * Key values every `every` rows in key order (the last key of each full step), for splitting a table
   * into chunks; [] when it has fewer rows. Optional: without it a table is one chunk.
   */
  keyBoundaries?(spec: { from: RowSource; columns: Column[]; key: number[]; every: number }): Promise<Row[]>;
  /**
   * Optional: the smallest and largest value of an integer column (its digits), null when no row has one.
   * Read from the key's index at once, where keyBoundaries steps through every index entry: a dense
   * integer key is split by value instead (engine/chunks.ts).
   */
  intExtent?(spec: { from: RowSource; column: Column }): Promise<[string, string] | null>;
  /** Rows of `columns` whose key (indexes into columns) equals one of `keys`; any order. */
  fetchByKeys(ref: TableRef, columns: Column[], key: number[], keys: Row[]): Promise<Row[]>;
  /**
   * Optional: an order-independent digest (count + aggregate of per-row hashes) of the rows of `columns`
   * with key in (`after`, `until`] (null: open end), computed inside the database so no row is downloaded.
   * `limit`: cover only the first `limit` rows in key order; `lastKey` is then the key of the last of them
   * (null when the range held fewer than `limit` rows: the digest reached `until` or the end).
   * `key` empty: the whole source, `after`/`until`/`limit` ignored. Digests are comparable between two
   * databases of the same dialect for columns of identical types (equal exactly when the rows are equal)
   * when both are computed in the same `form`, one of {@link digestForms}' (the dialect's default when absent).
   */
  chunkDigest?(spec: {
    from: RowSource;
    columns: Column[];
    key: number[];
    after: Row | null;
    until: Row | null;
    limit?: number;
    form?: string;
  }): Promise<{ count: number; digest: string; lastKey: Row | null }>;
  /** With chunkDigest: the forms of digest this server can compute, best (cheapest) first. */
  digestForms?(): Promise<string[]>;
  openWriter(spec: WriteSpec): Promise<Writer>;
  /**
   * `createTables`: the DDL that creates a table of these columns (types already mapped for this database
   * by `type-map.ts`, names as in the target) with a PRIMARY KEY on `key` (none when empty); every
   * identifier quoted. Shown by `--dry-run`, run by `createTable`.
   */
  createTableSql?(ref: TableRef, columns: Column[], key: string[]): Promise<string[]>;
  /** Runs exactly the statements of `createTableSql`. */
  createTable?(ref: TableRef, columns: Column[], key: string[]): Promise<void>;
  /** The checkpoint store in the state table of that name (its own connection). */
  state(table: string): Promise<StateStore>;
  close(): Promise<void>;
}

export function parseTableRef(name: string): TableRef {
  const dot = name.indexOf('.');
  if (dot > 0 && dot < name.length - 1 && name.indexOf('.', dot + 1) < 0) {
    return { schema: name.slice(0, dot), name: name.slice(dot + 1) };
  }
  return { schema: null, name };
}

export function formatTableRef(ref: TableRef): string {
  return ref.schema ? `${ref.schema}.${ref.name}` : ref.name;
}

/** The error of a checkpoint update that matched no row: another run took this worker's lease over. */
export function leaseTakenOver(checkpoint: CheckpointUpdate): RuntimeError {
  return new RuntimeError(
    `table ${checkpoint.table}: this worker's lease on chunk ${checkpoint.chunk} was taken over by another run`,
    { hint: 'another run of this plan is working on it; let it finish or run again later' },
  );
}
