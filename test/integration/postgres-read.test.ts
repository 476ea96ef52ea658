// The PostgreSQL dialect's COPY-based reads against the real server: keyset pages read as COPY text must
// give exactly the values the row protocol gives (NULLs, escapes, bytea, bigints, timestamps, arrays), with
// composite keys of awkward text; the read-back by key list must find keys that need quoting; and a batch
// read from one table and written unchanged to another (its COPY text sent on as it is) must arrive exact.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { rowJsonEncoder } from '../../src/convert/row-json.js';
import type { Row } from '../../src/convert/value.js';
import type { Batch, ReadSpec } from '../../src/db/batch.js';
import { copyOut, copyOutDiffers, rowDecoder } from '../../src/db/postgres/read.js';
import type { PgTestDatabase } from '../helpers/databases.js';
import { checkpointOf, scopedPgDialects, stateSql } from '../helpers/pg-writer.js';

const setup = scopedPgDialects();

const TABLE_SQL = `
  CREATE TABLE t (
    k1 text NOT NULL, k2 bigint NOT NULL, note text, b bytea, n numeric(30,10), f float8, r real,
    ts timestamptz, d date, ok boolean, j jsonb, arr text[], PRIMARY KEY (k1, k2));
  INSERT INTO t
  SELECT (ARRAY[E'a\\tb', E'quote''s "x"', E'back\\\\slash', E'\\\\N', 'Müller ☃', E'new\\nline', ''])[g % 7 + 1],
    g * 1000000000007,
    CASE WHEN g % 5 = 0 THEN NULL WHEN g % 5 = 1 THEN E'tab\\there\\\\N \\\\ \\r\\n' || g
         WHEN g % 5 = 2 THEN '\\N' ELSE 'plain ' || g END,
    CASE WHEN g % 3 = 0 THEN NULL ELSE decode(lpad(to_hex(g), 8, '0') || '005c0a09', 'hex') END,
    g * 1234567.0123456789, g / 3.0, (g / 7.0)::real,
    timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute 1.000001 second',
    date '0001-01-01' + g, g % 2 = 0,
    jsonb_build_object('s', E'a\\tb\\\\c"d', 'n', g),
    ARRAY[E'x\\ty', NULL, '"q"', E'b\\\\s']
  FROM generate_series(1, 157) g;`;

async function collect(it: AsyncIterable<Row[]>): Promise<Row[][]> {
  const out: Row[][] = [];
  for await (const batch of it) out.push(batch);
  return out;
}

/** The same rows through the row protocol (the reference). */
async function viaRows(db: PgTestDatabase, spec: ReadSpec, sql: string): Promise<Row[]> {
  const client = new pg.Client({
    connectionString: db.url,
    types: { getTypeParser: () => (v: string) => v },
  });
  await client.connect();
  try {
    await client.query("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 1");
    const r = await client.query<(string | null)[]>({ text: sql, rowMode: 'array' });
    return r.rows.map(rowDecoder(spec.columns));
  } finally {
    await client.end();
  }
}

