// PostgreSQL change capture (src/db/postgres/changes) against the real server: values equal to the copy
// path's (readBatches) for every type of the type matrix; inserts, updates (key-changing, TOAST unchanged),
// deletes and truncates as events; acknowledged positions not delivered again after a reopen, unacknowledged
// ones delivered again (and skipped at or below `from`); DDL as a schema event; check()'s problems;
// release() leaving no slot or publication. Every test has its own database and plan (so its own slot).
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { Row } from '../../src/convert/value.js';
import { type ChangeEvent, type ChangeStream, type FollowSpec, UNCHANGED } from '../../src/db/changes.js';
import { PostgresDialect } from '../../src/db/postgres/index.js';
import { createPgDatabase, type PgTestDatabase } from '../helpers/databases.js';
import { testServers } from '../helpers/env.js';
import { SOURCES, sourceRows } from '../helpers/matrix/columns.js';
import { pgSide } from '../helpers/matrix/sides.js';
import { seeded } from '../helpers/random.js';

interface Fixture {
  db: PgTestDatabase;
  dialect: PostgresDialect;
}

const fixtures: Fixture[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  for (const { db, dialect } of fixtures.splice(0)) {
    await dialect.close();
    // A slot left by a failed test would block DROP DATABASE (and keep WAL for everyone).
    await dropSlotsOf(db.name);
    await db.drop();
  }
});

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testServers.pgUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function dropSlotsOf(database: string): Promise<void> {
  await admin(async (c) => {
    await c.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1', [
      database,
    ]);
    for (let i = 0; i < 50; i++) {
      const r = await c.query(
        'SELECT slot_name FROM pg_replication_slots WHERE database = $1 AND NOT active',
        [database],
      );
      for (const s of r.rows) await c.query('SELECT pg_drop_replication_slot($1)', [s.slot_name]);
      const left = await c.query('SELECT 1 FROM pg_replication_slots WHERE database = $1', [database]);
      if (left.rows.length === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
}

async function setup(name: string, sql: string): Promise<Fixture> {
  const db = await createPgDatabase(name);
  await db.client.query(sql);
  const dialect = new PostgresDialect(db.url);
  const fixture = { db, dialect };
  fixtures.push(fixture);
  return fixture;
}

/** The spec of these tables (schema public, every column, key: the primary key). */
async function specOf(f: Fixture, ...names: string[]): Promise<FollowSpec> {
  const tables = [];
  for (const name of names) {
    const info = (await f.dialect.describeTable({ schema: 'public', name }))!;
    const key = (info.primaryKey ?? [info.columns[0]!.name]).map((k) =>
      info.columns.findIndex((c) => c.name === k),
    );
    tables.push({ ref: info.ref, columns: info.columns, key });
  }
  return { plan: f.db.name, tables };
}

/** Opens a stream; closed after the test. */
function open(
  f: Fixture,
  spec: FollowSpec,
  from: string,
): { stream: ChangeStream; it: AsyncIterator<ChangeEvent> } {
  const stream = f.dialect.changeCapture.open(spec, from);
  cleanups.push(() => stream.close());
  return { stream, it: stream[Symbol.asyncIterator]() };
}

const EVENT_WAIT_MS = 10_000;

/** The next event other than a tick. */
async function next(it: AsyncIterator<ChangeEvent>): Promise<ChangeEvent> {
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no change event within 10 s')), EVENT_WAIT_MS);
    });
    const r = await Promise.race([it.next(), timeout]).finally(() => clearTimeout(timer));
    if (r.done) throw new Error('the change stream ended');
    if (r.value.kind !== 'tick') return r.value;
  }
}

/** Events up to and including the next `n` commits (ticks left out). */
async function commits(it: AsyncIterator<ChangeEvent>, n: number): Promise<ChangeEvent[]> {
  const out: ChangeEvent[] = [];
  while (n > 0) {
    const e = await next(it);
    out.push(e);
    if (e.kind === 'commit') n--;
  }
  return out;
}

