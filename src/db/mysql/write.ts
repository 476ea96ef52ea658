/**
 * Writing batches: multi-row `INSERT … VALUES (…), (…)` statements of literals (sql.ts/codec.ts), each under
 * max_allowed_packet, with the plan's conflict rule, then the read-back of the batch's rows and the
 * checkpoint — all in one transaction.
 *
 * Conflict rules: upsert `ON DUPLICATE KEY UPDATE c = VALUES(c)` (MySQL 8.0.19+: a row alias); skip
 * `ON DUPLICATE KEY UPDATE k = k` (not INSERT IGNORE, which would also turn data errors into warnings);
 * error: a plain INSERT.
 *
 * A target whose collation equates keys the source keeps apart (`abc`/`ABC` under a case-insensitive
 * collation, `a`/`a ` under PAD SPACE) would silently merge rows through ON DUPLICATE KEY UPDATE: every batch
 * checks that each written key has a row of its own in the target, and fails with a DataError otherwise.
 */
import type mysql from 'mysql2/promise';
import { canonicalizer } from '../../convert/canonical.js';
import type { Column, Row, Value } from '../../convert/value.js';
import { DataError } from '../../errors.js';
import { APPLY_DUPLICATE_HINT, requireKey } from '../apply-runs.js';
import { type Batch, rowsOf } from '../batch.js';
import { type FollowCheckpoint, followLeaseLost } from '../follow-state.js';
import {
  type ApplyResult,
  type BatchResult,
  type CheckpointUpdate,
  leaseTakenOver,
  type TargetChange,
  type Writer,
  type WriteSpec,
} from '../writer.js';
import { MysqlApplier } from './apply.js';
import { rowDecoder, rowEncoder, selectExpr } from './codec.js';
import { describe, endQuietly, type MysqlSession } from './connect.js';
import { followCheckpointSql, followCheckpointValues } from './follow.js';
import { keysInSql } from './read.js';
import { quoteIdent, quoteTable } from './sql.js';
import { checkpointSql, checkpointValues } from './state.js';

const RAW = { rowsAsArray: true, typeCast: false } as const;
/** A statement's size: large enough to amortise round trips, small enough not to hold much memory. */
const STATEMENT_BYTES = 4 * 1024 * 1024;
const READ_BACK_CHUNK = 1000;
/** Warnings that do not mean a value was changed. */
const HARMLESS_WARNINGS = new Set([1287 /* deprecated syntax */, 1592 /* unsafe for binlog */]);

interface Insert {
  head: string;
  tail: string;
}

export interface KeyCollation {
  /** Key columns whose collation may equate different values (case/accent-insensitive, PAD SPACE). */
  risky: { column: string; collation: string }[];
}

export class MysqlWriter implements Writer {
  private readonly conn: mysql.Connection;
  private readonly table: string;
  private readonly batchInsert: Insert;
  private readonly plainInsert: Insert;
  /** The upsert, whatever the plan's conflict rule: followed changes replace rows (applyChanges). */
  private readonly upsertInsert: Insert;
  /** Inside applyChanges: a duplicate can only come from another unique index (see dataError). */
  private applying = false;
  private applier: MysqlApplier | null = null;
  private readonly encodeRow: (row: Value[]) => string;
  private readonly decode: (raw: (Buffer | null)[]) => Row;
  private readonly keyCols: Column[];
  private readonly keyText: (row: Row) => string;
  private readonly maxStatement: number;
  private inWhole = false;

