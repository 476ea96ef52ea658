// For tests of the PostgreSQL dialect's writer: per-test databases with a dialect on each (both closed after
// the test), a state table whose chunk rows the writer's checkpoints update, and such a checkpoint.
import { afterEach } from 'vitest';
import type { Column } from '../../src/convert/value.js';
import { PostgresDialect } from '../../src/db/postgres/index.js';
import type { CheckpointUpdate, Writer } from '../../src/db/writer.js';
import { createPgDatabase, type PgTestDatabase } from './databases.js';

/** `setup(name, sql)`: a new database with `sql` run in it, and a dialect on it; both gone after the test. */
export function scopedPgDialects(): (
  name: string,
  sql: string,
) => Promise<{ db: PgTestDatabase; dialect: PostgresDialect }> {
  const dbs: PgTestDatabase[] = [];
  const dialects: PostgresDialect[] = [];
  afterEach(async () => {
    await Promise.all(dialects.splice(0).map((d) => d.close()));
    await Promise.all(dbs.splice(0).map((d) => d.drop()));
  });
  return async (name, sql) => {
    const db = await createPgDatabase(name);
    dbs.push(db);
    await db.client.query(sql);
    const dialect = new PostgresDialect(db.url);
    dialects.push(dialect);
    return { db, dialect };
  };
}

/** A state table with a chunk row, for owner `me`, for each of `tables`. */
export function stateSql(...tables: string[]): string {
  const rows = tables.map((t) => `('p', '${t}', 0, 'me')`).join(', ');
  return `CREATE TABLE state (plan text, table_name text, chunk int, status text, last_key text, warmed_key text,
     rows_read bigint DEFAULT 0, rows_written bigint DEFAULT 0, mismatches bigint DEFAULT 0,
     skipped bigint DEFAULT 0, lease_owner text, lease_expires timestamptz, updated_at timestamptz);
   INSERT INTO state (plan, table_name, chunk, lease_owner) VALUES ${rows};`;
}

/** The checkpoint of a batch of `rows` rows to `table`, by owner `me` (see stateSql). */
export function checkpointOf(table: string, rows = 0): CheckpointUpdate {
  return {
    plan: 'p',
    table,
    chunk: 0,
    owner: 'me',
    lastKey: '[]',
    rowsRead: rows,
    rowsWritten: rows,
    mismatches: 0,
    skipped: 0,
    done: false,
    leaseMs: 60_000,
  };
}

/** An upsert writer of table `name` (schema public, key: its first column) checkpointing into `state`. */
export function upsertWriter(dialect: PostgresDialect, name: string, columns: Column[]): Promise<Writer> {
  return dialect.openWriter({
    ref: { schema: 'public', name },
    columns,
    key: [0],
    onConflict: 'upsert',
    stateTable: 'state',
    label: name,
  });
}
