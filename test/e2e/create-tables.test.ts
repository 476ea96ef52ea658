// `createTables: true` through the built CLI: a missing target table is created from the source schema
// with mapped types (src/db/type-map.ts) — shown by `--dry-run` and online `validate`, which create
// nothing — and the run then copies every value exactly (checked with independent readers: raw text forms
// on plain connections with fixed session settings, never the tool's own conversion code).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type mysql from 'mysql2/promise';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, writePlan } from '../helpers/cli.js';
import {
  createMysqlDatabase,
  createPgDatabase,
  type MysqlTestDatabase,
  type PgTestDatabase,
} from '../helpers/databases.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function mysqlDb(name: string): Promise<MysqlTestDatabase> {
  const db = await createMysqlDatabase(name);
  cleanups.push(() => db.drop());
  // The reader's own session settings: UTC, whatever the server's default zone.
  await db.conn.query("SET time_zone = '+00:00'");
  return db;
}

async function pgDb(name: string): Promise<PgTestDatabase> {
  const db = await createPgDatabase(name);
  cleanups.push(() => db.drop());
  await db.client.query("SET TimeZone = 'UTC'; SET extra_float_digits = 3");
  return db;
}

function plan(source: string, target: string, tables: string, name = 'create'): string {
  return writePlan(`version: 1
name: ${name}
source:
  url: ${source}
target:
  url: ${target}
defaults:
  createTables: true
tables:
${tables}`);
}

const run = (args: string[]) => runCli([...args, '--no-progress']);

async function pgTables(db: PgTestDatabase): Promise<string[]> {
  const r = await db.client.query<{ t: string }>(
    "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
  );
  return r.rows.map((row) => row.t);
}

async function pgColumnTypes(db: PgTestDatabase, table: string): Promise<Record<string, string>> {
  const r = await db.client.query<{ name: string; type: string; notnull: boolean }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type, attnotnull AS notnull
     FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [table],
  );
  return Object.fromEntries(r.rows.map((c) => [c.name, `${c.type}${c.notnull ? ' not null' : ''}`]));
}

async function mysqlRows(db: MysqlTestDatabase, sql: string): Promise<mysql.RowDataPacket[]> {
  const [rows] = await db.conn.query<mysql.RowDataPacket[]>(sql);
  return rows;
}

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const UNICODE = 'e\u0301 😀 ÅΩ 𝄞';
const MAX65 = '99999999999999999999999999999999999.999999999999999999999999999999';