  constructor(
    private readonly session: MysqlSession,
    private readonly spec: WriteSpec,
    private readonly collation: KeyCollation,
  ) {
    this.conn = session.conn;
    this.table = quoteTable(spec.ref);
    const names = spec.columns.map((c) => c.name);
    const cols = names.map(quoteIdent).join(', ');
    const keyNames = spec.key.map((i) => names[i]!);
    const nonKey = names.filter((n) => !keyNames.includes(n));
    const head = `INSERT INTO ${this.table} (${cols}) VALUES `;
    const k = quoteIdent(keyNames[0] ?? names[0]!);
    const skip = ` ON DUPLICATE KEY UPDATE ${k} = ${k}`;
    let upsert = skip;
    if (nonKey.length > 0 && rowAliasSupported(session)) {
      const sets = nonKey.map((n) => `${quoteIdent(n)} = ${quoteIdent('_new')}.${quoteIdent(n)}`);
      upsert = ` AS ${quoteIdent('_new')} ON DUPLICATE KEY UPDATE ${sets.join(', ')}`;
    } else if (nonKey.length > 0) {
      const sets = nonKey.map((n) => `${quoteIdent(n)} = VALUES(${quoteIdent(n)})`);
      upsert = ` ON DUPLICATE KEY UPDATE ${sets.join(', ')}`;
    }
    const tail = spec.onConflict === 'upsert' ? upsert : spec.onConflict === 'skip' ? skip : '';
    this.upsertInsert = { head, tail: upsert };
    this.batchInsert = { head, tail };
    this.plainInsert = { head, tail: '' };
    this.encodeRow = rowEncoder(spec.columns);
    this.decode = rowDecoder(spec.columns);
    this.keyCols = spec.key.map((i) => spec.columns[i]!);
    const canons = this.keyCols.map((c) => canonicalizer(c.kind));
    this.keyText = (row) => JSON.stringify(spec.key.map((ci, j) => canons[j]!(row[ci] ?? null)));
    this.maxStatement = Math.max(64 * 1024, session.maxPacket - 1024);
  }

