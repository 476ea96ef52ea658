/**
 * What a follow holds on the source: a publication of the followed tables and a logical replication slot
 * (plugin pgoutput) of the same name, made from the plan's name and the database's, so a re-run of the
 * same plan finds them and two plans (or two databases of one server) never share them.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { RuntimeError } from '../../../errors.js';
import type { FollowSpec } from '../../changes.js';
import { quoteIdent, quoteTable } from '../sql.js';
import { formatLsn, parseLsn } from './lsn.js';

/** Slot and publication name: `migrate_<plan slug>_<hash>`, at most 53 bytes of [a-z0-9_]. */
export async function followName(client: pg.Client, plan: string): Promise<string> {
  const r = await client.query<{ db: string }>('SELECT current_database() AS db');
  const hash = createHash('sha256').update(`${r.rows[0]!.db}\0${plan}`).digest('hex').slice(0, 12);
  const slug = plan
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 32)
    .replace(/_+$/, '');
  return `migrate_${slug ? `${slug}_` : ''}${hash}`;
}

/**
 * The publication FOR TABLE the spec's tables: created, or set to exactly these tables when it exists (a
 * re-run). It must exist before the slot: pgoutput looks it up as of each change it decodes.
 */
export async function ensurePublication(client: pg.Client, name: string, spec: FollowSpec): Promise<void> {
  const tables = spec.tables.map((t) => quoteTable(t.ref)).join(', ');
  const found = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [name]);
  if (found.rows.length > 0) {
    await client.query(`ALTER PUBLICATION ${quoteIdent(name)} SET TABLE ${tables}`);
    return;
  }
  try {
    await client.query(`CREATE PUBLICATION ${quoteIdent(name)} FOR TABLE ${tables}`);
  } catch (error) {
    // Created meanwhile by another run of the same plan: it holds the same tables.
    if (!(error instanceof pg.DatabaseError && error.code === '42710')) throw error;
  }
}

interface SlotRow {
  plugin: string | null;
  database: string | null;
  confirmed: string | null;
}

const SLOT_SQL = `SELECT plugin, database, confirmed_flush_lsn::text AS confirmed
  FROM pg_replication_slots WHERE slot_name = $1`;

/**
 * The logical slot: created, returning its consistent point (changes committed after it are streamed),
 * or, when it exists (a re-run after a crash), the position it is confirmed up to.
 */
export async function ensureSlot(client: pg.Client, name: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const found = await client.query<SlotRow>(SLOT_SQL, [name]);
    const slot = found.rows[0];
    if (slot) return existingSlot(client, name, slot);
    try {
      const r = await client.query<{ lsn: string }>(
        "SELECT lsn::text AS lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')",
        [name],
      );
      return formatLsn(parseLsn(r.rows[0]!.lsn));
    } catch (error) {
      // Created meanwhile by another run of the same plan: read it.
      if (attempt > 0 || !(error instanceof pg.DatabaseError && error.code === '42710')) throw error;
    }
  }
}

async function existingSlot(client: pg.Client, name: string, slot: SlotRow): Promise<string> {
  const db = await client.query<{ db: string }>('SELECT current_database() AS db');
  if (slot.plugin !== 'pgoutput' || slot.database !== db.rows[0]!.db || !slot.confirmed)
    throw new RuntimeError(
      `a replication slot named ${name} exists that migrate did not create here ` +
        `(plugin ${slot.plugin ?? 'none: a physical slot'}, database ${slot.database ?? 'none'})`,
      {
        hint: `drop it (SELECT pg_drop_replication_slot('${name}')) if it is not in use, or rename the plan`,
      },
    );
  return formatLsn(parseLsn(slot.confirmed));
}

const RELEASE_WAIT_MS = 3_000;

/**
 * Drops the slot (when it exists). A slot still streamed to one of `ours` (walsenders this process
 * started) has that walsender ended first; one streamed to anyone else is left alone: an error says so,
 * once the time a closing walsender takes to exit has passed.
 */
export async function dropSlot(client: pg.Client, name: string, ours: ReadonlySet<number>): Promise<void> {
  const deadline = Date.now() + RELEASE_WAIT_MS;
  for (;;) {
    const r = await client.query<{ pid: string | null }>(
      'SELECT active_pid::text AS pid FROM pg_replication_slots WHERE slot_name = $1',
      [name],
    );
    const row = r.rows[0];
    if (!row) return;
    const pid = row.pid === null ? null : Number(row.pid);
    try {
      if (pid === null) {
        await client.query('SELECT pg_drop_replication_slot($1)', [name]);
        return;
      }
      if (ours.has(pid)) await client.query('SELECT pg_terminate_backend($1)', [pid]);
    } catch (error) {
      // 55006: it became active between the two statements; 42704: someone dropped it.
      if (!(error instanceof pg.DatabaseError && (error.code === '55006' || error.code === '42704')))
        throw error;
    }
    if (pid !== null && Date.now() > deadline)
      throw new RuntimeError(`replication slot ${name} is in use by server process ${pid}`, {
        hint: 'another `migrate run --follow` of this plan may be running: stop it, then try again',
      });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function dropPublication(client: pg.Client, name: string): Promise<void> {
  await client.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(name)}`);
}
