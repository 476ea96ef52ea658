// The MySQL -> PostgreSQL transcoder against the row path: a MariaDB table of awkward values read as wire
// batches, transcoded, must give exactly the COPY text of decoding, converting and encoding its rows, with
// the same rows rejected and the same zero dates counted — and must take its fast paths for plain values.
import { describe, expect, it } from 'vitest';
import { converterFor, ValueError } from '../../src/convert/convert.js';
import type { Row } from '../../src/convert/value.js';
import type { ReadSpec } from '../../src/db/batch.js';
import { mysqlToPostgres } from '../../src/db/bridge/mysql-to-postgres.js';
import { MysqlDialect } from '../../src/db/mysql/index.js';
import type { WireBatch } from '../../src/db/mysql/wire.js';
import { copyEncoderFor, encodeCopyText } from '../../src/db/postgres/codec.js';
import { PostgresDialect } from '../../src/db/postgres/index.js';
import { scopedDatabases } from '../helpers/scoped-databases.js';

const { pgDb, mysqlDb } = scopedDatabases();

const MYSQL_SQL = `SET SESSION sql_mode = '';
CREATE TABLE t (id int PRIMARY KEY, i bigint, u bigint unsigned, s smallint, b tinyint(1), d decimal(12,2),
  d2 decimal(10,3), t text, v varchar(40), dt datetime(6), ts timestamp(6) NULL, dd date, j json, j2 json,
  f double, tm time(6), bl blob, bt bit(1), y year);
INSERT INTO t
SELECT seq,
  CASE seq % 4 WHEN 0 THEN -seq * 1000003 WHEN 1 THEN 9223372036854775807 ELSE seq END,
  CASE WHEN seq % 97 = 0 THEN 18446744073709551615 ELSE seq * 7 END,
  CASE WHEN seq % 50 = 0 THEN -32768 ELSE seq % 30000 END,
  CASE seq % 29 WHEN 0 THEN NULL WHEN 1 THEN 2 WHEN 2 THEN -1 ELSE seq % 2 END,
  CASE WHEN seq % 11 = 0 THEN NULL ELSE (seq * 13.37) - 5000 END,
  (seq * 1.001) / 7,
  CASE seq % 8
    WHEN 0 THEN NULL WHEN 1 THEN CONCAT('tab', CHAR(9), 'nl', CHAR(10), 'cr', CHAR(13), 'bs\\\\', seq)
    WHEN 2 THEN CONCAT('ctl', CHAR(8), CHAR(11), CHAR(12), CHAR(1), CHAR(127), seq)
    WHEN 3 THEN CONCAT('Müller ☃ 😀 ', seq) WHEN 4 THEN IF(seq % 200 = 4, CONCAT('nul', CHAR(0)), '')
    ELSE CONCAT('plain ', seq) END,
  CASE WHEN seq % 43 = 0 THEN REPEAT('é', 41) WHEN seq % 43 = 1 THEN REPEAT('é', 40) ELSE CONCAT('v', seq) END,
  CASE seq % 37 WHEN 0 THEN '0000-00-00 00:00:00' WHEN 1 THEN '2024-05-00 10:00:00'
    ELSE TIMESTAMPADD(MICROSECOND, seq * 1234567 * (seq % 5), '2024-01-01 00:00:00') END,
  CASE WHEN seq % 7 = 0 THEN NULL ELSE TIMESTAMPADD(SECOND, seq * 3607, '2001-02-03 04:05:06.5') END,
  CASE seq % 41 WHEN 0 THEN '0000-00-00' WHEN 1 THEN '0000-03-01' ELSE DATE_ADD('1999-12-31', INTERVAL seq DAY) END,
  ELT(seq % 12 + 1, '{"color": "green", "size": 1, "gift": false, "w": 1}', '{"b":[1,2.50,{"z":null}],"a":-0}',
    '{"a": 1e2}', '"\\\\u00e9\\\\/\\\\n\\\\u001f"', '{"é": 1, "z": 2, "😀": [], "\\\\u0041": {}}', '[]', '{}',
    '{"a": 1, "a": 2}', '{"s": "tab\\\\there \\\\"q\\\\" \\\\\\\\"}', '12.50', 'null', '{"deep": [[[{"x": [true]}]]]}'),
  CASE WHEN seq % 5 = 0 THEN NULL ELSE '{"kept":  1}' END,
  CASE WHEN seq % 3 = 0 THEN 1e300 ELSE seq / 8 END,
  CASE WHEN seq % 31 = 0 THEN '-12:00:00' WHEN seq % 31 = 1 THEN '25:00:00' ELSE '12:34:56.5' END,
  CASE WHEN seq % 4 = 0 THEN NULL ELSE UNHEX(CONCAT('00', HEX(seq), '5C0A')) END,
  seq % 2,
  CASE WHEN seq % 6 = 0 THEN 0 ELSE 1990 + seq % 50 END
FROM seq_1_to_1200;`;

