// PLAN.md "Types" through the built CLI: mysql -> pg, pg -> mysql and mysql -> mysql (pg -> pg is in
// run-pg.test.ts), each with a table of edge cases, checked value by value with an independent reader (raw
// SQL text forms on a plain connection, never the tool's conversion code), plus the values a target cannot
// hold (clear errors naming table, key and column), zero dates, and collation merges.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { ndjson, runCli, startCli, writePlan } from '../helpers/cli.js';
import type { MysqlTestDatabase } from '../helpers/databases.js';
import { scopedDatabases } from '../helpers/scoped-databases.js';

const { pgDb, mysqlDb } = scopedDatabases();

/** A line of `--json` output: the fields these tests read. */
interface RunEvent {
  event: string;
  tables?: { counts: object }[];
}

function plan(source: string, target: string, tables: string, name = 'types'): string {
  return writePlan(`version: 1
name: ${name}
source:
  url: ${source}
target:
  url: ${target}
tables:
${tables}`);
}

async function run(file: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(['run', file, '--no-progress']);
}

async function mysqlRows(db: MysqlTestDatabase, sql: string): Promise<mysql.RowDataPacket[]> {
  const [rows] = await db.conn.query<mysql.RowDataPacket[]>(sql);
  return rows;
}

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
/** 5 MiB that is not valid UTF-8: must stream through both drivers unchanged. */
const FIVE_MB = Buffer.alloc(5 * 1024 * 1024, Buffer.from([0x00, 0xff, 0x7f, 0x80, 0x5c, 0x27]));
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
/** Every control character except NUL (which PostgreSQL text cannot hold), plus quotes and backslashes. */
const CONTROLS = `${Array.from({ length: 31 }, (_, i) => String.fromCharCode(i + 1)).join('')}\x7f'"\\`;
const UNICODE = 'e\u0301 😀 ÅΩ 𝄞 \u200d\ufeff';
const MAX65 = '99999999999999999999999999999999999.999999999999999999999999999999';
const MAX38 = '9999999999999999999999999999.9999999999';
const BIG_JSON = '{"big": 12345678901234567890123, "f": 1.5e300, "s": "é", "arr": [1, 2.50, null]}';

// ---------------------------------------------------------------------------- MySQL source table

const MYSQL_TYPES_DDL = `CREATE TABLE types (
  id int NOT NULL PRIMARY KEY,
  i_tiny tinyint, i_small smallint, i_med mediumint, i_int int, i_big bigint, u_big bigint unsigned,
  u_int int unsigned, flag tinyint(1), bt bit(1), bits bit(12), yr year,
  d65 decimal(65,30), d38 decimal(38,10), f float, dbl double,
  c char(5), vc varchar(100), tx mediumtext, e enum('small','medium','large'), st set('a','b','c'),
  bin varbinary(300), bl longblob, dt date, tm time(6), tm_big time(6), dtm datetime(6), ts timestamp(6) NULL,
  j json, f2 float
) CHARACTER SET utf8mb4`;

/** Rows of `types`, written in a +05:30 session: TIMESTAMP values are given as +05:30 wall clocks. */
async function fillMysqlTypes(db: MysqlTestDatabase, withNul: boolean): Promise<void> {
  await db.conn.query(`${MYSQL_TYPES_DDL}; SET time_zone = '+05:30'`);
  const insert = `INSERT INTO types VALUES (${Array.from({ length: 30 }, () => '?').join(', ')})`;
  const rows: unknown[][] = [
    [1, ...Array.from({ length: 29 }, () => null)],
    [
      2,
      -128,
      -32768,
      -8388608,
      -2147483648,
      '-9223372036854775808',
      '0',
      0,
      0,
      Buffer.from([0]),
      Buffer.from([0, 0]),
      1901,
      `-${MAX65}`,
      `-${MAX38}`,
      -3.40282e38,
      -1.7976931348623157e308,
      '',
      '',
      '',
      'small',
      '',
      Buffer.alloc(0),
      Buffer.alloc(0),
      '1000-01-01',
      '00:00:00',
      '-838:59:59',
      '1000-01-01 00:00:00',
      '1970-01-01 05:30:01',
      '{}',
      -3.40282e38,
    ],
    [
      3,
      127,
      32767,
      8388607,
      2147483647,
      '9223372036854775807',
      '18446744073709551615',
      4294967295,
      1,
      Buffer.from([1]),
      Buffer.from([0x0f, 0xff]),
      2155,
      MAX65,
      MAX38,
      3.40282e38,
      1.7976931348623157e308,
      'abc',
      UNICODE,
      CONTROLS,
      'large',
      'a,c',
      ALL_BYTES,
      FIVE_MB,
      '9999-12-31',
      '24:00:00',
      '838:59:59',
      '9999-12-31 23:59:59.999999',
      '2038-01-19 08:44:07.999999',
      BIG_JSON,
      0.1,
    ],
    [
      4,
      0,
      0,
      0,
      0,
      '9007199254740993',
      '9007199254740993',
      0,
      5,
      Buffer.from([0]),
      Buffer.from([0, 1]),
      0,
      '0.000000000000000000000000000001',
      '0.0000000001',
      0.1,
      0.1,
      'x',
      '\t',
      withNul ? 'a\0b' : ' a ',
      'medium',
      'a,b,c',
      Buffer.from([0]),
      Buffer.from('ff00', 'hex'),
      '2024-02-29',
      '12:34:56.789012',
      '-00:00:01',
      '2024-02-29 12:34:56.000001',
      '2024-03-01 05:30:00.000001',
      '[]',
      16777217,
    ],
    [
      5,
      -1,
      1,
      1,
      1,
      '-1',
      '1',
      1,
      -1,
      Buffer.from([1]),
      Buffer.from([0, 2]),
      2024,
      '-0.5',
      '1.5',
      16777217,
      '9007199254740993',
      '',
      'NULL',
      'null',
      'small',
      'b',
      Buffer.from('NULL'),
      Buffer.from([]),
      '0001-01-01',
      '00:00:00.000001',
      '100:00:00',
      '0001-01-01 00:00:00',
      '2024-01-01 03:00:00.5',
      '{"a":1,"a":2}',
      1.5,
    ],
  ];
  for (const row of rows) await db.conn.query(insert, row);
}

