/** The follow record in the target PostgreSQL database (what it is: db/follow-state.ts). */
import type pg from 'pg';
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

/** The dialect's clients parse no types: booleans arrive as `t`/`f`. */
interface Row extends FollowRow {
  lease_live: string;
}

const SELECT_COLS = `plan, phase, position, holds, changes_applied::text AS changes_applied,
  applied_at::text AS applied_at, lease_owner, (lease_expires IS NOT NULL AND lease_expires > now()) AS lease_live,
  updated_at::text AS updated_at`;

function followDdl(stateTable: string): string {
  return `CREATE TABLE IF NOT EXISTS ${quoteIdent(followTable(stateTable))} (
    plan text PRIMARY KEY, phase text NOT NULL DEFAULT 'copying', position text, holds text,
    changes_applied bigint NOT NULL DEFAULT 0, applied_at timestamptz,
    lease_owner text, lease_expires timestamptz,
    started_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now())`;
}

/** The UPDATE that commits with each applied batch; matches only while this run still holds the lease. */
export function followCheckpointSql(stateTable: string): string {
  return `UPDATE ${quoteIdent(followTable(stateTable))} SET position = $3,
    changes_applied = changes_applied + $4, applied_at = now(),
    lease_expires = now() + $5 * interval '1 millisecond', updated_at = now()
  WHERE plan = $1 AND lease_owner = $2`;
}

export function followCheckpointValues(c: FollowCheckpoint): unknown[] {
  return [c.plan, c.owner, c.position, c.applied, c.leaseMs];
}

export class PostgresFollowStore implements FollowStore {
  private readonly table: string;
  private created = false;

  constructor(
    private readonly client: pg.Client,
    private readonly stateTable: string,
  ) {
    this.table = quoteIdent(followTable(stateTable));
  }

  /** Creates the follow table when missing (concurrent first claims may race on pg_type: retried once). */
  private async ensureTable(): Promise<void> {
    if (this.created) return;
    const ddl = followDdl(this.stateTable);
    try {
      await this.client.query(ddl);
    } catch (error) {
      if ((error as { code?: string }).code !== '23505') throw error;
      await this.client.query(ddl);
    }
    this.created = true;
  }

  async read(plan: string): Promise<FollowState | null> {
    const exists = await this.client.query<{ oid: string | null }>('SELECT to_regclass($1)::oid AS oid', [
      this.table,
    ]);
    if (!exists.rows[0]?.oid) return null;
    const r = await this.client.query<Row>(`SELECT ${SELECT_COLS} FROM ${this.table} WHERE plan = $1`, [
      plan,
    ]);
    const row = r.rows[0];
    return row ? followStateFrom(row, row.lease_live === 't') : null;
  }

  async claim(
    plan: string,
    owner: string,
    leaseMs: number,
    isDead: (owner: string) => boolean = () => false,
  ): Promise<FollowState | null> {
    await this.ensureTable();
    return inTransaction(this.client, async () => {
      await this.client.query(`INSERT INTO ${this.table} (plan) VALUES ($1) ON CONFLICT DO NOTHING`, [plan]);
      const r = await this.client.query<Row>(
        `SELECT ${SELECT_COLS} FROM ${this.table} WHERE plan = $1 FOR UPDATE SKIP LOCKED`,
        [plan],
      );
      const row = r.rows[0];
      if (!row || heldByOther(row.lease_live === 't', row.lease_owner, owner, isDead)) return null;
      await this.client.query(
        `UPDATE ${this.table} SET lease_owner = $2, lease_expires = now() + $3 * interval '1 millisecond',
           updated_at = now() WHERE plan = $1`,
        [plan, owner, leaseMs],
      );
      return followStateFrom({ ...row, lease_owner: owner }, true);
    });
  }

  async renew(plan: string, owner: string, leaseMs: number): Promise<boolean> {
    const r = await this.client.query(
      `UPDATE ${this.table} SET lease_expires = now() + $3 * interval '1 millisecond'
       WHERE plan = $1 AND lease_owner = $2`,
      [plan, owner, leaseMs],
    );
    return r.rowCount === 1;
  }

  async setPhase(
    plan: string,
    owner: string,
    phase: FollowPhase,
    start?: { position: string; holds: string | null },
  ): Promise<void> {
    const r = await this.client.query(
      `UPDATE ${this.table} SET phase = $3, position = CASE WHEN $4::boolean THEN $5 ELSE position END,
         holds = CASE WHEN $4::boolean THEN $6 ELSE holds END, updated_at = now()
       WHERE plan = $1 AND lease_owner = $2`,
      [plan, owner, phase, start !== undefined, start?.position ?? null, start?.holds ?? null],
    );
    if (r.rowCount !== 1) throw followLeaseLost(plan);
  }

  async release(plan: string, owner: string): Promise<void> {
    await this.client.query(
      `UPDATE ${this.table} SET lease_owner = NULL, lease_expires = NULL WHERE plan = $1 AND lease_owner = $2`,
      [plan, owner],
    );
  }
}
