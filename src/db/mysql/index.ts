/** The MySQL/MariaDB dialect: one shared connection, one per reader, one per writer, one for state. */
import type { Column, Row } from '../../convert/value.js';
import { maskUrl } from '../../secrets.js';
import type { Batch, ReadSpec } from '../batch.js';
import type { ChangeCapture } from '../changes.js';
import type { Dialect, KeySplitter, RawBatchReader, TableCreator } from '../dialect.js';
import type { StateStore } from '../state-store.js';
import type { RowSource, TableInfo, TableRef } from '../table.js';
import type { Writer, WriteSpec } from '../writer.js';
import { MysqlChangeCapture } from './changes/index.js';
import { connectMysql, endQuietly, type MysqlSession } from './connect.js';
import { createTableSql } from './ddl.js';
import { describeQuery, describeTable } from './introspect.js';
import {
  checkRead,
  fetchByKeys,
  intExtent,
  keyBoundaries,
  readAll,
  readKeyset,
  readKeysetWire,
} from './read.js';
import { quoteTable } from './sql.js';
import { MysqlStateStore } from './state.js';
import { passwordParamToUserInfo } from './url.js';
import { keyCollation, MysqlWriter } from './write.js';

export class MysqlDialect implements Dialect, RawBatchReader, KeySplitter, TableCreator {
  readonly name = 'mysql' as const;
  readonly display: string;
  // Each capability is served by this class's own methods (they share its connections): the member is `this`.
  readonly rawBatches: RawBatchReader = this;
  readonly splitter: KeySplitter = this;
  readonly tableCreator: TableCreator = this;
  /** Its streams open their own connections (not tracked by close(): a stream's close() ends them). */
  readonly changeCapture: ChangeCapture = new MysqlChangeCapture(
    () => this.shared(),
    () => connectMysql(this.url),
  );
  private readonly sessions = new Set<MysqlSession>();
  private main: Promise<MysqlSession> | null = null;

  private readonly url: string;

  constructor(url: string) {
    this.url = passwordParamToUserInfo(url);
    this.display = maskUrl(url);
  }

  private async connect(): Promise<MysqlSession> {
    const session = await connectMysql(this.url);
    this.sessions.add(session);
    return session;
  }

  private shared(): Promise<MysqlSession> {
    if (!this.main) {
      this.main = this.connect();
      this.main.catch(() => {
        this.main = null;
      });
    }
    return this.main;
  }

  async ping(): Promise<void> {
    await (await this.shared()).conn.query('SELECT 1');
  }

  async describeTable(ref: TableRef): Promise<TableInfo | null> {
    return describeTable(await this.shared(), ref);
  }

  async describeQuery(sql: string): Promise<Column[]> {
    return describeQuery(await this.shared(), sql);
  }

  async checkRead(from: RowSource): Promise<string | null> {
    return checkRead((await this.shared()).conn, from);
  }

  async *readBatches(spec: ReadSpec): AsyncGenerator<Row[]> {
    // Its own connection: the engine reads the next batch while the previous one is written.
    const session = await this.connect();
    let clean = false;
    try {
      yield* spec.key.length > 0 ? readKeyset(session.conn, spec) : readAll(session.conn, spec);
      clean = true;
    } finally {
      this.sessions.delete(session);
      // A streamed result left half-read cannot be ended politely: the socket goes.
      if (clean || spec.key.length > 0) await endQuietly(session.conn);
      else session.conn.destroy();
    }
  }

  async fetchByKeys(ref: TableRef, columns: Column[], key: number[], keys: Row[]): Promise<Row[]> {
    if (keys.length === 0) return [];
    return fetchByKeys((await this.shared()).conn, quoteTable(ref), columns, key, keys);
  }

  async openWriter(spec: WriteSpec): Promise<Writer> {
    const session = await this.connect();
    const writer = new MysqlWriter(session, spec, await keyCollation(session, spec));
    const close = writer.close.bind(writer);
    writer.close = async () => {
      this.sessions.delete(session);
      await close();
    };
    return writer;
  }

  async state(table: string): Promise<StateStore> {
    // Its own connection, so the store's short transactions never mix with a batch's.
    return new MysqlStateStore(await this.connect(), table);
  }

  // RawBatchReader
  async *readKeyedBatches(spec: ReadSpec): AsyncGenerator<Batch> {
    const session = await this.connect();
    try {
      yield* readKeysetWire(session.conn, spec);
    } finally {
      this.sessions.delete(session);
      await endQuietly(session.conn);
    }
  }

  // KeySplitter
  async intExtent(spec: { from: RowSource; column: Column }): Promise<[string, string] | null> {
    return intExtent((await this.shared()).conn, spec);
  }

  async keyBoundaries(spec: {
    from: RowSource;
    columns: Column[];
    key: number[];
    every: number;
  }): Promise<Row[]> {
    return keyBoundaries((await this.shared()).conn, spec);
  }

  // TableCreator
  async createTableSql(ref: TableRef, columns: Column[], key: string[]): Promise<string[]> {
    return createTableSql(ref, columns, key, await this.shared());
  }

  async createTable(ref: TableRef, columns: Column[], key: string[]): Promise<void> {
    const session = await this.shared();
    for (const sql of createTableSql(ref, columns, key, session)) await session.conn.query(sql);
  }

  async close(): Promise<void> {
    const all = [...this.sessions];
    this.sessions.clear();
    this.main = null;
    await Promise.all(all.map((s) => endQuietly(s.conn)));
  }
}
