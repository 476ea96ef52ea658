/**
 * Checkpoints and leases in the target MySQL/MariaDB database: the same table and semantics as
 * postgres/state.ts. Times are UTC_TIMESTAMP(6) in DATETIME(6) columns, so they do not depend on any zone;
 * claims use `FOR UPDATE SKIP LOCKED` (MySQL 8.0.1+, MariaDB 10.6+).
 */

import { createHash } from 'node:crypto';
import mysql from 'mysql2/promise';
import { RuntimeError } from '../../errors.js';
import type { FollowStore } from '../follow-state.js';
import { heldByOther, restartRefused } from '../lease.js';
import { type StateRow as BaseStateRow, chunkStateFrom } from '../state-row.js';
import type { ChunkState, StateStore } from '../state-store.js';
import type { CheckpointUpdate } from '../writer.js';
import type { MysqlSession } from './connect.js';
import { MysqlFollowStore } from './follow.js';
import { quoteIdent } from './sql.js';
import { inTransaction } from './transaction.js';

interface StateRow extends mysql.RowDataPacket, BaseStateRow {
  lease_live: string | number;
}

const UTC_NOW = mysql.raw('UTC_TIMESTAMP(6)');

const LIVE = 'lease_expires IS NOT NULL AND lease_expires > UTC_TIMESTAMP(6)';

const SELECT_COLS = `plan, table_name, chunk, status, last_key, warmed_key, rows_read, rows_written, mismatches,
  skipped, mapping_hash, range_start, range_end, lease_owner, (${LIVE}) AS lease_live, updated_at`;

function toState(r: StateRow): ChunkState {
  return chunkStateFrom(r, Number(r.lease_live) === 1);
}

/** The UPDATE that commits with each batch; matches only while this worker still holds the lease. */
export function checkpointSql(stateTable: string): string {
  // MySQL applies SET assignments left to right, so `lease_owner` is assigned last, after `status`.
  return `UPDATE ${quoteIdent(stateTable)} SET last_key = ?, warmed_key = IF(?, ?, warmed_key),
    rows_read = rows_read + ?, rows_written = rows_written + ?, mismatches = mismatches + ?,
    skipped = skipped + ?, status = IF(?, 'done', 'running'),
    lease_expires = IF(?, NULL, UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND),
    updated_at = UTC_TIMESTAMP(6), lease_owner = IF(?, NULL, lease_owner)
  WHERE plan = ? AND table_name = ? AND chunk = ? AND lease_owner = ?`;
}

export function checkpointValues(c: CheckpointUpdate): unknown[] {
  return [
    c.lastKey,
    c.warmedKey !== undefined,
    c.warmedKey ?? null,
    c.rowsRead,
    c.rowsWritten,
    c.mismatches,
    c.skipped,
    c.done,
    c.done,
    Math.round(c.leaseMs * 1000),
    c.done,
    c.plan,
    c.table,
    c.chunk,
    c.owner,
  ];
}

export class MysqlStateStore implements StateStore {
  private readonly table: string;
  private readonly conn: mysql.Connection;
  readonly follow: FollowStore;

  constructor(
    session: MysqlSession,
    private readonly stateTableName: string,
  ) {
    this.conn = session.conn;
    this.table = quoteIdent(stateTableName);
    this.follow = new MysqlFollowStore(session.conn, stateTableName);
  }

  async exists(): Promise<boolean> {
    const [rows] = await this.conn.query<mysql.RowDataPacket[]>(
      'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
      [this.stateTableName],
    );
    return rows.length > 0;
  }