/** Reads ticks (only ticks) until one at or after `position`. */
async function tickAtLeast(it: AsyncIterator<ChangeEvent>, position: bigint): Promise<void> {
  const deadline = Date.now() + EVENT_WAIT_MS;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`no tick at or after ${position} within 10 s`);
    const r = await it.next();
    expect(r.done).toBe(false);
    expect(r.value.kind).toBe('tick');
    if (r.value.kind === 'tick' && lsn(r.value.position) >= position) return;
  }
}

/** Events up to and including the first schema event. */
async function untilSchema(it: AsyncIterator<ChangeEvent>): Promise<ChangeEvent[]> {
  const out: ChangeEvent[] = [];
  while (out.at(-1)?.kind !== 'schema') out.push(await next(it));
  return out;
}

/** `begin row… commit` → a compact form: `I[1]`, `U[1]`, `D[1]`, `T`, `C`. */
function brief(events: ChangeEvent[]): string[] {
  return events.flatMap((e) => {
    if (e.kind === 'row') return [`${e.op[0]!.toUpperCase()}${JSON.stringify(e.key)}`];
    if (e.kind === 'truncate') return [`T${JSON.stringify(e.tables)}`];
    if (e.kind === 'commit') return ['C'];
    if (e.kind === 'schema') return [`S${e.table}`];
    return [];
  });
}

const lsn = (text: string): bigint => {
  const [hi, lo] = text.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
};

async function slotsAndPublications(database: string): Promise<{ slots: string[]; publications: string[] }> {
  const slots = await admin((c) =>
    c.query('SELECT slot_name FROM pg_replication_slots WHERE database = $1', [database]),
  );
  const db = fixtures.find((f) => f.db.name === database)!.db;
  const pubs = await db.client.query('SELECT pubname FROM pg_publication');
  return { slots: slots.rows.map((r) => r.slot_name), publications: pubs.rows.map((r) => r.pubname) };
}

