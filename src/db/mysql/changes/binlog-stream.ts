/**
 * A ChangeStream over @vlasky/zongji: its synchronous 'binlog' events become ChangeEvents in a queue the
 * consumer drains; when the queue holds HIGH_WATER events the binlog connection is paused (mysql2 stops
 * handing packets on, the socket stops reading, the server's dump thread blocks on TCP), and resumed when the
 * consumer has taken it down to LOW_WATER. With binlog_row_metadata=FULL zongji itself never pauses or
 * resumes that connection, so the two do not interfere.
 *
 * Transactions: a MariaDB GTID event (or MySQL's BEGIN) opens one, Xid (or a COMMIT statement, for
 * non-transactional tables) ends it. `begin` is sent at the transaction's first row of a followed table, so
 * a transaction without any becomes a `tick`; its `commit` carries the position after the Xid, where
 * zongji's resume pair stands then (it never advances inside a transaction). Heartbeats (asked for with
 * @master_heartbeat_period) and rotations between transactions are ticks; consecutive ticks are merged.
 *
 * Connections: zongji takes its two (control and binlog) from connect.ts, so TLS, keepalive and the session's
 * settings are ours; the binlog connection's config gets `jsonStrings` (MySQL JSON as text).
 */
import type { Socket } from 'node:net';
import ZongJi, {
  type AnyBinlogEvent,
  type BinlogEventByTypeName,
  type BinlogEventTypeName,
} from '@vlasky/zongji';
import type { Connection as CoreConnection } from 'mysql2';
import type mysql from 'mysql2/promise';
import { RuntimeError } from '../../../errors.js';
import type { ChangeEvent, ChangeStream } from '../../changes.js';
import { describe, endQuietly, type MysqlSession } from '../connect.js';
import { type BinlogPosition, formatPosition } from './position.js';
import {
  ddlEffect,
  type FollowedTable,
  includeSchema,
  keyOf,
  type MappedColumn,
  mapKey,
  mapRow,
  shapeMismatch,
  tableKey,
} from './tables.js';

const HIGH_WATER = 2000;
const LOW_WATER = 200;
/** Seconds between the server's heartbeats while the binlog is idle. */
const HEARTBEAT_SECONDS = 5;
const STOP_WAIT_MS = 2000;

export interface BinlogStreamOptions {
  /** The followed tables, resolved when the stream starts. */
  tables: () => Promise<FollowedTable[]>;
  from: BinlogPosition;
  serverId: number;
  connect: () => Promise<MysqlSession>;
}

const is = <N extends BinlogEventTypeName>(e: AnyBinlogEvent, name: N): e is BinlogEventByTypeName<N> =>
  e.getTypeName() === name;

const core = (conn: mysql.Connection): CoreConnection =>
  (conn as unknown as { connection: CoreConnection }).connection;

export class BinlogStream implements ChangeStream {
  private readonly queue: ChangeEvent[] = [];
  private head = 0;
  private wake: (() => void) | null = null;
  private failure: unknown = null;
  private closed = false;
  private paused = false;
  private zongji: ZongJi | null = null;
  private binlog: MysqlSession | null = null;
  private control: MysqlSession | null = null;
  private readonly byName = new Map<string, FollowedTable>();
  /** The followed tables by the table id of their last TableMap (absent: not followed, or stopped). */
  private readonly byId = new Map<number, FollowedTable>();
  private readonly changed = new Set<FollowedTable>();
  private inTransaction = false;
  private begun = false;
  private tables: FollowedTable[] = [];
  /** The position of the last commit or tick given. */
  private last: string;
  private readonly started: Promise<void>;

  constructor(private readonly options: BinlogStreamOptions) {
    this.last = formatPosition(options.from);
    this.started = this.start().catch((error) => this.fail(error));
  }