  async ensure(): Promise<void> {
    // Binary collation: plan and table names that differ only in case are different checkpoints.
    await this.conn.query(`CREATE TABLE IF NOT EXISTS ${this.table} (
      plan varchar(100) NOT NULL, table_name varchar(255) NOT NULL, chunk int NOT NULL,
      status varchar(16) NOT NULL DEFAULT 'pending', range_start longtext, range_end longtext,
      last_key longtext, warmed_key longtext,
      rows_read bigint NOT NULL DEFAULT 0, rows_written bigint NOT NULL DEFAULT 0,
      mismatches bigint NOT NULL DEFAULT 0, skipped bigint NOT NULL DEFAULT 0,
      mapping_hash varchar(64) NOT NULL, lease_owner varchar(255), lease_expires datetime(6),
      started_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      updated_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      PRIMARY KEY (plan, table_name, chunk)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
  }

  async list(plan: string): Promise<ChunkState[]> {
    if (!(await this.exists())) return [];
    const [rows] = await this.conn.query<StateRow[]>(
      `SELECT ${SELECT_COLS} FROM ${this.table} WHERE plan = ? ORDER BY table_name, chunk`,
      [plan],
    );
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
    return inTransaction(this.conn, async () => {
      // Not INSERT IGNORE: that would also hide real errors. This is a no-op on an existing row.
      await this.conn.query(
        `INSERT INTO ${this.table} (plan, table_name, chunk, mapping_hash, started_at, updated_at)
         VALUES (?, ?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE plan = plan`,
        [plan, table, chunk, mappingHash],
      );
      const [rows] = await this.conn.query<StateRow[]>(
        `SELECT ${SELECT_COLS} FROM ${this.table} WHERE plan = ? AND table_name = ? AND chunk = ?
         FOR UPDATE SKIP LOCKED`,
        [plan, table, chunk],
      );
      const row = rows[0];
      if (!row || heldByOther(Number(row.lease_live) === 1, row.lease_owner, owner, isDead)) return null;
      await this.conn.query(
        `UPDATE ${this.table} SET lease_owner = ?, lease_expires = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND,
           status = IF(status = 'done', 'done', 'running'), updated_at = UTC_TIMESTAMP(6)
         WHERE plan = ? AND table_name = ? AND chunk = ?`,
        [owner, Math.round(leaseMs * 1000), plan, table, chunk],
      );
      const status = row.status === 'done' ? 'done' : 'running';
      return toState({ ...row, status, lease_owner: owner, lease_live: 1 } as StateRow);
    });
  }

  async createChunks(
    plan: string,
    table: string,
    mappingHash: string,
    ranges: { start: string | null; end: string | null }[],
  ): Promise<void> {
    // One planner per table at a time (a named lock: MySQL has no transaction-scoped advisory lock); the
    // second finds the rows and leaves them.
    const lock = `cache-migrate:${createHash('sha256').update(`${plan}\0${table}`).digest('hex').slice(0, 40)}`;
    const [got] = await this.conn.query<mysql.RowDataPacket[]>('SELECT GET_LOCK(?, 60) AS got', [lock]);
    if (Number(got[0]?.got) !== 1) {
      throw new RuntimeError(`table ${table}: timed out waiting for another run planning its chunks`);
    }
    try {
      await inTransaction(this.conn, async () => {
        const [rows] = await this.conn.query<mysql.RowDataPacket[]>(
          `SELECT 1 FROM ${this.table} WHERE plan = ? AND table_name = ? LIMIT 1`,
          [plan, table],
        );
        if (rows.length > 0 || ranges.length === 0) return;
        await this.conn.query(
          `INSERT INTO ${this.table} (plan, table_name, chunk, mapping_hash, range_start, range_end,
             started_at, updated_at) VALUES ?`,
          [ranges.map((r, i) => [plan, table, i, mappingHash, r.start, r.end, UTC_NOW, UTC_NOW])],
        );
      });
    } finally {
      await this.conn.query('SELECT RELEASE_LOCK(?)', [lock]).catch(() => undefined);
    }
  }

  async renew(plan: string, table: string, chunk: number, owner: string, leaseMs: number): Promise<void> {
    await this.conn.query(
      `UPDATE ${this.table} SET lease_expires = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND
       WHERE plan = ? AND table_name = ? AND chunk = ? AND lease_owner = ?`,
      [Math.round(leaseMs * 1000), plan, table, chunk, owner],
    );
  }

  async release(plan: string, table: string, chunk: number, owner: string): Promise<void> {
    await this.conn.query(
      `UPDATE ${this.table} SET status = IF(status = 'done', 'done', 'pending'), lease_expires = NULL,
         lease_owner = NULL
       WHERE plan = ? AND table_name = ? AND chunk = ? AND lease_owner = ?`,
      [plan, table, chunk, owner],
    );
  }

  async setWarmed(plan: string, table: string, chunk: number, warmedKey: string | null): Promise<void> {
    await this.conn.query(
      `UPDATE ${this.table} SET warmed_key = ?, updated_at = UTC_TIMESTAMP(6)
       WHERE plan = ? AND table_name = ? AND chunk = ?`,
      [warmedKey, plan, table, chunk],
    );
  }

  async reset(
    plan: string,
    tables: string[] | null,
    owner: string,
    isDead: (owner: string) => boolean = () => false,
  ): Promise<void> {
    if (!(await this.exists())) return;
    const only = tables === null ? '' : tables.length === 0 ? ' AND FALSE' : ' AND table_name IN (?)';
    const args: unknown[] = tables === null || tables.length === 0 ? [plan] : [plan, tables];
    await inTransaction(this.conn, async () => {
      const [rows] = await this.conn.query<StateRow[]>(
        `SELECT ${SELECT_COLS} FROM ${this.table} WHERE plan = ?${only} FOR UPDATE`,
        args,
      );
      const live = rows.filter((row) =>
        heldByOther(Number(row.lease_live) === 1, row.lease_owner, owner, isDead),
      );
      if (live.length > 0) {
        const held = live.map((row) => `${row.table_name} held by ${row.lease_owner}`);
        throw restartRefused(plan, held, this.stateTableName);
      }
      await this.conn.query(`DELETE FROM ${this.table} WHERE plan = ?${only}`, args);
    });
  }
}
