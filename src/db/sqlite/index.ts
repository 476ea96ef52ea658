/**
 * The SQLite dialect (better-sqlite3), as a source and as a target. URL forms: see url.ts.
 *
 * One connection serves everything (see connection.ts for why that is safe with a synchronous driver); a
 * key-less source is read over a second, read-only connection, whose cursor stays open across batches.
 * Used as a target (a writer or the state store is opened), the database is switched to WAL mode, so
 * readers of the file are never blocked by the migration's writes.
 */
import type { Column, Row } from '../../convert/value.js';
import type { ReadSpec } from '../batch.js';
import type { Dialect, TableCreator } from '../dialect.js';
import type { StateStore } from '../state-store.js';
import type { RowSource, TableInfo, TableRef } from '../table.js';
import type { Writer, WriteSpec } from '../writer.js';
import { type Db, openSqlite, SqliteConnection } from './connection.js';
import { createTableSql } from './ddl.js';
import { describeQuery, describeTable } from './introspect.js';
import { checkRead, KeyLookup, keyEncoder, readAll, readKeyset, rowDecoder } from './read.js';
import { quoteTable } from './sql.js';
import { SqliteStateStore } from './state.js';
import { sqlitePath } from './url.js';
import { SqliteWriter } from './write.js';

export class SqliteDialect implements Dialect, TableCreator {
  readonly name = 'sqlite' as const;
  readonly display: string;
  // Its one capability is served by this class's own methods (they share its connection).
  readonly tableCreator: TableCreator = this;
  readonly path: string;
  private conn: SqliteConnection | null = null;
  private walChecked = false;
  private readonly readers = new Set<Db>();

  constructor(url: string) {
    this.display = url;
    this.path = sqlitePath(url);
  }

  private main(): SqliteConnection {
    this.conn ??= new SqliteConnection(openSqlite(this.path, this.display), this.display);
    return this.conn;
  }

  /** The connection, set up for writing: WAL journal (kept by the file once set). */
  private forWriting(): SqliteConnection {
    const conn = this.main();
    if (!this.walChecked) {
      this.walChecked = true;
      try {
        conn.db.pragma('journal_mode = WAL');
      } catch {
        // Another process holds the file in a way that forbids the switch: the rollback journal works too.
      }
    }
    return conn;
  }

  async ping(): Promise<void> {
    this.main().db.prepare('SELECT 1').get();
  }

  async describeTable(ref: TableRef): Promise<TableInfo | null> {
    return describeTable(this.main().db, ref);
  }

  async describeQuery(sql: string): Promise<Column[]> {
    return describeQuery(this.main().db, sql);
  }

  async checkRead(from: RowSource): Promise<string | null> {
    return checkRead(this.main().db, from);
  }

  async *readBatches(spec: ReadSpec): AsyncGenerator<Row[]> {
    if (spec.key.length > 0) {
      yield* readKeyset(this.main().db, spec);
      return;
    }
    const db = openSqlite(this.path, this.display, { readonly: true });
    this.readers.add(db);
    try {
      yield* readAll(db, spec);
    } finally {
      this.readers.delete(db);
      db.close();
    }
  }

  async fetchByKeys(ref: TableRef, columns: Column[], key: number[], keys: Row[]): Promise<Row[]> {
    if (keys.length === 0) return [];
    const db = this.main().db;
    const encode = keyEncoder(columns, key);
    const raw = new KeyLookup(db, quoteTable(ref), columns, key).find(keys.map(encode));
    return raw.map(rowDecoder(columns, key, ref.name));
  }

  async openWriter(spec: WriteSpec): Promise<Writer> {
    return new SqliteWriter(this.forWriting(), spec);
  }

  // TableCreator
  async createTableSql(ref: TableRef, columns: Column[], key: string[]): Promise<string[]> {
    return createTableSql(ref, columns, key);
  }

  async createTable(ref: TableRef, columns: Column[], key: string[]): Promise<void> {
    const db = this.forWriting().db;
    for (const sql of createTableSql(ref, columns, key)) db.exec(sql);
  }

  async state(table: string): Promise<StateStore> {
    return new SqliteStateStore(this.forWriting(), table);
  }

  async close(): Promise<void> {
    for (const db of this.readers) {
      try {
        db.close();
      } catch {
        // A cursor still open on it: the process is ending this read anyway.
      }
    }
    this.readers.clear();
    this.conn?.close();
    this.conn = null;
  }
}
