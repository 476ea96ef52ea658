// The SQLite dialect against real database files (one temporary folder per test): introspection, decoding,
// keyset reads, the writer's one-transaction batches, and the state table's leases.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { Column, Row } from '../../src/convert/value.js';
import type { ReadSpec } from '../../src/db/batch.js';
import { openDialect } from '../../src/db/open.js';
import { SqliteDialect } from '../../src/db/sqlite/index.js';
import { sqlitePath } from '../../src/db/sqlite/url.js';
import type { CheckpointUpdate, WriteSpec } from '../../src/db/writer.js';
import { DataError, LockedError, RuntimeError, UsageError } from '../../src/errors.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A fresh database file made by `sql`, and the dialect over it (closed after the test). */
function fixture(sql: string): { path: string; dialect: SqliteDialect; raw: Database.Database } {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-dialect-'));
  const path = join(dir, 'db.sqlite');
  const raw = new Database(path);
  raw.defaultSafeIntegers(true);
  raw.exec(sql);
  const dialect = new SqliteDialect(`sqlite://${path}`);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => raw.close());
  cleanups.push(() => dialect.close());
  return { path, dialect, raw };
}

async function collect(it: AsyncIterable<Row[]>): Promise<Row[][]> {
  const out: Row[][] = [];
  for await (const batch of it) out.push(batch);
  return out;
}

const STATE = '_migrate_state';

function checkpoint(over: Partial<CheckpointUpdate> = {}): CheckpointUpdate {
  return {
    plan: 'p',
    table: 't',
    chunk: 0,
    owner: 'me',
    lastKey: null,
    rowsRead: 0,
    rowsWritten: 0,
    mismatches: 0,
    skipped: 0,
    done: false,
    leaseMs: 60_000,
    ...over,
  };
}

describe('sqlite URLs', () => {
  it('reads sqlite:relative (to the cwd), sqlite:/abs and sqlite:///abs; refuses hosts and :memory:', async () => {
    expect(sqlitePath('sqlite:data/x.db', '/work')).toBe('/work/data/x.db');
    expect(sqlitePath('sqlite:/abs/x.db', '/work')).toBe('/abs/x.db');
    expect(sqlitePath('sqlite:///abs/x.db', '/work')).toBe('/abs/x.db');
    expect(() => sqlitePath('sqlite://host/x.db')).toThrow(UsageError);
    expect(() => sqlitePath('sqlite::memory:')).toThrow(UsageError);
    expect(() => sqlitePath('sqlite:')).toThrow(UsageError);
    expect((await openDialect('sqlite:x.db')).name).toBe('sqlite');
  });

  it('fails to connect to a missing file instead of creating it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sqlite-missing-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const d = new SqliteDialect(`sqlite:${join(dir, 'nope.db')}`);
    await expect(d.ping()).rejects.toThrow(/cannot open the SQLite database file/);
    writeFileSync(join(dir, 'empty.db'), '');
    await new SqliteDialect(`sqlite:${join(dir, 'empty.db')}`).ping();
  });
});