describe('migrate run: type fidelity across MySQL and PostgreSQL', () => {
  it('mysql -> pg: every edge case arrives exactly (independent pg text read-back)', async () => {
    const my = await mysqlDb('types my2pg src');
    const pg = await pgDb('types my2pg dst');
    // The TIMESTAMP values are written in a +05:30 session; for their arrival as the same UTC instants to
    // prove that the tool sets its own session zone, the server's default zone must not be UTC either
    // (scripts/services.sh starts MariaDB with --default-time-zone=+05:30).
    const [zone] = await my.conn.query<mysql.RowDataPacket[]>(
      "SELECT @@global.time_zone AS tz, TIMESTAMPDIFF(MINUTE, UTC_TIMESTAMP(), CONVERT_TZ(UTC_TIMESTAMP(), '+00:00', @@global.time_zone)) AS minutes",
    );
    expect(Number(zone[0]!.minutes), `server default time zone ${zone[0]!.tz} must not be UTC`).not.toBe(0);
    await fillMysqlTypes(my, false);
    await pg.client.query(`CREATE TABLE types (
      id int PRIMARY KEY, i_tiny smallint, i_small smallint, i_med integer, i_int integer, i_big bigint,
      u_big numeric(20), u_int bigint, flag boolean, bt boolean, bits integer, yr smallint,
      d65 numeric(65,30), d38 numeric(38,10), f double precision, dbl double precision,
      c text, vc varchar(100), tx text, e text, st text, bin bytea, bl bytea,
      dt date, tm time(6), tm_big interval, dtm timestamp(6), ts timestamptz(6), j jsonb, f2 real)`);
    const result = await run(plan(my.url, pg.url, '  - source: types\n    batchSize: 2\n'));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);

    await pg.client.query("SET TimeZone = 'UTC'; SET extra_float_digits = 3");
    const r = await pg.client.query<Record<string, string | null>>(
      `SELECT id::text, i_tiny::text, i_small::text, i_med::text, i_int::text, i_big::text, u_big::text,
        u_int::text, flag::text, bt::text, bits::text, yr::text, d65::text, d38::text, f::text, dbl::text,
        c, vc, tx, e, st, encode(bin, 'hex') AS bin, md5(bl) AS bl_md5, length(bl)::text AS bl_len, dt::text,
        tm::text, tm_big::text, dtm::text, ts::text, j::text AS j,
        (j = $1::jsonb)::text AS j_big, f2::text
       FROM types ORDER BY id`,
      [BIG_JSON],
    );
    const rows = r.rows;
    expect(Object.values(rows[0]!).filter((v) => v !== null)).toEqual(['1']);
    expect(rows[1]).toMatchObject({
      i_tiny: '-128',
      i_small: '-32768',
      i_med: '-8388608',
      i_int: '-2147483648',
      i_big: '-9223372036854775808',
      u_big: '0',
      u_int: '0',
      flag: 'false',
      bt: 'false',
      bits: '0',
      yr: '1901',
      d65: `-${MAX65}`,
      d38: `-${MAX38}`,
      c: '',
      vc: '',
      tx: '',
      e: 'small',
      st: '',
      bin: '',
      bl_len: '0',
      dt: '1000-01-01',
      tm: '00:00:00',
      tm_big: '-838:59:59',
      dtm: '1000-01-01 00:00:00',
      ts: '1970-01-01 00:00:01+00',
      j: '{}',
    });
    expect(Number(rows[1]!.f)).toBe(Math.fround(-3.40282e38));
    expect(Number(rows[1]!.dbl)).toBe(-1.7976931348623157e308);
    expect(rows[2]).toMatchObject({
      i_big: '9223372036854775807',
      u_big: '18446744073709551615',
      u_int: '4294967295',
      flag: 'true',
      bt: 'true',
      bits: '4095',
      yr: '2155',
      d65: MAX65,
      d38: MAX38,
      c: 'abc',
      vc: UNICODE,
      tx: CONTROLS,
      e: 'large',
      st: 'a,c',
      bin: ALL_BYTES.toString('hex'),
      bl_md5: md5(FIVE_MB),
      bl_len: String(FIVE_MB.length),
      dt: '9999-12-31',
      tm: '24:00:00',
      tm_big: '838:59:59',
      dtm: '9999-12-31 23:59:59.999999',
      ts: '2038-01-19 03:14:07.999999+00',
      j_big: 'true',
    });
    expect(Number(rows[2]!.f)).toBe(Math.fround(3.40282e38));
    expect(rows[3]).toMatchObject({
      i_big: '9007199254740993',
      u_big: '9007199254740993',
      flag: 'true',
      bits: '1',
      yr: '0',
      d65: '0.000000000000000000000000000001',
      d38: '0.0000000001',
      c: 'x',
      vc: '\t',
      tx: ' a ',
      st: 'a,b,c',
      bin: '00',
      dt: '2024-02-29',
      tm: '12:34:56.789012',
      tm_big: '-00:00:01',
      dtm: '2024-02-29 12:34:56.000001',
      ts: '2024-03-01 00:00:00.000001+00',
      j: '[]',
    });
    // FLOAT is read exactly: 0.1f widened, not its rounded text "0.1".
    expect(Number(rows[3]!.f)).toBe(Math.fround(0.1));
    expect(Number(rows[3]!.dbl)).toBe(0.1);
    expect(rows[4]).toMatchObject({
      i_tiny: '-1',
      flag: 'true',
      d65: '-0.500000000000000000000000000000',
      vc: 'NULL',
      tx: 'null',
      bin: '4e554c4c',
      dt: '0001-01-01',
      tm: '00:00:00.000001',
      tm_big: '100:00:00',
      ts: '2023-12-31 21:30:00.5+00',
      j: '{"a": 2}',
    });
    expect(Number(rows[4]!.f)).toBe(16777216);
    expect(Number(rows[4]!.dbl)).toBe(9007199254740992);
    // FLOAT into a PostgreSQL real: the same float32 (pg prints its shortest exact text).
    expect(rows.map((r) => (r.f2 === null ? null : Math.fround(Number(r.f2))))).toEqual(
      [null, -3.40282e38, 0.1, 16777217, 1.5].map((x) => (x === null ? null : Math.fround(x))),
    );
  });

  it('mysql -> mysql: byte-exact copy, TINYINT(1) values other than 0/1 kept, NUL characters kept', async () => {
    const my = await mysqlDb('types my2my');
    await fillMysqlTypes(my, true);
    await my.conn.query('CREATE TABLE types_copy LIKE types');
    const result = await run(
      plan(my.url, my.url, '  - source: types\n    target: types_copy\n    batchSize: 3\n'),
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const cols = await mysqlRows(
      my,
      "SELECT COLUMN_NAME AS c, DATA_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'types' ORDER BY ORDINAL_POSITION",
    );
    const select = (table: string) =>
      `SELECT ${cols
        .map(({ c, t }) =>
          t === 'float'
            ? `CAST(\`${c}\` AS DOUBLE)`
            : t === 'bit'
              ? `\`${c}\` + 0`
              : `HEX(CAST(\`${c}\` AS BINARY))`,
        )
        .join(', ')} FROM ${table} ORDER BY id`;
    const [a] = await my.conn.query({ sql: select('types'), rowsAsArray: true });
    const [b] = await my.conn.query({ sql: select('types_copy'), rowsAsArray: true });
    expect(b).toEqual(a);
    expect((a as unknown[]).length).toBe(5);
    const flags = await mysqlRows(
      my,
      'SELECT id, CAST(flag AS CHAR) AS flag, HEX(tx) AS tx FROM types_copy ORDER BY id',
    );
    expect(flags.map((r) => r.flag)).toEqual([null, '0', '1', '5', '-1']);
    expect(flags[3]!.tx).toBe('610062');
  });

  it('pg -> mysql: every edge case arrives exactly (independent MariaDB read-back)', async () => {
    const pg = await pgDb('types pg2my src');
    const my = await mysqlDb('types pg2my dst');
    await pg.client.query(`
      CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
      CREATE TABLE types (id int PRIMARY KEY, i2 smallint, i4 integer, i8 bigint, n65 numeric(65,30),
        n38 numeric(38,10), n20 numeric(20,0), r real, d double precision, b boolean, b2 boolean, t text,
        vc varchar(50), "by" bytea, big bytea, dt date, tm time(6), ts timestamp(6), tstz timestamptz(6),
        j jsonb, js json, u uuid, arr int[], tarr text[], narr numeric[], iv interval, m mood)`);
    const insert = `INSERT INTO types VALUES (${Array.from({ length: 27 }, (_, i) => `$${i + 1}`).join(', ')})`;
    const rows: unknown[][] = [
      [1, ...Array.from({ length: 26 }, () => null)],
      [
        2,
        -32768,
        -2147483648,
        '-9223372036854775808',
        `-${MAX65}`,
        `-${MAX38}`,
        '0',
        '-3.4028235e38',
        '-1.7976931348623157e308',
        false,
        false,
        '',
        '',
        Buffer.alloc(0),
        Buffer.alloc(0),
        '0001-01-01',
        '00:00:00',
        '0001-01-01 00:00:00',
        '1970-01-01 00:00:01+00',
        '{}',
        '{}',
        '00000000-0000-0000-0000-000000000000',
        '{}',
        '{}',
        '{}',
        '-838:59:59',
        'sad',
      ],
      [
        3,
        32767,
        2147483647,
        '9223372036854775807',
        MAX65,
        MAX38,
        '18446744073709551615',
        '3.4028235e38',
        '1.7976931348623157e308',
        true,
        true,
        CONTROLS,
        UNICODE,
        ALL_BYTES,
        FIVE_MB,
        '9999-12-31',
        '24:00:00',
        '9999-12-31 23:59:59.999999',
        '2038-01-19 03:14:07.999999+00',
        BIG_JSON,
        '{"b":1,  "a":2}',
        'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
        '{1,NULL,3}',
        '{"a b","c\\"d",NULL,"NULL"}',
        '{{1.5,2},{3,4}}',
        '838:59:59',
        'happy',
      ],
      [
        4,
        0,
        0,
        '9007199254740993',
        '0.000000000000000000000000000001',
        '0.0000000001',
        '9007199254740993',
        '0.1',
        '0.1',
        false,
        true,
        'NULL',
        ' ',
        Buffer.from([0]),
        Buffer.from('x'),
        '2024-02-29',
        '12:34:56.789012',
        '2024-02-29 12:34:56.000001',
        '2024-03-01 00:00:00.000001+05:30',
        '[]',
        '"s"',
        'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12',
        '{-1}',
        '{""}',
        '{NaN}',
        '-01:02:03.5',
        'ok',
      ],
    ];
    for (const row of rows) await pg.client.query(insert, row);
    await my.conn.query(`CREATE TABLE types (id int PRIMARY KEY, i2 smallint, i4 int, i8 bigint,
      n65 decimal(65,30), n38 decimal(38,10), n20 bigint unsigned, r float, d double, b tinyint(1), b2 bit(1),
      t longtext, vc varchar(50), \`by\` varbinary(300), big longblob, dt date, tm time(6), ts datetime(6),
      tstz timestamp(6) NULL, j json, js json, u uuid, arr json, tarr json, narr json, iv varchar(100),
      m enum('sad','ok','happy')) CHARACTER SET utf8mb4`);
    const result = await run(plan(pg.url, my.url, '  - source: types\n    batchSize: 2\n'));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);

    const jsonText = (await pg.client.query<{ j: string }>('SELECT j::text AS j FROM types WHERE id = 3'))
      .rows[0]!.j;
    const got = await mysqlRows(
      my,
      `SELECT id, CAST(i2 AS CHAR) i2, CAST(i4 AS CHAR) i4, CAST(i8 AS CHAR) i8, CAST(n65 AS CHAR) n65,
        CAST(n38 AS CHAR) n38, CAST(n20 AS CHAR) n20, CAST(r AS DOUBLE) r, d, CAST(b AS CHAR) b, b2 + 0 AS b2,
        HEX(t) t, HEX(vc) vc, HEX(\`by\`) \`by\`, MD5(big) big_md5, LENGTH(big) big_len, CAST(dt AS CHAR) dt,
        CAST(tm AS CHAR) tm, CAST(ts AS CHAR) ts, CAST(UNIX_TIMESTAMP(tstz) AS CHAR) tstz, CAST(j AS CHAR) j, CAST(js AS CHAR) js,
        CAST(u AS CHAR) u, CAST(arr AS CHAR) arr, CAST(tarr AS CHAR) tarr, CAST(narr AS CHAR) narr, iv, m
       FROM types ORDER BY id`,
    );
    const hex = (s: string) => Buffer.from(s).toString('hex').toUpperCase();
    expect(Object.entries(got[0]!).filter(([, v]) => v !== null)).toEqual([['id', 1]]);
    expect(got[1]).toMatchObject({
      i2: '-32768',
      i4: '-2147483648',
      i8: '-9223372036854775808',
      n65: `-${MAX65}`,
      n38: `-${MAX38}`,
      n20: '0',
      r: Math.fround(-3.4028235e38),
      d: -1.7976931348623157e308,
      b: '0',
      b2: 0,
      t: '',
      vc: '',
      by: '',
      big_len: 0,
      dt: '0001-01-01',
      tm: '00:00:00.000000',
      ts: '0001-01-01 00:00:00.000000',
      tstz: '1.000000',
      j: '{}',
      js: '{}',
      u: '00000000-0000-0000-0000-000000000000',
      arr: '[]',
      tarr: '[]',
      narr: '[]',
      iv: '-838:59:59',
      m: 'sad',
    });
    expect(got[2]).toMatchObject({
      i8: '9223372036854775807',
      n65: MAX65,
      n38: MAX38,
      n20: '18446744073709551615',
      r: Math.fround(3.4028235e38),
      d: 1.7976931348623157e308,
      b: '1',
      b2: 1,
      t: hex(CONTROLS),
      vc: hex(UNICODE),
      by: ALL_BYTES.toString('hex').toUpperCase(),
      big_md5: md5(FIVE_MB),
      big_len: FIVE_MB.length,
      dt: '9999-12-31',
      tm: '24:00:00.000000',
      ts: '9999-12-31 23:59:59.999999',
      tstz: '2147483647.999999',
      j: jsonText,
      js: '{"b":1,  "a":2}',
      u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      arr: '[1,null,3]',
      tarr: '["a b","c\\"d",null,"NULL"]',
      narr: '[[1.5,2],[3,4]]',
      iv: '838:59:59',
      m: 'happy',
    });
    expect(jsonText).toContain('12345678901234567890123');
    expect(got[3]).toMatchObject({
      i8: '9007199254740993',
      n65: '0.000000000000000000000000000001',
      n38: '0.0000000001',
      n20: '9007199254740993',
      r: Math.fround(0.1),
      d: 0.1,
      b: '0',
      b2: 1,
      t: hex('NULL'),
      vc: hex(' '),
      by: '00',
      tm: '12:34:56.789012',
      ts: '2024-02-29 12:34:56.000001',
      tstz: String(Date.UTC(2024, 1, 29, 18, 30) / 1000) + '.000001',
      j: '[]',
      js: '"s"',
      arr: '[-1]',
      tarr: '[""]',
      narr: '["NaN"]',
      iv: '-01:02:03.5',
      m: 'ok',
    });
  });

  it('mysql -> pg: a value the target changes (a trigger) is a mismatch naming key and column', async () => {
    // Rows for a PostgreSQL target are sent in its output form and checked as text; a difference falls
    // back to the row-by-row check, which names the row and column.
    const my = await mysqlDb('types my2pg trigger');
    const pg = await pgDb('types my2pg trigger dst');
    await my.conn.query(`CREATE TABLE o (id int PRIMARY KEY, at datetime(6), j json, note text);
      INSERT INTO o SELECT seq, '2024-01-02 03:04:05.500000', '{"b": 1, "a": [1, 2.50]}', CONCAT('n\t', seq)
      FROM seq_1_to_3000;`);
    await pg.client.query(`CREATE TABLE o (id int PRIMARY KEY, at timestamptz, j jsonb, note text);
      CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN IF NEW.id = 1234 THEN NEW.j := '{"a": [1, 2.5], "b": 1}'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER bump BEFORE INSERT ON o FOR EACH ROW EXECUTE FUNCTION bump();
      CREATE TABLE o2 (LIKE o INCLUDING ALL);
      CREATE FUNCTION bump2() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN IF NEW.id = 2345 THEN NEW.j := '{"a": [1, 2.51], "b": 1}'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER bump2 BEFORE INSERT ON o2 FOR EACH ROW EXECUTE FUNCTION bump2();`);
    const file = plan(
      my.url,
      pg.url,
      '  - source: o\n    batchSize: 1000\n  - source: o\n    target: o2\n    batchSize: 1000\n',
      'trigger',
    );
    const result = await runCli(['run', file, '--no-progress', '--json']);
    expect(result.code, result.stderr).toBe(3);
    const events = ndjson<RunEvent>(result.stdout);
    const summary = events.find((e) => e.event === 'summary')!;
    // 2.50 and 2.5 are the same JSON number: o's trigger changed only the spelling.
    expect(summary.tables!.map((t) => t.counts)).toMatchObject([
      { read: 3000, written: 3000, verified: 3000, mismatches: 0 },
      { read: 3000, written: 3000, verified: 2999, mismatches: 1 },
    ]);
    expect(events.filter((e) => e.event === 'mismatch')).toMatchObject([
      { table: 'o2', key: 'id=2345', in: 'target', problem: 'different', columns: ['j'] },
    ]);
  });

  it('mysql -> pg: the source connections killed mid-run: the chunk resumes from its checkpoint, the copy is exact', async () => {
    const my = await mysqlDb('types my2pg killconn');
    const pg = await pgDb('types my2pg killconn dst');
    await my.conn.query(`CREATE TABLE o (id int PRIMARY KEY, at datetime(6), j json, note text);
      INSERT INTO o SELECT seq, TIMESTAMPADD(SECOND, seq, '2024-01-01'), CONCAT('{"n": ', seq, '}'),
        REPEAT('x', seq % 50) FROM seq_1_to_100000;`);
    await pg.client.query('CREATE TABLE o (id int PRIMARY KEY, at timestamptz, j jsonb, note text)');
    const file = plan(my.url, pg.url, '  - source: o\n    batchSize: 1000\n', 'killconn');
    const running = startCli(['run', file, '--no-progress']);
    let kills = 0;
    const db = (await mysqlRows(my, 'SELECT DATABASE() AS db'))[0]!.db as string;
    for (let i = 0; i < 200 && kills === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const copied = await pg.client.query<{ n: string }>('SELECT count(*) AS n FROM o');
      if (Number(copied.rows[0]!.n) < 5000) continue;
      const victims = await mysqlRows(
        my,
        `SELECT id FROM information_schema.processlist WHERE db = '${db}' AND id <> CONNECTION_ID()`,
      );
      for (const v of victims) {
        await my.conn.query(`KILL CONNECTION ${Number(v.id)}`).catch(() => undefined);
        kills++;
      }
    }
    const first = await running.done;
    expect(kills).toBeGreaterThan(0);
    // The reader's lost connection retries the chunk from its checkpoint (the batch in flight rolled back).
    expect(first.stderr).toMatch(/connection lost .*retrying chunk 0 from its checkpoint/);
    expect(first.code, first.stderr).toBe(0);
    const second = await run(file);
    expect(second.code, second.stderr).toBe(0);
    await my.conn.query('SET SESSION group_concat_max_len = 1073741824');
    const source = (
      await mysqlRows(
        my,
        "SELECT CAST(count(*) AS CHAR) AS n, MD5(GROUP_CONCAT(id, ':', note ORDER BY id SEPARATOR ',')) AS h FROM o",
      )
    )[0]!;
    const target = await pg.client.query<{ n: string; h: string }>(
      "SELECT count(*) AS n, md5(string_agg(id || ':' || note, ',' ORDER BY id)) AS h FROM o",
    );
    expect(target.rows[0]).toEqual({ n: source.n, h: source.h });
  });

  it('mysql -> pg: BIGINT UNSIGNED max into bigint, NUL in text, TIME beyond a day: errors naming table, key, column', async () => {
    const my = await mysqlDb('types my2pg bad');
    const pg = await pgDb('types my2pg bad dst');
    await my.conn.query(`CREATE TABLE big (id int PRIMARY KEY, u bigint unsigned);
      INSERT INTO big VALUES (1, 1), (2, 18446744073709551615);
      CREATE TABLE nul (id int PRIMARY KEY, t text); INSERT INTO nul VALUES (7, 'a\\0b');
      CREATE TABLE tm (id int PRIMARY KEY, t time); INSERT INTO tm VALUES (9, '25:00:00');`);
    await pg.client.query(`CREATE TABLE big (id int PRIMARY KEY, u bigint);
      CREATE TABLE nul (id int PRIMARY KEY, t text); CREATE TABLE tm (id int PRIMARY KEY, t time)`);
    const big = await run(plan(my.url, pg.url, '  - source: big\n', 'bad-big'));
    expect(big.code).toBe(1);
    expect(big.stderr).toMatch(
      /table big, key id=2, column u: 18446744073709551615 is out of range for bigint/,
    );
    const nul = await run(plan(my.url, pg.url, '  - source: nul\n', 'bad-nul'));
    expect(nul.code).toBe(1);
    expect(nul.stderr).toMatch(/table nul, key id=7, column t: .*NUL/);
    const tm = await run(plan(my.url, pg.url, '  - source: tm\n', 'bad-tm'));
    expect(tm.code).toBe(1);
    expect(tm.stderr).toMatch(/table tm, key id=9, column t: 25:00:00 .*interval/);
    const counts = await pg.client.query<{ n: string }>(
      'SELECT (SELECT count(*) FROM big) + (SELECT count(*) FROM nul) AS n',
    );
    expect(counts.rows[0]!.n).toBe('0');

    // invalid: skip: the same rows rejected to the file, the others copied (batches transcoded on the way).
    await my.conn.query(`INSERT INTO big SELECT seq + 10, seq * 1000 FROM seq_1_to_3000;
      INSERT INTO big VALUES (5000, 18446744073709551615);
      INSERT INTO nul SELECT seq + 10, CONCAT('t\t', seq) FROM seq_1_to_3000;`);
    const file = plan(
      my.url,
      pg.url,
      '  - source: big\n    invalid: skip\n  - source: nul\n    invalid: skip\n',
      'bad-skip',
    );
    const skipped = await runCli(['run', file, '--no-progress', '--json']);
    expect(skipped.code, skipped.stderr).toBe(0);
    const summary = ndjson<RunEvent>(skipped.stdout).find((e) => e.event === 'summary')!;
    expect(summary.tables!.map((t) => t.counts)).toMatchObject([
      { read: 3003, written: 3001, skipped: 2, verified: 3001, mismatches: 0 },
      { read: 3001, written: 3000, skipped: 1, verified: 3000, mismatches: 0 },
    ]);
    const rejects = ndjson<{ key: string; column: string }>(
      readFileSync(join(dirname(file), 'bad-skip.rejects.ndjson'), 'utf8'),
    );
    expect(rejects.map((r) => [r.key, r.column])).toEqual([
      ['id=2', 'u'],
      ['id=5000', 'u'],
      ['id=7', 't'],
    ]);
    const copied = await pg.client.query<{ n: string }>(
      "SELECT (SELECT count(*) FROM big WHERE u = id * 1000 - 10000) || '/' || (SELECT count(*) FROM nul) AS n",
    );
    expect(copied.rows[0]!.n).toBe('3000/3000');
  });

  it('zero dates: an error naming column and key by default, NULL with zeroDates: null, never 1970 or 0001', async () => {
    const my = await mysqlDb('types zero dates');
    const pg = await pgDb('types zero dates dst');
    await my.conn.query(`SET sql_mode = ''; SET time_zone = '+00:00';
      CREATE TABLE ev (id int PRIMARY KEY, d date, at datetime, ts timestamp NULL);
      INSERT INTO ev VALUES (1, '2024-01-02', '2024-01-02 03:04:05', '2024-01-02 03:04:05'),
        (2, '0000-00-00', '2024-01-02 03:04:05', NULL), (3, '2024-00-10', '0000-00-00 00:00:00', '0000-00-00 00:00:00');`);
    await pg.client.query('CREATE TABLE ev (id int PRIMARY KEY, d date, at timestamp, ts timestamptz)');
    const failing = await run(plan(my.url, pg.url, '  - source: ev\n', 'zero-error'));
    expect(failing.code).toBe(1);
    expect(failing.stderr).toMatch(
      /table ev, key id=2, column d: MySQL zero date '0000-00-00'.*zeroDates: null/,
    );
    expect((await pg.client.query('SELECT 1 FROM ev')).rowCount).toBe(0);

    const nulls = await run(plan(my.url, pg.url, '  - source: ev\n    zeroDates: "null"\n', 'zero-null'));
    expect(nulls.stderr).toBe('');
    expect(nulls.code).toBe(0);
    const r = await pg.client.query<{ id: string; d: string | null; at: string | null; ts: string | null }>(
      "SET TimeZone = 'UTC'; SELECT id::text, d::text, at::text, ts::text FROM ev ORDER BY id",
    );
    expect((r as unknown as { rows: unknown[] }[])[1]!.rows).toEqual([
      { id: '1', d: '2024-01-02', at: '2024-01-02 03:04:05', ts: '2024-01-02 03:04:05+00' },
      { id: '2', d: null, at: '2024-01-02 03:04:05', ts: null },
      { id: '3', d: null, at: null, ts: null },
    ]);
  });

  it('pg -> mysql: values MySQL cannot hold are errors (rejected to the file with invalid: skip)', async () => {
    const pg = await pgDb('types pg2my bad');
    const my = await mysqlDb('types pg2my bad dst');
    await pg.client.query(`CREATE TABLE bad (id int PRIMARY KEY, d double precision, n numeric, dt date,
        ts timestamp, tstz timestamptz, t text, big numeric);
      INSERT INTO bad (id, d) VALUES (1, 'NaN'), (2, '-Infinity');
      INSERT INTO bad (id, n) VALUES (3, 'NaN'), (4, 1.234);
      INSERT INTO bad (id, dt) VALUES (5, 'infinity'), (6, '0044-03-15 BC'), (7, '10000-01-01');
      INSERT INTO bad (id, ts) VALUES (8, '-infinity');
      INSERT INTO bad (id, tstz) VALUES (9, '2040-01-01 00:00:00+00'), (10, '1969-12-31 23:59:59+00');
      INSERT INTO bad (id, t) VALUES (11, 'toolong');
      INSERT INTO bad (id, big) VALUES (12, 9223372036854775808);
      INSERT INTO bad (id, d, n, dt, ts, tstz, t, big) VALUES
        (13, 1.5, 1.25, '2024-01-01', '2024-01-01 00:00:00', '2024-01-01 00:00:00+00', 'ok', 9223372036854775807);`);
    await my.conn.query(`CREATE TABLE bad (id int PRIMARY KEY, d double, n decimal(10,2), dt date,
      ts datetime(6), tstz timestamp(6) NULL, t varchar(5), big bigint)`);
    const failing = await run(plan(pg.url, my.url, '  - source: bad\n', 'bad-error'));
    expect(failing.code).toBe(1);
    expect(failing.stderr).toMatch(/table bad, key id=1, column d: NaN cannot be stored in MySQL double/);

    const file = plan(pg.url, my.url, '  - source: bad\n    invalid: skip\n', 'bad-skip');
    const skipped = await run(file);
    expect(skipped.code).toBe(0);
    const rejects = ndjson<{ key: string; column: string; error: string }>(
      readFileSync(join(dirname(file), 'bad-skip.rejects.ndjson'), 'utf8'),
    );
    expect(rejects.map((r) => [r.key, r.column])).toEqual([
      ['id=1', 'd'],
      ['id=2', 'd'],
      ['id=3', 'n'],
      ['id=4', 'n'],
      ['id=5', 'dt'],
      ['id=6', 'dt'],
      ['id=7', 'dt'],
      ['id=8', 'ts'],
      ['id=9', 'tstz'],
      ['id=10', 'tstz'],
      ['id=11', 't'],
      ['id=12', 'big'],
    ]);
    expect(rejects[3]!.error).toMatch(/more than 2 decimal places/);
    expect(rejects[8]!.error).toMatch(/TIMESTAMP|timestamp/);
    const rows = await mysqlRows(my, 'SELECT id, CAST(big AS CHAR) big FROM bad');
    expect(rows).toEqual([{ id: 13, big: '9223372036854775807' }]);
  });

  it('a case-insensitive MariaDB key merging pg keys abc/ABC is an error, not a silent loss', async () => {
    const pg = await pgDb('types collation');
    const my = await mysqlDb('types collation dst');
    await pg.client.query(`CREATE TABLE k (k text PRIMARY KEY, v int);
      INSERT INTO k VALUES ('abc', 1), ('ABC', 2), ('x', 3), ('a ', 4)`);
    await my.conn.query(`CREATE TABLE k (k varchar(10) COLLATE utf8mb4_general_ci PRIMARY KEY, v int);
      CREATE TABLE k_bin (k varchar(10) COLLATE utf8mb4_nopad_bin PRIMARY KEY, v int)`);
    for (const conflict of ['upsert', 'skip']) {
      const merged = await run(
        plan(pg.url, my.url, `  - source: k\n    onConflict: ${conflict}\n`, `ci-${conflict}`),
      );
      expect(merged.code).toBe(1);
      expect(merged.stderr).toMatch(/table k, key k=abc: .*utf8mb4_general_ci/);
      expect(await mysqlRows(my, 'SELECT * FROM k')).toEqual([]);
    }
    const exact = await run(plan(pg.url, my.url, '  - source: k\n    target: k_bin\n', 'bin'));
    expect(exact.stderr).toBe('');
    expect(exact.code).toBe(0);
    const rows = await mysqlRows(my, 'SELECT HEX(k) k, v FROM k_bin ORDER BY v');
    expect(rows.map((r) => Buffer.from(String(r.k), 'hex').toString())).toEqual(['abc', 'ABC', 'x', 'a ']);
  });
});

