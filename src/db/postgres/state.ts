/** Checkpoints and leases in the target PostgreSQL database (what they are: db/state-store.ts). */
import type pg from 'pg';
import type { FollowStore } from '../follow-state.js';
import { heldByOther, restartRefused } from '../lease.js';
import { type StateRow as BaseStateRow, chunkStateFrom } from '../state-row.js';
import type { ChunkState, StateStore } from '../state-store.js';
import type { CheckpointUpdate } from '../writer.js';
import { PostgresFollowStore } from './follow.js';
import { quoteIdent } from './sql.js';
import { inTransaction } from './transaction.js';

interface StateRow extends BaseStateRow {
  lease_live: string;
}

const SELECT_COLS = `plan, table_name, chunk, status, last_key, warmed_key, rows_read, rows_written, mismatches,
  skipped, mapping_hash, range_start, range_end, lease_owner, (lease_expires IS NOT NULL AND lease_expires > now()) AS lease_live,
  updated_at`;

function toState(r: StateRow): ChunkState {
  return chunkStateFrom(r, r.lease_live === 't');
}

/** The UPDATE that commits with each batch; matches only while this worker still holds the lease. */
export function checkpointSql(stateTable: string): string {
  return `UPDATE ${quoteIdent(stateTable)} SET last_key = $5, warmed_key = CASE WHEN $6::boolean THEN $7 ELSE warmed_key END,
    rows_read = rows_read + $8, rows_written = rows_written + $9, mismatches = mismatches + $10,
    skipped = skipped + $11, status = CASE WHEN $12::boolean THEN 'done' ELSE 'running' END,
    lease_expires = CASE WHEN $12::boolean THEN NULL ELSE now() + $13 * interval '1 millisecond' END,
    lease_owner = CASE WHEN $12::boolean THEN NULL ELSE lease_owner END, updated_at = now()
  WHERE plan = $1 AND table_name = $2 AND chunk = $3 AND lease_owner = $4`;
}

export function checkpointValues(c: CheckpointUpdate): unknown[] {
  return [
    c.plan,
    c.table,
    c.chunk,
    c.owner,
    c.lastKey,
    c.warmedKey !== undefined,
    c.warmedKey ?? null,
    c.rowsRead,
    c.rowsWritten,
    c.mismatches,
    c.skipped,
    c.done,
    c.leaseMs,
  ];
}

export class PostgresStateStore implements StateStore {
  private readonly table: string;
  readonly follow: FollowStore;

  constructor(
    private readonly client: pg.Client,
    private readonly stateTableName: string,
  ) {
    this.table = quoteIdent(stateTableName);
    this.follow = new PostgresFollowStore(client, stateTableName);
  }

  async exists(): Promise<boolean> {
    const r = await this.client.query<{ oid: string | null }>('SELECT to_regclass($1)::oid AS oid', [
      this.table,
    ]);
    return Boolean(r.rows[0]?.oid);
  }

  async ensure(): Promise<void> {
    // Concurrent first runs may race on CREATE TABLE IF NOT EXISTS (pg_type unique violation): retry once.
    const ddl = `CREATE TABLE IF NOT EXISTS ${this.table} (
      plan text NOT NULL, table_name text NOT NULL, chunk integer NOT NULL,
      status text NOT NULL DEFAULT 'pending', range_start text, range_end text,
      last_key text, warmed_key text,
      rows_read bigint NOT NULL DEFAULT 0, rows_written bigint NOT NULL DEFAULT 0,
      mismatches bigint NOT NULL DEFAULT 0, skipped bigint NOT NULL DEFAULT 0,
      mapping_hash text NOT NULL, lease_owner text, lease_expires timestamptz,
      started_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (plan, table_name, chunk))`;
    try {
      await this.client.query(ddl);
    } catch (error) {
      if ((error as { code?: string }).code !== '23505') throw error;
      await this.client.query(ddl);
    }
  }

