// Applying followed changes on every target dialect (issue 22): Writer.applyChanges writes upserts, deletes
// and truncates in order with the follow checkpoint in one transaction, and the follow record's lease rules
// hold. Every expectation is read back with the test's own connection, not through the dialect.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { Row } from '../../src/convert/value.js';
import type { Dialect } from '../../src/db/dialect.js';
import type { FollowCheckpoint } from '../../src/db/follow-state.js';
import { openDialect } from '../../src/db/open.js';
import type { StateStore } from '../../src/db/state-store.js';
import type { TargetChange, Writer } from '../../src/db/writer.js';
import { DataError, RuntimeError } from '../../src/errors.js';
import { createMysqlDatabase, createPgDatabase } from '../helpers/databases.js';
import { tempDirs } from '../helpers/temp-dir.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const tempDir = tempDirs('apply-changes-');

/** A target database: its URL, raw SQL on the test's own connection, and rows read back as text. */
interface Target {
  url: string;
  exec(sql: string): Promise<void>;
  /** `SELECT id, name, email, qty FROM items ORDER BY id`, every value as text (or null). */
  items(): Promise<(string | null)[][]>;
  /** A table of two key columns: `pairs (a int, b text, v text)`, read back as `a, b, v` in key order. */
  pairsDdl: string;
  pairs(): Promise<(string | null)[][]>;
  schema: string | null;
  /** The chunk state table as earlier versions created it (before the follow table existed). */
  oldStateDdl: string;
  itemsDdl: string;
}