describe('createTables: true', () => {
  it('mysql -> pg: dry run and validate show the DDL and create nothing; the run creates the table and copies exactly', async () => {
    const my = await mysqlDb('create my2pg src');
    const pg = await pgDb('create my2pg dst');
    await my.conn.query(`CREATE TABLE types (
        id int NOT NULL PRIMARY KEY, i_tiny tinyint, flag tinyint(1), u_small smallint unsigned,
        i_med mediumint NOT NULL, u_int int unsigned, i_big bigint, u_big bigint unsigned, yr year, bt bit(1),
        d65 decimal(65,30), d12 decimal(12,2) unsigned, f float, dbl double, c char(5), vc varchar(100),
        tx mediumtext, e enum('small','large'), st set('a','b','c'), bin varbinary(300), bl longblob,
        dt date, tm time(6), dtm datetime(6), ts timestamp(6) NULL, j json
      ) CHARACTER SET utf8mb4;
      SET time_zone = '+05:30';
      INSERT INTO types (id, i_med) VALUES (1, 0);
      INSERT INTO types VALUES (2, -128, 1, 65535, -8388608, 4294967295, -9223372036854775808,
        18446744073709551615, 2155, b'1', '${MAX65}', 9999999999.99, 0.1, 0.1, 'ab', '${UNICODE}',
        'tab\\there', 'large', 'a,c', X'${ALL_BYTES.toString('hex')}', X'00ff', '9999-12-31',
        '23:59:59.999999', '9999-12-31 23:59:59.999999', '2024-03-01 05:30:00.000001',
        '{"big": 12345678901234567890123, "a": [1, 2.50]}');
      INSERT INTO types VALUES (3, 5, 5, 0, 0, 0, 9007199254740993, 9007199254740993, 0, b'0', '-0.5', 0,
        -3.5, -1e300, '', '', '', 'small', '', '', '', '1000-01-01', '00:00:00', '1000-01-01 00:00:00',
        '1970-01-01 05:30:01', '[]');
      SET time_zone = '+00:00';`);
    const file = plan(my.url, pg.url, '  - source: types\n    batchSize: 2\n');

    const dry = await run(['run', file, '--dry-run']);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('the target table does not exist: a real run creates it first');
    expect(dry.stdout).toContain('CREATE TABLE IF NOT EXISTS "types" (');
    expect(dry.stdout).toContain('"u_big" numeric(20,0)');
    expect(dry.stdout).toContain('"ts" timestamp(6) with time zone');
    expect(dry.stdout).toContain('PRIMARY KEY ("id")');
    expect(dry.stdout).toMatch(/sample of 2 rows: 2 converted, 0 rejected, no trial write/);
    const validate = await run(['validate', file]);
    expect(validate.code).toBe(0);
    expect(validate.stdout).toMatch(/types: .*\n\s+not in the target yet: `migrate run` creates it/);
    // Only `run` creates tables: verify before it says the table is not there yet.
    const early = await run(['verify', file]);
    expect(early.code).toBe(2);
    expect(early.stderr).toMatch(
      /table types does not exist in the target yet \(createTables: `migrate run` creates it\)/,
    );
    expect(await pgTables(pg)).toEqual([]);

    const result = await run(['run', file]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/types: created the target table/);
    expect(await pgColumnTypes(pg, 'types')).toEqual({
      id: 'integer not null',
      i_tiny: 'smallint',
      flag: 'smallint',
      u_small: 'integer',
      i_med: 'integer not null',
      u_int: 'bigint',
      i_big: 'bigint',
      u_big: 'numeric(20,0)',
      yr: 'smallint',
      bt: 'boolean',
      d65: 'numeric(65,30)',
      d12: 'numeric(12,2)',
      f: 'real',
      dbl: 'double precision',
      c: 'character varying(5)',
      vc: 'character varying(100)',
      tx: 'text',
      e: 'text',
      st: 'text',
      bin: 'bytea',
      bl: 'bytea',
      dt: 'date',
      tm: 'time(6) without time zone',
      dtm: 'timestamp(6) without time zone',
      ts: 'timestamp(6) with time zone',
      j: 'jsonb',
    });
    const key = await pg.client.query<{ cols: string }>(
      "SELECT pg_get_constraintdef(oid) AS cols FROM pg_constraint WHERE conrelid = 'types'::regclass AND contype = 'p'",
    );
    expect(key.rows[0]!.cols).toBe('PRIMARY KEY (id)');

    const rows = (
      await pg.client.query<Record<string, string | null>>(
        `SELECT id::text, i_tiny::text, flag::text, u_small::text, i_med::text, u_int::text, i_big::text,
          u_big::text, yr::text, bt::text, d65::text, d12::text, f::text, dbl::text, c, vc, tx, e, st,
          encode(bin, 'hex') AS bin, encode(bl, 'hex') AS bl, dt::text, tm::text, dtm::text, ts::text,
          (j = '{"big": 12345678901234567890123, "a": [1, 2.50]}'::jsonb)::text AS j_same, j::text AS j
         FROM types ORDER BY id`,
      )
    ).rows;
    expect(Object.entries(rows[0]!).filter(([, v]) => v !== null)).toEqual([
      ['id', '1'],
      ['i_med', '0'],
    ]);
    expect(rows[1]).toMatchObject({
      i_tiny: '-128',
      flag: '1',
      u_small: '65535',
      i_med: '-8388608',
      u_int: '4294967295',
      i_big: '-9223372036854775808',
      u_big: '18446744073709551615',
      yr: '2155',
      bt: 'true',
      d65: MAX65,
      d12: '9999999999.99',
      dbl: '0.1',
      c: 'ab',
      vc: UNICODE,
      tx: 'tab\there',
      e: 'large',
      st: 'a,c',
      bin: ALL_BYTES.toString('hex'),
      bl: '00ff',
      dt: '9999-12-31',
      tm: '23:59:59.999999',
      dtm: '9999-12-31 23:59:59.999999',
      ts: '2024-03-01 00:00:00.000001+00',
      j_same: 'true',
    });
    expect(Math.fround(Number(rows[1]!.f))).toBe(Math.fround(0.1));
    expect(rows[2]).toMatchObject({
      flag: '5',
      i_big: '9007199254740993',
      u_big: '9007199254740993',
      yr: '0',
      bt: 'false',
      d65: '-0.500000000000000000000000000000',
      d12: '0.00',
      f: '-3.5',
      dbl: '-1e+300',
      c: '',
      tx: '',
      st: '',
      bin: '',
      dt: '1000-01-01',
      tm: '00:00:00',
      dtm: '1000-01-01 00:00:00',
      ts: '1970-01-01 00:00:01+00',
      j: '[]',
    });

    // Once created, the table is simply there: a second run creates nothing and has nothing to do.
    const again = await run(['run', file]);
    expect(again.code).toBe(0);
    expect(again.stdout).not.toMatch(/created the target table/);
    expect(again.stdout).toMatch(/already complete/);
  });

  it('pg -> mysql: text keys get a binary NO PAD collation, types hold every value, numeric(70) is a plan error', async () => {
    const pg = await pgDb('create pg2my src');
    const my = await mysqlDb('create pg2my dst');
    await pg.client.query(`
      CREATE TYPE mood AS ENUM ('sad', 'happy');
      CREATE TABLE items (code text, n int NOT NULL, i2 smallint, i8 bigint, n20 numeric(20,0),
        n38 numeric(38,10), num numeric, r real, d double precision, b boolean, t text, vc varchar(50),
        ch char(4), by bytea, dt date, tm time(3), ts timestamp, tstz timestamptz(6), j jsonb, js json,
        u uuid, arr int[], iv interval, m mood, PRIMARY KEY (code, n));
      INSERT INTO items (code, n) VALUES ('abc', 1), ('ABC', 1), ('abc ', 1), ('ab', 2);
      UPDATE items SET i2 = -32768, i8 = 9223372036854775807, n20 = 18446744073709551615,
        n38 = -9999999999999999999999999999.9999999999, num = 12.5, r = 0.1, d = 1.7976931348623157e308,
        b = true, t = 'x''\\y' || chr(10), vc = '${UNICODE}', ch = 'ab', by = '\\x00ff'::bytea, dt = '0001-01-01',
        tm = '24:00:00', ts = '2024-02-29 12:34:56.5', tstz = '2040-01-01 00:00:00.000001+05:30',
        j = '{"b": 1, "a": [1.50, null]}', js = '{"b":1,  "a":2}', u = 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
        arr = '{1,NULL,3}', iv = '-01:02:03.5', m = 'happy'
      WHERE code = 'abc';
      CREATE TABLE wide (id int PRIMARY KEY, n numeric(70,0));`);
    const file = plan(pg.url, my.url, '  - source: items\n    batchSize: 3\n');

    const dry = await run(['run', file, '--dry-run']);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(
      /`code` varchar\(\d+\) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL/,
    );
    expect(dry.stdout).toContain('`tstz` datetime(6) NULL');
    expect(dry.stdout).toContain('ENGINE=InnoDB DEFAULT CHARSET=utf8mb4');
    expect(await mysqlRows(my, 'SHOW TABLES')).toEqual([]);

    const result = await run(['run', file]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const cols = await mysqlRows(
      my,
      `SELECT COLUMN_NAME AS c, COLUMN_TYPE AS t, IS_NULLABLE AS n, COLLATION_NAME AS coll
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'items'
       ORDER BY ORDINAL_POSITION`,
    );
    const types = Object.fromEntries(cols.map((r) => [r.c, r.t]));
    expect(types).toMatchObject({
      n: 'int(11)',
      i2: 'smallint(6)',
      i8: 'bigint(20)',
      n20: 'decimal(20,0)',
      n38: 'decimal(38,10)',
      num: 'decimal(65,30)',
      r: 'float',
      d: 'double',
      b: 'tinyint(1)',
      t: 'longtext',
      vc: 'varchar(50)',
      ch: 'varchar(4)',
      by: 'longblob',
      dt: 'date',
      tm: 'time(3)',
      ts: 'datetime(6)',
      tstz: 'datetime(6)',
      js: 'longtext',
      u: 'char(36)',
      iv: 'varchar(100)',
      m: 'varchar(255)',
    });
    expect(types.code).toMatch(/^varchar\(\d+\)$/);
    expect(cols.find((r) => r.c === 'code')).toMatchObject({ n: 'NO', coll: 'utf8mb4_nopad_bin' });

    const rows = await mysqlRows(
      my,
      `SELECT HEX(code) code, n, CAST(i2 AS CHAR) i2, CAST(i8 AS CHAR) i8, CAST(n20 AS CHAR) n20,
        CAST(n38 AS CHAR) n38, CAST(num AS CHAR) num, CAST(r AS DOUBLE) r, d, CAST(b AS CHAR) b, HEX(t) t,
        HEX(vc) vc, ch, HEX(\`by\`) \`by\`, CAST(dt AS CHAR) dt, CAST(tm AS CHAR) tm, CAST(ts AS CHAR) ts,
        CAST(tstz AS CHAR) tstz, CAST(j AS CHAR) j, CAST(js AS CHAR) js, u, CAST(arr AS CHAR) arr, iv, m
       FROM items ORDER BY n, code`,
    );
    expect(rows.map((r) => [Buffer.from(String(r.code), 'hex').toString(), r.n])).toEqual([
      ['ABC', 1],
      ['abc', 1],
      ['abc ', 1],
      ['ab', 2],
    ]);
    expect(Object.entries(rows[0]!).filter(([, v]) => v !== null)).toEqual([
      ['code', '414243'],
      ['n', 1],
    ]);
    const hex = (s: string) => Buffer.from(s).toString('hex').toUpperCase();
    const jsonText = (
      await pg.client.query<{ j: string }>("SELECT j::text AS j FROM items WHERE code = 'abc'")
    ).rows[0]!.j;
    expect(rows[1]).toMatchObject({
      i2: '-32768',
      i8: '9223372036854775807',
      n20: '18446744073709551615',
      n38: '-9999999999999999999999999999.9999999999',
      num: '12.500000000000000000000000000000',
      r: Math.fround(0.1),
      d: 1.7976931348623157e308,
      b: '1',
      t: hex("x'\\y\n"),
      vc: hex(UNICODE),
      ch: 'ab  ',
      by: '00FF',
      dt: '0001-01-01',
      tm: '24:00:00.000',
      ts: '2024-02-29 12:34:56.500000',
      tstz: '2039-12-31 18:30:00.000001',
      j: jsonText,
      js: '{"b":1,  "a":2}',
      u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      arr: '[1,null,3]',
      iv: '-01:02:03.5',
      m: 'happy',
    });

    // A type MySQL cannot hold exactly: a plan problem (exit 2) naming table and column, nothing created.
    const wide = plan(pg.url, my.url, '  - source: wide\n', 'create-wide');
    for (const args of [
      ['validate', wide],
      ['run', wide, '--dry-run'],
      ['run', wide],
    ]) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(
        /table wide cannot be created in the target: column n \(numeric\(70,0\)\): MySQL DECIMAL holds at most 65 digits/,
      );
    }
    const tables = await mysqlRows(my, 'SHOW TABLES');
    expect(tables.map((t) => Object.values(t)[0]).sort()).toEqual(['_migrate_state', 'items']);
  });

  it('sqlite -> pg: declared types mapped by kind; the run creates the table and copies exactly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'create-tables-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'src.db');
    const sqlite = new Database(path);
    sqlite.defaultSafeIntegers(true);
    sqlite.exec(`CREATE TABLE things (id INTEGER PRIMARY KEY, big INTEGER NOT NULL, name VARCHAR(3), data BLOB,
        price DECIMAL(12,2), ratio REAL, ok BOOLEAN, born DATE, at DATETIME, doc JSON)`);
    const insert = sqlite.prepare('INSERT INTO things VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    insert.run(
      -(2n ** 63n),
      2n ** 63n - 1n,
      'longer than three',
      ALL_BYTES,
      '12.50',
      0.1,
      1n,
      '2024-02-29',
      '2024-02-29 23:59:59.123',
      '{"a": [1, 2.5]}',
    );
    insert.run(2n, 9007199254740993n, '', Buffer.alloc(0), '-0.25', -1e300, 0n, null, null, '[]');
    insert.run(3n, 0n, null, null, null, null, null, null, null, null);
    sqlite.close();
    const pg = await pgDb('create sqlite2pg');
    const file = plan(`sqlite:${path}`, pg.url, '  - source: things\n');

    const dry = await run(['run', file, '--dry-run']);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('"name" text');
    expect(await pgTables(pg)).toEqual([]);

    const result = await run(['run', file]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await pgColumnTypes(pg, 'things')).toEqual({
      id: 'bigint not null',
      big: 'bigint not null',
      name: 'text',
      data: 'bytea',
      price: 'numeric',
      ratio: 'double precision',
      ok: 'boolean',
      born: 'date',
      at: 'timestamp without time zone',
      doc: 'jsonb',
    });
    const rows = (
      await pg.client.query<Record<string, string | null>>(
        `SELECT id::text, big::text, name, encode(data, 'hex') AS data, price::text, ratio::text, ok::text,
          born::text, at::text, doc::text FROM things ORDER BY id`,
      )
    ).rows;
    expect(rows).toEqual([
      {
        id: '-9223372036854775808',
        big: '9223372036854775807',
        name: 'longer than three',
        data: ALL_BYTES.toString('hex'),
        price: '12.5',
        ratio: '0.1',
        ok: 'true',
        born: '2024-02-29',
        at: '2024-02-29 23:59:59.123',
        doc: '{"a": [1, 2.5]}',
      },
      {
        id: '2',
        big: '9007199254740993',
        name: '',
        data: '',
        price: '-0.25',
        ratio: '-1e+300',
        ok: 'false',
        born: null,
        at: null,
        doc: '[]',
      },
      {
        id: '3',
        big: '0',
        name: null,
        data: null,
        price: null,
        ratio: null,
        ok: null,
        born: null,
        at: null,
        doc: null,
      },
    ]);
  });
  it('same database on both sides: the source types as they are (user-defined PostgreSQL types as text)', async () => {
    const pg = await pgDb('create pg2pg');
    await pg.client.query(`CREATE SCHEMA dst; CREATE TYPE mood AS ENUM ('sad', 'happy');
      CREATE TABLE src (id bigint PRIMARY KEY, n numeric(12,3) NOT NULL, v varchar(7), c char(3), m mood,
        ts timestamptz(3), a text[], iv interval, ip inet);
      INSERT INTO src VALUES (1, 1.5, 'x', 'ab', 'sad', '2024-01-01 00:00:00.123+00', '{a,"b c"}', '1 day', '10.0.0.1/8'),
        (2, -0.001, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
    const r = await run(['run', plan(pg.url, pg.url, '  - source: src\n    target: dst.copy\n', 'pg2pg')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await pgColumnTypes(pg, 'dst.copy')).toEqual({
      id: 'bigint not null',
      n: 'numeric(12,3) not null',
      v: 'character varying(7)',
      c: 'character(3)',
      m: 'text',
      ts: 'timestamp(3) with time zone',
      a: 'text[]',
      iv: 'interval',
      ip: 'inet',
    });
    const same = await pg.client.query(
      'SELECT count(*)::int AS n FROM (SELECT id, n, v, c, m::text, ts, a, iv, ip FROM src EXCEPT SELECT * FROM dst.copy) d',
    );
    expect(same.rows[0].n).toBe(0);

    const my = await mysqlDb('create my2my');
    await my.conn.query(`CREATE TABLE src (k varchar(20) COLLATE utf8mb4_general_ci PRIMARY KEY,
        u bigint unsigned NOT NULL, e enum('x','y''z'), ts timestamp(6) NULL, j json);
      INSERT INTO src VALUES ('a', 18446744073709551615, 'y''z', '2038-01-19 03:14:07.999999', '{"a": 1}'),
        ('B', 0, NULL, NULL, NULL)`);
    const m = await run(['run', plan(my.url, my.url, '  - source: src\n    target: copy\n', 'my2my')]);
    expect(m.stderr).toBe('');
    expect(m.code).toBe(0);
    const cols = await mysqlRows(
      my,
      `SELECT COLUMN_NAME AS c, COLUMN_TYPE AS t, IS_NULLABLE AS n, COLLATION_NAME AS coll
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'copy' ORDER BY ORDINAL_POSITION`,
    );
    expect(cols.map((c) => [c.c, c.t, c.n])).toEqual([
      ['k', 'varchar(20)', 'NO'],
      ['u', 'bigint(20) unsigned', 'NO'],
      ['e', "enum('x','y''z')", 'YES'],
      ['ts', 'timestamp(6)', 'YES'],
      ['j', 'longtext', 'YES'],
    ]);
    expect(cols[0]!.coll).toBe('utf8mb4_nopad_bin');
    const copied = await mysqlRows(
      my,
      'SELECT k, CAST(u AS CHAR) u, e, CAST(ts AS CHAR) ts, CAST(j AS CHAR) j FROM copy ORDER BY k',
    );
    expect(copied).toEqual([
      { k: 'B', u: '0', e: null, ts: null, j: null },
      { k: 'a', u: '18446744073709551615', e: "y'z", ts: '2038-01-19 03:14:07.999999', j: '{"a": 1}' },
    ]);
  });
});
