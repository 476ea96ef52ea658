/**
 * The follow record in the target SQLite database (what it is: db/follow-state.ts); lease times are the
 * database clock in Unix milliseconds, as in state.ts, and every write is one `BEGIN IMMEDIATE` transaction.
 */
import {
  type FollowCheckpoint,
  type FollowPhase,
  type FollowRow,
  type FollowState,
  type FollowStore,
  followLeaseLost,
  followStateFrom,
  followTable,
} from '../follow-state.js';
import { heldByOther } from '../lease.js';
import type { Param } from './codec.js';
import type { SqliteConnection } from './connection.js';
import { quoteIdent } from './sql.js';

export const NOW_MS = "CAST(unixepoch('subsec') * 1000 AS INTEGER)";
export const NOW_TEXT = "strftime('%Y-%m-%d %H:%M:%f', 'now')";

interface Row extends FollowRow {
  lease_live: bigint;
}

const SELECT_COLS = `plan, phase, position, holds, changes_applied, applied_at, lease_owner,
  (lease_expires IS NOT NULL AND lease_expires > ${NOW_MS}) AS lease_live, updated_at`;

function followDdl(stateTable: string): string {
  return `CREATE TABLE IF NOT EXISTS ${quoteIdent(followTable(stateTable))} (
    plan TEXT NOT NULL PRIMARY KEY, phase TEXT NOT NULL DEFAULT 'copying', position TEXT, holds TEXT,
    changes_applied INTEGER NOT NULL DEFAULT 0, applied_at TEXT,
    lease_owner TEXT, lease_expires INTEGER, -- Unix milliseconds
    started_at TEXT NOT NULL DEFAULT (${NOW_TEXT}), updated_at TEXT NOT NULL DEFAULT (${NOW_TEXT}))`;
}

/** The UPDATE that commits with each applied batch; matches only while this run still holds the lease. */
export function followCheckpointSql(stateTable: string): string {
  return `UPDATE ${quoteIdent(followTable(stateTable))} SET position = @position,
    changes_applied = changes_applied + @applied, applied_at = ${NOW_TEXT},
    lease_expires = ${NOW_MS} + @leaseMs, updated_at = ${NOW_TEXT}
  WHERE plan = @plan AND lease_owner = @owner`;
}

export function followCheckpointParams(c: FollowCheckpoint): Record<string, Param> {
  return {
    plan: c.plan,
    owner: c.owner,
    position: c.position,
    applied: BigInt(c.applied),
    leaseMs: BigInt(Math.round(c.leaseMs)),
  };
}

export class SqliteFollowStore implements FollowStore {
  private readonly table: string;
  private readonly tableName: string;

  constructor(
    private readonly conn: SqliteConnection,
    private readonly stateTable: string,
  ) {
    this.tableName = followTable(stateTable);
    this.table = quoteIdent(this.tableName);
  }

  async read(plan: string): Promise<FollowState | null> {
    const db = this.conn.db;
    const exists = db
      .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ? COLLATE NOCASE")
      .get(this.tableName);
    if (exists === undefined) return null;
    const row = db.prepare(`SELECT ${SELECT_COLS} FROM ${this.table} WHERE plan = ?`).get(plan) as
      | Row
      | undefined;
    return row ? followStateFrom(row, row.lease_live === 1n) : null;
  }

  async claim(
    plan: string,
    owner: string,
    leaseMs: number,
    isDead: (owner: string) => boolean = () => false,
  ): Promise<FollowState | null> {
    const db = this.conn.db;
    return this.conn.transaction(() => {
      db.exec(followDdl(this.stateTable));
      db.prepare(`INSERT INTO ${this.table} (plan) VALUES (?) ON CONFLICT DO NOTHING`).run(plan);
      const row = db.prepare(`SELECT ${SELECT_COLS} FROM ${this.table} WHERE plan = ?`).get(plan) as
        | Row
        | undefined;
      if (!row || heldByOther(row.lease_live === 1n, row.lease_owner, owner, isDead)) return null;
      db.prepare(
        `UPDATE ${this.table} SET lease_owner = ?, lease_expires = ${NOW_MS} + ?, updated_at = ${NOW_TEXT}
         WHERE plan = ?`,
      ).run(owner, BigInt(Math.round(leaseMs)), plan);
      return followStateFrom({ ...row, lease_owner: owner }, true);
    });
  }

  async renew(plan: string, owner: string, leaseMs: number): Promise<boolean> {
    const r = await this.conn.transaction(() =>
      this.conn.db
        .prepare(`UPDATE ${this.table} SET lease_expires = ${NOW_MS} + ? WHERE plan = ? AND lease_owner = ?`)
        .run(BigInt(Math.round(leaseMs)), plan, owner),
    );
    return r.changes === 1;
  }

  async setPhase(
    plan: string,
    owner: string,
    phase: FollowPhase,
    start?: { position: string; holds: string | null },
  ): Promise<void> {
    const set = start ? 1n : 0n;
    const r = await this.conn.transaction(() =>
      this.conn.db
        .prepare(
          `UPDATE ${this.table} SET phase = ?, position = CASE WHEN ? THEN ? ELSE position END,
             holds = CASE WHEN ? THEN ? ELSE holds END, updated_at = ${NOW_TEXT}
           WHERE plan = ? AND lease_owner = ?`,
        )
        .run(phase, set, start?.position ?? null, set, start?.holds ?? null, plan, owner),
    );
    if (r.changes !== 1) throw followLeaseLost(plan);
  }

  async release(plan: string, owner: string): Promise<void> {
    await this.conn.transaction(() =>
      this.conn.db
        .prepare(
          `UPDATE ${this.table} SET lease_owner = NULL, lease_expires = NULL WHERE plan = ? AND lease_owner = ?`,
        )
        .run(plan, owner),
    );
  }
}