const PG_SQL = `CREATE TABLE t (id int PRIMARY KEY, i bigint, u bigint, s smallint, b boolean, d numeric(12,2),
  d2 numeric(9,3), t text, v varchar(40), dt timestamptz, ts timestamp, dd date, j jsonb, j2 json,
  f float8, tm time, bl bytea, bt boolean, y int)`;

describe('MySQL -> PostgreSQL transcoder', () => {
  it('gives exactly the row path’s COPY text, rejects and zero-date counts, taking the fast paths', async () => {
    const my = await mysqlDb('transcode src');
    const pg = await pgDb('transcode dst');
    await my.conn.query(MYSQL_SQL);
    await pg.client.query(PG_SQL);
    const source = new MysqlDialect(my.url);
    const target = new PostgresDialect(pg.url);
    try {
      await checkTranscoder(source, target);
    } finally {
      await Promise.all([source.close(), target.close()]);
    }
  });
});

/** The transcoder of table t against the row path, under both zeroDates settings. */
async function checkTranscoder(source: MysqlDialect, target: PostgresDialect): Promise<void> {
  const from = (await source.describeTable({ schema: null, name: 't' }))!;
  const to = (await target.describeTable({ schema: 'public', name: 't' }))!;

  for (const zeroDates of ['null', 'error'] as const) {
    const nulled = { transcoded: 0, rows: 0 };
    let which: 'transcoded' | 'rows' = 'transcoded';
    const converters = from.columns.map((c, i) =>
      converterFor(c, to.columns[i]!, {
        zeroDates,
        target: 'postgres',
        onZeroDateNull: () => nulled[which]++,
      }),
    );
    expect(converters.every((c) => c !== null)).toBe(true);
    const convert = (row: Row): Row | null => {
      try {
        return row.map((v, i) => converters[i]!(v));
      } catch (error) {
        if (error instanceof ValueError) return null;
        throw error;
      }
    };
    const transcoder = mysqlToPostgres(
      from.columns,
      to.columns,
      converters.map((c) => c!),
    )!;
    expect(transcoder).not.toBeNull();
    const encoders = to.columns.map(copyEncoderFor);
    const spec: ReadSpec = {
      from: { kind: 'table', ref: from.ref },
      columns: from.columns,
      key: [0],
      batchSize: 500,
      after: null,
    };
    let batches = 0;
    let slow = 0;
    const rejected = { transcoded: 0, rows: 0 };
    for await (const batch of source.readKeyedBatches(spec)) {
      const wire = (batch as WireBatch).wire;
      expect(wire).toBeDefined();
      batches++;
      which = 'transcoded';
      const got = transcoder.transcode(wire, (row) => {
        slow++;
        const converted = convert(row);
        if (!converted) rejected.transcoded++;
        return converted;
      });
      which = 'rows';
      const rows: Row[] = [];
      for (const row of batch.rows()) {
        const converted = convert(row);
        if (converted) rows.push(converted);
        else rejected.rows++;
      }
      const want = rows.length ? encodeCopyText(rows, encoders) : Buffer.alloc(0);
      const text = got.copyText?.text ?? Buffer.alloc(0);
      expect(text.toString('utf8')).toBe(want.toString('utf8'));
      expect(text.equals(want)).toBe(true);
      expect(got.count).toBe(rows.length);
    }
    expect(batches).toBe(3);
    expect(rejected.transcoded).toBe(rejected.rows);
    expect(rejected.rows).toBeGreaterThan(0);
    expect(nulled.transcoded).toBe(nulled.rows);
    if (zeroDates === 'null') expect(nulled.rows).toBeGreaterThan(0);
    // Most rows never leave the fast paths: only those with an odd value are decoded.
    expect(slow).toBeGreaterThan(0);
    expect(slow).toBeLessThan(1200 / 3);
  }
}