describe('introspection', () => {
  it('finds columns, kinds from declared types, the primary key and NOT NULL unique indexes', async () => {
    const { dialect } = fixture(`
      CREATE TABLE t (
        id INTEGER PRIMARY KEY, code VARCHAR(12) NOT NULL, alt TEXT, big BIGINT UNSIGNED, price DECIMAL(12,2),
        ratio DOUBLE PRECISION, f FLOAT, ok BOOLEAN, born DATE, at DATETIME, at2 TIMESTAMP, tz TIMESTAMPTZ,
        t TIME, doc JSON, u UUID, pic BLOB, anything, s STRING, c CLOB, n NUMERIC, vb VARBINARY(16),
        a INTEGER NOT NULL, b TEXT NOT NULL);
      CREATE UNIQUE INDEX t_code ON t (code);
      CREATE UNIQUE INDEX t_alt ON t (alt);                        -- nullable: not a key
      CREATE UNIQUE INDEX t_ab ON t (a, b);
      CREATE UNIQUE INDEX t_part ON t (a) WHERE a > 0;             -- partial: not a key
      CREATE UNIQUE INDEX t_expr ON t (lower(b));                  -- expression: not a key
      INSERT INTO t (id, code, a, b) VALUES (1, 'x', 1, 'y'), (2, 'z', 2, 'w');`);
    const info = (await dialect.describeTable({ schema: null, name: 't' }))!;
    const kinds = Object.fromEntries(info.columns.map((c) => [c.name, c.kind]));
    expect(kinds).toEqual({
      id: 'int',
      code: 'text',
      alt: 'text',
      big: 'int',
      price: 'decimal',
      ratio: 'float',
      f: 'float',
      ok: 'bool',
      born: 'date',
      at: 'timestamp',
      at2: 'timestamp',
      tz: 'timestamptz',
      t: 'time',
      doc: 'json',
      u: 'uuid',
      pic: 'bytes',
      anything: 'text',
      s: 'text',
      c: 'text',
      n: 'decimal',
      vb: 'bytes',
      a: 'int',
      b: 'text',
    });
    expect(info.columns.find((c) => c.name === 'price')!.dbType).toBe('DECIMAL(12,2)');
    expect(info.columns.find((c) => c.name === 'anything')!.dbType).toBe('ANY');
    expect(info.columns.find((c) => c.name === 'id')!.nullable).toBe(false); // the rowid alias
    expect(info.columns.find((c) => c.name === 'alt')!.nullable).toBe(true);
    expect(info.primaryKey).toEqual(['id']);
    expect(info.uniqueKeys).toEqual([['code'], ['a', 'b']]);
    expect(info.estimatedRows).toBe(2);
  });

  it('composite keys, WITHOUT ROWID, rowid tables without a key, views, schemas, missing tables', async () => {
    const { dialect } = fixture(`
      CREATE TABLE lines (order_id INTEGER, line INTEGER, sku TEXT, PRIMARY KEY (order_id, line)) WITHOUT ROWID;
      CREATE TABLE legacy (k TEXT PRIMARY KEY, v TEXT);
      CREATE TABLE events (at TEXT, kind TEXT);
      CREATE VIEW v_lines AS SELECT order_id, sku FROM lines;`);
    const lines = (await dialect.describeTable({ schema: 'main', name: 'LINES' }))!;
    expect(lines.primaryKey).toEqual(['order_id', 'line']);
    expect(lines.columns.map((c) => c.nullable)).toEqual([false, false, true]);
    // A rowid table's non-INTEGER primary key may hold NULL (SQLite's legacy quirk): reported as nullable.
    const legacy = (await dialect.describeTable({ schema: null, name: 'legacy' }))!;
    expect(legacy.primaryKey).toEqual(['k']);
    expect(legacy.columns[0]!.nullable).toBe(true);
    const events = (await dialect.describeTable({ schema: null, name: 'events' }))!;
    expect(events.primaryKey).toBeNull();
    expect(events.uniqueKeys).toEqual([]);
    const view = (await dialect.describeTable({ schema: null, name: 'v_lines' }))!;
    expect(view.columns.map((c) => [c.name, c.kind])).toEqual([
      ['order_id', 'int'],
      ['sku', 'text'],
    ]);
    expect(await dialect.describeTable({ schema: null, name: 'nope' })).toBeNull();
    expect(await dialect.describeTable({ schema: 'other', name: 'lines' })).toBeNull();
  });

  it('names the columns an INSERT must fill: NOT NULL, no default, not the rowid', async () => {
    const { dialect } = fixture(`
      CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b TEXT NOT NULL DEFAULT 'x', c TEXT);
      CREATE TABLE w (k TEXT NOT NULL PRIMARY KEY, v INT NOT NULL) WITHOUT ROWID;`);
    expect((await dialect.describeTable({ schema: null, name: 't' }))!.requiredColumns).toEqual(['a']);
    expect((await dialect.describeTable({ schema: null, name: 'w' }))!.requiredColumns).toEqual(['k', 'v']);
  });

  it('describes a query: table columns keep their declared type, expressions are read as text', async () => {
    const { dialect } = fixture('CREATE TABLE t (id INTEGER PRIMARY KEY, price DECIMAL(8,2), name TEXT);');
    const cols = await dialect.describeQuery(
      'SELECT id, price, upper(name) AS shout, id * 2 AS twice FROM t',
    );
    expect(cols.map((c) => [c.name, c.kind, c.dbType])).toEqual([
      ['id', 'int', 'INTEGER'],
      ['price', 'decimal', 'DECIMAL(8,2)'],
      ['shout', 'text', 'ANY'],
      ['twice', 'text', 'ANY'],
    ]);
  });
});