  async writeBatch(
    input: Row[] | Batch,
    checkpoint: CheckpointUpdate,
    readBack: boolean,
  ): Promise<BatchResult> {
    const rows = rowsOf(input);
    await this.conn.query('START TRANSACTION');
    try {
      let written = 0;
      let back: Row[] | null = null;
      if (rows.length > 0) {
        written = await this.insertRows(rows, this.batchInsert);
        const check = this.collation.risky.length > 0;
        if (readBack || check) {
          const found = await this.readBackRows(rows, readBack ? this.spec.columns : this.keyCols);
          this.checkKeysKept(rows, found, readBack);
          if (readBack) back = found;
        }
      }
      await this.saveCheckpoint(checkpoint);
      await this.conn.query('COMMIT');
      return { written, readBack: back };
    } catch (error) {
      await this.conn.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  async applyChanges(changes: TargetChange[], checkpoint: FollowCheckpoint): Promise<ApplyResult> {
    requireKey(this.spec);
    this.applier ??= new MysqlApplier(this.conn, this.spec, {
      upsert: (rows) => this.insertRows(rows, this.upsertInsert, 'upsert'),
      readBack: (rows, columns) => this.readBackRows(rows, columns),
      keyText: (row, keyOnly) =>
        this.keyText(keyOnly ? keyRowToFull(row, this.spec.key, this.spec.columns.length) : row),
      showKey: (row) => this.showKey(row),
      riskyCollation: this.collation.risky.length > 0,
    });
    await this.conn.query('START TRANSACTION');
    this.applying = true;
    try {
      const result = await this.applier.apply(changes);
      const [updated] = await this.conn.query<mysql.ResultSetHeader>(
        followCheckpointSql(this.spec.stateTable),
        followCheckpointValues(checkpoint),
      );
      if (updated.affectedRows !== 1) throw followLeaseLost(checkpoint.plan);
      await this.conn.query('COMMIT');
      return result;
    } catch (error) {
      await this.conn.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      this.applying = false;
    }
  }

  /** Inserts rows in statements under the packet limit; returns the rows inserted or updated. */
  private async insertRows(
    rows: Row[],
    insert: Insert,
    rule: WriteSpec['onConflict'] = this.spec.onConflict,
  ): Promise<number> {
    const fixed = Buffer.byteLength(insert.head) + Buffer.byteLength(insert.tail);
    const budget = Math.min(STATEMENT_BYTES, this.maxStatement) - fixed;
    let written = 0;
    let parts: string[] = [];
    let first = 0;
    let bytes = 0;
    for (let i = 0; i < rows.length; i++) {
      const lit = this.encodeRow(rows[i]!);
      const size = Buffer.byteLength(lit) + 1;
      if (size + fixed > this.maxStatement) {
        throw new DataError(
          { table: this.spec.label, key: this.showKey(rows[i]!) },
          `the row is ${size} bytes as SQL, more than the server's max_allowed_packet (${this.session.maxPacket})`,
          { hint: 'raise max_allowed_packet on the target server (SET GLOBAL max_allowed_packet = …)' },
        );
      }
      if (parts.length > 0 && bytes + size > budget) {
        written += await this.runInsert(insert, parts, rows, first, rule);
        parts = [];
        bytes = 0;
        first = i;
      }
      parts.push(lit);
      bytes += size;
    }
    if (parts.length > 0) written += await this.runInsert(insert, parts, rows, first, rule);
    return written;
  }

  private async runInsert(
    insert: Insert,
    parts: string[],
    rows: Row[],
    first: number,
    rule: WriteSpec['onConflict'],
  ): Promise<number> {
    let result: mysql.ResultSetHeader;
    try {
      [result] = await this.conn.query<mysql.ResultSetHeader>(insert.head + parts.join(',') + insert.tail);
    } catch (error) {
      if (!isDataError(error)) throw error;
      throw await this.locate(error, insert, parts, rows, first);
    }
    if (result.warningStatus > 0) await this.failOnWarnings(rows.slice(first, first + parts.length));
    const n = parts.length;
    if (insert.tail === '') return result.affectedRows;
    const m = /Duplicates:\s*(\d+)/.exec(result.info ?? '');
    const duplicates = m ? Number(m[1]) : 0;
    return rule === 'upsert' ? n : n - duplicates;
  }

  /** A statement failed on a value: finds the first row that fails alone, to name its key. */
  private async locate(
    error: unknown,
    insert: Insert,
    parts: string[],
    rows: Row[],
    first: number,
  ): Promise<DataError> {
    for (let i = 0; i < parts.length; i++) {
      try {
        await this.conn.query(insert.head + parts[i] + insert.tail);
      } catch (rowError) {
        if (isDataError(rowError)) return this.dataError(rowError, rows[first + i]!);
        break;
      }
    }
    return this.dataError(error, null);
  }

  private dataError(error: unknown, row: Row | null): DataError {
    const message = error instanceof Error ? error.message : String(error);
    const column = /column [`']?(?:[^`']*[`'].[`'])*([^`']+)[`']?/i.exec(message)?.[1];
    const errno = (error as { errno?: number }).errno;
    const hint =
      errno === 1062
        ? this.applying
          ? APPLY_DUPLICATE_HINT
          : 'the row already exists in the target: use onConflict: upsert or skip, or empty the target table'
        : 'fix the source value, or map the column to a target type that can hold it';
    return new DataError(
      {
        table: this.spec.label,
        ...(row && this.keyCols.length ? { key: this.showKey(row) } : {}),
        ...(column ? { column } : {}),
      },
      `the target rejected the ${row ? 'row' : 'batch'}: ${describe(error)}`,
      { cause: error, hint },
    );
  }

  /** Strict mode turns lossy writes into errors; a warning that still slips through (a note on rounding) fails. */
  private async failOnWarnings(rows: Row[]): Promise<void> {
    const [warnings] = await this.conn.query<mysql.RowDataPacket[]>('SHOW WARNINGS');
    const bad = warnings.filter((w) => {
      const code = Number(w.Code);
      if (HARMLESS_WARNINGS.has(code)) return false;
      return w.Level !== 'Note' || code === 1265 || code === 1292;
    });
    if (bad.length === 0) return;
    const first = bad[0]!;
    const rowNo = /at row (\d+)/.exec(String(first.Message))?.[1];
    const row = rowNo ? rows[Number(rowNo) - 1] : undefined;
    const error = Object.assign(new Error(String(first.Message)), { errno: Number(first.Code) });
    throw this.dataError(error, row ?? null);
  }

  private async readBackRows(rows: Row[], columns: readonly Column[]): Promise<Row[]> {
    const keys = rows.map((r) => this.spec.key.map((i) => r[i] ?? null));
    const select = `SELECT ${columns.map((c) => selectExpr(c)).join(', ')} FROM ${this.table} WHERE `;
    const decode = columns === this.spec.columns ? this.decode : rowDecoder(columns);
    const out: Row[] = [];
    for (let i = 0; i < keys.length; i += READ_BACK_CHUNK) {
      const sql = select + keysInSql(this.keyCols, keys.slice(i, i + READ_BACK_CHUNK));
      const [raw] = await this.conn.query<mysql.RowDataPacket[]>({ sql, ...RAW });
      for (const r of raw as unknown as (Buffer | null)[][]) out.push(decode(r));
    }
    return out;
  }

  /**
   * Every written key must find a target row with exactly that key. When the target's collation equates
   * two source keys, the second one updated (or was skipped in favour of) the first one's row: fail.
   */
  private checkKeysKept(rows: Row[], found: Row[], fullRows: boolean): void {
    const keyOfFound = fullRows
      ? this.keyText
      : (row: Row) => this.keyText(keyRowToFull(row, this.spec.key, this.spec.columns.length));
    const present = new Set(found.map(keyOfFound));
    const lost = rows.filter((r) => !present.has(this.keyText(r)));
    if (lost.length === 0) return;
    const written = new Set(rows.map(this.keyText));
    const others = found
      .map((r) => (fullRows ? r : keyRowToFull(r, this.spec.key, this.spec.columns.length)))
      .filter((r) => !written.has(this.keyText(r)));
    const collations = this.collation.risky.map((r) => `${r.column} ${r.collation}`).join(', ');
    const shown = lost.slice(0, 10).map((r) => this.showKey(r));
    const equalTo = others.length
      ? ` (target rows: ${others
          .slice(0, 10)
          .map((r) => this.showKey(r))
          .join('; ')})`
      : '';
    const why = collations
      ? `its key collation (${collations}) treats them as equal to other keys${equalTo}`
      : `the target stored a different key (e.g. CHAR strips trailing spaces, BINARY pads)${equalTo}`;
    throw new DataError(
      { table: this.spec.label, key: shown.join('; ') },
      `${lost.length} key(s) have no row of their own in the target after the write: ${why}, so rows would be merged or lost`,
      {
        hint: collations
          ? 'give the target key column a binary no-pad collation (utf8mb4_nopad_bin on MariaDB, utf8mb4_0900_bin on MySQL 8), or make the source keys distinct under the target collation'
          : 'give the target key column a type that stores the key exactly (VARCHAR/VARBINARY)',
      },
    );
  }

  private showKey(row: Row): string {
    return this.spec.key
      .map((i) => {
        const v = row[i] ?? null;
        const text = Buffer.isBuffer(v) ? `0x${v.toString('hex')}` : String(v);
        return `${this.spec.columns[i]!.name}=${text}`;
      })
      .join(',');
  }

  private async saveCheckpoint(checkpoint: CheckpointUpdate): Promise<void> {
    // The connection reports matched rows (CLIENT_FOUND_ROWS), so an unchanged row still counts.
    const [updated] = await this.conn.query<mysql.ResultSetHeader>(
      checkpointSql(this.spec.stateTable),
      checkpointValues(checkpoint),
    );
    if (updated.affectedRows !== 1) {
      throw leaseTakenOver(checkpoint);
    }
  }

  async beginWhole(): Promise<void> {
    await this.conn.query('START TRANSACTION');
    this.inWhole = true;
    const [any] = await this.conn.query<mysql.RowDataPacket[]>(`SELECT 1 FROM ${this.table} LIMIT 1`);
    if (any.length > 0) {
      await this.conn.query('ROLLBACK');
      this.inWhole = false;
      throw new DataError(
        { table: this.spec.label },
        'the table has no key, so it is copied in one transaction into an EMPTY target table, and the target has rows',
        { hint: 'empty the target table, or give the table a `key:` in the plan' },
      );
    }
  }

  async appendWhole(rows: Row[]): Promise<number> {
    if (rows.length === 0) return 0;
    await this.insertRows(rows, this.plainInsert);
    return rows.length;
  }

  async finishWhole(checkpoint: CheckpointUpdate): Promise<void> {
    try {
      await this.saveCheckpoint(checkpoint);
      await this.conn.query('COMMIT');
    } finally {
      this.inWhole = false;
    }
  }

  async close(): Promise<void> {
    if (this.inWhole) await this.conn.query('ROLLBACK').catch(() => undefined);
    await endQuietly(this.conn);
  }
}

/** A row of key columns only, spread into a full-width row (the key's positions filled). */
function keyRowToFull(keyRow: Row, key: number[], width: number): Row {
  const row: Row = new Array(width).fill(null);
  key.forEach((ci, j) => {
    row[ci] = keyRow[j] ?? null;
  });
  return row;
}

/** Value errors that MySQL files under the generic SQLSTATE HY000. */
const DATA_ERRNOS = new Set([
  1366 /* incorrect string value (e.g. an emoji into a latin1 or utf8mb3 column) */,
  1367 /* illegal value during parsing */, 1411 /* incorrect value for a function */,
  1690 /* value out of range in an expression */, 3156 /* invalid JSON value for CAST */,
]);

/**
 * SQLSTATE class 22 (data exception) or 23 (integrity constraint violation, e.g. a duplicate key or a
 * CHECK (json_valid)), or one of the value errors in {@link DATA_ERRNOS}.
 */
function isDataError(error: unknown): boolean {
  const { sqlState, errno } = error as { sqlState?: string; errno?: number };
  return (typeof sqlState === 'string' && /^(22|23)/.test(sqlState)) || DATA_ERRNOS.has(errno ?? 0);
}

/** MySQL 8.0.19+ takes `INSERT … AS alias ON DUPLICATE KEY UPDATE c = alias.c` (VALUES() is deprecated). */
function rowAliasSupported(session: MysqlSession): boolean {
  if (session.mariadb) return false;
  const [major = 0, minor = 0, patch = 0] = session.version.split(/[.-]/).map(Number);
  return major > 8 || (major === 8 && (minor > 0 || patch >= 19));
}

/** Key columns whose collation can equate distinct values, from information_schema. */
export async function keyCollation(session: MysqlSession, spec: WriteSpec): Promise<KeyCollation> {
  const names = spec.key.map((i) => spec.columns[i]!.name);
  if (names.length === 0) return { risky: [] };
  const schemaSql = spec.ref.schema === null ? 'DATABASE()' : '?';
  const args: unknown[] = spec.ref.schema === null ? [spec.ref.name] : [spec.ref.schema, spec.ref.name];
  const [rows] = await session.conn.query<mysql.RowDataPacket[]>(
    `SELECT COLUMN_NAME AS name, COLLATION_NAME AS collation FROM information_schema.COLUMNS
     WHERE TABLE_SCHEMA = ${schemaSql} AND TABLE_NAME = ? AND COLUMN_NAME IN (?)`,
    [...args, names],
  );
  const risky = rows
    .filter((r) => r.collation !== null && !/(_nopad_bin|_0900_bin|^binary)$/i.test(String(r.collation)))
    .map((r) => ({ column: String(r.name), collation: String(r.collation) }));
  return { risky };
}
