/**
 * Checkpoints and leases in the target SQLite database: the same table and semantics as PostgreSQL's
 * (postgres/state.ts). SQLite has no row locks, so a claim is one `BEGIN IMMEDIATE` transaction: it holds
 * the database's write lock, which serialises claims of every process (others wait up to the busy timeout).
 * Lease times are the database clock in Unix milliseconds; timestamps are UTC text.
 */
import type { FollowStore } from '../follow-state.js';
import { heldByOther, restartRefused } from '../lease.js';
import { type StateRow as BaseStateRow, chunkStateFrom } from '../state-row.js';
import type { ChunkState, StateStore } from '../state-store.js';
import type { CheckpointUpdate } from '../writer.js';
import type { Param } from './codec.js';
import type { SqliteConnection } from './connection.js';
import { NOW_MS, NOW_TEXT, SqliteFollowStore } from './follow.js';
import { placeholders, quoteIdent } from './sql.js';

interface StateRow extends BaseStateRow {
  lease_live: bigint;
}

const SELECT_COLS = `plan, table_name, chunk, status, last_key, warmed_key, rows_read, rows_written, mismatches,
  skipped, mapping_hash, lease_owner, (lease_expires IS NOT NULL AND lease_expires > ${NOW_MS}) AS lease_live,
  updated_at`;

function toState(r: StateRow): ChunkState {
  return chunkStateFrom(r, r.lease_live === 1n);
}

/** The UPDATE that commits with each batch; matches only while this worker still holds the lease. */
export function checkpointSql(stateTable: string): string {
  return `UPDATE ${quoteIdent(stateTable)} SET last_key = @lastKey,
    warmed_key = CASE WHEN @setWarmed THEN @warmedKey ELSE warmed_key END,
    rows_read = rows_read + @rowsRead, rows_written = rows_written + @rowsWritten,
    mismatches = mismatches + @mismatches, skipped = skipped + @skipped,
    status = CASE WHEN @done THEN 'done' ELSE 'running' END,
    lease_expires = CASE WHEN @done THEN NULL ELSE ${NOW_MS} + @leaseMs END,
    lease_owner = CASE WHEN @done THEN NULL ELSE lease_owner END, updated_at = ${NOW_TEXT}
  WHERE plan = @plan AND table_name = @table AND chunk = @chunk AND lease_owner = @owner`;
}

export function checkpointParams(c: CheckpointUpdate): Record<string, Param> {
  // JS numbers bind as REAL: whole numbers go as BigInt, to stay INTEGER.
  return {
    plan: c.plan,
    table: c.table,
    chunk: BigInt(c.chunk),
    owner: c.owner,
    lastKey: c.lastKey,
    setWarmed: c.warmedKey !== undefined ? 1n : 0n,
    warmedKey: c.warmedKey ?? null,
    rowsRead: BigInt(c.rowsRead),
    rowsWritten: BigInt(c.rowsWritten),
    mismatches: BigInt(c.mismatches),
    skipped: BigInt(c.skipped),
    done: c.done ? 1n : 0n,
    leaseMs: BigInt(Math.round(c.leaseMs)),
  };
}

export class SqliteStateStore implements StateStore {
  private readonly table: string;
  readonly follow: FollowStore;

  constructor(
    private readonly conn: SqliteConnection,
    private readonly stateTableName: string,
  ) {
    this.table = quoteIdent(stateTableName);
    this.follow = new SqliteFollowStore(conn, stateTableName);
  }

  private get db() {
    return this.conn.db;
  }

  async exists(): Promise<boolean> {
    const found = this.db
      .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ? COLLATE NOCASE")
      .get(this.stateTableName);
    return found !== undefined;
  }

  async ensure(): Promise<void> {
    await this.conn.transaction(() =>
      this.db.exec(`CREATE TABLE IF NOT EXISTS ${this.table} (
        plan TEXT NOT NULL, table_name TEXT NOT NULL, chunk INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending', range_start TEXT, range_end TEXT,
        last_key TEXT, warmed_key TEXT,
        rows_read INTEGER NOT NULL DEFAULT 0, rows_written INTEGER NOT NULL DEFAULT 0,
        mismatches INTEGER NOT NULL DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0,
        mapping_hash TEXT NOT NULL, lease_owner TEXT,
        lease_expires INTEGER, -- Unix milliseconds
        started_at TEXT NOT NULL DEFAULT (${NOW_TEXT}), updated_at TEXT NOT NULL DEFAULT (${NOW_TEXT}),
        PRIMARY KEY (plan, table_name, chunk))`),
    );
  }