describe('reading', () => {
  const TYPES_SQL = `
    CREATE TABLE v (id INTEGER PRIMARY KEY, big INTEGER, price DECIMAL(12,2), r REAL, ok BOOLEAN, txt TEXT,
      pic BLOB, d DATE, ts DATETIME, tz TIMESTAMPTZ, tm TIME, doc JSON, u UUID, anything);
    INSERT INTO v VALUES
      (1, 9223372036854775807, '12.50', 0.1, 1, 'é😀e\u0301', x'00ff10', '2024-02-29', '2024-02-29 23:59:59.123',
       '2024-01-01T10:00:00+02:00', '12:30', '{"a": [1, 2.50]}', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 42),
      (2, -9223372036854775808, 7, -1e300, 'f', '', x'', '0001-01-01', '2024-01-01T00:00:00Z', '2024-06-01 08:00:00',
       '23:59:59.999999', 'null', NULL, 1.5),
      (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2024-03-01', NULL, NULL, NULL, NULL, 'text');`;

  it('decodes every storage class into the engine representation of its column kind', async () => {
    const { dialect } = fixture(TYPES_SQL);
    const info = (await dialect.describeTable({ schema: null, name: 'v' }))!;
    const [batch] = await collect(
      dialect.readBatches({
        from: { kind: 'table', ref: info.ref },
        columns: info.columns,
        key: [0],
        batchSize: 10,
        after: null,
      }),
    );
    expect(batch).toEqual([
      [
        '1',
        '9223372036854775807',
        '12.5',
        0.1,
        true,
        'é😀e\u0301',
        Buffer.from([0, 255, 16]),
        '2024-02-29',
        '2024-02-29 23:59:59.123',
        '2024-01-01 08:00:00',
        '12:30:00',
        '{"a": [1, 2.50]}',
        'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
        '42',
      ],
      [
        '2',
        '-9223372036854775808',
        '7',
        -1e300,
        false,
        '',
        Buffer.alloc(0),
        '0001-01-01',
        '2024-01-01 00:00:00',
        '2024-06-01 08:00:00',
        '23:59:59.999999',
        'null',
        null,
        '1.5',
      ],
      ['3', null, null, null, null, null, null, null, '2024-03-01 00:00:00', null, null, null, null, 'text'],
    ]);
  });

  it('a cell that does not fit its declared type is a DataError naming table, key, column and value', async () => {
    const { dialect } = fixture(`
      CREATE TABLE t (id INTEGER PRIMARY KEY, qty INTEGER, pic BLOB, at DATETIME);
      INSERT INTO t VALUES (1, 5, x'01', '2024-01-01'), (2, 'lots', x'02', '2024-01-01');
      CREATE TABLE u (id INTEGER PRIMARY KEY, name TEXT, at DATETIME);
      INSERT INTO u VALUES (7, x'c328', '2024-01-01'), (8, 'x', 1700000000);`);
    const read = async (name: string, column: string) => {
      const info = (await dialect.describeTable({ schema: null, name }))!;
      const cols = info.columns.filter((c) => c.name === 'id' || c.name === column);
      return collect(
        dialect.readBatches({
          from: { kind: 'table', ref: info.ref },
          columns: cols,
          key: [0],
          batchSize: 10,
          after: null,
        }),
      );
    };
    const err = await read('t', 'qty').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).message).toMatch(
      /table t, key id=2, column qty: .*declared INTEGER.*TEXT "lots"/,
    );
    await expect(read('u', 'name')).rejects.toThrow(/key id=7, column name: .*BLOB \(2 bytes\)/);
    await expect(read('u', 'at')).rejects.toThrow(/key id=8, column at: .*INTEGER 1700000000.*unixepoch/);
  });

  it('pages a composite key in key order, starts after `after`, stops at `until`', async () => {
    const { dialect } = fixture(`
      CREATE TABLE lines (order_id INTEGER, line INTEGER, sku TEXT, PRIMARY KEY (order_id, line)) WITHOUT ROWID;
      WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < 29)
      INSERT INTO lines SELECT n / 3, 2 - n % 3, 'S' || n FROM g ORDER BY random();`);
    const info = (await dialect.describeTable({ schema: null, name: 'lines' }))!;
    const spec = (over: Partial<ReadSpec>): ReadSpec => ({
      from: { kind: 'table', ref: info.ref },
      columns: info.columns,
      key: [0, 1],
      batchSize: 4,
      after: null,
      ...over,
    });
    const all = await collect(dialect.readBatches(spec({})));
    expect(all.map((b) => b.length)).toEqual([4, 4, 4, 4, 4, 4, 4, 2]);
    const keys = all.flat().map((r) => `${r[0]}/${r[1]}`);
    const expected = Array.from({ length: 30 }, (_, i) => `${Math.floor(i / 3)}/${i % 3}`);
    expect(keys).toEqual(expected);

    // Resume after a checkpointed key (engine values: digit strings), up to an inclusive end.
    const part = (await collect(dialect.readBatches(spec({ after: ['3', '1'], until: ['5', '0'] })))).flat();
    expect(part.map((r) => `${r[0]}/${r[1]}`)).toEqual(['3/2', '4/0', '4/1', '4/2', '5/0']);

    // A filter and a query source.
    const filtered = (
      await collect(dialect.readBatches(spec({ from: { kind: 'table', ref: info.ref, where: 'line = 0' } })))
    ).flat();
    expect(filtered).toHaveLength(10);
    const cols: Column[] = await dialect.describeQuery('SELECT order_id, line FROM lines WHERE order_id < 2');
    const q = (
      await collect(
        dialect.readBatches({
          ...spec({}),
          from: { kind: 'query', sql: 'SELECT order_id, line FROM lines WHERE order_id < 2' },
          columns: cols,
        }),
      )
    ).flat();
    expect(q).toEqual([
      ['0', '0'],
      ['0', '1'],
      ['0', '2'],
      ['1', '0'],
      ['1', '1'],
      ['1', '2'],
    ]);
  });

  it('pages a REAL-valued decimal key and a text key, also when resuming from engine values', async () => {
    const { dialect } = fixture(`
      CREATE TABLE d (k DECIMAL(10,2) PRIMARY KEY NOT NULL, name TEXT);
      INSERT INTO d VALUES ('0.5', 'a'), (2, 'b'), ('10.25', 'c'), ('100', 'd'), ('-3.75', 'e');`);
    const info = (await dialect.describeTable({ schema: null, name: 'd' }))!;
    const spec: ReadSpec = {
      from: { kind: 'table', ref: info.ref },
      columns: info.columns,
      key: [0],
      batchSize: 2,
      after: null,
    };
    const keys = (await collect(dialect.readBatches(spec))).flat().map((r) => r[0]);
    expect(keys).toEqual(['-3.75', '0.5', '2', '10.25', '100']);
    const rest = (await collect(dialect.readBatches({ ...spec, after: ['2'] }))).flat().map((r) => r[0]);
    expect(rest).toEqual(['10.25', '100']);
    const found = await dialect.fetchByKeys(info.ref, info.columns, [0], [['10.25'], ['-3.75'], ['99']]);
    expect(found.map((r) => r[1]).sort()).toEqual(['c', 'e']);
  });

  it('refuses to page past a NULL in a rowid table primary key (SQLite allows it; rows would be lost)', async () => {
    const { dialect } = fixture(`
      CREATE TABLE legacy (k TEXT PRIMARY KEY, v TEXT);
      INSERT INTO legacy VALUES (NULL, 'lost?'), ('a', 'x');`);
    const info = (await dialect.describeTable({ schema: null, name: 'legacy' }))!;
    await expect(
      collect(
        dialect.readBatches({
          from: { kind: 'table', ref: info.ref },
          columns: info.columns,
          key: [0],
          batchSize: 5,
          after: null,
        }),
      ),
    ).rejects.toThrow(/key column holds NULL/);
  });

  it('reads a key-less table in one pass, in batches', async () => {
    const { dialect } = fixture(`
      CREATE TABLE events (at TEXT, kind TEXT);
      WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 25)
      INSERT INTO events SELECT 'day ' || n, 'k' || (n % 3) FROM g;`);
    const info = (await dialect.describeTable({ schema: null, name: 'events' }))!;
    const batches = await collect(
      dialect.readBatches({
        from: { kind: 'table', ref: info.ref },
        columns: info.columns,
        key: [],
        batchSize: 10,
        after: null,
      }),
    );
    expect(batches.map((b) => b.length)).toEqual([10, 10, 5]);
    // An early `break` closes the second connection.
    for await (const _ of dialect.readBatches({
      from: { kind: 'table', ref: info.ref },
      columns: info.columns,
      key: [],
      batchSize: 10,
      after: null,
    }))
      break;
  });
});