  private async start(): Promise<void> {
    this.tables = await this.options.tables();
    for (const t of this.tables) this.byName.set(tableKey(t.schema, t.name), t);
    const control = await this.options.connect();
    this.control = control;
    const binlog = await this.options.connect();
    this.binlog = binlog;
    if (this.closed) return;
    await binlog.conn.query(`SET @master_heartbeat_period = ${HEARTBEAT_SECONDS * 1_000_000_000}`);
    const conn = core(binlog.conn);
    (conn.config as { jsonStrings?: boolean }).jsonStrings = true;
    conn.on('error', (error: unknown) => this.fail(error));
    conn.on('end', () => this.fail(new Error('the server closed the binlog connection')));
    const zongji = new ZongJi({});
    // Both connections given: zongji creates none of its own (index.js, _establishConnection).
    zongji.ctrlConnection = core(control.conn);
    zongji.connection = conn;
    zongji.on('error', (error) => this.fail(error));
    zongji.on('binlog', (event) => {
      try {
        this.onEvent(event);
      } catch (error) {
        this.fail(error);
      }
    });
    this.zongji = zongji;
    zongji.start({
      filename: this.options.from.file,
      position: this.options.from.pos,
      serverId: this.options.serverId,
      includeSchema: includeSchema(this.tables),
    });
  }

  private position(): BinlogPosition {
    const z = this.zongji!;
    return { file: String(z.get('filename')), pos: Number(z.get('position')) };
  }

  private onEvent(event: AnyBinlogEvent): void {
    // After a failure nothing more is given: the consumer gets what came before it, then the error.
    if (this.closed || this.failure) return;
    if (is(event, 'MariadbGtid')) {
      if (!event.standalone) this.open();
    } else if (is(event, 'Query')) this.onQuery(event);
    else if (is(event, 'TableMap')) this.onTableMap(event);
    else if (is(event, 'WriteRows')) this.onRows(event.tableId, event.rows, 'insert');
    else if (is(event, 'DeleteRows')) this.onRows(event.tableId, event.rows, 'delete');
    else if (is(event, 'UpdateRows')) this.onUpdate(event);
    else if (is(event, 'Xid')) this.end();
    else if (is(event, 'XaPrepare')) this.onXa();
    else if ((is(event, 'Heartbeat') || is(event, 'Rotate')) && !this.inTransaction) this.tick();
  }

  private open(): void {
    this.inTransaction = true;
    this.begun = false;
  }

  private end(): void {
    if (this.begun) this.commit();
    else this.tick();
    this.inTransaction = false;
    this.begun = false;
  }

  private commit(): void {
    this.last = formatPosition(this.position());
    this.push({ kind: 'commit', position: this.last });
  }

  /** A tick, unless the position did not move (the rotation at the start of a dump says where it starts). */
  private tick(): void {
    const position = formatPosition(this.position());
    if (position === this.last) return;
    this.last = position;
    const last = this.queue.length > this.head ? this.queue[this.queue.length - 1] : undefined;
    if (last?.kind === 'tick') last.position = position;
    else this.push({ kind: 'tick', position });
  }

  private onQuery(event: BinlogEventByTypeName<'Query'>): void {
    const statement = event.query.trim().toUpperCase();
    if (statement === 'BEGIN') this.open();
    else if (statement === 'COMMIT' || statement === 'ROLLBACK') this.end();
    else this.onStatement(event);
  }

  private onStatement(event: BinlogEventByTypeName<'Query'>): void {
    const effect = ddlEffect(this.tables, event.query, event.schema);
    if (effect?.kind === 'truncate') {
      this.push({ kind: 'begin' }, { kind: 'truncate', tables: [effect.table.index] });
      this.commit();
      return;
    }
    for (const table of effect?.tables ?? []) {
      this.schema(table, `a schema change on the source: ${event.query.slice(0, 200)}`);
    }
    if (!this.inTransaction) this.tick();
  }

  private schema(table: FollowedTable, message: string): void {
    for (const [id, t] of this.byId) if (t === table) this.byId.delete(id);
    this.changed.add(table);
    this.push({ kind: 'schema', table: table.index, message: `${table.display}: ${message}` });
  }