describe('PostgreSQL dialect: reading as COPY text', () => {
  it('reads keyset pages with exactly the values of the row protocol, resumes after and stops at composite keys', async () => {
    const { db, dialect } = await setup('pg copy read', TABLE_SQL);
    const info = (await dialect.describeTable({ schema: 'public', name: 't' }))!;
    const spec: ReadSpec = {
      from: { kind: 'table', ref: info.ref },
      columns: info.columns,
      key: [0, 1],
      batchSize: 20,
      after: null,
    };
    const cols = info.columns.map((c) => `"${c.name}"`).join(', ');
    const expected = await viaRows(db, spec, `SELECT ${cols} FROM t ORDER BY k1, k2`);
    const batches = await collect(dialect.readBatches(spec));
    expect(batches.map((b) => b.length)).toEqual([20, 20, 20, 20, 20, 20, 20, 17]);
    expect(batches.flat()).toEqual(expected);
    expect(expected.some((r) => r[2] === '\\N')).toBe(true);
    expect(expected.some((r) => r[2] === null)).toBe(true);

    const after = expected[33]!;
    const until = expected[101]!;
    const part = (
      await collect(
        dialect.readBatches({ ...spec, after: [after[0]!, after[1]!], until: [until[0]!, until[1]!] }),
      )
    ).flat();
    expect(part).toEqual(expected.slice(34, 102));

    // The same pages as batches decoded on demand: counted, first and last rows decoded up front.
    const lazy: Batch[] = [];
    for await (const batch of dialect.readKeyedBatches({ ...spec, batchSize: 40 })) lazy.push(batch);
    expect(lazy.map((b) => b.count)).toEqual([40, 40, 40, 37]);
    for (const [i, batch] of lazy.entries()) {
      const rows = batch.rows();
      expect(rows).toEqual(expected.slice(i * 40, i * 40 + batch.count));
      expect(batch.first).toEqual(rows[0]);
      expect(batch.last).toEqual(rows[rows.length - 1]);
      expect(batch.copyText?.text.toString('utf8').split('\n')).toHaveLength(batch.count + 1);
    }
    // Row JSON written straight from the text is the JSON of the decoded rows, keys decoded per line.
    const json = dialect.copyJson(
      info.columns,
      info.columns.map((c) => c.name),
      [0, 1],
    );
    const rowJson = rowJsonEncoder(info.columns);
    for (const batch of lazy) {
      const rows = batch.rows();
      const text = batch.copyText!.text;
      let i = 0;
      json.lines(text, (start, end) => {
        const keyRow = json.keyRow();
        const out = Buffer.alloc(json.maxBytes(end - start) * 2);
        const at = json.writeJson(text, start, end, out, 0);
        expect(out.toString('utf8', 0, at)).toBe(rowJson(rows[i]!));
        expect([keyRow[0], keyRow[1]]).toEqual([rows[i]![0], rows[i]![1]]);
        i++;
      });
      expect(i).toBe(batch.count);
    }
    const [single] = await collect(
      dialect.readBatches({ ...spec, after: [after[0]!, after[1]!], batchSize: 1 }),
    );
    expect(single).toEqual([expected[34]]);
  });

  it('compares a COPY output with the text expected as it arrives, and returns all of it when it differs', async () => {
    const { db } = await setup(
      'pg copy differs',
      `CREATE TABLE w (id int PRIMARY KEY, pad text);
       INSERT INTO w SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 3000) g;`,
    );
    const sql = 'COPY (SELECT * FROM w ORDER BY id) TO STDOUT';
    const real = await copyOut(db.client, sql);
    expect(real.length).toBeGreaterThan(256 * 1024); // several chunks
    expect(await copyOutDiffers(db.client, sql, real)).toBeNull();
    for (const expected of [
      Buffer.concat([real.subarray(0, real.length - 3), Buffer.from('x\n\n')]), // differs in the last chunk
      Buffer.concat([Buffer.from('0'), real.subarray(1)]), // in the first
      real.subarray(0, real.length - 1000), // shorter
      Buffer.concat([real, Buffer.from('3001\tmore\n')]), // longer
    ]) {
      expect((await copyOutDiffers(db.client, sql, expected))?.equals(real)).toBe(true);
    }
  });

  it('reads back rows by keys that need quoting, bytea keys included', async () => {
    const { dialect } = await setup(
      'pg copy fetch',
      `CREATE TABLE k (a text, b bytea, v int, PRIMARY KEY (a, b));
       INSERT INTO k VALUES (E'x"y\\\\z', '\\x00ff', 1), ('{a,b}', '\\x5c', 2), ('NULL', '\\x', 3), ('plain', '\\x01', 4);`,
    );
    const info = (await dialect.describeTable({ schema: 'public', name: 'k' }))!;
    const rows = await dialect.fetchByKeys(
      info.ref,
      info.columns,
      [0, 1],
      [
        ['x"y\\z', Buffer.from([0, 255])],
        ['{a,b}', Buffer.from([0x5c])],
        ['NULL', Buffer.alloc(0)],
        ['missing', Buffer.from([1])],
      ],
    );
    expect(rows.map((r) => r[2]).sort()).toEqual(['1', '2', '3']);
  });

  it('reads back what a trigger changed: by key range for integer keys, by the keys themselves for text keys', async () => {
    const { dialect } = await setup(
      'pg copy readback',
      `CREATE TABLE si (id int PRIMARY KEY, v text); CREATE TABLE ti (LIKE si INCLUDING ALL);
       CREATE TABLE st (k text PRIMARY KEY, v text); CREATE TABLE tt (LIKE st INCLUDING ALL);
       INSERT INTO si SELECT g, 'v' || g FROM generate_series(1, 50) g WHERE g <> 25;
       INSERT INTO st SELECT 'k' || g, 'v' || g FROM generate_series(1, 50) g WHERE g <> 25;
       -- A row the target already had between the batch's keys (not one of the batch's).
       INSERT INTO ti VALUES (25, 'old'); INSERT INTO tt VALUES ('k25', 'old');
       CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS
         $$ BEGIN IF NEW.v = 'v7' THEN NEW.v := 'changed'; END IF; RETURN NEW; END $$;
       CREATE TRIGGER bump BEFORE INSERT ON ti FOR EACH ROW EXECUTE FUNCTION bump();
       CREATE TRIGGER bump BEFORE INSERT ON tt FOR EACH ROW EXECUTE FUNCTION bump();
       ${stateSql('t')}`,
    );
    for (const [from, to] of [
      ['si', 'ti'],
      ['st', 'tt'],
    ] as const) {
      const info = (await dialect.describeTable({ schema: 'public', name: from }))!;
      const target = (await dialect.describeTable({ schema: 'public', name: to }))!;
      const spec: ReadSpec = {
        from: { kind: 'table', ref: info.ref },
        columns: info.columns,
        key: [0],
        batchSize: 100,
        after: null,
      };
      const writer = await dialect.openWriter({
        ref: target.ref,
        columns: target.columns,
        key: [0],
        onConflict: 'upsert',
        stateTable: 'state',
        label: to,
      });
      try {
        for await (const batch of dialect.readKeyedBatches(spec)) {
          const result = await writer.writeBatch(batch, checkpointOf('t', batch.count), true);
          expect(result.identical).toBeUndefined();
          const back = new Map(result.readBack!.map((r) => [r[0], r[1]]));
          for (const row of batch.rows()) {
            expect(back.get(row[0]!)).toBe(row[1] === 'v7' ? 'changed' : row[1]);
          }
          // The integer key range holds the target's own row too (the check ignores it); keys do not.
          expect(back.has(to === 'ti' ? '25' : 'k25')).toBe(to === 'ti');
        }
      } finally {
        await writer.close();
      }
    }
  });

  it('writes a batch read from one table to a table of the same types unchanged', async () => {
    const { db, dialect } = await setup(
      'pg copy passthrough',
      `${TABLE_SQL} CREATE TABLE t2 (LIKE t INCLUDING ALL);
       ${stateSql('t2')}`,
    );
    const info = (await dialect.describeTable({ schema: 'public', name: 't' }))!;
    const target = (await dialect.describeTable({ schema: 'public', name: 't2' }))!;
    const spec: ReadSpec = {
      from: { kind: 'table', ref: info.ref },
      columns: info.columns,
      key: [0, 1],
      batchSize: 100,
      after: null,
    };
    const writer = await dialect.openWriter({
      ref: target.ref,
      columns: target.columns,
      key: [0, 1],
      onConflict: 'upsert',
      stateTable: 'state',
      label: 't2',
    });
    try {
      for await (const batch of dialect.readKeyedBatches(spec)) {
        const result = await writer.writeBatch(batch, checkpointOf('t2', batch.count), true);
        expect(result.written).toBe(batch.count);
        // Sent as read, and the target prints the range as the same text: no row-by-row check needed.
        expect(result.identical).toBe(true);
        expect(result.readBack).toBeNull();
      }
    } finally {
      await writer.close();
    }
    const diff = await db.client.query(
      'SELECT count(*)::int AS n FROM ((TABLE t EXCEPT ALL TABLE t2) UNION ALL (TABLE t2 EXCEPT ALL TABLE t)) d',
    );
    expect(diff.rows[0].n).toBe(0);
    expect((await db.client.query('SELECT count(*)::int AS n FROM t2')).rows[0].n).toBe(157);
  });
});
