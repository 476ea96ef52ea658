/**
 * What a read asks for and what it yields: batches of rows, possibly still in the form they were read in
 * (PostgreSQL's COPY text, MySQL's wire rows), decoded only when asked.
 */
import type { FieldBounds } from '../cache/key-template.js';
import type { Column, Row } from '../convert/value.js';
import type { RowSource } from './table.js';

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
 * decoded rows live only as long as the caller keeps them (not for the whole write: see engine/table-run.ts).
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

/** The rows of what a writer was given: rows, or a batch decoded now. */
export function rowsOf(input: Row[] | Batch): Row[] {
  return Array.isArray(input) ? input : input.rows();
}