describe('migrate run: MySQL as the target keeps its checkpoints in MySQL', () => {
  it('survives SIGKILL at random points into MariaDB: no missing or duplicate rows', async () => {
    const pg = await pgDb('types kill src');
    const my = await mysqlDb('types kill dst');
    await pg.client.query(`CREATE TABLE lines (order_id int, line int, sku text, price numeric(12,2),
        PRIMARY KEY (order_id, line));
      INSERT INTO lines SELECT g / 4, g % 4, 'S-' || g || repeat('x', g % 40), g * 1.37 FROM generate_series(0, 39999) g`);
    await my.conn.query(`CREATE TABLE \`lines\` (order_id int, line int, sku varchar(100), price decimal(12,2),
      PRIMARY KEY (order_id, line))`);
    const file = plan(pg.url, my.url, '  - source: lines\n    batchSize: 1000\n', 'kill-mysql');
    let kills = 0;
    // The kill lands 300–900 ms in; a run that finishes sooner (a fast machine) is started over with
    // shorter delays until one is killed, so the resume is always exercised.
    let scale = 1;
    let restart = false;
    for (let attempt = 0; attempt < 12; attempt++) {
      const child = startCli(['run', file, '--no-progress', ...(restart ? ['--restart'] : [])]);
      restart = false;
      const delay = (300 + Math.floor(Math.random() * 600)) * scale;
      const timer = setTimeout(() => child.child.kill('SIGKILL'), delay);
      const result = await child.done;
      clearTimeout(timer);
      if (result.signal === 'SIGKILL') kills++;
      else {
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        if (kills > 0) break;
        await my.conn.query('TRUNCATE TABLE `lines`');
        restart = true;
        scale /= 2;
      }
    }
    expect(kills).toBeGreaterThan(0);
    const final = await run(file);
    expect(final.code).toBe(0);
    const source = await pg.client.query<{ n: string; h: string }>(
      `SELECT count(*) AS n, md5(string_agg(order_id || ':' || line || ':' || sku || ':' || price, ',' ORDER BY order_id, line)) AS h FROM lines`,
    );
    await my.conn.query('SET SESSION group_concat_max_len = 1073741824');
    const target = await mysqlRows(
      my,
      `SELECT CAST(count(*) AS CHAR) AS n, MD5(GROUP_CONCAT(CONCAT(order_id, ':', line, ':', sku, ':', price)
        ORDER BY order_id, line SEPARATOR ',')) AS h FROM \`lines\``,
    );
    expect(target[0]).toEqual(source.rows[0]);
    const status = await runCli(['status', file]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/lines/);
  });
});