const targets: Record<string, (name: string) => Promise<Target>> = {
  postgres: async (name) => {
    const db = await createPgDatabase(name);
    cleanups.push(() => db.drop());
    return {
      url: db.url,
      schema: 'public',
      exec: async (sql) => void (await db.client.query(sql)),
      items: async () =>
        (
          await db.client.query<(string | null)[]>({
            text: 'SELECT id::text, name, email, qty::text FROM items ORDER BY items.id',
            rowMode: 'array',
          })
        ).rows,
      itemsDdl:
        'CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, email varchar(40) UNIQUE, qty bigint)',
      pairsDdl: 'CREATE TABLE pairs (a int, b text, v text, PRIMARY KEY (a, b))',
      pairs: async () =>
        (
          await db.client.query<(string | null)[]>({
            text: 'SELECT a::text, b, v FROM pairs ORDER BY pairs.a, pairs.b COLLATE "C"',
            rowMode: 'array',
          })
        ).rows,
      oldStateDdl: `CREATE TABLE "_migrate_state" (
        plan text NOT NULL, table_name text NOT NULL, chunk integer NOT NULL,
        status text NOT NULL DEFAULT 'pending', range_start text, range_end text,
        last_key text, warmed_key text,
        rows_read bigint NOT NULL DEFAULT 0, rows_written bigint NOT NULL DEFAULT 0,
        mismatches bigint NOT NULL DEFAULT 0, skipped bigint NOT NULL DEFAULT 0,
        mapping_hash text NOT NULL, lease_owner text, lease_expires timestamptz,
        started_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (plan, table_name, chunk))`,
    };
  },
  mysql: async (name) => {
    const db = await createMysqlDatabase(name);
    cleanups.push(() => db.drop());
    return {
      url: db.url,
      schema: null,
      exec: async (sql) => void (await db.conn.query(sql)),
      items: async () => {
        const [rows] = await db.conn.query({
          sql: 'SELECT CAST(id AS CHAR), name, email, CAST(qty AS CHAR) FROM items ORDER BY id',
          rowsAsArray: true,
        });
        return rows as (string | null)[][];
      },
      itemsDdl:
        'CREATE TABLE items (id bigint PRIMARY KEY, name varchar(40) NOT NULL, email varchar(40) UNIQUE, qty bigint) ENGINE=InnoDB',
      pairsDdl:
        'CREATE TABLE pairs (a int, b varchar(20) COLLATE utf8mb4_bin, v text, PRIMARY KEY (a, b)) ENGINE=InnoDB',
      pairs: async () => {
        const [rows] = await db.conn.query({
          sql: 'SELECT CAST(a AS CHAR), b, v FROM pairs ORDER BY a, b',
          rowsAsArray: true,
        });
        return rows as (string | null)[][];
      },
      oldStateDdl: `CREATE TABLE \`_migrate_state\` (
        plan varchar(100) NOT NULL, table_name varchar(255) NOT NULL, chunk int NOT NULL,
        status varchar(16) NOT NULL DEFAULT 'pending', range_start longtext, range_end longtext,
        last_key longtext, warmed_key longtext,
        rows_read bigint NOT NULL DEFAULT 0, rows_written bigint NOT NULL DEFAULT 0,
        mismatches bigint NOT NULL DEFAULT 0, skipped bigint NOT NULL DEFAULT 0,
        mapping_hash varchar(64) NOT NULL, lease_owner varchar(255), lease_expires datetime(6),
        started_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
        updated_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
        PRIMARY KEY (plan, table_name, chunk)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    };
  },
  sqlite: async () => {
    const file = join(tempDir(), 'target.db');
    const db = new Database(file);
    db.defaultSafeIntegers(true);
    cleanups.push(() => db.close());
    return {
      url: `sqlite:${file}`,
      schema: null,
      exec: async (sql) => void db.exec(sql),
      items: async () =>
        db
          .prepare('SELECT CAST(id AS TEXT), name, email, CAST(qty AS TEXT) FROM items ORDER BY id')
          .raw(true)
          .all() as (string | null)[][],
      itemsDdl:
        'CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE, qty INTEGER)',
      pairsDdl: 'CREATE TABLE pairs (a INTEGER, b TEXT, v TEXT, PRIMARY KEY (a, b))',
      pairs: async () =>
        db.prepare('SELECT CAST(a AS TEXT), b, v FROM pairs ORDER BY a, b').raw(true).all() as (
          | string
          | null
        )[][],
      oldStateDdl: `CREATE TABLE "_migrate_state" (
        plan TEXT NOT NULL, table_name TEXT NOT NULL, chunk INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending', range_start TEXT, range_end TEXT,
        last_key TEXT, warmed_key TEXT,
        rows_read INTEGER NOT NULL DEFAULT 0, rows_written INTEGER NOT NULL DEFAULT 0,
        mismatches INTEGER NOT NULL DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0,
        mapping_hash TEXT NOT NULL, lease_owner TEXT,
        lease_expires INTEGER,
        started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
        PRIMARY KEY (plan, table_name, chunk))`,
    };
  },
};

/** Rows of items as the changes use them: [id, name, email, qty] (qty past 2^53 stays exact). */
const START: Row[] = [
  ['1', 'one', 'a1', '1'],
  ['2', 'two', 'a2', '9007199254740993'],
  ['3', 'three', 'a3', null],
  ['4', 'four', 'a4', '-4'],
  ['5', 'five', 'a5', '5'],
];

const up = (...row: Row): TargetChange => ({ op: 'upsert', row });
const del = (id: string): TargetChange => ({ op: 'delete', key: [id] });

/** The expected table: the changes applied one after another to a map, independently of any database. */
function model(start: Row[], changes: TargetChange[]): (string | null)[][] {
  const rows = new Map(start.map((r) => [String(r[0]), r]));
  for (const c of changes) {
    if (c.op === 'upsert') rows.set(String(c.row[0]), c.row);
    else if (c.op === 'delete') rows.delete(String(c.key[0]));
    else rows.clear();
  }
  return [...rows.values()]
    .sort((a, b) => Number(a[0]) - Number(b[0]))
    .map((r) => r.map((v) => (v === null ? null : String(v))));
}

const insertSql = (rows: Row[]) =>
  `INSERT INTO items (id, name, email, qty) VALUES ${rows
    .map((r) => `(${r.map((v) => (v === null ? 'NULL' : `'${v}'`)).join(', ')})`)
    .join(', ')}`;

const LEASE = 60_000;
const checkpoint = (position: string, applied: number, owner = 'me'): FollowCheckpoint => ({
  plan: 'p',
  owner,
  position,
  applied,
  leaseMs: LEASE,
});

describe.each(Object.keys(targets))('%s target: applyChanges', (kind) => {
  async function setup(
    name: string,
    oldState = false,
  ): Promise<{ t: Target; dialect: Dialect; state: StateStore; writer: Writer }> {
    const t = await targets[kind]!(`apply ${kind} ${name}`);
    await t.exec(t.itemsDdl);
    await t.exec(insertSql(START));
    if (oldState) {
      await t.exec(t.oldStateDdl);
      await t.exec(
        `INSERT INTO _migrate_state (plan, table_name, chunk, status, mapping_hash, rows_read, rows_written)
         VALUES ('p', 'items', 0, 'done', 'h', 5, 5)`,
      );
    }
    const dialect = await openDialect(t.url);
    cleanups.push(() => dialect.close());
    const state = await dialect.state('_migrate_state');
    cleanups.push(() => state.close?.());
    await state.ensure();
    expect(await state.follow.claim('p', 'me', LEASE)).toMatchObject({ phase: 'copying', leaseOwner: 'me' });
    const ref = { schema: t.schema, name: 'items' };
    const info = (await dialect.describeTable(ref))!;
    // onConflict 'error': followed changes replace rows whatever the plan's conflict rule says.
    const writer = await dialect.openWriter({
      ref,
      columns: info.columns,
      key: [0],
      onConflict: 'error',
      stateTable: '_migrate_state',
      label: 'items',
    });
    cleanups.push(() => writer.close());
    return { t, dialect, state, writer };
  }

  it('applies inserts, updates, deletes, re-inserts and truncates in order, with the checkpoint', async () => {
    const { t, state, writer } = await setup('order');
    const changes: TargetChange[] = [
      up('6', 'six', 'a6', '6'),
      up('2', 'two-b', 'a2', '2'),
      up('2', 'two-c', 'b2', '18446744073709551'), // updated twice: the last one stands
      del('3'),
      up('3', 'three-again', 'a3', '33'), // deleted, then re-inserted
      del('4'),
      up('7', 'seven', 'a7', null),
      del('7'), // inserted, then deleted
      del('99'), // a key the target lacks
      // Key 5 gives its e-mail up by being deleted, key 9 takes it, key 5 comes back with another: only in
      // order does no statement meet the unique index on email.
      del('5'),
      up('9', 'nine', 'a5', '9'),
      up('5', 'five-again', 'z5', '5'),
      // In one run of upserts: key 1 gives its e-mail up before key 8 takes it.
      up('1', 'one-b', 'n1', '1'),
      up('8', 'eight', 'a1', '8'),
    ];
    const result = await writer.applyChanges(changes, checkpoint('pos-1', changes.length));
    expect(await t.items()).toEqual(model(START, changes));
    expect(result).toEqual({ upserted: 9, deleted: 4 });

    const record = await state.follow.read('p');
    expect(record).toMatchObject({
      plan: 'p',
      position: 'pos-1',
      changesApplied: String(changes.length),
      leaseOwner: 'me',
      leaseLive: true,
    });
    expect(record!.appliedAt).toBeInstanceOf(Date);
    expect(Math.abs(record!.appliedAt!.getTime() - Date.now())).toBeLessThan(60_000);

    const after = model(START, changes).map((r) => r as Row);
    const second: TargetChange[] = [
      { op: 'truncate' },
      up('10', 'ten', 'a1', '10'),
      up('11', 'x', null, null),
    ];
    expect(await writer.applyChanges(second, checkpoint('pos-2', second.length))).toEqual({
      upserted: 2,
      deleted: after.length,
    });
    expect(await t.items()).toEqual(model(after, second));
    expect(await state.follow.read('p')).toMatchObject({
      position: 'pos-2',
      changesApplied: String(changes.length + second.length),
    });
  });

  it('a change the target rejects leaves neither rows nor the checkpoint changed', async () => {
    const { t, state, writer } = await setup('failure');
    await writer.applyChanges([up('6', 'six', 'a6', '6')], checkpoint('pos-1', 1));
    const before = await t.items();
    const failing: [string, TargetChange[]][] = [
      ['NOT NULL', [up('20', 'twenty', 'a20', '20'), del('1'), up('21', null, 'a21', '21')]],
      // a new key whose e-mail another row holds (MySQL's ON DUPLICATE KEY UPDATE would update that row)
      ['unique', [up('2', 'two-b', 'a2', '2'), del('1'), up('22', 'dup', 'a3', '22')]],
    ];
    for (const [why, changes] of failing) {
      const error = await writer.applyChanges(changes, checkpoint(`bad ${why}`, 3)).catch((e: unknown) => e);
      expect(error, why).toBeInstanceOf(DataError);
      if (why === 'unique') expect((error as DataError).hint, why).toMatch(/unique index other than the key/);
      expect(await t.items(), why).toEqual(before);
      expect(await state.follow.read('p'), why).toMatchObject({ position: 'pos-1', changesApplied: '1' });
    }
    // The writer goes on after a rolled-back batch.
    await writer.applyChanges([del('6')], checkpoint('pos-2', 1));
    expect(await t.items()).toEqual(model(before as Row[], [del('6')]));
    expect(await state.follow.read('p')).toMatchObject({ position: 'pos-2', changesApplied: '2' });
  });

  it('phases, lease renewals and a lease taken over: the apply fails and writes nothing', async () => {
    const { t, state, writer } = await setup('lease');
    await state.follow.setPhase('p', 'me', 'copying', { position: 'start', holds: '{"slot":"s"}' });
    await state.follow.setPhase('p', 'me', 'catching-up');
    expect(await state.follow.read('p')).toMatchObject({
      phase: 'catching-up',
      position: 'start',
      holds: '{"slot":"s"}',
      changesApplied: '0',
      appliedAt: null,
    });
    expect(await state.follow.renew('p', 'me', LEASE)).toBe(true);
    expect(await state.follow.claim('p', 'other', LEASE)).toBeNull();

    // `me` is gone (as isDead would judge a crashed process): `other` takes the live lease over.
    expect(await state.follow.claim('p', 'other', LEASE, (o) => o === 'me')).toMatchObject({
      leaseOwner: 'other',
      phase: 'catching-up',
      position: 'start',
    });
    const error = await writer
      .applyChanges([up('6', 'six', 'a6', '6'), del('1')], checkpoint('pos-me', 2))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeError);
    expect(String((error as Error).message)).toMatch(/follow lease was taken over/);
    expect(await t.items()).toEqual(model(START, []));
    expect(await state.follow.read('p')).toMatchObject({ position: 'start', changesApplied: '0' });
    expect(await state.follow.renew('p', 'me', LEASE)).toBe(false);
    await expect(state.follow.setPhase('p', 'me', 'following')).rejects.toThrow(/taken over/);

    await writer.applyChanges([del('1')], checkpoint('pos-other', 1, 'other'));
    await state.follow.setPhase('p', 'other', 'cut-over');
    await state.follow.release('p', 'other');
    expect(await state.follow.read('p')).toMatchObject({
      phase: 'cut-over',
      position: 'pos-other',
      changesApplied: '1',
      leaseOwner: null,
      leaseLive: false,
    });
  });

  it('a state table made by an earlier version keeps its chunks and gains the follow record', async () => {
    const { t, state, writer } = await setup('old state', true);
    expect(await state.list('p')).toMatchObject([{ table: 'items', chunk: 0, status: 'done', rowsRead: 5 }]);
    await writer.applyChanges([up('1', 'one-b', 'a1', '1')], checkpoint('pos-1', 1));
    expect((await t.items())[0]).toEqual(['1', 'one-b', 'a1', '1']);
    expect(await state.follow.read('p')).toMatchObject({ position: 'pos-1', changesApplied: '1' });
    expect(await state.list('p')).toMatchObject([{ table: 'items', chunk: 0, status: 'done', rowsRead: 5 }]);
    await state.ensure(); // again: nothing changes
    expect(await state.follow.claim('p', 'me', LEASE)).toMatchObject({ position: 'pos-1' });
  });

  it('a batch beyond one statement: upserts and deletes past every per-statement limit', async () => {
    const { t, writer } = await setup('big');
    const n = 12_000; // past PostgreSQL's rows per COPY, SQLite's rows per INSERT, MySQL's keys per DELETE
    const changes: TargetChange[] = [];
    for (let i = 100; i < 100 + n; i++) changes.push(up(String(i), `r${i}`, `e${i}`, String(i * 7)));
    for (let i = 100; i < 100 + n; i += 2) changes.push(del(String(i)));
    changes.push(del('1'), up('1', 'one-b', 'e100', '1')); // e100's row was deleted above
    const result = await writer.applyChanges(changes, checkpoint('big', changes.length));
    expect(result).toEqual({ upserted: n + 1, deleted: n / 2 + 1 });
    expect(await t.items()).toEqual(model(START, changes));
  });

  it('keys of two columns: upserts, deletes and re-inserts', async () => {
    const { t, dialect } = await setup('pairs');
    await t.exec(t.pairsDdl);
    await t.exec("INSERT INTO pairs (a, b, v) VALUES (1, 'x', 'one'), (1, 'X', 'ONE'), (2, 'x', 'two')");
    const ref = { schema: t.schema, name: 'pairs' };
    const writer = await dialect.openWriter({
      ref,
      columns: (await dialect.describeTable(ref))!.columns,
      key: [0, 1],
      onConflict: 'skip',
      stateTable: '_migrate_state',
      label: 'pairs',
    });
    cleanups.push(() => writer.close());
    await writer.applyChanges(
      [
        { op: 'upsert', row: ['1', 'x', 'one-b'] },
        { op: 'delete', key: ['1', 'X'] },
        { op: 'delete', key: ['2', 'x'] },
        { op: 'upsert', row: ['2', 'x', 'two-b'] },
        { op: 'upsert', row: ['3', 'y', null] },
      ],
      checkpoint('pairs', 5),
    );
    expect(await t.pairs()).toEqual([
      ['1', 'x', 'one-b'],
      ['2', 'x', 'two-b'],
      ['3', 'y', null],
    ]);
  });

  it('reads no follow record where there is none', async () => {
    const t = await targets[kind]!(`apply ${kind} none`);
    const dialect = await openDialect(t.url);
    cleanups.push(() => dialect.close());
    const state = await dialect.state('_migrate_state');
    cleanups.push(() => state.close?.());
    expect(await state.follow.read('p')).toBeNull(); // no table
    await state.ensure(); // the chunk table only: a run that does not follow adds no follow table
    expect(await state.follow.read('p')).toBeNull();
    expect(await state.follow.claim('q', 'me', LEASE)).not.toBeNull();
    expect(await state.follow.read('p')).toBeNull();
  });
});

describe('mysql target: applyChanges under a key collation that equates keys', () => {
  it('an upsert of `abc` where `ABC` is stored fails instead of updating that row', async () => {
    const db = await createMysqlDatabase('apply mysql ci key');
    cleanups.push(() => db.drop());
    await db.conn.query(
      "CREATE TABLE ci (k varchar(10) COLLATE utf8mb4_general_ci PRIMARY KEY, v text); INSERT INTO ci VALUES ('ABC', 'x')",
    );
    const dialect = await openDialect(db.url);
    cleanups.push(() => dialect.close());
    const state = await dialect.state('_migrate_state');
    cleanups.push(() => state.close?.());
    await state.follow.claim('p', 'me', LEASE);
    const ref = { schema: null, name: 'ci' };
    const writer = await dialect.openWriter({
      ref,
      columns: (await dialect.describeTable(ref))!.columns,
      key: [0],
      onConflict: 'upsert',
      stateTable: '_migrate_state',
      label: 'ci',
    });
    cleanups.push(() => writer.close());
    const error = await writer
      .applyChanges([{ op: 'upsert', row: ['abc', 'y'] }], checkpoint('pos', 1))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    const [rows] = await db.conn.query({ sql: 'SELECT k, v FROM ci', rowsAsArray: true });
    expect(rows).toEqual([['ABC', 'x']]);
  });
});
