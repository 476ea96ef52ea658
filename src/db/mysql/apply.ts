/**
 * Applying followed changes (Writer.applyChanges) inside the writer's open transaction: runs of upserts as
 * the writer's multi-row INSERT … ON DUPLICATE KEY UPDATE statements (under max_allowed_packet), runs of
 * deletes as `DELETE … WHERE key IN (…)` of as many keys as the writer reads back at once, a truncate as a
 * DELETE of every row (TRUNCATE TABLE would commit the transaction).
 *
 * ON DUPLICATE KEY UPDATE also fires on a unique index other than the key: a new row whose e-mail another
 * row holds would update THAT row and never be inserted. On a table with such an index (or a key collation
 * that equates distinct keys) each run's keys are therefore read back, and a key without its row fails the
 * batch (its transaction rolls back, with the other row's update).
 */
import type mysql from 'mysql2/promise';
import type { Column, Row } from '../../convert/value.js';
import { DataError } from '../../errors.js';
import { APPLY_DUPLICATE_HINT, changeRuns } from '../apply-runs.js';
import type { ApplyResult, TargetChange, WriteSpec } from '../writer.js';
import { keysInSql } from './read.js';
import { quoteTable } from './sql.js';

/** Keys per DELETE: as many as the writer's read-backs ask for at once. */
const KEYS_PER_DELETE = 1000;

/** What the applier uses of its writer. */
export interface MysqlApplyHooks {
  /** Upserts the rows (whatever the plan's onConflict), in statements under the packet limit. */
  upsert(rows: Row[]): Promise<number>;
  /** The target's rows of `columns` for the rows' keys. */
  readBack(rows: Row[], columns: readonly Column[]): Promise<Row[]>;
  /** The canonical text of a row's key (full rows, or rows of the key columns only when `keyOnly`). */
  keyText(row: Row, keyOnly: boolean): string;
  showKey(row: Row): string;
  /** The key's collation may equate distinct keys (write.ts keyCollation). */
  riskyCollation: boolean;
}

export class MysqlApplier {
  private readonly keyCols: Column[];
  private readonly table: string;
  /** Whether an upsert can land on a row of another key: found out once, by the first upsert. */
  private mayMisplace: Promise<boolean> | null = null;

  constructor(
    private readonly conn: mysql.Connection,
    private readonly spec: WriteSpec,
    private readonly hooks: MysqlApplyHooks,
  ) {
    this.keyCols = spec.key.map((i) => spec.columns[i]!);
    this.table = quoteTable(spec.ref);
  }

  /** Applies the changes in order; the caller holds the transaction and writes the checkpoint. */
  async apply(changes: readonly TargetChange[]): Promise<ApplyResult> {
    const result: ApplyResult = { upserted: 0, deleted: 0 };
    for (const run of changeRuns(changes, this.spec.columns, this.spec.key)) {
      if (run.op === 'truncate') {
        result.deleted += await this.affected(`DELETE FROM ${this.table}`);
      } else if (run.op === 'upsert') {
        result.upserted += await this.hooks.upsert(run.rows);
        this.mayMisplace ??= this.otherUniqueIndex().then((other) => other || this.hooks.riskyCollation);
        if (await this.mayMisplace) await this.checkRowsKept(run.rows);
      } else {
        for (let i = 0; i < run.keys.length; i += KEYS_PER_DELETE) {
          const where = keysInSql(this.keyCols, run.keys.slice(i, i + KEYS_PER_DELETE));
          result.deleted += await this.affected(`DELETE FROM ${this.table} WHERE ${where}`);
        }
      }
    }
    return result;
  }

  private async affected(sql: string): Promise<number> {
    const [r] = await this.conn.query<mysql.ResultSetHeader>(sql);
    return r.affectedRows;
  }

  /** The target table has a unique index on other columns than exactly the key's. */
  private async otherUniqueIndex(): Promise<boolean> {
    const { ref } = this.spec;
    const [rows] = await this.conn.query<mysql.RowDataPacket[]>(
      `SELECT INDEX_NAME AS name, COLUMN_NAME AS col FROM information_schema.STATISTICS
       WHERE TABLE_SCHEMA = ${ref.schema === null ? 'DATABASE()' : '?'} AND TABLE_NAME = ? AND NON_UNIQUE = 0`,
      ref.schema === null ? [ref.name] : [ref.schema, ref.name],
    );
    const indexes = new Map<string, Set<string>>();
    for (const r of rows) {
      const cols = indexes.get(String(r.name)) ?? new Set<string>();
      cols.add(String(r.col));
      indexes.set(String(r.name), cols);
    }
    const key = new Set(this.keyCols.map((c) => c.name));
    return [...indexes.values()].some((cols) => cols.size !== key.size || [...cols].some((c) => !key.has(c)));
  }

  private async checkRowsKept(rows: Row[]): Promise<void> {
    const found = await this.hooks.readBack(rows, this.keyCols);
    const present = new Set(found.map((r) => this.hooks.keyText(r, true)));
    const lost = rows.filter((r) => !present.has(this.hooks.keyText(r, false)));
    if (lost.length === 0) return;
    throw new DataError(
      { table: this.spec.label, key: lost.slice(0, 10).map(this.hooks.showKey).join('; ') },
      `${lost.length} upserted row(s) have no row of their own in the target: the row met another row on a unique index other than the key (or a key collation that equates them), and MySQL updated that row instead`,
      { hint: APPLY_DUPLICATE_HINT },
    );
  }
}
