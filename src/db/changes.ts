/**
 * Change capture (`run --follow`, issue 22): what the engine needs of a source that streams its committed
 * changes. A dialect that can offers `Dialect.changeCapture`; PostgreSQL reads a logical slot (pgoutput),
 * MySQL/MariaDB the row binlog. Positions are opaque text to the engine: each source writes and reads its own.
 */
import type { Column, Row, Value } from '../convert/value.js';
import type { TableRef } from './table.js';

/** The source tables followed, each read in `columns` order with its key (indexes into columns). */
export interface FollowSpec {
  /** The plan's name: the slot and publication names are made from it. */
  plan: string;
  tables: { ref: TableRef; columns: Column[]; key: number[] }[];
}

/** A value PostgreSQL did not send because the update left it unchanged (a TOASTed column). */
export const UNCHANGED: unique symbol = Symbol('unchanged');

export type ChangeEvent =
  /** A source transaction begins; its rows follow, then its `commit`. */
  | { kind: 'begin' }
  /**
   * One row change of the followed table `table` (an index into FollowSpec.tables). `key`: the key values
   * the row had before the change (for an insert, its new key). `row`: the new row in the table's column
   * order (absent for a delete); UNCHANGED where the source did not send a column.
   */
  | {
      kind: 'row';
      table: number;
      op: 'insert' | 'update' | 'delete';
      key: Row;
      row?: (Value | typeof UNCHANGED)[];
    }
  /** Every row of these tables was removed. */
  | { kind: 'truncate'; tables: number[] }
  /** The table's columns on the source no longer match its FollowSpec columns (DDL during the follow). */
  | { kind: 'schema'; table: number; message: string }
  /** The transaction committed; `position` is where reading resumes after it. */
  | { kind: 'commit'; position: string }
  /** No followed change, but the stream moved on (keepalive, another table's commit): `position` is applied. */
  | { kind: 'tick'; position: string };

/** The source's settings and rights for following, checked before anything starts (validate, --dry-run). */
export interface ChangeCapture {
  /** What prevents following these tables (wal_level, privileges, binlog settings, a table without key). */
  check(spec: FollowSpec): Promise<string[]>;
  /** Before the copy: creates what the stream needs (slot, publication) and returns the position to read from. */
  start(spec: FollowSpec): Promise<string>;
  /** Changes committed after `from`, in commit order; nothing is read while the consumer is busy. */
  open(spec: FollowSpec, from: string): ChangeStream;
  /** The source's current end, for lag and for `cutover`. */
  current(): Promise<string>;
  /** After cut-over or `abandon`: drops what `start` created (the slot retains WAL until then). */
  release(spec: FollowSpec): Promise<void>;
}

export interface ChangeStream extends AsyncIterable<ChangeEvent> {
  /** Called only after the target committed everything up to `position`: the source may then forget it. */
  acknowledge(position: string): Promise<void>;
  close(): Promise<void>;
}
