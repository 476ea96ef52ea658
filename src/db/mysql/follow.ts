/**
 * The follow record in the target MySQL/MariaDB database (what it is: db/follow-state.ts); times are
 * UTC_TIMESTAMP(6), as in state.ts.
 */
import type mysql from 'mysql2/promise';
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
import { quoteIdent } from './sql.js';
import { inTransaction } from './transaction.js';

interface Row extends mysql.RowDataPacket, FollowRow {
  lease_live: string | number;
}

const SELECT_COLS = `plan, phase, position, holds, changes_applied, applied_at, lease_owner,
  (lease_expires IS NOT NULL AND lease_expires > UTC_TIMESTAMP(6)) AS lease_live, updated_at`;

function followDdl(stateTable: string): string {
  // Binary collation, as the state table: plans whose names differ only in case are different records.
  return `CREATE TABLE IF NOT EXISTS ${quoteIdent(followTable(stateTable))} (
    plan varchar(100) NOT NULL PRIMARY KEY, phase varchar(16) NOT NULL DEFAULT 'copying',
    position text, holds text, changes_applied bigint NOT NULL DEFAULT 0, applied_at datetime(6),
    lease_owner varchar(255), lease_expires datetime(6),
    started_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;
}

/** The UPDATE that commits with each applied batch; matches only while this run still holds the lease. */
export function followCheckpointSql(stateTable: string): string {
  return `UPDATE ${quoteIdent(followTable(stateTable))} SET position = ?, changes_applied = changes_applied + ?,
    applied_at = UTC_TIMESTAMP(6), lease_expires = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND,
    updated_at = UTC_TIMESTAMP(6)
  WHERE plan = ? AND lease_owner = ?`;
}

export function followCheckpointValues(c: FollowCheckpoint): unknown[] {
  return [c.position, c.applied, Math.round(c.leaseMs * 1000), c.plan, c.owner];
}

export class MysqlFollowStore implements FollowStore {
  private readonly table: string;
  private readonly tableName: string;
  private created = false;

  constructor(
    private readonly conn: mysql.Connection,
    private readonly stateTable: string,
  ) {
    this.tableName = followTable(stateTable);
    this.table = quoteIdent(this.tableName);
  }

  /** Creates the follow table when missing (outside any transaction: DDL commits implicitly). */
  private async ensureTable(): Promise<void> {
    if (this.created) return;
    await this.conn.query(followDdl(this.stateTable));
    this.created = true;
  }

  async read(plan: string): Promise<FollowState | null> {
    const [found] = await this.conn.query<mysql.RowDataPacket[]>(
      'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
      [this.tableName],
    );
    if (found.length === 0) return null;
    const [rows] = await this.conn.query<Row[]>(`SELECT ${SELECT_COLS} FROM ${this.table} WHERE plan = ?`, [
      plan,
    ]);
    const row = rows[0];
    return row ? followStateFrom(row, Number(row.lease_live) === 1) : null;
  }

  async claim(
    plan: string,
    owner: string,
    leaseMs: number,
    isDead: (owner: string) => boolean = () => false,
  ): Promise<FollowState | null> {
    await this.ensureTable();
    return inTransaction(this.conn, async () => {
      await this.conn.query(
        `INSERT INTO ${this.table} (plan, started_at, updated_at) VALUES (?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))
         ON DUPLICATE KEY UPDATE plan = plan`,
        [plan],
      );
      const [rows] = await this.conn.query<Row[]>(
        `SELECT ${SELECT_COLS} FROM ${this.table} WHERE plan = ? FOR UPDATE SKIP LOCKED`,
        [plan],
      );
      const row = rows[0];
      if (!row || heldByOther(Number(row.lease_live) === 1, row.lease_owner, owner, isDead)) return null;
      await this.conn.query(
        `UPDATE ${this.table} SET lease_owner = ?, lease_expires = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND,
           updated_at = UTC_TIMESTAMP(6) WHERE plan = ?`,
        [owner, Math.round(leaseMs * 1000), plan],
      );
      return followStateFrom({ ...row, lease_owner: owner }, true);
    });
  }

  async renew(plan: string, owner: string, leaseMs: number): Promise<boolean> {
    const [r] = await this.conn.query<mysql.ResultSetHeader>(
      `UPDATE ${this.table} SET lease_expires = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND
       WHERE plan = ? AND lease_owner = ?`,
      [Math.round(leaseMs * 1000), plan, owner],
    );
    return r.affectedRows === 1;
  }

  async setPhase(
    plan: string,
    owner: string,
    phase: FollowPhase,
    start?: { position: string; holds: string | null },
  ): Promise<void> {
    const [r] = await this.conn.query<mysql.ResultSetHeader>(
      `UPDATE ${this.table} SET phase = ?, position = IF(?, ?, position), holds = IF(?, ?, holds),
         updated_at = UTC_TIMESTAMP(6)
       WHERE plan = ? AND lease_owner = ?`,
      [
        phase,
        start !== undefined,
        start?.position ?? null,
        start !== undefined,
        start?.holds ?? null,
        plan,
        owner,
      ],
    );
    if (r.affectedRows !== 1) throw followLeaseLost(plan);
  }

  async release(plan: string, owner: string): Promise<void> {
    await this.conn.query(
      `UPDATE ${this.table} SET lease_owner = NULL, lease_expires = NULL WHERE plan = ? AND lease_owner = ?`,
      [plan, owner],
    );
  }
}
