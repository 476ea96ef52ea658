/**
 * What the engine needs of a database: a small core every database implements, and optional named
 * capabilities the engine asks for (`if (dialect.splitter) …`), as kysely's Dialect hands out a driver, an
 * adapter and an introspector. One folder per database implements it (postgres/, mysql/, ...); the engine
 * never imports a driver. Rows cross this boundary in the one representation of `convert/value.ts`.
 */

import type { Column, Row } from '../convert/value.js';
import { type Batch, type CopyJson, type ReadSpec, rowsBatch } from './batch.js';
import type { ChangeCapture } from './changes.js';
import type { StateStore } from './state-store.js';
import type { RowSource, TableInfo, TableRef } from './table.js';
import type { Writer, WriteSpec } from './writer.js';

export type DialectName = 'postgres' | 'mysql' | 'sqlite';

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
  /** Rows of `columns` whose key (indexes into columns) equals one of `keys`; any order. */
  fetchByKeys(ref: TableRef, columns: Column[], key: number[], keys: Row[]): Promise<Row[]>;
  openWriter(spec: WriteSpec): Promise<Writer>;
  /** The checkpoint store in the state table of that name (its own connection). */
  state(table: string): Promise<StateStore>;
  close(): Promise<void>;

  // Capabilities: each absent where the database lacks it, and the engine then does without.
  readonly rawBatches?: RawBatchReader;
  readonly copyCodec?: CopyTextCodec;
  readonly splitter?: KeySplitter;
  readonly digester?: ChunkDigester;
  readonly tableCreator?: TableCreator;
  /** Following the source's committed changes (`run --follow`): see changes.ts. */
  readonly changeCapture?: ChangeCapture;
}

/**
 * Keyset reads (`spec.key` not empty) as batches kept in the form they were read in (PostgreSQL: COPY
 * text, MySQL: wire rows), decoded only when asked for. Without it the engine reads with readBatches.
 */
export interface RawBatchReader {
  readKeyedBatches(spec: ReadSpec): AsyncIterable<Batch>;
}

/**
 * This database's COPY text (the `copyText` of its batches): rows encoded into it for its writer, and the
 * cache's row JSON written straight from it, so a batch is not encoded or decoded again.
 */
export interface CopyTextCodec {
  /**
   * Rows of `columns` as a Batch in the form this database's writer sends them (PostgreSQL: COPY text in
   * its own output form, see postgres/codec.ts copyEncoderFor), to be written, checked and cached.
   */
  encodeBatch(columns: Column[], rows: Row[]): Batch;
  /** The CopyJson for `columns`, as JSON objects with `names` as keys; `keyColumns` decoded for each row. */
  copyJson(columns: Column[], names: string[], keyColumns: number[]): CopyJson;
}

/** Key values that split a table into chunks (engine/chunks.ts). Without it a table is one chunk. */
export interface KeySplitter {
  /**
   * Key values every `every` rows in key order (the last key of each full step); [] when it has fewer rows.
   */
  keyBoundaries(spec: { from: RowSource; columns: Column[]; key: number[]; every: number }): Promise<Row[]>;
  /**
   * The smallest and largest value of an integer column (its digits), null when no row has one. Read from
   * the key's index at once, where keyBoundaries steps through every index entry: a dense integer key is
   * split by value instead (engine/chunks.ts).
   */
  intExtent(spec: { from: RowSource; column: Column }): Promise<[string, string] | null>;
}

/** Which rows a chunk digest covers, and in what form it is computed. */
export interface DigestSpec {
  from: RowSource;
  columns: Column[];
  key: number[];
  after: Row | null;
  until: Row | null;
  limit?: number;
  /** One of ChunkDigester.digestForms'; the dialect's default when absent. */
  form?: string;
}

/** A chunk digest: its row count, the digest, and the last key covered when `limit` cut the range. */
export interface ChunkDigest {
  count: number;
  digest: string;
  lastKey: Row | null;
}

/**
 * Digests of key ranges computed inside the database, so `migrate verify` compares ranges without
 * downloading a row (verify/chunked.ts).
 */
export interface ChunkDigester {
  /**
   * An order-independent digest (count + aggregate of per-row hashes) of the rows of `columns` with key in
   * (`after`, `until`] (null: open end). `limit`: cover only the first `limit` rows in key order; `lastKey`
   * is then the key of the last of them (null when the range held fewer than `limit` rows: the digest reached
   * `until` or the end). `key` empty: the whole source, `after`/`until`/`limit` ignored. Digests are
   * comparable between two databases of the same dialect for columns of identical types (equal exactly when
   * the rows are equal) when both are computed in the same `form`, one of {@link digestForms}' (the dialect's
   * default when absent).
   */
  chunkDigest(spec: DigestSpec): Promise<ChunkDigest>;
  /** The forms of digest this server can compute, best (cheapest) first. */
  digestForms(): Promise<string[]>;
}

/** `createTables`: creating a target table from the mapped columns. */
export interface TableCreator {
  /**
   * The DDL that creates a table of these columns (types already mapped for this database by `type-map.ts`,
   * names as in the target) with a PRIMARY KEY on `key` (none when empty); every identifier quoted. Shown by
   * `--dry-run`, run by `createTable`.
   */
  createTableSql(ref: TableRef, columns: Column[], key: string[]): Promise<string[]>;
  /** Runs exactly the statements of `createTableSql`. */
  createTable(ref: TableRef, columns: Column[], key: string[]): Promise<void>;
}

/** A keyed read as batches: in the form read where the source can (rawBatches), else as decoded rows. */
export async function* readKeyed(source: Dialect, spec: ReadSpec): AsyncGenerator<Batch> {
  if (source.rawBatches) yield* source.rawBatches.readKeyedBatches(spec);
  else for await (const rows of source.readBatches(spec)) yield rowsBatch(rows);
}