describe('writing', () => {
  const SCHEMA = `
    CREATE TABLE src (a INTEGER NOT NULL, b TEXT NOT NULL, n TEXT NOT NULL, big INTEGER, data BLOB, PRIMARY KEY (a, b));
    CREATE TABLE dst (a INTEGER NOT NULL, b TEXT NOT NULL, n TEXT NOT NULL, big INTEGER, data BLOB, PRIMARY KEY (a, b));`;

  async function setup(onConflict: WriteSpec['onConflict'] = 'upsert') {
    const f = fixture(SCHEMA);
    const info = (await f.dialect.describeTable({ schema: null, name: 'dst' }))!;
    const state = await f.dialect.state(STATE);
    await state.ensure();
    expect(await state.claim('p', 't', 0, 'me', 60_000, 'h')).not.toBeNull();
    const writer = await f.dialect.openWriter({
      ref: info.ref,
      columns: info.columns,
      key: [0, 1],
      onConflict,
      stateTable: STATE,
      label: 'dst',
    });
    cleanups.push(() => writer.close());
    const count = () => Number(f.raw.prepare('SELECT count(*) FROM dst').pluck().get());
    return { ...f, info, state, writer, count };
  }

  const row = (
    a: number,
    b: string,
    n: string | null,
    big: string | null = null,
    data: Buffer | null = null,
  ): Row => [String(a), b, n, big, data];

  it('writes rows, reads them back and saves the checkpoint in one transaction', async () => {
    const { writer, state, count, raw } = await setup();
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const rows = [
      row(1, 'x', 'one', '9007199254740993', all),
      row(1, 'y', '', '-9223372036854775808'),
      row(2, 'x', 'tab\tnl\n\u0001😀', '9223372036854775807'),
    ];
    const result = await writer.writeBatch(
      rows,
      checkpoint({ lastKey: '["2","x"]', rowsRead: 3, rowsWritten: 3 }),
      true,
    );
    expect(result.written).toBe(3);
    expect(result.readBack).toEqual(expect.arrayContaining(rows));
    expect(result.readBack).toHaveLength(3);
    expect(count()).toBe(3);
    expect(raw.prepare('SELECT typeof(big) FROM dst').pluck().all()).toEqual([
      'integer',
      'integer',
      'integer',
    ]);
    const [cp] = await state.list('p');
    expect(cp).toMatchObject({
      lastKey: '["2","x"]',
      rowsRead: 3,
      rowsWritten: 3,
      status: 'running',
      leaseOwner: 'me',
      leaseLive: true,
    });

    // Upsert: the same keys again update in place and count as written.
    const again = await writer.writeBatch(
      [row(1, 'x', 'uno')],
      checkpoint({ lastKey: '["2","x"]', rowsRead: 1 }),
      true,
    );
    expect(again).toEqual({ written: 1, readBack: [row(1, 'x', 'uno')] });
    expect(count()).toBe(3);

    // The last, empty batch marks the chunk done and frees the lease.
    await writer.writeBatch(
      [],
      checkpoint({ lastKey: '["2","x"]', done: true, warmedKey: '["2","x"]' }),
      false,
    );
    expect((await state.list('p'))[0]).toMatchObject({
      status: 'done',
      leaseOwner: null,
      leaseLive: false,
      warmedKey: '["2","x"]',
      rowsRead: 4,
    });
  });

  it('a failing batch leaves neither rows nor checkpoint', async () => {
    const { writer, state, count } = await setup();
    await writer.writeBatch([row(1, 'a', 'ok')], checkpoint({ lastKey: '["1","a"]', rowsRead: 1 }), true);
    const before = await state.list('p');
    // The second row violates NOT NULL: the first row of the batch and the checkpoint must roll back too.
    const err = await writer
      .writeBatch(
        [row(2, 'a', 'fine'), row(3, 'a', null)],
        checkpoint({ lastKey: '["3","a"]', rowsRead: 2 }),
        true,
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(
      /table dst: the target rejected the batch: NOT NULL constraint failed/,
    );
    expect(count()).toBe(1);
    expect(await state.list('p')).toEqual(before);

    // A value SQLite cannot hold is refused before anything is written, naming key and column.
    await expect(
      writer.writeBatch(
        [row(4, 'a', 'x', '9223372036854775809')],
        checkpoint({ lastKey: '["4","a"]' }),
        true,
      ),
    ).rejects.toThrow(/key a=4,b=a, column big: .*out of range for a SQLite INTEGER/);
    expect(count()).toBe(1);
  });

  it('a batch whose lease was taken over rolls back', async () => {
    const { writer, raw, count } = await setup();
    raw.prepare(`UPDATE ${STATE} SET lease_owner = 'other'`).run();
    await expect(writer.writeBatch([row(1, 'a', 'x')], checkpoint(), false)).rejects.toBeInstanceOf(
      RuntimeError,
    );
    expect(count()).toBe(0);
  });

  it('onConflict skip keeps existing rows (read back as they are); error refuses them', async () => {
    const skip = await setup('skip');
    skip.raw.exec(`INSERT INTO dst VALUES (1, 'a', 'old', NULL, NULL)`);
    const r = await skip.writer.writeBatch([row(1, 'a', 'new'), row(2, 'a', 'two')], checkpoint(), true);
    expect(r.written).toBe(1);
    expect(r.readBack).toEqual(expect.arrayContaining([row(1, 'a', 'old'), row(2, 'a', 'two')]));

    const error = await setup('error');
    error.raw.exec(`INSERT INTO dst VALUES (1, 'a', 'old', NULL, NULL)`);
    await expect(
      error.writer.writeBatch([row(2, 'a', 'two'), row(1, 'a', 'new')], checkpoint(), true),
    ).rejects.toThrow(/UNIQUE constraint failed[\s\S]*/);
    expect(error.count()).toBe(1);
  });

  it('writes batches of more parameters than one statement takes', async () => {
    const { writer, count } = await setup();
    const rows = Array.from({ length: 9000 }, (_, i) => row(i, 'k', `n${i}`));
    const r = await writer.writeBatch(rows, checkpoint({ lastKey: '["8999","k"]' }), true);
    expect(r.written).toBe(9000);
    expect(r.readBack).toHaveLength(9000);
    expect(count()).toBe(9000);
  });

  it('key-less: one transaction into an empty table, committed only by finishWhole', async () => {
    const f = fixture('CREATE TABLE ev (at TEXT, kind TEXT);');
    const info = (await f.dialect.describeTable({ schema: null, name: 'ev' }))!;
    const state = await f.dialect.state(STATE);
    await state.ensure();
    await state.claim('p', 'ev', 0, 'me', 60_000, 'h');
    const spec: WriteSpec = {
      ref: info.ref,
      columns: info.columns,
      key: [],
      onConflict: 'upsert',
      stateTable: STATE,
      label: 'ev',
    };
    const count = () => Number(f.raw.prepare('SELECT count(*) FROM ev').pluck().get());

    const w1 = await f.dialect.openWriter(spec);
    await w1.beginWhole();
    expect(
      await w1.appendWhole([
        ['1', 'a'],
        ['2', 'b'],
      ]),
    ).toBe(2);
    // Other transactions of this dialect wait for the open one instead of failing.
    const renew = state.renew('p', 'ev', 0, 'me', 60_000);
    await w1.close(); // no finish: rolled back
    await renew;
    expect(count()).toBe(0);

    const w2 = await f.dialect.openWriter(spec);
    await w2.beginWhole();
    await w2.appendWhole([['1', 'a']]);
    await w2.appendWhole([
      ['2', 'b'],
      ['2', 'b'],
    ]);
    await w2.finishWhole(checkpoint({ table: 'ev', lastKey: '[]', rowsRead: 3, rowsWritten: 3, done: true }));
    await w2.close();
    expect(count()).toBe(3);
    expect((await state.list('p'))[0]).toMatchObject({ status: 'done', rowsRead: 3 });

    const w3 = await f.dialect.openWriter(spec);
    await expect(w3.beginWhole()).rejects.toThrow(/EMPTY target table/);
    await w3.close();
  });

  it('switches the target to WAL', async () => {
    const { path } = await setup();
    const fresh = new Database(path, { readonly: true });
    cleanups.push(() => fresh.close());
    expect(fresh.pragma('journal_mode', { simple: true })).toBe('wal');
  });
});

describe('state', () => {
  it('claims, refuses a live lease to others, takes over dead or expired ones, resets', async () => {
    const { dialect, path } = fixture('');
    const state = await dialect.state(STATE);
    expect(await state.exists()).toBe(false);
    expect(await state.list('p')).toEqual([]);
    await state.ensure();
    await state.ensure();

    const a = await state.claim('p', 't', 0, 'A', 60_000, 'hash1');
    expect(a).toMatchObject({
      plan: 'p',
      table: 't',
      chunk: 0,
      status: 'pending',
      leaseOwner: 'A',
      leaseLive: true,
      mappingHash: 'hash1',
    });

    // Another process (its own connection) sees the live lease.
    const other = new SqliteDialect(`sqlite:${path}`);
    cleanups.push(() => other.close());
    const otherState = await other.state(STATE);
    expect(await otherState.claim('p', 't', 0, 'B', 60_000, 'hash1')).toBeNull();
    await expect(otherState.reset('p', null, 'B')).rejects.toBeInstanceOf(LockedError);
    await expect(otherState.reset('p', ['t'], 'B')).rejects.toThrow(/t held by A/);
    await otherState.reset('p', ['elsewhere'], 'B'); // other tables: nothing live there

    // A dead owner's lease is taken over.
    const taken = await otherState.claim('p', 't', 0, 'B', 60_000, 'hash1', (owner) => owner === 'A');
    expect(taken).toMatchObject({ leaseOwner: 'B', status: 'running' });
    expect(await state.claim('p', 't', 0, 'A', 60_000, 'hash1')).toBeNull();

    // An expired lease is free.
    await otherState.renew('p', 't', 0, 'B', 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(await state.claim('p', 't', 0, 'A', 60_000, 'hash1')).toMatchObject({ leaseOwner: 'A' });

    await state.setWarmed('p', 't', 0, '["9"]');
    await state.release('p', 't', 0, 'A');
    const [released] = await otherState.list('p');
    expect(released).toMatchObject({
      leaseOwner: null,
      leaseLive: false,
      status: 'pending',
      warmedKey: '["9"]',
    });
    expect(released!.updatedAt).toBeInstanceOf(Date);
    expect(Math.abs(released!.updatedAt!.getTime() - Date.now())).toBeLessThan(60_000);

    await otherState.reset('p', null, 'B');
    expect(await state.list('p')).toEqual([]);
  });
});