  async list(plan: string): Promise<ChunkState[]> {
    if (!(await this.exists())) return [];
    const r = await this.client.query<StateRow>(
      `SELECT ${SELECT_COLS} FROM ${this.table} WHERE plan = $1 ORDER BY table_name, chunk`,
      [plan],
    );
    return r.rows.map(toState);
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
    return inTransaction(this.client, async () => {
      await this.client.query(
        `INSERT INTO ${this.table} (plan, table_name, chunk, mapping_hash) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING`,
        [plan, table, chunk, mappingHash],
      );
      const r = await this.client.query<StateRow>(
        `SELECT ${SELECT_COLS} FROM ${this.table} WHERE plan = $1 AND table_name = $2 AND chunk = $3
         FOR UPDATE SKIP LOCKED`,
        [plan, table, chunk],
      );
      const row = r.rows[0];
      if (!row || heldByOther(row.lease_live === 't', row.lease_owner, owner, isDead)) return null;
      await this.client.query(
        `UPDATE ${this.table} SET lease_owner = $4, lease_expires = now() + $5 * interval '1 millisecond',
           status = CASE WHEN status = 'done' THEN 'done' ELSE 'running' END, updated_at = now()
         WHERE plan = $1 AND table_name = $2 AND chunk = $3`,
        [plan, table, chunk, owner, leaseMs],
      );
      return toState({ ...row, lease_owner: owner, lease_live: 't' });
    });
  }

  async createChunks(
    plan: string,
    table: string,
    mappingHash: string,
    ranges: { start: string | null; end: string | null }[],
  ): Promise<void> {
    await inTransaction(this.client, async () => {
      // One planner per table at a time; the second finds the rows and leaves them.
      await this.client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `cache-migrate:${plan}:${table}`,
      ]);
      const r = await this.client.query(
        `SELECT 1 FROM ${this.table} WHERE plan = $1 AND table_name = $2 LIMIT 1`,
        [plan, table],
      );
      if ((r.rowCount ?? 0) === 0) {
        await this.client.query(
          `INSERT INTO ${this.table} (plan, table_name, chunk, mapping_hash, range_start, range_end)
           SELECT $1, $2, c - 1, $3, s, e FROM unnest($4::text[], $5::text[]) WITH ORDINALITY AS r(s, e, c)`,
          [plan, table, mappingHash, ranges.map((x) => x.start), ranges.map((x) => x.end)],
        );
      }
    });
  }

  async renew(plan: string, table: string, chunk: number, owner: string, leaseMs: number): Promise<void> {
    await this.client.query(
      `UPDATE ${this.table} SET lease_expires = now() + $5 * interval '1 millisecond'
       WHERE plan = $1 AND table_name = $2 AND chunk = $3 AND lease_owner = $4`,
      [plan, table, chunk, owner, leaseMs],
    );
  }

  async release(plan: string, table: string, chunk: number, owner: string): Promise<void> {
    await this.client.query(
      `UPDATE ${this.table} SET lease_owner = NULL, lease_expires = NULL,
         status = CASE WHEN status = 'done' THEN 'done' ELSE 'pending' END
       WHERE plan = $1 AND table_name = $2 AND chunk = $3 AND lease_owner = $4`,
      [plan, table, chunk, owner],
    );
  }

  async setWarmed(plan: string, table: string, chunk: number, warmedKey: string | null): Promise<void> {
    await this.client.query(
      `UPDATE ${this.table} SET warmed_key = $4, updated_at = now() WHERE plan = $1 AND table_name = $2 AND chunk = $3`,
      [plan, table, chunk, warmedKey],
    );
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }

  async reset(
    plan: string,
    tables: string[] | null,
    owner: string,
    isDead: (owner: string) => boolean = () => false,
  ): Promise<void> {
    if (!(await this.exists())) return;
    await inTransaction(this.client, async () => {
      const r = await this.client.query<StateRow>(
        `SELECT ${SELECT_COLS} FROM ${this.table} WHERE plan = $1 AND ($2::text[] IS NULL OR table_name = ANY($2))
         FOR UPDATE`,
        [plan, tables],
      );
      const live = r.rows.filter((row) =>
        heldByOther(row.lease_live === 't', row.lease_owner, owner, isDead),
      );
      if (live.length > 0) {
        const held = live.map((row) => `${row.table_name} held by ${row.lease_owner}`);
        throw restartRefused(plan, held, this.stateTableName);
      }
      await this.client.query(
        `DELETE FROM ${this.table} WHERE plan = $1 AND ($2::text[] IS NULL OR table_name = ANY($2))`,
        [plan, tables],
      );
    });
  }
}
