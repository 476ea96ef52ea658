/** The PostgreSQL dialect: one read connection, one write connection per writer, one for state. */
import type pg from 'pg';
import type { Column, Row } from '../../convert/value.js';
import { maskUrl } from '../../secrets.js';
import { type Batch, type CopyJson, type ReadSpec, rowsBatch } from '../batch.js';
import type { ChangeCapture } from '../changes.js';
import type {
  ChunkDigest,
  ChunkDigester,
  CopyTextCodec,
  Dialect,
  DigestSpec,
  KeySplitter,
  RawBatchReader,
  TableCreator,
} from '../dialect.js';
import type { StateStore } from '../state-store.js';
import type { RowSource, TableInfo, TableRef } from '../table.js';
import type { Writer, WriteSpec } from '../writer.js';
import { PostgresChangeCapture } from './changes/capture.js';
import { copyEncoderFor, encodeCopyText } from './codec.js';
import { connectPostgres } from './connect.js';
import { copyJson } from './copy-json.js';
import { createTableSql } from './ddl.js';
import { chunkDigest, digestForms } from './digest.js';
import { describeQuery, describeTable } from './introspect.js';
import {
  CopyBatch,
  checkRead,
  fetchByKeys,
  intExtent,
  keyBoundaries,
  readAll,
  readKeyset,
  readKeysetText,
  rowDecoder,
  typeSignature,
} from './read.js';
import { quoteTable } from './sql.js';
import { PostgresStateStore } from './state.js';
import { PostgresWriter } from './write.js';

/** Connections the server closed or that failed: never reused. */
const broken = new WeakSet<pg.Client>();

export class PostgresDialect
  implements Dialect, RawBatchReader, CopyTextCodec, KeySplitter, ChunkDigester, TableCreator
{
  readonly name = 'postgres' as const;
  readonly display: string;
  // Each capability is served by this class's own methods (they share its connections): the member is `this`.
  readonly rawBatches: RawBatchReader = this;
  readonly copyCodec: CopyTextCodec = this;
  readonly splitter: KeySplitter = this;
  readonly digester: ChunkDigester = this;
  readonly tableCreator: TableCreator = this;
  readonly changeCapture: ChangeCapture;
  private readonly clients: pg.Client[] = [];
  private main: pg.Client | null = null;

  constructor(private readonly url: string) {
    this.display = maskUrl(url);
    this.changeCapture = new PostgresChangeCapture(url, () => this.shared());
  }

  private async connect(): Promise<pg.Client> {
    const client = await connectPostgres(this.url);
    client.on('error', () => broken.add(client));
    client.on('end', () => broken.add(client));
    this.clients.push(client);
    return client;
  }

  /** The connection for short queries; replaced when the server dropped it. */
  private async shared(): Promise<pg.Client> {
    if (this.main && broken.has(this.main)) {
      this.forget(this.main);
      this.main = null;
    }
    this.main ??= await this.connect();
    return this.main;
  }

  async ping(): Promise<void> {
    await (await this.shared()).query('SELECT 1');
  }

  async describeTable(ref: TableRef): Promise<TableInfo | null> {
    return describeTable(await this.shared(), ref);
  }

  async describeQuery(sql: string): Promise<Column[]> {
    return describeQuery(await this.shared(), sql);
  }

  async checkRead(from: RowSource): Promise<string | null> {
    return checkRead(await this.shared(), from);
  }

  async *readBatches(spec: ReadSpec): AsyncGenerator<Row[]> {
    // Its own connection: the engine reads the next batch while the previous one is written.
    const client = await this.connect();
    try {
      yield* spec.key.length > 0 ? readKeyset(client, spec) : readAll(client, spec);
    } finally {
      await this.end(client);
    }
  }

  async fetchByKeys(ref: TableRef, columns: Column[], key: number[], keys: Row[]): Promise<Row[]> {
    return fetchByKeys(await this.shared(), quoteTable(ref), columns, key, keys);
  }

  async openWriter(spec: WriteSpec): Promise<Writer> {
    const client = await this.connect();
    const writer = new PostgresWriter(client, spec);
    const close = writer.close.bind(writer);
    writer.close = async () => {
      await close();
      this.forget(client);
    };
    return writer;
  }

  async state(table: string): Promise<StateStore> {
    // Its own connection, so the store's short transactions never mix with a batch's.
    const client = await this.connect();
    const store = new PostgresStateStore(client, table);
    const close = store.close.bind(store);
    store.close = async () => {
      this.forget(client);
      await close();
    };
    return store;
  }

  // RawBatchReader
  async *readKeyedBatches(spec: ReadSpec): AsyncGenerator<Batch> {
    const client = await this.connect();
    try {
      yield* readKeysetText(client, spec);
    } finally {
      await this.end(client);
    }
  }

  // CopyTextCodec
  encodeBatch(columns: Column[], rows: Row[]): Batch {
    if (rows.length === 0) return rowsBatch(rows);
    const text = encodeCopyText(rows, columns.map(copyEncoderFor));
    return new CopyBatch(text, typeSignature(columns), columns.length, rowDecoder(columns));
  }

  copyJson(columns: Column[], names: string[], keyColumns: number[]): CopyJson {
    return copyJson(columns, names, keyColumns);
  }

  // KeySplitter
  async intExtent(spec: { from: RowSource; column: Column }): Promise<[string, string] | null> {
    return intExtent(await this.shared(), spec);
  }

  async keyBoundaries(spec: {
    from: RowSource;
    columns: Column[];
    key: number[];
    every: number;
  }): Promise<Row[]> {
    return keyBoundaries(await this.shared(), spec);
  }

  // ChunkDigester
  async chunkDigest(spec: DigestSpec): Promise<ChunkDigest> {
    return chunkDigest(await this.shared(), spec);
  }

  async digestForms(): Promise<string[]> {
    return digestForms(await this.shared());
  }

  // TableCreator
  async createTableSql(ref: TableRef, columns: Column[], key: string[]): Promise<string[]> {
    return createTableSql(ref, columns, key);
  }

  async createTable(ref: TableRef, columns: Column[], key: string[]): Promise<void> {
    const client = await this.shared();
    for (const sql of createTableSql(ref, columns, key)) await client.query(sql);
  }

  private forget(client: pg.Client): void {
    const i = this.clients.indexOf(client);
    if (i >= 0) this.clients.splice(i, 1);
  }

  private async end(client: pg.Client): Promise<void> {
    this.forget(client);
    await client.end().catch(() => undefined);
  }

  async close(): Promise<void> {
    const all = this.clients.splice(0);
    this.main = null;
    await Promise.all(all.map((c) => c.end().catch(() => undefined)));
  }
}
