// Reads bounded by bytes (ReadSpec.maxBatchBytes) against the real servers: a COPY output cut at the line
// that reaches the limit, wherever the limit falls (inside a line, on its newline, at the end), and keyset
// reads of rows of mixed width from PostgreSQL and MariaDB whose batches stop at the row that reaches the
// limit and together give every row once, in order.
import { describe, expect, it } from 'vitest';
import type { Row } from '../../src/convert/value.js';
import type { ReadSpec } from '../../src/db/batch.js';
import { MysqlDialect } from '../../src/db/mysql/index.js';
import { copyOut, copyOutUpTo } from '../../src/db/postgres/read.js';
import { scopedPgDialects } from '../helpers/pg-writer.js';
import { scopedDatabases } from '../helpers/scoped-databases.js';

const setup = scopedPgDialects();
const { mysqlDb } = scopedDatabases();

/** Row g is `g` then a pad of 10 to 3,000 characters; every 50th row 40,000. */
const PG_ROWS = `CREATE TABLE w (id int PRIMARY KEY, pad text NOT NULL);
  INSERT INTO w SELECT g, repeat('x', CASE WHEN g % 50 = 0 THEN 40000 ELSE 10 + (g * 37) % 2990 END)
  FROM generate_series(1, 1000) g;`;

const MAX = 20_000;

function spec(columns: ReadSpec['columns'], table: string): ReadSpec {
  return {
    from: { kind: 'table', ref: { schema: null, name: table } },
    columns,
    key: [0],
    batchSize: 5000,
    maxBatchBytes: MAX,
    after: null,
  };
}

/**
 * Every batch's rows but its last are under the limit; the batches give ids 1..n once (in order, unless
 * `anyOrder`: a key-less read).
 */
function expectCut(batches: Row[][], width: (row: Row) => number, n: number, anyOrder = false): void {
  expect(batches.length).toBeGreaterThan(10);
  for (const batch of batches) {
    const before = batch.slice(0, -1).reduce((sum, row) => sum + width(row), 0);
    expect(before).toBeLessThan(MAX);
  }
  const ids = batches.flat().map((row) => Number(row[0]));
  if (anyOrder) ids.sort((a, b) => a - b);
  expect(ids).toEqual(Array.from({ length: n }, (_, i) => i + 1));
}

describe('reads bounded by bytes', () => {
  it('cuts a COPY output at the end of the line that reaches the limit, wherever the limit falls', async () => {
    const { db } = await setup('pg copy up to', PG_ROWS);
    const sql = 'COPY (SELECT * FROM w ORDER BY id) TO STDOUT';
    const all = await copyOut(db.client, sql);
    const ends: number[] = [];
    for (let nl = all.indexOf(10); nl >= 0; nl = all.indexOf(10, nl + 1)) ends.push(nl + 1);
    const limits = [1, ends[0]! - 1, ends[0]!, ends[0]! + 1, ends[9]!, ends[9]! + 1, 65_536, 300_000];
    for (const limit of [...limits, all.length - 1, all.length, all.length + 1]) {
      const { text, cut } = await copyOutUpTo(db.client, sql, limit);
      const end = ends.find((e) => e >= limit) ?? all.length;
      expect({ limit, length: text.length, cut }).toEqual({ limit, length: end, cut: end < all.length });
      expect(text.equals(all.subarray(0, end))).toBe(true);
    }
    // The connection is usable after a cut.
    expect((await db.client.query('SELECT 1 AS x')).rows).toEqual([{ x: 1 }]);
  });

  it('PostgreSQL keyset and key-less batches stop at the row that reaches maxBatchBytes', async () => {
    const { dialect } = await setup('pg read bytes', PG_ROWS);
    const info = await dialect.describeTable({ schema: null, name: 'w' });
    const batches: Row[][] = [];
    for await (const batch of dialect.readKeyedBatches(spec(info!.columns, 'w'))) batches.push(batch.rows());
    // A COPY line: id, tab, pad, newline.
    expectCut(batches, (row) => String(row[0]).length + String(row[1]).length + 2, 1000);
    const plain: Row[][] = [];
    for await (const rows of dialect.readBatches(spec(info!.columns, 'w'))) plain.push(rows);
    expect(plain).toEqual(batches);
    // A key-less read (one cursor pass) cuts its batches by bytes too.
    const keyless: Row[][] = [];
    for await (const rows of dialect.readBatches({ ...spec(info!.columns, 'w'), key: [] }))
      keyless.push(rows);
    expectCut(keyless, (row) => String(row[0]).length + String(row[1]).length + 2, 1000, true);
  });

  it('MariaDB keyset and key-less batches stop at the row that reaches maxBatchBytes', async () => {
    const db = await mysqlDb('mysql read bytes');
    await db.conn.query('CREATE TABLE w (id int PRIMARY KEY, pad mediumtext NOT NULL)');
    await db.conn.query(
      `INSERT INTO w SELECT seq, REPEAT('x', CASE WHEN seq % 50 = 0 THEN 40000 ELSE 10 + (seq * 37) % 2990 END)
       FROM seq_1_to_1000`,
    );
    const dialect = new MysqlDialect(db.url);
    try {
      const info = await dialect.describeTable({ schema: null, name: 'w' });
      const batches: Row[][] = [];
      for await (const rows of dialect.readBatches(spec(info!.columns, 'w'))) batches.push(rows);
      // A wire row: a length byte and the id's digits, a 1-3 byte length and the pad.
      expectCut(batches, (row) => String(row[0]).length + String(row[1]).length + 2, 1000);
      const keyless: Row[][] = [];
      for await (const rows of dialect.readBatches({ ...spec(info!.columns, 'w'), key: [] }))
        keyless.push(rows);
      expectCut(keyless, (row) => String(row[0]).length + String(row[1]).length + 2, 1000, true);
    } finally {
      await dialect.close();
    }
  });
});