  async list(plan: string): Promise<ChunkState[]> {
    if (!(await this.exists())) return [];
    const rows = this.db
      .prepare(`SELECT ${SELECT_COLS} FROM ${this.table} WHERE plan = ? ORDER BY table_name, chunk`)
      .all(plan) as StateRow[];
    return rows.map(toState);
  }

  async claim(
    plan: string,
    table: string,
    chunk: number,
    owner: string,
    leaseMs: number,
    mappingHash: string,
    isDead: (owner: string) => boolean = () => false,
  ): Promise<ChunkState | null> {
    return this.conn.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO ${this.table} (plan, table_name, chunk, mapping_hash) VALUES (?, ?, ?, ?)
           ON CONFLICT DO NOTHING`,
        )
        .run(plan, table, BigInt(chunk), mappingHash);
      const row = this.db
        .prepare(`SELECT ${SELECT_COLS} FROM ${this.table} WHERE plan = ? AND table_name = ? AND chunk = ?`)
        .get(plan, table, BigInt(chunk)) as StateRow | undefined;
      if (!row || heldByOther(row.lease_live === 1n, row.lease_owner, owner, isDead)) return null;
      this.db
        .prepare(
          `UPDATE ${this.table} SET lease_owner = ?, lease_expires = ${NOW_MS} + ?,
             status = CASE WHEN status = 'done' THEN 'done' ELSE 'running' END, updated_at = ${NOW_TEXT}
           WHERE plan = ? AND table_name = ? AND chunk = ?`,
        )
        .run(owner, BigInt(Math.round(leaseMs)), plan, table, BigInt(chunk));
      return toState({ ...row, lease_owner: owner, lease_live: 1n });
    });
  }

  async renew(plan: string, table: string, chunk: number, owner: string, leaseMs: number): Promise<void> {
    await this.conn.transaction(() =>
      this.db
        .prepare(
          `UPDATE ${this.table} SET lease_expires = ${NOW_MS} + ?
           WHERE plan = ? AND table_name = ? AND chunk = ? AND lease_owner = ?`,
        )
        .run(BigInt(Math.round(leaseMs)), plan, table, BigInt(chunk), owner),
    );
  }

  async release(plan: string, table: string, chunk: number, owner: string): Promise<void> {
    await this.conn.transaction(() =>
      this.db
        .prepare(
          `UPDATE ${this.table} SET lease_owner = NULL, lease_expires = NULL,
             status = CASE WHEN status = 'done' THEN 'done' ELSE 'pending' END
           WHERE plan = ? AND table_name = ? AND chunk = ? AND lease_owner = ?`,
        )
        .run(plan, table, BigInt(chunk), owner),
    );
  }

  async setWarmed(plan: string, table: string, chunk: number, warmedKey: string | null): Promise<void> {
    await this.conn.transaction(() =>
      this.db
        .prepare(
          `UPDATE ${this.table} SET warmed_key = ?, updated_at = ${NOW_TEXT}
           WHERE plan = ? AND table_name = ? AND chunk = ?`,
        )
        .run(warmedKey, plan, table, BigInt(chunk)),
    );
  }

  async reset(
    plan: string,
    tables: string[] | null,
    owner: string,
    isDead: (owner: string) => boolean = () => false,
  ): Promise<void> {
    if (!(await this.exists())) return;
    const filter = tables
      ? ` AND table_name IN (${tables.length ? placeholders(tables.length) : 'NULL'})`
      : '';
    const params = [plan, ...(tables ?? [])];
    await this.conn.transaction(() => {
      const rows = this.db
        .prepare(`SELECT ${SELECT_COLS} FROM ${this.table} WHERE plan = ?${filter}`)
        .all(...params) as StateRow[];
      const live = rows.filter((row) => heldByOther(row.lease_live === 1n, row.lease_owner, owner, isDead));
      if (live.length > 0) {
        const held = live.map((row) => `${row.table_name} held by ${row.lease_owner}`);
        throw restartRefused(plan, held, this.stateTableName);
      }
      this.db.prepare(`DELETE FROM ${this.table} WHERE plan = ?${filter}`).run(...params);
    });
  }
}