  private onTableMap(event: BinlogEventByTypeName<'TableMap'>): void {
    const table = this.byName.get(tableKey(event.schemaName, event.tableName));
    if (!table || this.changed.has(table)) return;
    if (!event.hasSelfDescribingMetadata()) {
      throw new RuntimeError(`the binlog event for ${table.display} carries no column names`, {
        hint: 'SET GLOBAL binlog_row_metadata = FULL; only changes written after it can be followed',
      });
    }
    const entry = event.tableMap[event.tableId];
    const mismatch = shapeMismatch(table, (entry?.columnSchemas ?? []) as MappedColumn[]);
    if (mismatch) this.schema(table, mismatch);
    else this.byId.set(event.tableId, table);
  }

  private begin(): void {
    if (!this.begun) {
      this.begun = true;
      this.push({ kind: 'begin' });
    }
  }

  private onRows(tableId: number, rows: Record<string, unknown>[], op: 'insert' | 'delete'): void {
    const table = this.byId.get(tableId);
    if (!table) return;
    this.begin();
    for (const raw of rows) {
      const row = mapRow(table, raw);
      this.push(
        op === 'insert'
          ? { kind: 'row', table: table.index, op, key: keyOf(table, row), row }
          : { kind: 'row', table: table.index, op, key: keyOf(table, row) },
      );
    }
  }

  private onUpdate(event: BinlogEventByTypeName<'UpdateRows'>): void {
    const table = this.byId.get(event.tableId);
    if (!table) return;
    this.begin();
    for (const { before, after } of event.rows) {
      this.push({
        kind: 'row',
        table: table.index,
        op: 'update',
        key: mapKey(table, before),
        row: mapRow(table, after),
      });
    }
  }

  private onXa(): void {
    if (this.begun) {
      throw new RuntimeError(
        'an XA transaction changed a followed table: XA transactions cannot be followed yet',
      );
    }
    this.inTransaction = false;
  }

  private push(...events: ChangeEvent[]): void {
    this.queue.push(...events);
    if (!this.paused && this.queue.length - this.head >= HIGH_WATER && this.zongji?.connection) {
      this.paused = true;
      this.zongji.connection.pause();
    }
    this.wakeUp();
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private fail(error: unknown): void {
    if (this.closed || this.failure) return;
    this.failure =
      error instanceof RuntimeError
        ? error
        : new RuntimeError(`reading the MySQL/MariaDB binlog failed: ${describe(error)}`, {
            cause: error,
            hint: failureHint(describe(error)),
          });
    this.zongji?.connection?.pause();
    this.wakeUp();
  }

  private take(): ChangeEvent | undefined {
    if (this.head >= this.queue.length) return undefined;
    const event = this.queue[this.head++]!;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
    if (this.paused && this.queue.length - this.head <= LOW_WATER) {
      this.paused = false;
      this.zongji?.connection?.resume();
    }
    return event;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ChangeEvent> {
    try {
      for (;;) {
        const event = this.take();
        if (event) yield event;
        else if (this.failure) throw this.failure;
        else if (this.closed) return;
        else await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      await this.close();
    }
  }

  async acknowledge(_position: string): Promise<void> {
    // The position lives only in the target's state table: the binlog keeps nothing for us.
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wakeUp();
    await this.started;
    const zongji = this.zongji;
    if (zongji && !zongji.stopped) {
      let timer: NodeJS.Timeout | undefined;
      const stopped = new Promise<void>((resolve) => {
        zongji.once('stopped', () => resolve());
        timer = setTimeout(resolve, STOP_WAIT_MS);
      });
      zongji.stop();
      await stopped;
      clearTimeout(timer);
    }
    if (this.binlog) {
      const socket = (core(this.binlog.conn) as unknown as { stream?: Socket }).stream;
      this.binlog.conn.destroy();
      socket?.destroy();
    }
    if (this.control) await endQuietly(this.control.conn);
  }
}

function failureHint(message: string): string {
  if (/REPLICATION SLAVE/i.test(message))
    return 'GRANT REPLICATION SLAVE ON *.* TO the user of the source URL';
  if (/could not find first log file|purged|binlog truncated/i.test(message)) {
    return (
      'the binlog no longer holds the changes from the follow position on (purged or expired): the follow ' +
      'must start again with a new copy; keep binlogs longer (binlog_expire_logs_seconds) than copy + cut-over'
    );
  }
  return 'run again to resume from the last applied position';
}
