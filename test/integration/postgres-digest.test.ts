// PostgreSQL's chunk digests (`migrate verify`'s fast path) against the real server, in both forms: equal
// tables digest alike; a change to any one column of any type changes the digest, and so do two rows swapping
// a column's values (which plain sums of hash_record_extended would miss); the `values` form counts
// as equal exactly what the canonical comparison counts as equal (numeric 1.5 = 1.50, jsonb numbers by
// value) and nothing looser (a case-insensitive collation, interval '1 day' vs '24 hours', timetz offsets,
// json text); types without a hash function (json, point) are digested too.
import { describe, expect, it } from 'vitest';
import type { Column } from '../../src/convert/value.js';
import type { PostgresDialect } from '../../src/db/postgres/index.js';
import { parseTableRef } from '../../src/db/table.js';
import { scopedPgDialects } from '../helpers/pg-writer.js';

const setup = scopedPgDialects();

const SQL = `
  CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
  CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
  CREATE TABLE a (
    id bigint PRIMARY KEY, i int, n numeric, n2 numeric(12,2), f float8, r real, b boolean, by bytea,
    d date, t time, ts timestamp, tz timestamptz, u uuid, jb jsonb, js json, tx text, vc varchar(20),
    ch char(4), ci text COLLATE ci, iv interval, ttz timetz, pt point, e mood, arr int[]);
  INSERT INTO a SELECT g, g * 7, g * 1.5, g * 2.25, g / 3.0, g / 7.0, g % 2 = 0, decode(lpad(to_hex(g), 6, '0'), 'hex'),
    date '2020-01-01' + g, time '10:00' + g * interval '1 second', timestamp '2020-01-01' + g * interval '1 minute',
    timestamptz '2020-01-01 00:00:00.000001+00' + g * interval '1 minute', md5(g::text)::uuid,
    jsonb_build_object('k', g, 'x', 1.5), json_build_object('k', g), 'text ' || g, 'vc' || g, 'c' || (g % 10),
    'Case' || g, g * interval '1 hour', time with time zone '12:00+01', point(g, -g), 'ok', ARRAY[g, NULL, 3]
  FROM generate_series(1, 200) g;
  UPDATE a SET tx = NULL, jb = NULL, n = NULL WHERE id % 17 = 0;
  CREATE TABLE z (LIKE a INCLUDING ALL);
  INSERT INTO z SELECT * FROM a;`;

interface Sides {
  dialect: PostgresDialect;
  columns: Column[];
  exec: (sql: string) => Promise<unknown>;
}

async function sides(name: string): Promise<Sides> {
  const { db, dialect } = await setup(name, SQL);
  const info = await dialect.describeTable(parseTableRef('a'));
  return { dialect, columns: info!.columns, exec: (sql) => db.client.query(sql) };
}

function digest(s: Sides, table: string, form: string, key = [0]) {
  return s.dialect.chunkDigest({
    from: { kind: 'table', ref: parseTableRef(table) },
    columns: s.columns,
    key,
    after: null,
    until: null,
    form,
  });
}

/** Whether a and z digest alike in `form`. */
async function same(s: Sides, form: string): Promise<boolean> {
  const [x, y] = await Promise.all([digest(s, 'a', form), digest(s, 'z', form)]);
  expect(x.count).toBe(200);
  return x.count === y.count && x.digest === y.digest;
}