describe('PostgreSQL change capture', () => {
  it('delivers every type of the type matrix with the values readBatches reads', async () => {
    const source = SOURCES.postgres;
    const defs = source.columns.map((c) => `"${c.name}" ${c.type}`).join(', ');
    const f = await setup(
      'pg changes matrix',
      `${source.setup}; CREATE TABLE m (id integer PRIMARY KEY, ${defs})`,
    );
    const spec = await specOf(f, 'm');
    const capture = f.dialect.changeCapture;
    const from = await capture.start(spec);
    const rows = sourceRows(source, seeded(22));
    const side = await pgSide(f.db.client, f.db.url);
    await side.exec('BEGIN');
    await side.insert('m', ['id', ...source.columns.map((c) => c.name)], rows);
    await side.exec('COMMIT');
    // An update of every row too: its new row is decoded like an insert's.
    await f.db.client.query('UPDATE m SET i2 = i2');

    const { it } = open(f, spec, from);
    const events = await commits(it, 2);
    const inserted = events.filter((e) => e.kind === 'row' && e.op === 'insert');
    const updated = events.filter((e) => e.kind === 'row' && e.op === 'update');
    expect(inserted).toHaveLength(rows.length);
    expect(updated).toHaveLength(rows.length);

    const read: Row[] = [];
    for await (const batch of f.dialect.readBatches({
      from: { kind: 'table', ref: spec.tables[0]!.ref },
      columns: spec.tables[0]!.columns,
      key: [0],
      batchSize: 1000,
      after: null,
    }))
      read.push(...batch);
    const byId = (list: ChangeEvent[]) =>
      new Map(list.map((e) => (e.kind === 'row' ? [String(e.row![0]), e.row] : ['', null])));
    const expected = new Map(read.map((r) => [String(r[0]), r]));
    expect(expected.size).toBe(rows.length);
    for (const got of [byId(inserted), byId(updated)]) {
      for (const [id, row] of expected) expect({ id, row: got.get(id) }).toEqual({ id, row });
    }
    // The keys are the rows' ids.
    expect(inserted.map((e) => (e.kind === 'row' ? e.key : null))).toEqual(read.map((r) => [r[0]]));
  });

  it('streams inserts, updates, key changes, deletes, truncates and unchanged TOASTed values', async () => {
    const big = "(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 400) g)";
    const f = await setup(
      'pg changes ops',
      `CREATE TABLE k (id integer PRIMARY KEY, v text, big text);
       CREATE TABLE kf (id integer PRIMARY KEY, v text, big text);
       ALTER TABLE kf REPLICA IDENTITY FULL;`,
    );
    const spec = await specOf(f, 'k', 'kf');
    const from = await f.dialect.changeCapture.start(spec);
    const q = (sql: string) => f.db.client.query(sql);
    const bigText = (await q(`SELECT ${big} AS b`)).rows[0].b as string;
    for (const t of ['k', 'kf']) {
      await q(`INSERT INTO ${t} VALUES (1, 'a', ${big})`);
      await q(`UPDATE ${t} SET v = 'b' WHERE id = 1`);
      await q(`UPDATE ${t} SET id = 10 WHERE id = 1`);
      await q(`DELETE FROM ${t} WHERE id = 10`);
    }
    await q('INSERT INTO k VALUES (2, NULL, NULL)');
    await q('TRUNCATE k, kf');
    await q('ALTER TABLE k ADD COLUMN extra text');
    await q("INSERT INTO k VALUES (3, 'c', NULL, 'not followed')");

    const { it } = open(f, spec, from);
    const events = await commits(it, 11);
    expect(brief(events)).toEqual([
      ...['I["1"]', 'C', 'U["1"]', 'C', 'U["1"]', 'C', 'D["10"]', 'C'],
      ...['I["1"]', 'C', 'U["1"]', 'C', 'U["1"]', 'C', 'D["10"]', 'C'],
      ...['I["2"]', 'C', 'T[0,1]', 'C', 'I["3"]', 'C'],
    ]);
    const rows = events.filter((e) => e.kind === 'row');
    expect(rows.map((e) => (e.kind === 'row' ? e.table : -1))).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 0, 0]);
    const rowOf = (i: number) => (rows[i]!.kind === 'row' ? rows[i]!.row : 'none');
    expect(rowOf(0)).toEqual(['1', 'a', bigText]);
    // DEFAULT: the unchanged TOASTed value is not sent; FULL: it is taken from the old row.
    expect(rowOf(1)).toEqual(['1', 'b', UNCHANGED]);
    expect(rowOf(5)).toEqual(['1', 'b', bigText]);
    expect(rowOf(2)).toEqual(['10', 'b', UNCHANGED]);
    expect(rowOf(6)).toEqual(['10', 'b', bigText]);
    expect(rowOf(3)).toBeUndefined();
    expect(rowOf(8)).toEqual(['2', null, null]);
    // A column beyond the spec is left out.
    expect(rowOf(9)).toEqual(['3', 'c', null]);
    // Commit positions grow and are printed as PostgreSQL prints LSNs.
    const positions = events.flatMap((e) => (e.kind === 'commit' ? [e.position] : []));
    for (const p of positions) expect(p).toMatch(/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/);
    for (let i = 1; i < positions.length; i++) expect(lsn(positions[i]!) > lsn(positions[i - 1]!)).toBe(true);
    expect(lsn(positions[0]!) > lsn(from)).toBe(true);
    const current = await f.dialect.changeCapture.current();
    expect(lsn(current) >= lsn(positions.at(-1)!)).toBe(true);
  });

  it('does not deliver again what was acknowledged; delivers again what was not, unless at or below `from`', async () => {
    const f = await setup(
      'pg changes ack',
      'CREATE TABLE a (id integer PRIMARY KEY); CREATE TABLE b (id integer)',
    );
    const spec = await specOf(f, 'a');
    const capture = f.dialect.changeCapture;
    const from = await capture.start(spec);
    const insert = (id: number) => f.db.client.query(`INSERT INTO a VALUES (${id})`);
    const slot = async () =>
      admin(async (c) => {
        const r = await c.query(
          'SELECT confirmed_flush_lsn::text AS lsn, active FROM pg_replication_slots WHERE database = $1',
          [f.db.name],
        );
        return r.rows[0] as { lsn: string; active: boolean };
      });
    const commitOf = (events: ChangeEvent[]) => {
      const last = events.at(-1)!;
      return last.kind === 'commit' ? last.position : '';
    };

    await insert(1);
    const s1 = open(f, spec, from);
    const e1 = await commits(s1.it, 1);
    expect(brief(e1)).toEqual(['I["1"]', 'C']);
    const a1 = commitOf(e1);
    await s1.stream.acknowledge(a1);
    // The slot is confirmed up to exactly the acknowledged position.
    for (let i = 0; i < 50 && (await slot()).lsn !== a1; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await slot()).lsn).toBe(a1);
    await s1.stream.close();

    await insert(2);
    const s2 = open(f, spec, a1);
    const e2 = await commits(s2.it, 1);
    expect(brief(e2)).toEqual(['I["2"]', 'C']);
    const a2 = commitOf(e2);
    // Received up to a keepalive past a2 (a commit to an unfollowed table wakes the server at once), but not
    // acknowledged: the slot must stay at a1.
    await f.db.client.query('INSERT INTO b VALUES (1)');
    await tickAtLeast(s2.it, lsn(a2));
    await s2.stream.close();
    expect((await slot()).lsn).toBe(a1);

    await insert(3);
    const s3 = open(f, spec, a1);
    const e3 = await commits(s3.it, 2);
    expect(brief(e3)).toEqual(['I["2"]', 'C', 'I["3"]', 'C']);
    expect(e3.find((e) => e.kind === 'commit')).toEqual({ kind: 'commit', position: a2 });
    await s3.stream.close();

    // Applied up to a2 but never acknowledged: `from` a2 skips 2 (the slot is still at a1).
    const s4 = open(f, spec, a2);
    const e4 = await commits(s4.it, 1);
    expect(brief(e4)).toEqual(['I["3"]', 'C']);
    await s4.stream.close();
    expect((await slot()).active).toBe(false);
  });

  it('reports a schema event when a followed column is dropped or changes type', async () => {
    const f = await setup(
      'pg changes ddl',
      'CREATE TABLE s (id integer PRIMARY KEY, a text, b integer); CREATE TABLE n (id integer PRIMARY KEY, v integer)',
    );
    const capture = f.dialect.changeCapture;
    const dropSpec = { ...(await specOf(f, 's')), plan: `${f.db.name}_drop` };
    const typeSpec = { ...(await specOf(f, 'n')), plan: `${f.db.name}_type` };
    const fromDrop = await capture.start(dropSpec);
    const fromType = await capture.start(typeSpec);
    cleanups.push(
      () => capture.release(dropSpec),
      () => capture.release(typeSpec),
    );
    const q = (sql: string) => f.db.client.query(sql);
    await q("INSERT INTO s VALUES (1, 'x', 1)");
    await q('ALTER TABLE s DROP COLUMN a');
    await q('INSERT INTO s VALUES (2, 2)');
    await q('INSERT INTO n VALUES (1, 1)');
    await q('ALTER TABLE n ALTER COLUMN v TYPE bigint');
    await q('INSERT INTO n VALUES (2, 2)');

    const drop = open(f, dropSpec, fromDrop);
    const d = await untilSchema(drop.it);
    expect(brief(d)).toEqual(['I["1"]', 'C', 'S0']);
    expect(d.at(-1)).toMatchObject({ message: expect.stringMatching(/public\.s: column a was dropped/) });
    // Nothing after it: the stream ends.
    expect((await drop.it.next()).done).toBe(true);

    const type = open(f, typeSpec, fromType);
    const t = await untilSchema(type.it);
    expect(brief(t)).toEqual(['I["1"]', 'C', 'S0']);
    expect(t.at(-1)).toMatchObject({
      message: expect.stringMatching(/public\.n: column v changed type from integer to bigint/),
    });
  });

  it('check() names what prevents following: a table without key, a role that may not replicate', async () => {
    const f = await setup(
      'pg changes check',
      `CREATE TABLE good (id integer PRIMARY KEY, v text);
       CREATE TABLE nokey (id integer, v text);
       CREATE TABLE full_nokey (id integer, v text); ALTER TABLE full_nokey REPLICA IDENTITY FULL;
       CREATE TABLE other_key (id integer PRIMARY KEY, code text NOT NULL UNIQUE);`,
    );
    const capture = f.dialect.changeCapture;
    expect(await capture.check(await specOf(f, 'good', 'full_nokey'))).toEqual([]);
    const nokey = await specOf(f, 'nokey');
    expect(await capture.check(nokey)).toEqual([
      'table public.nokey has no primary key (nor another replica identity): once published for replication, ' +
        'its UPDATE and DELETE statements would fail; add a primary key or run ALTER TABLE "public"."nokey" REPLICA IDENTITY FULL',
    ]);
    // A key the replica identity does not hold: its old value would not be sent.
    const byCode = await specOf(f, 'other_key');
    byCode.tables[0]!.key = [1];
    expect(await capture.check(byCode)).toEqual([
      expect.stringMatching(/key column code not in its replica identity \(id\)/),
    ]);

    const role = `norep_${f.db.name}`;
    await admin((c) => c.query(`CREATE ROLE "${role}" LOGIN PASSWORD 'pw'`));
    cleanups.push(() => admin((c) => c.query(`DROP ROLE IF EXISTS "${role}"`)).then(() => undefined));
    const url = new URL(f.db.url);
    url.username = role;
    url.password = 'pw';
    const weak = new PostgresDialect(url.toString());
    cleanups.push(() => weak.close());
    const problems = await weak.changeCapture.check(await specOf(f, 'good'));
    expect(problems).toEqual([
      `role ${role} may not replicate: following changes needs the REPLICATION attribute (as a superuser: ALTER ROLE "${role}" REPLICATION)`,
      `role ${role} may not create a publication in database ${f.db.name} (as its owner: GRANT CREATE ON DATABASE "${f.db.name}" TO "${role}")`,
      `role ${role} does not own table public.good, so it cannot add it to a publication: run the follow as the table owner (or a superuser)`,
    ]);
  });

  it('start() is idempotent and release() leaves no slot or publication, ending its own open stream', async () => {
    const f = await setup('pg changes release', 'CREATE TABLE r (id integer PRIMARY KEY)');
    const spec = await specOf(f, 'r');
    const capture = f.dialect.changeCapture;
    const from = await capture.start(spec);
    expect(await capture.start(spec)).toBe(from);
    const held = await slotsAndPublications(f.db.name);
    expect(held.slots).toHaveLength(1);
    expect(held.publications).toEqual(held.slots);
    expect(held.slots[0]!.length).toBeLessThanOrEqual(63);

    await f.db.client.query('INSERT INTO r VALUES (1)');
    const { it: events } = open(f, spec, from);
    expect(brief(await commits(events, 1))).toEqual(['I["1"]', 'C']);
    await capture.release(spec);
    expect(await slotsAndPublications(f.db.name)).toEqual({ slots: [], publications: [] });
    await capture.release(spec); // nothing left to drop: no error
  });

  it("release() leaves another process's stream alone and says so; that stream is refused while one reads", async () => {
    const f = await setup('pg changes foreign', 'CREATE TABLE r (id integer PRIMARY KEY)');
    const spec = await specOf(f, 'r');
    const from = await f.dialect.changeCapture.start(spec);
    const other = new PostgresDialect(f.db.url); // as another migrate process would
    cleanups.push(() => other.close());
    const theirs = other.changeCapture.open(spec, from);
    cleanups.push(() => theirs.close());
    const theirEvents = theirs[Symbol.asyncIterator]();
    await f.db.client.query('INSERT INTO r VALUES (1)');
    expect(brief(await commits(theirEvents, 1))).toEqual(['I["1"]', 'C']);

    // A second reader of the same slot is refused with what to do.
    const { it: mine } = open(f, spec, from);
    await expect(mine.next()).rejects.toThrow(/is streamed to another process/);
    await expect(f.dialect.changeCapture.release(spec)).rejects.toThrow(/in use by server process/);
    // Their stream still works.
    await f.db.client.query('INSERT INTO r VALUES (2)');
    expect(brief(await commits(theirEvents, 1))).toEqual(['I["2"]', 'C']);
    await theirs.close();
    await f.dialect.changeCapture.release(spec);
    expect(await slotsAndPublications(f.db.name)).toEqual({ slots: [], publications: [] });
  });

  it('ticks with the position of commits to tables not followed', async () => {
    const f = await setup(
      'pg changes tick',
      'CREATE TABLE t (id integer PRIMARY KEY); CREATE TABLE u (id integer)',
    );
    const spec = await specOf(f, 't');
    const capture = f.dialect.changeCapture;
    const from = await capture.start(spec);
    const { it: events } = open(f, spec, from);
    await f.db.client.query('INSERT INTO u VALUES (1)');
    await tickAtLeast(events, lsn(await capture.current()));
  });

  it('answers keepalives: a stream outlives wal_sender_timeout while its consumer waits', async () => {
    const f = await setup('pg changes keepalive', 'CREATE TABLE t (id integer PRIMARY KEY)');
    // Walsenders of this database only (a new connection's setting).
    await f.db.client.query(`ALTER DATABASE "${f.db.name}" SET wal_sender_timeout = '1s'`);
    const spec = await specOf(f, 't');
    const from = await f.dialect.changeCapture.start(spec);
    const { it: events } = open(f, spec, from);
    const waited = next(events);
    waited.catch(() => undefined); // awaited below, after the wait
    await new Promise((resolve) => setTimeout(resolve, 3500));
    await f.db.client.query('INSERT INTO t VALUES (1)');
    expect(await waited).toEqual({ kind: 'begin' });
    expect(brief(await commits(events, 1))).toEqual(['I["1"]', 'C']);
  });

  it('reads only as fast as its consumer: the server waits while the consumer does not read', async () => {
    const f = await setup('pg changes pull', 'CREATE TABLE p (id integer PRIMARY KEY, pad text)');
    const spec = await specOf(f, 'p');
    const capture = f.dialect.changeCapture;
    const from = await capture.start(spec);
    // 10,000 transactions of a 1.5 kB row: about 16 MB of stream.
    await f.db.client.query('SET synchronous_commit = off');
    await f.db.client.query(`DO $$ BEGIN FOR i IN 1..10000 LOOP
      INSERT INTO p VALUES (i, repeat(md5(i::text), 48)); COMMIT; END LOOP; END $$;`);
    const end = lsn(await capture.current());
    const { it: events } = open(f, spec, from);
    await next(events);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const sent = await admin(async (c) => {
      const r = await c.query(
        `SELECT r.sent_lsn::text AS lsn FROM pg_stat_replication r
         JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE s.database = $1`,
        [f.db.name],
      );
      return lsn(r.rows[0].lsn);
    });
    const start = lsn(from);
    expect(Number(sent - start) / Number(end - start)).toBeLessThan(0.5);
    // Reading on gets everything.
    expect((await commits(events, 10_000)).filter((e) => e.kind === 'row')).toHaveLength(10_000);
  });
});