describe('PostgreSQL chunk digests', () => {
  it('offers the values form on this server, and equal tables digest alike in each form', async () => {
    const s = await sides('digest forms');
    expect(await s.dialect.digestForms()).toEqual(['values', 'text']);
    for (const form of ['values', 'text']) expect(await same(s, form)).toBe(true);
    const [v, t] = await Promise.all([digest(s, 'a', 'values'), digest(s, 'a', 'text')]);
    expect(v.digest).not.toBe(t.digest);
    // Key-less (whole table) digests too.
    const [x, y] = await Promise.all([digest(s, 'a', 'values', []), digest(s, 'z', 'values', [])]);
    expect([x.count, x.digest]).toEqual([y.count, y.digest]);
  });

  it('a change to any one column, of any type, changes the digest in both forms', async () => {
    const s = await sides('digest changes');
    const changes: Record<string, string> = {
      i: 'i + 1',
      n: 'n + 0.01',
      n2: 'n2 + 0.01',
      f: 'f * 1.0000001',
      r: 'r * 2',
      b: 'NOT b',
      by: "by || '\\x00'::bytea",
      d: 'd + 1',
      t: "t + interval '1 microsecond'",
      ts: "ts + interval '1 microsecond'",
      tz: "tz + interval '1 microsecond'",
      u: "'00000000-0000-0000-0000-000000000001'",
      jb: `jsonb_set(jb, '{k}', '"1"')`,
      js: `'{"k": 1}'`,
      tx: "tx || ' '",
      vc: "vc || 'x'",
      ch: "'zz'",
      ci: 'upper(ci)',
      iv: "iv + interval '1 microsecond'",
      ttz: "timetz '11:00+00'",
      pt: 'point(0, 0)',
      e: "'happy'",
      arr: 'ARRAY[1]',
    };
    for (const [column, expr] of Object.entries(changes)) {
      await s.exec(`UPDATE z SET ${column} = ${expr} WHERE id = 111`);
      for (const form of ['values', 'text'])
        expect([column, form, await same(s, form)]).toEqual([column, form, false]);
      await s.exec(`DELETE FROM z WHERE id = 111; INSERT INTO z SELECT * FROM a WHERE id = 111`);
      expect(await same(s, 'values')).toBe(true);
    }
    // NULL for a value, and a value for NULL.
    await s.exec('UPDATE z SET tx = NULL WHERE id = 5; UPDATE z SET n = 0 WHERE id = 17');
    expect(await same(s, 'values')).toBe(false);
  });

  it("two rows that swap a column's values, or one row duplicated for another, change the digest", async () => {
    const s = await sides('digest swaps');
    for (const column of ['i', 'tx', 'tz', 'jb']) {
      await s.exec(`UPDATE z SET ${column} = (SELECT ${column} FROM a WHERE id = 21) WHERE id = 20;
        UPDATE z SET ${column} = (SELECT ${column} FROM a WHERE id = 20) WHERE id = 21`);
      for (const form of ['values', 'text'])
        expect([column, form, await same(s, form)]).toEqual([column, form, false]);
      await s.exec(`DELETE FROM z WHERE id IN (20, 21); INSERT INTO z SELECT * FROM a WHERE id IN (20, 21)`);
    }
    expect(await same(s, 'values')).toBe(true);
    // Key-less: the multiset of rows, a row twice and another not at all.
    await s.exec(
      'ALTER TABLE z DROP CONSTRAINT z_pkey; DELETE FROM z WHERE id = 30; INSERT INTO z SELECT * FROM a WHERE id = 31',
    );
    const whole = (t: string) => digest(s, t, 'values', []);
    const [x, y] = await Promise.all([whole('a'), whole('z')]);
    expect(x.count).toBe(y.count);
    expect(x.digest).not.toBe(y.digest);
  });

  it('values: equal values of different text are equal exactly where the canonical form is', async () => {
    const s = await sides('digest equality');
    // Equal by value and canonically: numeric scale, jsonb numbers.
    await s.exec(`UPDATE z SET n = 3.000 WHERE id = 2; UPDATE a SET n = 3 WHERE id = 2;
      UPDATE z SET jb = '{"k": 2, "x": 1.50}' WHERE id = 2; UPDATE a SET jb = '{"x": 1.5, "k": 2.0}' WHERE id = 2`);
    expect(await same(s, 'values')).toBe(true);
    expect(await same(s, 'text')).toBe(false);
    // Equal to PostgreSQL but not in text: each is a difference.
    for (const [column, a, z] of [
      ['ci', "'abc'", "'ABC'"],
      ['iv', "interval '1 day'", "interval '24 hours'"],
      ['ttz', "timetz '12:00+01'", "timetz '11:00+00'"],
      ['js', `'{"k":1}'`, `'{"k": 1}'`],
    ] as const) {
      await s.exec(`UPDATE a SET ${column} = ${a} WHERE id = 9; UPDATE z SET ${column} = ${z} WHERE id = 9`);
      expect([column, await same(s, 'values')]).toEqual([column, false]);
      await s.exec(`UPDATE z SET ${column} = ${a} WHERE id = 9`);
      expect([column, await same(s, 'values')]).toEqual([column, true]);
    }
  });
});
